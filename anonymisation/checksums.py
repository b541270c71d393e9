"""Checksum rules for Dutch and international identifiers (pure functions, no Presidio).

Every function takes the text as it may appear in a document (separators allowed where noted) and
returns ``True`` only when both the format and the check digit(s) are right. Recognizers use these
to drop pattern matches that merely look like an identifier.
"""

from __future__ import annotations

import re

__all__ = ["bsn_valid", "btw_valid", "iban_valid", "kvk_valid", "luhn_check_digit", "luhn_valid", "mod97"]

_SEPARATORS = re.compile(r"[\s.\-]")

# ISO 13616 IBAN length per country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_NL_IBAN_SHAPE = re.compile(r"NL[0-9]{2}[A-Z]{4}[0-9]{10}")
_BTW_SHAPE = re.compile(r"(?:NL)?([0-9]{9})B([0-9]{2})")


def _compact(text: str) -> str:
    """Remove spaces, dots and dashes and upper-case the rest."""
    return _SEPARATORS.sub("", text).upper()


def mod97(alphanumeric: str) -> int:
    """Return the ISO 7064 MOD 97-10 remainder of a string of digits and letters (A=10 ... Z=35)."""
    return int("".join(str(int(char, 36)) for char in alphanumeric)) % 97


def bsn_valid(digits: str) -> bool:
    """Return whether ``digits`` is a burgerservicenummer (BSN) that passes the 11-proef.

    The rule: for the nine digits d1..d9, ``9*d1 + 8*d2 + ... + 2*d8 - 1*d9`` is divisible by 11.
    Dots, spaces and dashes are ignored. An eight-digit number is an old sofinummer/BSN written
    without its leading zero and is padded with one ``0`` first (the official rule). All zeros is not
    a BSN. RSINs (legal entities) use the same rule, so they validate too.
    """
    number = _SEPARATORS.sub("", digits)
    if len(number) == 8:
        number = "0" + number
    if len(number) != 9 or not number.isascii() or not number.isdigit() or int(number) == 0:
        return False
    total = sum(weight * int(digit) for weight, digit in zip(range(9, 1, -1), number[:8], strict=True))
    return (total - int(number[8])) % 11 == 0


def iban_valid(text: str) -> bool:
    """Return whether ``text`` is an IBAN with a correct ISO 13616 MOD 97-10 check (spaces allowed).

    Checks the country's registered length when the country is known (15-34 characters otherwise)
    and, for Dutch IBANs, the ``NLkk BBBB 0123456789`` layout with a four-letter bank code.
    """
    iban = re.sub(r"\s", "", text).upper()
    if not _IBAN_SHAPE.fullmatch(iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if iban.startswith("NL") and not _NL_IBAN_SHAPE.fullmatch(iban):
        return False
    return mod97(iban[4:] + iban[:4]) == 1


def luhn_check_digit(payload: str) -> str:
    """Return the Luhn check digit that completes a string of digits."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: these sit at odd positions once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_valid(digits: str) -> bool:
    """Return whether a digit string passes the Luhn (mod 10) check; spaces and dashes are ignored.

    Used for payment cards; a string without digits or with other characters is not valid.
    """
    number = re.sub(r"[\s\-]", "", digits)
    if not number or not number.isascii() or not number.isdigit():
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def kvk_valid(digits: str) -> bool:
    """Return whether ``digits`` has the format of a KvK-nummer (8 digits, spaces/dots ignored).

    KvK-nummers issued since 2016 carry no public check digit (older ones happened to pass an
    11-proef, new ones need not), so this checks the format only: exactly eight digits, not all zeros.
    """
    number = _SEPARATORS.sub("", digits)
    return len(number) == 8 and number.isascii() and number.isdigit() and int(number) != 0


def btw_valid(text: str) -> bool:
    """Return whether ``text`` is a Dutch btw-(identificatie)nummer: ``NL`` + 9 digits + ``B`` + 2 digits.

    Spaces, dots and dashes are ignored and the ``NL`` prefix is optional. Two check rules exist and
    either one makes the number valid (the same rule python-stdnum applies):

    * the omzetbelastingnummer (BSN/RSIN based, and all btw-nummers before 2020): the nine digits
      pass the 11-proef of :func:`bsn_valid`;
    * the btw-identificatienummer of sole traders issued since 1 January 2020 (no longer derived from
      the BSN): ``"NL" + digits + "B" + digits`` passes ISO 7064 MOD 97-10 like an IBAN
      (N=23, L=21, B=11; the whole number modulo 97 equals 1).

    The two digits after ``B`` are a sequence number starting at 01, so ``B00`` is rejected.
    """
    match = _BTW_SHAPE.fullmatch(_compact(text))
    if match is None:
        return False
    digits, suffix = match.groups()
    if int(digits) == 0 or suffix == "00":
        return False
    return bsn_valid(digits) or mod97(f"NL{digits}B{suffix}") == 1
