"""The base of the Dutch pattern recognizers (:class:`DutchPatternRecognizer`) and the regex fragments they share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

import regex
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

from anonymisation.vocabulary import MONTH_PATTERN

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

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
