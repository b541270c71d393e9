"""Presidio recognizers for personal data in Dutch text (language ``"nl"``), offline and regex-based.

One small class per entity type; :func:`dutch_recognizers` returns one instance of each. All of them
share :class:`DutchPatternRecognizer`, a :class:`~presidio_analyzer.PatternRecognizer` that adds what
Dutch text needs and Presidio's stock matching lacks:

* patterns are compiled once, case-sensitive unless a pattern says ``(?i:...)`` itself (Presidio's
  default flags ignore case, which breaks postcodes, kentekens and capitalised street names);
* a pattern may mark the reported span with a named group ``pii``; the rest of the match is context
  (the date of birth pattern matches ``geboren op <date>`` but reports only the date). A group
  ``lead`` (may sit in a lookbehind) moves the start of the span back to where it starts;
* context words are matched in the raw text just before the match (``context_window`` characters).
  They raise the score by ``context_boost`` and are *required* for the patterns named in
  ``context_required``. This works with a blank spaCy pipeline, where Presidio's own lemma-based
  context enhancement sees no lemmas. Every result is flagged as context-enhanced, so Presidio's
  enhancer skips it: no double boost, and none of its per-result search through all tokens, which
  dominated analysis time on long documents;
* ``validate_result`` returning ``False`` drops a match (checksums), ``True`` keeps the pattern score
  (a passed 11-proef is weak evidence on its own, so it must not jump to 1.0 as in stock Presidio).

No Dagster here, and nothing is downloaded: the e-mail recognizer uses tldextract's bundled public
suffix list.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import phonenumbers
import regex
import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

from anonymisation.checksums import IBAN_LENGTHS, bsn_valid, btw_valid, iban_valid, kvk_valid, luhn_valid
from anonymisation.lexicon import NameLexicon
from anonymisation.names import PersonNameFinder, default_finder
from anonymisation.persons import configured_model, find_persons
from anonymisation.vocabulary import BIRTH_MONTH_NUMBERS, MONTH_PATTERN, STREET_SUFFIXES

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

    from anonymisation.namemodel import NameModel

__all__ = [
    "DutchPatternRecognizer",
    "NlAddressRecognizer",
    "NlBsnRecognizer",
    "NlBtwRecognizer",
    "NlCreditCardRecognizer",
    "NlDateOfBirthRecognizer",
    "NlEmailRecognizer",
    "NlIbanRecognizer",
    "NlIpAddressRecognizer",
    "NlKvkRecognizer",
    "NlLicensePlateRecognizer",
    "NlPersonRecognizer",
    "NlPhoneRecognizer",
    "NlPostcodeRecognizer",
    "NlUrlRecognizer",
    "dutch_recognizers",
]

# --- shared regex fragments -------------------------------------------------------------------------

# A number that is not the tail or head of a longer number, amount or identifier: no word character,
# digit separator, sign or currency directly before it, and no "1 " (digit + space) or "€ " either.
_NUM_START = r"(?<![\w.,+/€$@-])(?<![\d€$][ \u00a0])(?<!(?i:eur)[ \u00a0])"
# ... and nothing number-like directly after it ("123456782.5", "123456782 3", "123456782-7").
_NUM_END = r"(?![\w@]|[.,/-]?\d|[ ]\d)"
# Amounts are not identifiers: "123.456.782 euro", "€ 123.456.782".
_NOT_AMOUNT = r"(?!\s*(?i:euro|eur\b|%|procent|mln|miljoen|mld|miljard))"

_MONTH_NAMES = MONTH_PATTERN
_MONTHS = rf"(?:{_MONTH_NAMES})"
_DATE = (
    r"(?:(?:[0-2]?\d|3[01])[-/.](?:0?\d|1[0-2])[-/.](?:1[89]|20)?\d\d"  # 12-03-1985, 12/3/85
    r"|(?:[0-2]?\d|3[01])\s+" + _MONTHS + r"\.?\s+(?:1[89]|20)\d\d"  # 12 maart 1985
    r"|(?:1[89]|20)\d\d-(?:0\d|1[0-2])-(?:[0-2]\d|3[01]))"  # 1985-03-12
)

# Anything shaped like an IBAN (validated or not): numbers inside it are not phones, BSNs or cards.
_IBAN_LIKE = regex.compile(r"(?<!\w)[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?!\w)")
_IBAN_NEIGHBOURHOOD = 50


def _inside_iban(text: str, start: int, end: int) -> bool:
    """Return whether ``text[start:end]`` overlaps an IBAN-shaped token (looked for nearby only)."""
    for match in _IBAN_LIKE.finditer(text, max(0, start - _IBAN_NEIGHBOURHOOD), end + _IBAN_NEIGHBOURHOOD):
        if match.start() < end and start < match.end():
            return True
    return False


def _context_regex(words: Iterable[str]) -> regex.Pattern | None:
    """Compile context words into one case-insensitive whole-word regex (multi-word phrases allowed)."""
    alternatives = sorted({r"\s+".join(regex.escape(part) for part in word.split()) for word in words if word.strip()})
    if not alternatives:
        return None
    return regex.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", regex.IGNORECASE)


class DutchPatternRecognizer(PatternRecognizer):
    """Base for the Dutch recognizers: compiled patterns, ``pii`` span groups and raw-text context.

    :param patterns: patterns to use instead of the class's ``PATTERNS``.
    :param context: Dutch context words instead of the class's ``CONTEXT`` (whole words, any case;
        multi-word phrases allowed).
    :param supported_language: language code the recognizer registers for.
    :param supported_entity: entity type to report instead of the class's ``ENTITY``.
    :param name: recognizer name (defaults to the class name).
    :param context_window: how many characters before a match are searched for context words.
    :param context_boost: added to the score (capped at 1.0) when a context word is found.
    :param context_required: names of patterns whose matches count only with a context word.

    ``GATE`` is a cheap regex that every match of every pattern must contain (a necessary condition,
    such as ``@`` for e-mail): a text without it is skipped without running the patterns. Patterns in
    ``context_required`` are likewise skipped when the text contains no context word at all (see
    :meth:`may_have_context`). Most documents hold no identifier of a given type, so most recognizers
    stop after one fast search.
    """

    ENTITY: ClassVar[str] = ""
    PATTERNS: ClassVar[tuple[tuple[str, str, float], ...]] = ()
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    CONTEXT_REQUIRED: ClassVar[frozenset[str]] = frozenset()
    CONTEXT_WINDOW: ClassVar[int] = 50
    CONTEXT_BOOST: ClassVar[float] = 0.35
    #: Drop matches that overlap an IBAN-shaped token (numeric recognizers).
    SKIP_INSIDE_IBAN: ClassVar[bool] = False
    FLAGS: ClassVar[int] = regex.MULTILINE
    #: Necessary condition for any match (see the class docstring); ``None``: always run the patterns.
    GATE: ClassVar[str | None] = None

    def __init__(
        self,
        patterns: list[Pattern] | None = None,
        context: Sequence[str] | None = None,
        supported_language: str = "nl",
        supported_entity: str | None = None,
        name: str | None = None,
        context_window: int | None = None,
        context_boost: float | None = None,
        context_required: Iterable[str] | None = None,
    ):
        if patterns is None:
            patterns = [Pattern(pattern_name, pattern, score) for pattern_name, pattern, score in self.PATTERNS]
        context_words = list(self.CONTEXT if context is None else context)
        super().__init__(
            supported_entity=supported_entity or self.ENTITY,
            name=name,
            supported_language=supported_language,
            patterns=patterns,
            context=context_words,
            global_regex_flags=self.FLAGS,
        )
        self.context_window = self.CONTEXT_WINDOW if context_window is None else context_window
        self.context_boost = self.CONTEXT_BOOST if context_boost is None else context_boost
        self.context_required = frozenset(self.CONTEXT_REQUIRED if context_required is None else context_required)
        self._context_pattern = _context_regex(context_words)
        self._context_needles = tuple(sorted({word.split()[0].lower() for word in context_words if word.strip()}))
        self._gate = None if self.GATE is None else regex.compile(self.GATE, flags=self.FLAGS)
        for pattern in self.patterns:
            pattern.compiled_regex = regex.compile(pattern.regex, flags=self.FLAGS)
            pattern.compiled_with_flags = self.FLAGS

    def context_word_before(self, text: str, start: int) -> str | None:
        """Return the last context word in the ``context_window`` characters before ``start``, if any."""
        if self._context_pattern is None:
            return None
        last = None
        for last in self._context_pattern.finditer(text, max(0, start - self.context_window), start):  # noqa: B007
            pass
        return None if last is None else last.group(0)

    def may_match(self, text: str) -> bool:
        """Return ``False`` only if no pattern can match ``text`` (hook; default: search ``GATE``)."""
        return self._gate is None or self._gate.search(text) is not None

    def may_have_context(self, text: str) -> bool:
        """Return ``False`` only if ``text`` has no context word anywhere (a lower-case substring test).

        Plain substring search is ~10x cheaper than the case-insensitive context regex, and every
        match of that regex contains the first word of its phrase.
        """
        lowered = text.lower()
        return any(needle in lowered for needle in self._context_needles)

    def validate_pattern_result(self, pattern: Pattern, pattern_text: str) -> bool | None:
        """Validate a match of ``pattern`` (hook; defaults to :meth:`validate_result`)."""
        return self.validate_result(pattern_text)

    def refine_span(self, text: str, match: regex.Match, start: int, end: int) -> tuple[int, int] | None:
        """Adjust a match's span before validation, or return ``None`` to drop it (hook; unchanged here)."""
        return start, end

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Find the entity in ``text``; see the class docstring for scoring, spans and context.

        ``regex_flags`` is ignored: every pattern is compiled once with the recognizer's ``FLAGS``.
        """
        results: list[RecognizerResult] = []
        if not self.may_match(text):
            return results
        entity = self.supported_entities[0]
        has_context: bool | None = None  # searched once, only if a pattern requires context
        for pattern in self.patterns:
            groups = pattern.compiled_regex.groupindex
            has_pii_group, has_lead_group = "pii" in groups, "lead" in groups
            needs_context = pattern.name in self.context_required
            if needs_context:
                if has_context is None:
                    has_context = self.may_have_context(text)
                if not has_context:
                    continue
            for match in pattern.compiled_regex.finditer(text):
                start, end = match.span("pii") if has_pii_group else match.span()
                if has_lead_group:
                    start = match.start("lead")
                if start < 0 or start == end:
                    continue
                span = self.refine_span(text, match, start, end)
                if span is None:
                    continue
                start, end = span
                value = text[start:end]
                validation = self.validate_pattern_result(pattern, value)
                if validation is False or self.invalidate_result(value):
                    continue
                if self.SKIP_INSIDE_IBAN and _inside_iban(text, start, end):
                    continue
                context_word = self.context_word_before(text, start)
                if needs_context and context_word is None:
                    continue
                score = pattern.score
                if context_word is not None:
                    score = min(EntityRecognizer.MAX_SCORE, score + self.context_boost)
                explanation = self.build_regex_explanation(
                    self.name, pattern.name, pattern.regex, pattern.score, validation, self.FLAGS
                )
                if context_word is not None:
                    explanation.set_supportive_context_word(context_word)
                    explanation.set_improved_score(score)
                results.append(
                    RecognizerResult(
                        entity_type=entity,
                        start=start,
                        end=end,
                        score=score,
                        analysis_explanation=explanation,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                            # Context was evaluated here, on the raw text: keep Presidio's lemma-based
                            # enhancer from boosting again (and from its O(tokens) search per result).
                            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
                        },
                    )
                )
        return EntityRecognizer.remove_duplicates(results)


# --- e-mail, URL, IP --------------------------------------------------------------------------------


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


_SUFFIX_WORDS = (*STREET_SUFFIXES, "ring", "dam", "vaart", "zijde", "oever", "burgwal")
# A capitalised name word ("Prins", "IJssel", "Oost-Indië") or a title abbreviation ("Burg.", "St.").
# All-caps tokens ("AB" of a postcode) and words ending a sentence ("Den Haag.") are not name words.
_WORD = (
    r"(?:(?:IJ|\p{Lu})\p{Ll}[\p{L}'’-]*(?![.\p{L}'’-])"
    r"|(?:St|Burg|Prof|Dr|Mr|Ir|Ing|Ds|Gen|Kon|Pr|Jhr|Mgr|Past|Luit|Adm|Kapt|Mej|Mevr|Dhr)\.)"
)
_PARTICLE = r"(?:van|de|der|den|het|'t|ter|ten|te|la|le|du|von)"
# Capitalised words that start a sentence or clause rather than a street name.
_NOT_STREET_WORD = (
    r"(?!(?:In|Op|Aan|Bij|Naar|Uit|Via|Langs|Tot|Vanaf|Voor|Achter|Tegenover|Nabij|Naast|Tussen|Sinds|Met"
    r"|Zonder|Over|Onder|Door|Om|Per|Ik|Wij|We|Hij|Zij|Ze|U|Mijn|Zijn|Haar|Onze|Ons|Hun|Een|Deze|Dit|Die|Dat"
    r"|Ook|Maar|Dus|Toen|Nu|Daarna|Vandaag|Gisteren|Morgen|Hier|Daar|Er|Zie|Als|Want|Omdat|Dan|Waar|Welke"
    r"|Alle|Elke|Iedere|Adres|Woonadres|Postadres|Bezoekadres|Woonachtig|Wonende|En|Of)\s)"
)
_PREFIX_WORD = rf"{_NOT_STREET_WORD}{_WORD}\s+(?:{_PARTICLE}\s+){{0,2}}"
# The street as matched by the regex: a word ending in a street suffix ("Kalverstraat", "Withstraat"),
# a bare suffix word ("Gracht", "Markt": only with name words before it) or "Laan van X". Name words
# before it ("Prins", "Burgemeester de", "Oude") are added afterwards by NlAddressRecognizer.refine_span:
# matching them in the main regex at every capitalised word made it four times slower.
_STREET = (
    r"(?:"
    rf"\p{{Lu}}[\p{{L}}'’-]*?(?:{'|'.join(STREET_SUFFIXES)})"
    rf"|(?P<bare>{'|'.join(word.capitalize() for word in _SUFFIX_WORDS)})"
    rf"|(?:Laan|Plein|Weg|Kade|Dijk|Singel|Straat|Park|Hof|Dreef|Gracht|Markt)\s+(?:{_PARTICLE}\s+){{1,2}}"
    rf"{_WORD}(?:\s+{_WORD})?"
    r")"
)
_NUMBER_AFTER_LETTER = regex.compile(r"(?<=[^\W\d_])\s+[1-9]")
_LONGEST_SUFFIX = max(len(word) for word in _SUFFIX_WORDS)
_STREET_WORD_THEN_PARTICLE = regex.compile(
    rf"(?:Laan|Plein|Weg|Kade|Dijk|Singel|Straat|Park|Hof|Dreef|Gracht|Markt)\s+{_PARTICLE}\s"
)
_NAME_WORDS_BEFORE = regex.compile(rf"(?<![\w-])(?:{_PREFIX_WORD}){{1,3}}\Z")
_NAME_WORDS_WINDOW = 100
_NOT_A_QUANTITY = (
    r"(?!\s*(?:%|€|[.,:]\d|(?i:uur|km|kilometer|meter|m|cm|mm|kg|jaar|jaren|keer|minuten|min|seconden|procent|euro"
    r"|mensen|personen|dagen|weken|maanden|woningen|huizen|" + _MONTH_NAMES + r")(?!\w)))"
)
_HOUSE_NUMBER = (
    r"[1-9]\d{0,4}" + _NOT_A_QUANTITY + r"(?:[ ]?-[ ]?(?:[1-9]\d{0,3}|[A-Za-z]{1,3})(?![\w-])"
    r"|[ ]?(?:bis|hs|huis|bg|boven|rood|zw)(?!\w)"
    r"|[ ]?[A-Za-z](?:[ ]?-[ ]?\d{1,3})?(?![\w-]))?"
)
_CITY = r"(?:'s-|'s\s|'t\s)?\p{Lu}[\p{L}'’-]+(?:\s(?:(?:aan|op|in|bij|a/d)\s(?:de\s|den\s)?)?\p{Lu}[\p{L}'’-]+){0,2}"
_POSTCODE = r"[1-9]\d{3}[ \u00a0]?(?!SA|SD|SS)[A-Z]{2}(?![\w-])"


class NlAddressRecognizer(DutchPatternRecognizer):
    """Street + house number, e.g. ``Kalverstraat 12``, ``Prins Hendrikkade 12-II``, ``Laan van Meerdervoort 5a``.

    The street is a capitalised word ending in a street suffix (straat, weg, laan, gracht, kade, ...),
    optionally preceded by up to three name words with particles (``Burgemeester de Withstraat``), or
    name words followed by a separate suffix word (``Oude Gracht``, ``Grote Markt``), or ``Laan van X``.
    House numbers may carry additions (``12a``, ``12-II``, ``12 bis``, ``12 A-3``, ``12hs``). A postcode
    and city directly after it are included in the span and raise the score.
    """

    ENTITY = "NL_ADDRESS"
    PATTERNS = (
        (
            "address_postcode",
            rf"(?<![\w-]){_STREET}\s+{_HOUSE_NUMBER},?\s+{_POSTCODE}(?:[ \u00a0]+{_CITY})?",
            0.85,
        ),
        ("address", rf"(?<![\w-]){_STREET}\s+{_HOUSE_NUMBER}(?![\w-])", 0.7),
    )
    CONTEXT = ("adres", "woonadres", "postadres", "woonachtig", "wonende", "woont", "gevestigd", "bezoekadres")

    def may_match(self, text: str) -> bool:
        """Return whether a house number follows a street suffix word or a ``Laan van X``-style street.

        A regex alternation of all suffixes costs as much as the address patterns themselves; finding
        "letter, space, digit" and checking the word before it in Python is ~30x cheaper on news text.
        """
        for candidate in _NUMBER_AFTER_LETTER.finditer(text):
            position = candidate.start()
            if text[max(0, position - _LONGEST_SUFFIX) : position].lower().endswith(_SUFFIX_WORDS):
                return True
            if _STREET_WORD_THEN_PARTICLE.search(text, max(0, position - _NAME_WORDS_WINDOW), position):
                return True
        return False

    def refine_span(self, text: str, match: regex.Match, start: int, end: int) -> tuple[int, int] | None:
        """Extend the span over up to three name words before the street; a bare suffix word needs them."""
        before = _NAME_WORDS_BEFORE.search(text, max(0, start - _NAME_WORDS_WINDOW), start)
        if before is not None:
            return before.start(), end
        if match.group("bare") is not None:  # "Gracht 4" on its own is no street
            return None
        return start, end


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


@lru_cache(maxsize=4)
def _never_alone(lexicon: NameLexicon) -> frozenset[str]:
    """Words never propagated alone as a surname: the lexicon's function and common words (built once)."""
    return lexicon.function_words | lexicon.common_words


class NlPersonRecognizer(EntityRecognizer):
    """Person names (``PERSON``): the trained name model and the name rules, combined per text.

    The rules (:class:`anonymisation.names.PersonNameFinder`) decide from word lists, name shape (initials,
    tussenvoegsels), titles and roles; the model (:class:`anonymisation.namemodel.NameModel`, a CRF shipped
    with the package) from what it learnt on annotated text. Their spans are joined, and a name found once
    is found everywhere in the text (:mod:`anonymisation.persons`).

    :param finder: default: the shared finder over the bundled open-source word lists.
    :param model: a loaded name model; default: the configured one (``$CORPUSFABRIEK_NAME_MODEL``, else
        the shipped model); ``False``: the rules alone.
    """

    def __init__(
        self,
        finder: PersonNameFinder | None = None,
        supported_language: str = "nl",
        model: NameModel | bool | None = None,
    ) -> None:
        self._finder = finder
        self._model = model
        super().__init__(
            supported_entities=["PERSON"], name="NlPersonRecognizer", supported_language=supported_language
        )

    def load(self) -> None:
        """Nothing to load: the word lists and the model are loaded on first use (then cached)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return one ``PERSON`` result per name in ``text``."""
        if "PERSON" not in entities:
            return []
        finder = self._finder or default_finder()
        spans = finder.find(text)
        model = _model_of(self._model)
        if model is not None:
            lexicon = finder.lexicon
            spans = find_persons(spans, model.find(text), text, _never_alone(lexicon), lexicon.given_names)
        return [_result(self, "PERSON", span.start, span.end, span.score) for span in spans]


#: Entity types a recognizer finds but that are replaced only where a policy names them: places and
#: organisations are not personal data in themselves, and news without them loses its meaning.
OPTIONAL_ENTITIES = ("LOCATION", "ORGANIZATION")

#: Model labels of places and organisations -> Presidio entity names.
_MODEL_ENTITIES = {"LOC": "LOCATION", "ORG": "ORGANIZATION"}


class NlPlaceOrganisationRecognizer(EntityRecognizer):
    """Places (``LOCATION``) and organisations (``ORGANIZATION``) the name model finds, for policies that ask.

    Off unless a source's ``anonymisation.entities`` (or the CLI's ``--entities``) names them. Only the
    model's confident spans count (:data:`MIN_SCORE`); they report a low score so that a person, an
    address or any structured value wins where they overlap. The model tags a text once for this and the
    person recognizer together (:meth:`anonymisation.namemodel.NameModel.find` keeps the last result).

    :param model: a loaded name model; default: the configured one; ``False``: nothing is found.
    """

    #: The model's mean marginal from which a place or organisation span counts.
    MIN_SCORE = 0.7

    #: The score the findings report (below every other recognizer's).
    SCORE = 0.4

    def __init__(self, supported_language: str = "nl", model: NameModel | bool | None = None) -> None:
        self._model = model
        super().__init__(
            supported_entities=list(OPTIONAL_ENTITIES),
            name="NlPlaceOrganisationRecognizer",
            supported_language=supported_language,
        )

    def load(self) -> None:
        """Nothing to load: the model is loaded on first use (then cached)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return the model's places and organisations in ``text`` that ``entities`` asks for."""
        wanted = {label for label, entity in _MODEL_ENTITIES.items() if entity in entities}
        model = _model_of(self._model)
        if not wanted or model is None:
            return []
        return [
            _result(self, _MODEL_ENTITIES[span.label], span.start, span.end, self.SCORE)
            for span in model.find(text)
            if span.label in wanted and span.score >= self.MIN_SCORE
        ]


def _result(recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float) -> RecognizerResult:
    """Build a result scored by its finder, marked so that the context enhancer leaves its score alone."""
    return RecognizerResult(
        entity,
        start,
        end,
        score,
        analysis_explanation=None,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
        },
    )


def _model_of(setting: NameModel | bool | None) -> NameModel | None:
    """Resolve a recognizer's ``model`` argument: ``False`` none, ``None``/``True`` the configured model."""
    if setting is False:
        return None
    if setting is None or setting is True:
        return configured_model()
    return setting


def dutch_recognizers() -> list[EntityRecognizer]:
    """Return one instance of every Dutch recognizer, ready for ``RecognizerRegistry.add_recognizer``."""
    return [
        NlEmailRecognizer(),
        NlPhoneRecognizer(),
        NlIbanRecognizer(),
        NlIpAddressRecognizer(),
        NlUrlRecognizer(),
        NlCreditCardRecognizer(),
        NlBsnRecognizer(),
        NlPostcodeRecognizer(),
        NlAddressRecognizer(),
        NlLicensePlateRecognizer(),
        NlKvkRecognizer(),
        NlBtwRecognizer(),
        NlDateOfBirthRecognizer(),
        NlPersonRecognizer(),
        NlPlaceOrganisationRecognizer(),
    ]
