"""Surrogate generators, one per label: ``(deriver, original) -> surrogate`` of the same kind and format."""

from __future__ import annotations

import calendar
import datetime as dt
import ipaddress
import re
from collections.abc import Callable

from anonymisation.checksums import luhn_check_digit, mod97
from anonymisation.operators.draws import _Deriver, _Stream
from anonymisation.operators.formats import (
    _alnum_upper,
    _ascii,
    _collapse,
    _digits,
    _elfproef_digits,
    _like,
    _pad,
    _parse_date,
    _phone_parts,
    _pour,
    _shape,
)
from anonymisation.operators.labels import label_for
from anonymisation.operators.person_names import _sur_person
from anonymisation.operators.wordlists import (
    CITIES,
    EMAIL_DOMAINS,
    FEMALE_NAMES,
    IPV4_DOC_NETS,
    MALE_NAMES,
    NL_BANKS,
    PLATE_LETTERS,
    POSTCODE_LETTERS,
    SERVICE_PREFIXES,
    STREETS,
    SURNAMES,
    TWO_DIGIT_AREA_CODES,
    URL_WORDS,
)
from anonymisation.vocabulary import MONTH_ABBREVIATIONS, MONTHS


def _sur_bsn(d: _Deriver, original: str) -> str:
    digits = _digits(original)
    if len(digits) not in (8, 9):
        value = d.derive("BSN", digits, lambda s: s.digits(len(digits)), lambda v: v == digits)
        return _pour(original, value, str.isdigit)
    padded = digits.zfill(9)
    # an eight-digit notation is a BSN with a leading zero written without it: keep that shape
    value = d.derive("BSN", padded, lambda s: _elfproef_digits(s, leading_zero=len(digits) == 8), lambda v: v == padded)
    return _pour(original, value[-len(digits) :], str.isdigit)


def _sur_iban(d: _Deriver, original: str) -> str:
    compact = _alnum_upper(original)
    if len(compact) < 5 or not compact.isascii() or not compact[:2].isalpha():
        value = d.derive("IBAN", compact, lambda s: _shape(s, compact), lambda v: v == compact)
        return _pour(original, value)
    country = compact[:2]

    def make(s: _Stream) -> str:
        if country == "NL" and len(compact) == 18:
            while True:  # Dutch account numbers used to pass an 11-proef over ten digits
                head = s.digits(9)
                check = -sum(w * int(c) for w, c in zip(range(10, 1, -1), head, strict=True)) % 11
                if check < 10 and head.strip("0"):
                    break
            bban = s.choice(NL_BANKS) + head + str(check)
        else:
            bban = _shape(s, compact[4:])
        check_digits = 98 - mod97(bban + country + "00")
        return f"{country}{check_digits:02d}{bban}"

    value = d.derive("IBAN", compact, make, lambda v: v == compact)
    return _pour(original, value)


def _sur_phone(d: _Deriver, original: str) -> str:
    parts = _phone_parts(original)
    if parts is None:
        digits = _digits(original)
        keep = 3 if original.lstrip().startswith(("+", "00")) else 1
        value = d.derive(
            "TELEFOONNUMMER",
            digits,
            lambda s: digits[:keep] + s.digits(len(digits) - keep),
            lambda v: v == digits,
        )
        return _pour(original, value, str.isdigit)
    prefix, rest = parts
    national = _digits(rest)
    if national.startswith("6"):
        keep, first = 1, "12345"
    elif national.startswith(SERVICE_PREFIXES):
        keep, first = 3, "0123456789"
    elif national[:2] in TWO_DIGIT_AREA_CODES:
        keep, first = 2, "23456789"
    else:
        keep, first = 3, "23456789"
    keep = min(keep, len(national))

    def make(s: _Stream) -> str:
        tail = len(national) - keep
        return national[:keep] + (s.choice(first) + s.digits(tail - 1) if tail > 0 else "")

    value = d.derive("TELEFOONNUMMER", "31:" + national, make, lambda v: v == national)
    return prefix + _pour(rest, value, str.isdigit)


def _email_local(s: _Stream, original_local: str) -> str:
    first = _ascii(s.choice(MALE_NAMES + FEMALE_NAMES))
    last = _ascii(s.choice(SURNAMES))
    pattern = s.below(4)
    local = [f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last}", f"{first}_{last}"][pattern]
    if any(ch.isdigit() for ch in original_local):
        local += s.digits(2)
    return local


def _sur_email(d: _Deriver, original: str) -> str:
    local = original.rsplit("@", 1)[0]
    norm = _collapse(original)
    return d.derive(
        "EMAIL",
        norm,
        lambda s: f"{_email_local(s, local)}@{s.choice(EMAIL_DOMAINS)}",
        lambda v: v == norm,
    )


def _sur_postcode(d: _Deriver, original: str) -> str:
    compact = _alnum_upper(original)
    if re.fullmatch(r"\d{4}[A-Z]{2}", compact):

        def make(s: _Stream) -> str:
            while True:
                letters = s.choice(POSTCODE_LETTERS) + s.choice(POSTCODE_LETTERS)
                if letters not in {"SA", "SD", "SS"}:
                    return str(s.between(1, 9)) + s.digits(3) + letters

    else:

        def make(s: _Stream) -> str:
            return _shape(s, compact)

    return _pour(original, d.derive("POSTCODE", compact, make, lambda v: v == compact))


def _sur_kenteken(d: _Deriver, original: str) -> str:
    compact = _alnum_upper(original)
    value = d.derive("KENTEKEN", compact, lambda s: _shape(s, compact, PLATE_LETTERS), lambda v: v == compact)
    return _pour(original, value)


def _sur_kvk(d: _Deriver, original: str) -> str:
    digits = _digits(original)
    value = d.derive(
        "KVK",
        digits,
        lambda s: (str(s.between(1, 9)) + s.digits(len(digits) - 1)) if digits else "",
        lambda v: v == digits,
    )
    return _pour(original, value, str.isdigit)


def _sur_btw(d: _Deriver, original: str) -> str:
    compact = _alnum_upper(original)
    match = re.fullmatch(r"(NL)?(\d{9})B(\d{2})", compact)
    if match is None:
        value = d.derive("BTW", compact, lambda s: _shape(s, compact), lambda v: v == compact)
        return _pour(original, value)

    def make(s: _Stream) -> str:
        # nine digits that pass the 11-proef and a suffix that makes NL...B.. pass MOD 97-10: valid under both rules
        digits = _elfproef_digits(s)
        start = s.below(99)
        for i in range(99):
            suffix = f"{(start + i) % 99 + 1:02d}"
            if mod97(f"NL{digits}B{suffix}") == 1:
                return f"NL{digits}B{suffix}"
        return f"NL{digits}B01"  # pragma: no cover - 99 consecutive suffixes cover every residue

    key = "NL" + match.group(2) + "B" + match.group(3)
    value = d.derive("BTW", key, make, lambda v: v == key)
    return _pour(original, value if match.group(1) else value[2:])


def _sur_creditcard(d: _Deriver, original: str) -> str:
    digits = _digits(original)
    if len(digits) < 2:
        return _pour(original, d.derive("CREDITCARD", digits, lambda s: s.digits(len(digits))), str.isdigit)

    def make(s: _Stream) -> str:
        payload = digits[0] + s.digits(len(digits) - 2)
        return payload + luhn_check_digit(payload)

    return _pour(original, d.derive("CREDITCARD", digits, make, lambda v: v == digits), str.isdigit)


def _sur_ip(d: _Deriver, original: str) -> str:
    text = original.strip()
    suffix = ""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        try:
            interface = ipaddress.ip_interface(text)
        except ValueError:
            address = None
        else:
            address = interface.ip
            suffix = "/" + str(interface.network.prefixlen)
    version = address.version if address else (6 if ":" in text else 4)
    norm = str(address) if address else _collapse(original)

    def make(s: _Stream) -> str:
        if version == 4:
            return f"{s.choice(IPV4_DOC_NETS)}.{s.between(1, 254)}"
        groups = ":".join(f"{s.below(1 << 16):x}" for _ in range(6))
        return str(ipaddress.IPv6Address(f"2001:db8:{groups}"))

    value = d.derive("IP_ADRES", norm, make, lambda v: v == norm)
    if any(ch in "ABCDEF" for ch in text):
        value = value.upper()
    return original[: len(original) - len(original.lstrip())] + value + suffix


def _sur_url(d: _Deriver, original: str) -> str:
    text = original.strip()
    lowered = text.lower()
    match = re.match(r"^(?:[a-z][a-z0-9+.\-]*://)?[^/?#]*(.*)$", lowered, re.DOTALL)
    has_path = bool(match and match.group(1).strip("/"))
    if lowered.startswith(("http://", "https://")) or "://" in lowered:
        base = "https://www.voorbeeld.example"
    elif lowered.startswith("www."):
        base = "www.voorbeeld.example"
    else:
        base = "voorbeeld.example"

    def make(s: _Stream) -> str:
        if not has_path:
            return f"{base}/" if text.endswith("/") else base
        return f"{base}/{s.choice(URL_WORDS)}/{s.choice(URL_WORDS)}-{s.between(100, 9999)}"

    norm = _collapse(original)
    return d.derive("URL", norm, make, lambda v: v.casefold() == norm)


# Dates of birth ------------------------------------------------------------------------------------


def _sur_birthdate(d: _Deriver, original: str) -> str:
    parsed = _parse_date(original)
    if parsed is None:
        return "<GEBOORTEDATUM>"
    date, match, kind = parsed

    def make(s: _Stream) -> dt.date:
        # same age give or take three years; day and month drawn afresh
        year = date.year - s.below(4)
        month = s.between(1, 12)
        return dt.date(year, month, s.between(1, calendar.monthrange(year, month)[1]))

    new = d.derive("GEBOORTEDATUM", date.isoformat(), make, lambda v: v == date)
    g = match.group
    if kind == "ymd":
        text = f"{new.year}{g(2)}{_pad(g(3), new.month)}{g(2)}{_pad(g(4), new.day)}"
    elif kind == "dmy":
        year = f"{new.year % 100:02d}" if len(g(4)) == 2 else str(new.year)
        text = f"{_pad(g(1), new.day)}{g(2)}{_pad(g(3), new.month)}{g(2)}{year}"
    else:
        month_word = g(3)
        names = MONTHS if month_word.casefold() in MONTHS else MONTH_ABBREVIATIONS
        name = names[new.month - 1]
        if month_word[:1].isupper():
            name = name.upper() if len(month_word) > 1 and month_word.isupper() else name.capitalize()
        year = f"{new.year % 100:02d}" if len(g(6)) == 2 else str(new.year)
        text = f"{_pad(g(1), new.day, numeric=False)}{g(2)}{name}{g(4)}{g(5)}{year}"
    return original[: match.start()] + text + original[match.end() :]


# Places and addresses ------------------------------------------------------------------------------


def _sur_city(d: _Deriver, original: str) -> str:
    norm = _collapse(original)
    city = d.derive("LOCATIE", norm, lambda s: s.choice(CITIES), lambda v: v.casefold() == norm)
    return _like(original, city)


_ADDRESS = re.compile(r"^(?P<street>\D*?[^\W\d_][^\d]*?)(?P<sep>\s+)(?P<number>\d{1,5})(?P<tail>.*)$", re.DOTALL)
_TAIL_POSTCODE = re.compile(r"(?<![\w-])\d{4}[ \u00a0]?[A-Za-z]{2}(?![\w-])")


def _sur_address(d: _Deriver, original: str) -> str:
    match = _ADDRESS.match(original.strip())
    if match is None:
        return "<ADRES>"
    lead = original[: len(original) - len(original.lstrip())]
    street, number, tail = match.group("street"), match.group("number"), match.group("tail")
    norm = _collapse(street + " " + number)
    if street.strip().casefold() == "postbus":
        new_street = street
        new_number = d.derive(
            "ADRES", norm, lambda s: str(s.between(1, 9999)), lambda v: v == number
        )  # keep the word, change the number
    else:
        new_street_raw, new_number = d.derive(
            "ADRES",
            norm,
            lambda s: (s.choice(STREETS), str(s.between(1, 199))),
            lambda v: v[0].casefold() == street.strip().casefold(),
        )
        new_street = _like(street, new_street_raw)

    # the tail is a house number addition (kept), then optionally a postcode and a place name (replaced)
    postcode = _TAIL_POSTCODE.search(tail)
    if postcode is not None:
        after = tail[postcode.end() :]
        city = after.strip(" \u00a0,\t\n")
        if city:
            begin = after.index(city)
            after = after[:begin] + _sur_city(d, city) + after[begin + len(city) :]
        tail = tail[: postcode.start()] + _sur_postcode(d, postcode.group()) + after
    return lead + new_street + match.group("sep") + new_number + tail


_GENERATORS: dict[str, Callable[[_Deriver, str], str]] = {
    "PERSOON": _sur_person,
    "EMAIL": _sur_email,
    "TELEFOONNUMMER": _sur_phone,
    "IBAN": _sur_iban,
    "BSN": _sur_bsn,
    "POSTCODE": _sur_postcode,
    "ADRES": _sur_address,
    "KENTEKEN": _sur_kenteken,
    "KVK": _sur_kvk,
    "BTW": _sur_btw,
    "IP_ADRES": _sur_ip,
    "URL": _sur_url,
    "CREDITCARD": _sur_creditcard,
    "GEBOORTEDATUM": _sur_birthdate,
    "LOCATIE": _sur_city,
}


def _surrogate(deriver: _Deriver, entity: str, original: str) -> str:
    label = label_for(entity)
    generator = _GENERATORS.get(label)
    if generator is None or not original.strip():
        return f"<{label}>"
    result = generator(deriver, original)
    if _collapse(result) == _collapse(original):
        # nothing replaceable in it (e.g. a "BSN" without digits): never hand back the original
        return f"<{label}>"
    return result
