"""Recognizers of contact data: e-mail addresses, URLs, IP addresses and phone numbers."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import phonenumbers
import tldextract

from anonymisation.recognizers.base import DutchPatternRecognizer

# Reserved names (RFC 2606, RFC 6762) are not public suffixes, but sample and test data use them for
# realistic personal addresses ("t.deboer@gemeente-groningen.example"): treat them as suffixes.
RESERVED_SUFFIXES = ("example", "test", "invalid", "localhost", "local")


@lru_cache(maxsize=1)
def offline_tld_extractor() -> tldextract.TLDExtract:
    """Return a TLDExtract that uses its bundled suffix list and never downloads or writes a cache."""
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), extra_suffixes=RESERVED_SUFFIXES)


@lru_cache(maxsize=4096)
def _has_public_suffix(domain: str) -> bool:
    """Whether ``domain`` ends in a public or reserved suffix (cached: a corpus repeats its domains)."""
    return offline_tld_extractor()(domain).suffix != ""


_LOCAL_CHARS = r"[\w!#$%&'*+/=?^`{|}~-]"


class NlEmailRecognizer(DutchPatternRecognizer):
    """E-mail addresses; the domain must end in a public or reserved suffix (checked offline with tldextract)."""

    ENTITY = "EMAIL_ADDRESS"
    # The match starts at "@" (found fast); the local part is matched by a lookbehind that captures it
    # in the group ``lead``, where the reported span starts.
    PATTERNS = (
        (
            "email",
            rf"(?<=(?<![\w.@])(?P<lead>{_LOCAL_CHARS}+(?:\.{_LOCAL_CHARS}+)*))"
            r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])",
            0.95,
        ),
    )
    CONTEXT = ("e-mail", "email", "e-mailadres", "mail", "mailadres", "mailen")
    GATE = "@"

    def validate_result(self, pattern_text: str) -> bool:
        """Accept only addresses whose domain has a known public suffix."""
        return _has_public_suffix(pattern_text.rsplit("@", 1)[1].lower())


# A URL never starts right after "@", "." or a word character: the domain of an e-mail address is
# therefore never a URL. The last character is not sentence punctuation.
_URL_TAIL = r"(?:[/?#][^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}])?"
_URL_TLDS = r"(?:nl|be|eu|com|org|net|info|io|de|fr|uk|frl|amsterdam|nu|biz|gov|edu|app|dev|online|shop|ai|co|me|tv)"


class NlUrlRecognizer(DutchPatternRecognizer):
    """URLs with a scheme, ``www.`` hosts and bare domains with a common TLD; never inside e-mail addresses.

    Bare domains are only recognised for a short list of common TLDs (no full TLD regex, which is
    what makes Presidio's stock URL recognizer slow).
    """

    ENTITY = "URL"
    PATTERNS = (
        ("url_scheme", r"(?<![\w@.])(?i:https?|ftp)://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]", 0.8),
        (
            "url_www",
            r"(?<![\w@./-])(?i:www)\.(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}" + _URL_TAIL + r"(?![\w@-])",
            0.7,
        ),
        # Found at ".tld" (fast); the labels before it are matched by a lookbehind into group ``lead``.
        (
            "url_domain",
            r"(?<=(?<![\w@./:-])(?P<lead>(?i:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)))"
            r"\.(?i:" + _URL_TLDS + r")(?![\w@-]|\.\w)" + _URL_TAIL + r"(?![\w@-])",
            0.5,
        ),
    )
    CONTEXT = ("website", "webpagina", "webadres", "url", "link", "site", "homepage", "internetadres")
    GATE = r"://|(?i:www\.)|\.(?i:" + _URL_TLDS + ")"


class NlIpAddressRecognizer(DutchPatternRecognizer):
    """IPv4 and IPv6 addresses (IPv6 checked with :mod:`ipaddress`)."""

    ENTITY = "IP_ADDRESS"
    _OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    PATTERNS = (
        ("ipv4", rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)", 0.6),
        (
            "ipv6",
            r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:])",
            0.7,
        ),
    )
    CONTEXT = ("ip", "ip-adres", "ipadres", "ip-adressen", "server", "host", "ipv4", "ipv6")
    GATE = r"\d\.\d{1,3}\.\d|:[0-9A-Fa-f]{0,4}:"

    def validate_result(self, pattern_text: str) -> bool:
        """Accept only real addresses (rejects times like ``12:30:45`` and a bare ``::``)."""
        if ":" in pattern_text and not any(char.isalnum() for char in pattern_text):
            return False
        try:
            ipaddress.ip_address(pattern_text)
        except ValueError:
            return False
        return True


# --- phone, IBAN, credit card -----------------------------------------------------------------------

_SEP = r"(?:[ \u00a0]?[-./][ \u00a0]?|[ \u00a0])?"  # between area code and subscriber number
_G = r"[ \u00a0.-]?"  # inside the subscriber number
_SUB8 = (
    rf"(?:\d{{4}}{_G}\d{{4}}|\d{{2}}{_G}\d{{2}}{_G}\d{{2}}{_G}\d{{2}}"
    rf"|\d{{3}}{_G}\d{{2}}{_G}\d{{3}}|\d{{2}}{_G}\d{{3}}{_G}\d{{3}})"
)
_SUB7 = rf"(?:\d{{3}}{_G}\d{{4}}|\d{{3}}{_G}\d{{2}}{_G}\d{{2}}|\d{{2}}{_G}\d{{2}}{_G}\d{{3}})"
_SUB6 = rf"(?:\d{{3}}{_G}\d{{3}}|\d{{2}}{_G}\d{{2}}{_G}\d{{2}})"
_NATIONAL = (
    rf"(?:(?:06|\(06\)){_SEP}{_SUB8}"
    rf"|(?:0[89]0\d|\(0[89]0\d\)){_SEP}(?:\d{{7}}|\d{{3}}{_G}\d{{4}}|\d{{4}}|\d{{2}}{_G}\d{{2}})"
    rf"|(?:0[1-9]\d|\(0[1-9]\d\)){_SEP}{_SUB7}"
    rf"|(?:0[1-9]\d\d|\(0[1-9]\d\d\)){_SEP}{_SUB6})"
)
_INTERNATIONAL_NL = (
    rf"(?:\+|00)31{_SEP}(?:\(0\){_SEP})?"
    rf"(?:6{_SEP}{_SUB8}|[89]0\d{_SEP}(?:\d{{7}}|\d{{4}})|[1-9]\d{_SEP}{_SUB7}|[1-9]\d\d{_SEP}{_SUB6})"
)
# Not the tail of a number, code or amount ("1 06...", "€ 0612345678", "EUR 0201234567").
_PHONE_START = r"(?<![\w+/,@€$-])(?<![\d€$][ \u00a0.])(?<!(?i:eur)[ \u00a0])"
_PHONE_END = r"(?![\w@]|[.,/-]?\d|[ ]\d)"


class NlPhoneRecognizer(DutchPatternRecognizer):
    """Dutch phone numbers recognised by their format, plus ``+CC`` numbers.

    Dutch: ``+31 6 12345678``, ``0031 6...``, ``+31 (0)20 ...``, ``+31(0)6-...``, ``06-12345678``,
    ``06 1234 5678``, ``06 12 34 56 78``, ``050-1234567``, ``020 123 4567``, ``(020) 123 45 67``,
    ``0800``/``0900`` numbers. A number written like a phone number is personal data to a reader, so a
    Dutch number is accepted by its length and prefix (:func:`dutch_phone_digits_valid`), whether or not
    its range is allocated today. Only fixed group shapes are matched, so dates, times, postcodes,
    amounts and BSN-like nine-digit runs never fit, and digits inside an IBAN are skipped. Foreign
    numbers need a leading ``+`` and a length ``phonenumbers`` deems possible for their country.
    """

    ENTITY = "PHONE_NUMBER"
    PATTERNS = (
        ("phone_nl", _PHONE_START + rf"(?:{_INTERNATIONAL_NL}|{_NATIONAL})" + _PHONE_END, 0.7),
        (
            "phone_international",
            _PHONE_START + rf"\+(?!31)[1-9]\d{{0,2}}(?:{_G}\(?\d{{1,4}}\)?){{2,5}}" + _PHONE_END,
            0.5,
        ),
    )
    CONTEXT = (
        "tel", "telefoon", "telefoonnummer", "telefonisch", "tel.nr", "telnr", "mobiel", "mobiele", "mob",
        "gsm", "bel", "bellen", "gebeld", "fax", "whatsapp", "nummer", "bereikbaar",
    )  # fmt: skip
    # "+" and a digit, or a 0 that does not continue a number followed by a digit ("06", "020", "0031").
    GATE = r"\+\d|(?<!\d)0\d"
    SKIP_INSIDE_IBAN = True

    def validate_result(self, pattern_text: str) -> bool:
        """Accept Dutch numbers by format; foreign ``+CC`` numbers of a possible length for their country."""
        digits = "".join(ch for ch in pattern_text if ch.isdigit())
        international = pattern_text.startswith("+") or digits.startswith("00")
        digits = digits[2:] if digits.startswith("00") else digits
        if not international:
            return dutch_phone_digits_valid(digits)
        if digits.startswith("31"):
            national = digits[2:]
            # "+31 (0)20 ...": the trunk 0 is written in brackets; otherwise it is left out
            return dutch_phone_digits_valid(national if national.startswith("0") else "0" + national)
        try:
            number = phonenumbers.parse(pattern_text, None)
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.is_possible_number(number)


def dutch_phone_digits_valid(digits: str) -> bool:
    """Tell whether national digits (trunk ``0`` included) have the length and prefix of a Dutch number.

    Ten digits after ``0[1-9]`` (mobile ``06``, geographic area codes, ``084``/``085``/``088``/``091``
    and the like), or an ``080x``/``090x`` service number of four or seven digits. Allocation is not
    checked: an unallocated range written as a phone number is still read as one.
    """
    if len(digits) == 10:
        return digits[0] == "0" and digits[1] != "0" and not digits.startswith(("0800", "0900"))
    return len(digits) in (8, 11) and digits[:2] in ("08", "09") and digits[2] == "0"
