"""Format helpers of the surrogates: letter case, separators, digit shapes, dates, and the normal form.

:func:`_normalise` decides which originals count as the same value (a surrogate and a hash depend on it).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import unicodedata
from collections.abc import Callable

from anonymisation.operators.draws import _Stream
from anonymisation.operators.wordlists import LETTERS
from anonymisation.vocabulary import DATE_MONTH_NUMBERS


def _collapse(text: str) -> str:
    return " ".join(text.split()).casefold()


def _alnum_upper(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum()).upper()


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _pour(template: str, chars: str, slot: Callable[[str], bool] = str.isalnum) -> str:
    """Write ``chars`` into the slots of ``template`` (alphanumerics by default), keeping the rest and case."""
    source = iter(chars)
    out = []
    for ch in template:
        if slot(ch):
            new = next(source)
            out.append(new.lower() if ch.isalpha() and ch.islower() else new)
        else:
            out.append(ch)
    return "".join(out)


def _like(template: str, value: str) -> str:
    """Give ``value`` the letter case of ``template`` (ALL CAPS, all lower, or as listed)."""
    letters = [ch for ch in template if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return value.upper()
    if letters and all(ch.islower() for ch in letters):
        return value.lower()
    return value


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _shape(stream: _Stream, compact: str, letters: str = LETTERS) -> str:
    """Random characters of the same kinds: digit for digit, letter for letter."""
    return "".join(
        str(stream.below(10)) if ch.isdigit() else stream.choice(letters) if ch.isalpha() else ch for ch in compact
    )


def _elfproef_digits(stream: _Stream, *, leading_zero: bool = False) -> str:
    """Nine digits that pass the BSN 11-proef (9*d1 + ... + 2*d8 - d9 divisible by 11)."""
    while True:
        head = ("0" if leading_zero else str(stream.between(1, 9))) + stream.digits(7)
        check = sum(w * int(d) for w, d in zip(range(9, 1, -1), head, strict=True)) % 11
        if check < 10:
            return head + str(check)


# --------------------------------------------------------------------------------------------------
# Normalisation: which originals count as "the same value"


def _phone_parts(original: str) -> tuple[str, str] | None:
    """Split a phone number into (kept prefix text, national part text) for Dutch notations."""
    match = re.match(r"^(\s*(?:(?:\+|00)\s*31[\s.\-]*(?:\(0\)[\s.\-]*)?|\(?0))(.*)$", original, re.DOTALL)
    if match is None or not _digits(match.group(2)):
        return None
    return match.group(1), match.group(2)


def _normalise(label: str, original: str) -> str:
    if label in {"BSN", "KVK", "CREDITCARD"}:
        return _digits(original) or _collapse(original)
    if label in {"IBAN", "POSTCODE", "KENTEKEN", "BTW"}:
        return _alnum_upper(original) or _collapse(original)
    if label == "TELEFOONNUMMER":
        parts = _phone_parts(original)
        return ("31:" + _digits(parts[1])) if parts else _digits(original) or _collapse(original)
    if label == "IP_ADRES":
        try:
            return str(ipaddress.ip_address(original.strip()))
        except ValueError:
            return _collapse(original)
    if label == "GEBOORTEDATUM":
        parsed = _parse_date(original)
        return parsed[0].isoformat() if parsed else _collapse(original)
    return _collapse(original)


# --------------------------------------------------------------------------------------------------
# Dates

_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})([-/.]|\s)(\d{1,2})\2(\d{1,4})(?!\d)")
_TEXT_DATE = re.compile(r"(?<!\d)(\d{1,2})(\s+|-)([^\W\d_]+)(\.?)(\s+|-)(\d{2,4})(?!\d)")


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        year += 1900 if year > 30 else 2000
    return year


def _parse_date(original: str) -> tuple[dt.date, re.Match[str], str] | None:
    """Return (date, match, kind) for the first date in ``original``; kind is 'ymd', 'dmy' or 'text'."""
    match = _TEXT_DATE.search(original)
    if match and match.group(3).casefold() in DATE_MONTH_NUMBERS:
        try:
            day = int(match.group(1))
            return dt.date(_year(match.group(6)), DATE_MONTH_NUMBERS[match.group(3).casefold()], day), match, "text"
        except ValueError:
            return None
    match = _NUMERIC_DATE.search(original)
    if match is None:
        return None
    first, _, middle, last = match.groups()
    try:
        if len(first) == 4:
            return dt.date(int(first), int(middle), int(last)), match, "ymd"
        if len(last) in (2, 4):
            return dt.date(_year(last), int(middle), int(first)), match, "dmy"
    except ValueError:
        return None
    return None


def _pad(template: str, value: int, *, numeric: bool = True) -> str:
    """Zero-pad like the original: "03" pads; "3" does not; "12" pads in numeric dates only."""
    padded = template.startswith("0") or (numeric and len(template) == 2)
    return f"{value:02d}" if padded else str(value)
