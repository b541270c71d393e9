"""Replacement operators: valid, same-format surrogates; placeholders; keyed hashes; applying findings by offset."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

import phonenumbers
import pytest
from presidio_analyzer import RecognizerResult

from anonymisation.engine import Finding
from anonymisation.operators import (
    AnonymisationKeyError,
    HashOperator,
    PlaceholderOperator,
    SurrogateOperator,
    anonymise_text,
    check_key,
    wordlists,
)
from anonymisation.vocabulary import MONTHS

try:  # the other engineer's checksums; the rules are short enough to restate if they are not there yet
    from anonymisation.checksums import bsn_valid, iban_valid, luhn_valid
except ImportError:  # pragma: no cover - depends on the order the modules land

    def bsn_valid(digits: str) -> bool:
        number = re.sub(r"\D", "", digits).zfill(9)
        return sum(w * int(d) for w, d in zip(range(9, 1, -1), number[:8], strict=True)) % 11 == int(number[8])

    def iban_valid(text: str) -> bool:
        iban = re.sub(r"\s", "", text).upper()
        return int("".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])) % 97 == 1

    def luhn_valid(digits: str) -> bool:
        total = 0
        for i, ch in enumerate(reversed(re.sub(r"\D", "", digits))):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        return total % 10 == 0


KEY = b"test-key-0123456789abcdef"
OTHER_KEY = b"another-key-0123456789abc"
SAMPLES = [
    ("PERSON", "Jan de Vries"),
    ("NL_BSN", "123456782"),
    ("IBAN_CODE", "NL91 ABNA 0417 1643 00"),
    ("PHONE_NUMBER", "06-12345678"),
    ("EMAIL_ADDRESS", "jan@voorbeeld.nl"),
    ("NL_POSTCODE", "1234 AB"),
    ("NL_LICENSE_PLATE", "12-ABC-3"),
    ("DATE_OF_BIRTH", "12-03-1985"),
]


def shape(text: str) -> str:
    """Digits as 9, letters as X or x: the format without the content."""
    return re.sub(r"[a-z]", "x", re.sub(r"[A-Z]", "X", re.sub(r"\d", "9", text)))


@pytest.fixture
def surrogate() -> SurrogateOperator:
    return SurrogateOperator(KEY)


# --- surrogates: identifiers -----------------------------------------------------------------------


@pytest.mark.parametrize("original", ["123456782", "123.456.782", "111 222 333", "12345672"])
def test_surrogate_bsn_passes_11_proef_in_the_same_notation(surrogate: SurrogateOperator, original: str):
    assert bsn_valid(original)
    result = surrogate.replace("NL_BSN", original)

    assert bsn_valid(result)
    assert shape(result) == shape(original)
    assert result != original


@pytest.mark.parametrize("original", ["NL91 ABNA 0417 1643 00", "NL91ABNA0417164300", "nl91 abna 0417 1643 00"])
def test_surrogate_iban_is_valid_dutch_and_keeps_spacing(surrogate: SurrogateOperator, original: str):
    result = surrogate.replace("IBAN_CODE", original)

    assert iban_valid(result)
    assert shape(result) == shape(original)
    assert re.fullmatch(r"NL\d\d[A-Z]{4}\d{10}", result.replace(" ", "").upper())
    assert result.upper() != original.upper()


def test_surrogate_iban_is_the_same_account_however_it_is_written(surrogate: SurrogateOperator):
    spaced = surrogate.replace("IBAN_CODE", "NL91 ABNA 0417 1643 00")
    compact = surrogate.replace("IBAN_CODE", "NL91ABNA0417164300")

    assert spaced.replace(" ", "") == compact


def test_surrogate_foreign_iban_keeps_country_and_check(surrogate: SurrogateOperator):
    result = surrogate.replace("IBAN_CODE", "DE89 3704 0044 0532 0130 00")

    assert result.startswith("DE") and iban_valid(result)
    assert shape(result) == shape("DE89 3704 0044 0532 0130 00")


@pytest.mark.parametrize(
    ("original", "prefix"),
    [
        ("06-12345678", "06-"),
        ("06 1234 5678", "06 "),
        ("+31 6 1234 5678", "+31 6 "),
        ("+31 (0)20 123 4567", "+31 (0)20 "),
        ("020-1234567", "020-"),
        ("(0541) 123456", "(0541) "),
        ("0031 50 123 4567", "0031 50 "),
    ],
)
def test_surrogate_phone_keeps_notation_and_is_a_valid_number(surrogate: SurrogateOperator, original: str, prefix: str):
    result = surrogate.replace("PHONE_NUMBER", original)

    assert result.startswith(prefix)
    assert shape(result) == shape(original)
    assert result != original
    assert phonenumbers.is_valid_number(phonenumbers.parse(result, "NL"))


def test_surrogate_phone_is_the_same_number_in_national_and_international_notation(surrogate: SurrogateOperator):
    national = surrogate.replace("PHONE_NUMBER", "06-12345678")
    international = surrogate.replace("PHONE_NUMBER", "+31 6 12345678")

    assert national.removeprefix("06-") == international.removeprefix("+31 6 ")


def test_surrogate_email_is_an_example_address(surrogate: SurrogateOperator):
    result = surrogate.replace("EMAIL_ADDRESS", "Jan.Jansen@gmail.com")

    assert re.fullmatch(r"[a-z0-9._]+@[a-z]+\.example", result)
    assert "jansen" not in result or "jan." not in result  # not the original name pair


def test_surrogate_postcode_kenteken_kvk_btw_creditcard_keep_their_shape(surrogate: SurrogateOperator):
    postcode = surrogate.replace("NL_POSTCODE", "1234 AB")
    plate = surrogate.replace("NL_LICENSE_PLATE", "12-ABC-3")
    kvk = surrogate.replace("NL_KVK", "1234 5678")
    btw = surrogate.replace("NL_BTW", "NL123456789B01")
    card = surrogate.replace("CREDIT_CARD", "4111 1111 1111 1111")

    assert re.fullmatch(r"[1-9]\d{3} [A-Z]{2}", postcode) and postcode[-2:] not in {"SA", "SD", "SS"}
    assert re.fullmatch(r"\d\d-[A-Z]{3}-\d", plate) and not set(plate) & set("AEIOUY")
    assert re.fullmatch(r"[1-9]\d{3} \d{4}", kvk) and kvk != "1234 5678"
    assert re.fullmatch(r"NL\d{9}B\d\d", btw) and btw != "NL123456789B01"
    assert bsn_valid(btw[2:11])  # valid under the 11-proef rule for btw-nummers
    assert shape(card) == shape("4111 1111 1111 1111") and card[0] == "4" and luhn_valid(card)


def test_surrogate_ip_addresses_come_from_documentation_ranges(surrogate: SurrogateOperator):
    v4 = ipaddress.ip_address(surrogate.replace("IP_ADDRESS", "145.97.12.3"))
    v6 = ipaddress.ip_address(surrogate.replace("IP_ADDRESS", "2a00:1450:4001:82b::200e"))
    documentation = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]

    assert any(v4 in net for net in documentation)
    assert v6 in ipaddress.ip_network("2001:db8::/32")


def test_surrogate_url_points_to_an_example_domain(surrogate: SurrogateOperator):
    assert surrogate.replace("URL", "https://www.gemeente.nl/loket/aanvraag?id=7").startswith(
        "https://www.voorbeeld.example/"
    )
    assert surrogate.replace("URL", "www.gemeente.nl") == "www.voorbeeld.example"


@pytest.mark.parametrize(
    ("original", "pattern", "parse"),
    [
        ("12-03-1985", r"\d\d-\d\d-\d{4}", lambda s: dt.datetime.strptime(s, "%d-%m-%Y")),
        ("1985-03-12", r"\d{4}-\d\d-\d\d", lambda s: dt.datetime.strptime(s, "%Y-%m-%d")),
        ("12.03.85", r"\d\d\.\d\d\.\d\d", lambda s: dt.datetime.strptime(s, "%d.%m.%y")),
        ("12 maart 1985", r"\d{1,2} [a-z]+ \d{4}", None),
    ],
)
def test_surrogate_date_of_birth_is_another_real_date_in_the_same_format(
    surrogate: SurrogateOperator, original: str, pattern: str, parse
):
    result = surrogate.replace("DATE_OF_BIRTH", original)

    assert re.fullmatch(pattern, result) and result != original
    if parse is not None:
        assert 1980 <= parse(result).year <= 1985  # plausible: the same age give or take a few years
    else:
        assert result.split()[1] in MONTHS


def test_surrogate_address_replaces_street_number_postcode_and_place(surrogate: SurrogateOperator):
    result = surrogate.replace("NL_ADDRESS", "Kalverstraat 12-II, 1012 AB 's-Hertogenbosch")

    street, rest = result.split(" ", 1)
    assert street in wordlists.STREETS
    assert re.fullmatch(r"\d+-II, [1-9]\d{3} [A-Z]{2} .+", rest)
    assert "Kalverstraat" not in result and "1012 AB" not in result and "Hertogenbosch" not in result


# --- surrogates: person names ----------------------------------------------------------------------

TUSSENVOEGSELS = {"van", "de", "der", "den", "het", "'t", "ter", "ten", "te", "in", "op"}


def test_person_initials_stay_initials(surrogate: SurrogateOperator):
    result = surrogate.replace("PERSON", "J.P. Balkenende")

    assert re.fullmatch(r"[A-Z]\.[A-Z]\. [A-Z][a-z]+", result)
    assert not result.endswith("Balkenende")


def test_person_tussenvoegsel_pattern_is_kept(surrogate: SurrogateOperator):
    first, *middle, last = surrogate.replace("PERSON", "Jan van der Berg").split()

    assert first in wordlists.MALE_NAMES and first != "Jan"
    assert len(middle) == 2 and {w.lower() for w in middle} <= TUSSENVOEGSELS
    assert last[0].isupper() and last != "Berg"


@pytest.mark.parametrize("title", ["mevrouw", "dhr.", "burgemeester", "de heer", "Mevr.", "dr."])
def test_person_titles_are_kept_and_only_the_name_replaced(surrogate: SurrogateOperator, title: str):
    result = surrogate.replace("PERSON", f"{title} De Vries")

    assert result.startswith(f"{title} ")
    name = result.removeprefix(f"{title} ").split()
    assert len(name) == 2 and name[0][0].isupper() and name[0].lower() in TUSSENVOEGSELS  # "De" stays capitalised
    assert name[1] != "Vries"


def test_person_title_decides_gender_of_first_name(surrogate: SurrogateOperator):
    assert surrogate.replace("PERSON", "mevrouw Chris Bakker").split()[1] in wordlists.FEMALE_NAMES
    assert surrogate.replace("PERSON", "Anna Bakker").split()[0] in wordlists.FEMALE_NAMES
    assert surrogate.replace("PERSON", "Pieter Bakker").split()[0] in wordlists.MALE_NAMES


def test_person_double_surnames_stay_double(surrogate: SurrogateOperator):
    plain = surrogate.replace("PERSON", "Anna Bakker-Visser")
    with_tv = surrogate.replace("PERSON", "A.M. de Jong-van Dijk")

    assert re.fullmatch(r"[A-Z][a-zë]+ [A-Z][a-z]+-[A-Z][a-z]+", plain) and "Bakker" not in plain
    initials, rest = with_tv.split(" ", 1)
    left, right = rest.split("-")
    assert re.fullmatch(r"[A-Z]\.[A-Z]\.", initials)
    assert left.split()[0] in TUSSENVOEGSELS and right.split()[0] in TUSSENVOEGSELS


def test_person_surname_is_consistent_across_mentions(surrogate: SurrogateOperator):
    full = surrogate.replace("PERSON", "Jan de Vries")
    formal = surrogate.replace("PERSON", "mevrouw De Vries")

    assert full.split(" ", 1)[1].lower() == formal.removeprefix("mevrouw ").lower()


# --- determinism and documents ---------------------------------------------------------------------


def test_surrogates_are_deterministic_for_a_key_and_differ_for_another_key():
    first = [SurrogateOperator(KEY).replace(e, v) for e, v in SAMPLES]
    again = [SurrogateOperator(KEY).replace(e, v) for e, v in SAMPLES]
    other = [SurrogateOperator(OTHER_KEY).replace(e, v) for e, v in SAMPLES]

    assert first == again
    assert sum(a != b for a, b in zip(first, other, strict=True)) >= len(SAMPLES) - 1


def test_surrogate_ignores_case_and_whitespace_of_the_original(surrogate: SurrogateOperator):
    sloppy = surrogate.replace("PERSON", "jan  de vries")

    assert sloppy == sloppy.lower() and "  " in sloppy  # case and spacing of the original are kept
    assert " ".join(sloppy.split()) == surrogate.replace("PERSON", "Jan de Vries").lower()
    assert surrogate.replace("NL_BSN", "123 456 782").replace(" ", "") == surrogate.replace("NL_BSN", "123456782")


def test_same_value_gets_the_same_surrogate_within_a_document(surrogate: SurrogateOperator):
    text = "Jan de Vries belde. Later mailde Jan de Vries opnieuw."
    spans = [Finding("PERSON", m.start(), m.end(), 0.9) for m in re.finditer("Jan de Vries", text)]

    result = anonymise_text(text, spans, surrogate)

    first, second = re.fullmatch(r"(.+) belde\. Later mailde (.+) opnieuw\.", result).groups()
    assert first == second != "Jan de Vries"


def test_different_values_never_share_a_surrogate_within_a_document(surrogate: SurrogateOperator):
    surnames = wordlists.SURNAMES[:60]
    document = surrogate.for_document()

    replaced = [document.replace("PERSON", f"mevrouw {name}") for name in surnames]

    assert len(set(replaced)) == len(surnames)
    assert document.replace("PERSON", "mevrouw Jansen") == replaced[0]  # remembered


def test_unknown_entities_get_a_placeholder_not_the_original(surrogate: SurrogateOperator):
    assert surrogate.replace("ORGANIZATION", "Gemeente Utrecht") == "<ORGANISATIE>"
    assert surrogate.replace("SOMETHING_NEW", "geheim") == "<SOMETHING_NEW>"


def test_operators_need_a_long_enough_key_and_never_show_it():
    with pytest.raises(ValueError, match="at least 16 bytes") as excinfo:
        SurrogateOperator(b"short-secret")
    assert "short-secret" not in str(excinfo.value)
    assert KEY.decode() not in repr(SurrogateOperator(KEY)) + repr(HashOperator(KEY))


# --- placeholders and hashes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "label"),
    [
        ("PERSON", "<PERSOON>"),
        ("EMAIL_ADDRESS", "<EMAIL>"),
        ("PHONE_NUMBER", "<TELEFOONNUMMER>"),
        ("IBAN_CODE", "<IBAN>"),
        ("NL_BSN", "<BSN>"),
        ("NL_POSTCODE", "<POSTCODE>"),
        ("NL_ADDRESS", "<ADRES>"),
        ("NL_LICENSE_PLATE", "<KENTEKEN>"),
        ("NL_KVK", "<KVK>"),
        ("NL_BTW", "<BTW>"),
        ("IP_ADDRESS", "<IP_ADRES>"),
        ("URL", "<URL>"),
        ("CREDIT_CARD", "<CREDITCARD>"),
        ("DATE_OF_BIRTH", "<GEBOORTEDATUM>"),
    ],
)
def test_placeholder_labels_are_dutch(entity: str, label: str):
    assert PlaceholderOperator().replace(entity, "whatever") == label


def test_hash_operator_format_determinism_and_key():
    result = HashOperator(KEY).replace("NL_BSN", "123456782")

    assert re.fullmatch(r"<NL_BSN:[0-9a-f]{16}>", result)
    assert HashOperator(KEY).replace("NL_BSN", "123.456.782") == result  # separators do not matter
    assert HashOperator(OTHER_KEY).replace("NL_BSN", "123456782") != result
    assert HashOperator(KEY).replace("NL_BSN", "111222333") != result
    with pytest.raises(ValueError, match="at least 16 bytes"):
        HashOperator(b"x" * 15)


# --- the key check ---------------------------------------------------------------------------------


def test_check_key_is_the_one_length_check_and_names_the_origin_never_the_key():
    assert check_key(b"a-long-enough-secret-value") == b"a-long-enough-secret-value"
    with pytest.raises(AnonymisationKeyError, match="environment variable MY_KEY must hold at least 16 bytes") as exc:
        check_key(b"tooshort", "environment variable MY_KEY")
    assert "tooshort" not in str(exc.value)
    with pytest.raises(TypeError):
        check_key("not-bytes-but-a-long-string")  # type: ignore[arg-type]


# --- anonymise_text --------------------------------------------------------------------------------


def test_anonymise_text_replaces_by_offsets_in_unicode_text_with_adjacent_spans():
    text = "Zoë 🙂 belt 0612345678jan@voorbeeld.nl, BSN 123456782."
    phone = text.index("0612345678")
    email = text.index("jan@")
    bsn = text.index("123456782")
    findings = [  # unordered, adjacent phone+email, mixed Finding / Presidio results
        Finding("NL_BSN", bsn, bsn + 9, 0.9),
        RecognizerResult("EMAIL_ADDRESS", email, email + len("jan@voorbeeld.nl"), 0.9),
        Finding("PHONE_NUMBER", phone, email, 0.9),
        Finding("PERSON", 0, 3, 0.8),
    ]

    result = anonymise_text(text, findings, PlaceholderOperator())

    assert result == "<PERSOON> 🙂 belt <TELEFOONNUMMER><EMAIL>, BSN <BSN>."


def test_anonymise_text_with_surrogates_changes_only_the_spans(surrogate: SurrogateOperator):
    text = "Bel José op 06-12345678 of 020-1234567."
    findings = [Finding("PHONE_NUMBER", m.start(), m.end(), 0.9) for m in re.finditer(r"0\d+-\d+", text)]

    result = anonymise_text(text, findings, surrogate)

    assert re.fullmatch(r"Bel José op 06-\d{8} of 020-\d{7}\.", result)
    assert "12345678" not in result and "1234567" not in result


@pytest.mark.parametrize(
    "findings",
    [
        [Finding("PERSON", 0, 5, 0.9), Finding("PERSON", 4, 8, 0.9)],  # overlap
        [Finding("PERSON", 5, 50, 0.9)],  # beyond the text
        [Finding("PERSON", 3, 3, 0.9)],  # empty
    ],
)
def test_anonymise_text_rejects_bad_spans_without_showing_text(findings: list[Finding]):
    with pytest.raises(ValueError) as excinfo:
        anonymise_text("Jan Jansen", findings, PlaceholderOperator())
    assert "Jan" not in str(excinfo.value)
