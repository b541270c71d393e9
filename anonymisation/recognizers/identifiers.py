"""Recognizers of numbers and codes: IBAN, payment card, BSN, postcode, kenteken, KvK, btw, date of birth."""

from __future__ import annotations

import datetime

import regex
from presidio_analyzer import Pattern

from anonymisation.checksums import IBAN_LENGTHS, bsn_valid, btw_valid, iban_valid, kvk_valid, luhn_valid
from anonymisation.recognizers.base import _DATE, _NOT_AMOUNT, _NUM_END, _NUM_START, DutchPatternRecognizer
from anonymisation.vocabulary import BIRTH_MONTH_NUMBERS


class NlIbanRecognizer(DutchPatternRecognizer):
    """IBANs with or without spaces; only those that pass the ISO 13616 mod-97 check are reported."""

    ENTITY = "IBAN_CODE"
    PATTERNS = (
        ("iban_nl", r"(?<!\w)NL\d{2}[ ]?[A-Z]{4}(?:[ ]?\d{4}){2}[ ]?\d{2}(?!\w)", 0.95),
        ("iban", r"(?<!\w)(?!NL)[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?!\w)", 0.9),
    )
    CONTEXT = ("iban", "rekening", "rekeningnummer", "bankrekening", "bankrekeningnummer", "rek.nr", "rekeningnr")
    GATE = r"[A-Z]{2}\d{2}"

    def refine_span(self, text: str, match: regex.Match, start: int, end: int) -> tuple[int, int]:
        """Cut a match that ran on into the next word back to the country's IBAN length."""
        expected = IBAN_LENGTHS.get(text[start : start + 2])
        if expected is None:
            return start, end
        seen = 0
        for index in range(start, end):
            if text[index] != " ":
                seen += 1
                if seen == expected:
                    return start, index + 1
        return start, end

    def validate_result(self, pattern_text: str) -> bool:
        """Accept only IBANs with a correct check (mod 97) and length."""
        return iban_valid(pattern_text)


_CARD_START = r"(?<![\w.,+/-])(?<!\d[ -])"
_CARD_END = r"(?![\w]|[ -]?\d)"
_CARD_PREFIX = regex.compile(r"(?:4|5[0-5]|2[2-7]|3[0-9]|6[0-9]|5[6-9])")


class NlCreditCardRecognizer(DutchPatternRecognizer):
    """Payment card numbers: 13-19 digits, plain or grouped with spaces/dashes, Luhn-checked.

    The first digits must be a card issuer prefix (2-6), and numbers inside an IBAN are skipped.
    """

    ENTITY = "CREDIT_CARD"
    PATTERNS = (
        ("card_plain", _CARD_START + r"\d{13,19}" + _CARD_END, 0.6),
        ("card_grouped", _CARD_START + r"\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}" + _CARD_END, 0.6),
        ("card_amex", _CARD_START + r"3\d{3}([ -])\d{6}\1\d{4,5}" + _CARD_END, 0.6),
    )
    CONTEXT = (
        "creditcard", "credit card", "creditcardnummer", "kaartnummer", "kaart", "card", "visa", "mastercard",
        "maestro", "american express", "amex", "betaalkaart", "betaalpas",
    )  # fmt: skip
    GATE = r"\d{4}[ -]?\d{4}"
    SKIP_INSIDE_IBAN = True

    def validate_result(self, pattern_text: str) -> bool:
        """Accept only Luhn-valid numbers with a card issuer prefix."""
        digits = regex.sub(r"[ -]", "", pattern_text)
        return _CARD_PREFIX.match(digits) is not None and luhn_valid(digits)


# --- Dutch identifiers ------------------------------------------------------------------------------


class NlBsnRecognizer(DutchPatternRecognizer):
    """Burgerservicenummers that pass the 11-proef: ``123456782``, ``123.456.782``, ``1234 56 782``.

    Nine-digit numbers are reported without context (score 0.5) and with a context word nearby
    (``bsn``, ``burgerservicenummer``, ``sofinummer``; 0.85). Eight-digit numbers (old sofinummers
    without their leading zero) only count with a context word. Amounts and IBAN digits are skipped.
    """

    ENTITY = "NL_BSN"
    PATTERNS = (
        ("bsn", _NUM_START + r"\d{9}" + _NUM_END + _NOT_AMOUNT, 0.5),
        (
            "bsn_grouped",
            _NUM_START + r"(?:\d{3}([ .])\d{3}\1\d{3}|\d{4}([ .])\d{2}\2\d{3})" + _NUM_END + _NOT_AMOUNT,
            0.5,
        ),
        ("bsn_8_digits", _NUM_START + r"\d{8}" + _NUM_END + _NOT_AMOUNT, 0.4),
    )
    CONTEXT = (
        "bsn", "bsn-nummer", "bsnnummer", "burgerservicenummer", "burger service nummer", "sofinummer",
        "sofi-nummer", "sofi nummer", "sofi", "persoonsnummer",
    )  # fmt: skip
    GATE = r"\d{3}[ .]?\d{2}"
    CONTEXT_REQUIRED = frozenset({"bsn_8_digits"})
    SKIP_INSIDE_IBAN = True

    def validate_result(self, pattern_text: str) -> bool:
        """Accept only numbers that pass the 11-proef."""
        return bsn_valid(pattern_text)


class NlPostcodeRecognizer(DutchPatternRecognizer):
    """Dutch postcodes ``1234 AB`` / ``1234AB`` (no leading 0; never SA, SD or SS; upper case only)."""

    ENTITY = "NL_POSTCODE"
    PATTERNS = (("postcode", r"(?<![\w-])[1-9]\d{3}[ \u00a0]?(?!SA|SD|SS)[A-Z]{2}(?![\w-])", 0.6),)
    CONTEXT = ("postcode", "adres", "woonadres", "postadres", "woonachtig", "wonende")
    SKIP_INSIDE_IBAN = True


# Dutch side codes (sidecodes) 1-14: X = letter, 9 = digit. Side codes 1-3 date from before 1978 and
# may contain any letter; later ones only use consonants (no vowels, C, M, Q, W or Y).
_SIDE_CODES_OLD = ("XX-99-99", "99-99-XX", "99-XX-99")
_SIDE_CODES_NEW = (
    "XX-99-XX", "XX-XX-99", "99-XX-XX", "99-XXX-9", "9-XXX-99", "XX-999-X", "X-999-XX", "XXX-99-X",
    "X-99-XXX", "9-XX-999", "999-XX-9",
)  # fmt: skip
_PLATE_CONSONANTS = frozenset("BDFGHJKLNPRSTVXZ")
_PLATE_SHAPE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "X" * 26 + "9" * 10)


class NlLicensePlateRecognizer(DutchPatternRecognizer):
    """Dutch kentekens in the side-code formats (``XX-99-99`` ... ``999-XX-9``), upper case.

    With dashes they are reported on their own, if the letters follow the plate rules: side codes 4-14
    use only consonants (no vowels, C, M, Q, W, Y), which keeps codes like ``HP-123-A`` out. After a
    context word such as ``kenteken`` any letters are accepted, and plates written together
    (``12BDF3``) or with spaces count too. One cheap shape regex finds candidates and
    :meth:`validate_pattern_result` checks them against the side-code table.
    """

    ENTITY = "NL_LICENSE_PLATE"
    PATTERNS = (
        ("plate_dashed", r"(?<![\w-])[A-Z0-9]{1,3}-[A-Z0-9]{1,3}-[A-Z0-9]{1,3}(?![\w-])", 0.6),
        (
            "plate_with_context",
            r"(?<![\w-])(?:[A-Z0-9]{6}|[A-Z0-9]{1,3}([ -])[A-Z0-9]{1,3}\1[A-Z0-9]{1,3})(?![\w-])",
            0.5,
        ),
    )
    CONTEXT = (
        "kenteken", "kentekens", "kentekenplaat", "kentekenplaten", "kentekennummer", "nummerplaat",
        "nummerbord", "voertuig", "auto", "personenauto", "bestelbus", "bestelauto", "motor", "scooter",
    )  # fmt: skip
    CONTEXT_REQUIRED = frozenset({"plate_with_context"})
    CONTEXT_WINDOW = 40

    _OLD = frozenset(_SIDE_CODES_OLD)
    _ALL = frozenset(_SIDE_CODES_OLD + _SIDE_CODES_NEW)
    _ALL_JOINED = frozenset(code.replace("-", "") for code in _ALL)

    def validate_pattern_result(self, pattern: Pattern, pattern_text: str) -> bool:
        """Accept only side-code layouts; without context also the consonant rule of side codes 4-14."""
        plate = pattern_text.replace(" ", "-")
        shape = plate.translate(_PLATE_SHAPE)
        if shape not in (self._ALL if "-" in plate else self._ALL_JOINED):
            return False
        if pattern.name in self.context_required or shape in self._OLD:
            return True
        return all(char in _PLATE_CONSONANTS for char in plate if char.isalpha())

    def validate_result(self, pattern_text: str) -> bool:
        """Accept a plate as written without context (dashes, plate letters)."""
        return self.validate_pattern_result(self.patterns[0], pattern_text)


class NlKvkRecognizer(DutchPatternRecognizer):
    """KvK-nummers (eight digits) after a context word: ``kvk``, ``Kamer van Koophandel``, ``handelsregister``."""

    ENTITY = "NL_KVK"
    PATTERNS = (
        ("kvk", _NUM_START + r"(?:\d{8}|\d{4}[ .]\d{4}|\d{2}([ .])\d{2}\1\d{2}\1\d{2})" + _NUM_END + _NOT_AMOUNT, 0.5),
    )
    CONTEXT = (
        "kvk", "kvk-nummer", "kvknummer", "kvk-nr", "kvk nr", "kamer van koophandel", "koophandel",
        "handelsregister", "handelsregisternummer", "kvk-inschrijving",
    )  # fmt: skip
    CONTEXT_REQUIRED = frozenset({"kvk"})
    SKIP_INSIDE_IBAN = True

    def validate_result(self, pattern_text: str) -> bool:
        """Accept eight digits (KvK-nummers have no public check digit)."""
        return kvk_valid(pattern_text)


_BTW_DIGITS = r"(?:\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}\.\d{3}\.\d{3})"


class NlBtwRecognizer(DutchPatternRecognizer):
    """Btw-(identificatie)nummers ``NL123456789B01`` (11-proef or mod-97 checked, see :func:`btw_valid`).

    With the ``NL`` prefix they are reported on their own; ``123456789B01`` without it only after a
    context word (``btw``, ``btw-nummer``, ``omzetbelastingnummer``, ``vat``).
    """

    ENTITY = "NL_BTW"
    PATTERNS = (
        ("btw_nl", rf"(?<!\w)NL[ .]?{_BTW_DIGITS}[ .]?B[ .]?\d{{2}}(?!\w)", 0.8),
        ("btw_digits", rf"(?<![\w.])(?<!NL[ .]){_BTW_DIGITS}[ .]?B[ .]?\d{{2}}(?!\w)", 0.5),
    )
    CONTEXT = (
        "btw", "btw-nummer", "btwnummer", "btw-id", "btw-identificatienummer", "btw nr", "omzetbelastingnummer",
        "omzetbelasting", "vat", "vat-nummer", "vat number", "vat id", "vat-id",
    )  # fmt: skip
    GATE = r"\d[ .]?B[ .]?\d\d"
    CONTEXT_REQUIRED = frozenset({"btw_digits"})

    def validate_result(self, pattern_text: str) -> bool:
        """Accept only numbers that pass the btw check (11-proef or mod 97)."""
        return btw_valid(pattern_text)


_BIRTH_CONTEXT = (
    r"(?i:(?<!\w)(?:geboren|geboortedatum|geboorte\s*datum|geboortedag|geb\.(?:\s*datum)?|geb(?=\s*:)"
    r"|d\.d\.\s*geboorte|date\s+of\s+birth|dob(?=\s*:)))"
)


# Substrings every birth context contains ("geb" alone is the start of too many words: "gebied").
_BIRTH_NEEDLES = ("geboren", "geboorte", "geb.", "birth", "dob")
_GEB_COLON = regex.compile(r"geb\s*:")


class NlDateOfBirthRecognizer(DutchPatternRecognizer):
    """A date shortly after a birth context (``geboren (op)``, ``geboortedatum``, ``geb.``, ``d.d. geboorte``).

    Dates: ``12-03-1985``, ``12/03/1985``, ``12.03.85``, ``12 maart 1985``, ``1985-03-12``. At most
    40 characters without digits may stand between the context and the date (``geboren te Utrecht op``).
    Only the date is reported; a date without birth context is not. A year on its own right after the
    context (``geboren 1961``, ``geboren in 1961``) is reported with a lower score (0.6 against 0.85).
    """

    ENTITY = "DATE_OF_BIRTH"
    PATTERNS = (
        (
            "date_of_birth",
            _BIRTH_CONTEXT + r"[\s:,.)(-]*[^\d\n]{0,40}?(?<![\w])(?P<pii>(?i:" + _DATE + r"))(?!\d|[-/.]\d)",
            0.5,
        ),
        # "geboren 1961", "geboren in 1961": a year of birth is personal data too, but weaker evidence.
        (
            "year_of_birth",
            _BIRTH_CONTEXT + r"[\s:,.)(-]*[^\d\n]{0,25}?(?<![\w])(?P<pii>(?:1[89]|20)\d\d)(?!\d|[-/.]\d)",
            0.25,
        ),
    )
    CONTEXT = (
        "geboren", "geboortedatum", "geboorte datum", "geboortedag", "geb", "geb.", "d.d. geboorte",
        "date of birth", "dob",
    )  # fmt: skip
    CONTEXT_REQUIRED = frozenset({"date_of_birth", "year_of_birth"})
    CONTEXT_WINDOW = 90

    def may_match(self, text: str) -> bool:
        """Return whether ``text`` has a birth context word (substring test; ``geb`` alone only before ``:``)."""
        lowered = text.lower()
        return any(needle in lowered for needle in _BIRTH_NEEDLES) or _GEB_COLON.search(lowered) is not None

    def validate_result(self, pattern_text: str) -> bool:
        """Accept only dates that exist (day and month in range) and plausible years of birth."""
        parts = regex.findall(r"\d+|[^\W\d_]+", pattern_text)
        if len(parts) == 1:
            return parts[0].isdigit() and 1850 <= int(parts[0]) <= datetime.date.today().year
        if len(parts) != 3:
            return False
        if len(parts[0]) == 4:
            year, month, day = (int(part) for part in parts)
        else:
            day, year = int(parts[0]), int(parts[2])
            month = int(parts[1]) if parts[1].isdigit() else BIRTH_MONTH_NUMBERS.get(parts[1][:3].lower(), 0)
            if year < 100:
                year += 1900
        try:
            datetime.date(year, month, day)
        except ValueError:
            return False
        return True
