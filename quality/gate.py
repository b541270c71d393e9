"""The quality gate: language, OCR noise and the FineWeb-2 filters decide per document, batch by batch.

:class:`QualityGate` takes normalised texts (and, for OCR text, the mean word confidence) and returns one
row per document: ``keep``, the machine-readable ``reason`` when dropped, ``lang``, ``lang_score`` and
the statistics the rules used. The order of the rules is the order of FineWeb-2 (language first), with
the OCR rules before the heuristic filters; the first failing rule gives the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import polars as pl

from catalog.quality_settings import QualitySettings
from quality.boilerplate import NewsBoilerplateCleaner
from quality.filters import FINEWEB2_FILTERS, PROFILE_FILTERS, QualityFilter, first_reason, text_stats
from quality.language import LanguageDetector

#: Reasons of the language rules and the OCR rules (the filters' reasons are datatrove's names).
UNEXPECTED_LANGUAGE = "unexpected_language"
LOW_LANGUAGE_SCORE = "low_language_score"
OCR_LOW_CONFIDENCE = "ocr_low_confidence"
OCR_NOISE = "ocr_noise"

#: The reasons of the gate's own rules, by rule (the filters' reasons come from the filters themselves).
RULE_REASONS: dict[str, tuple[str, ...]] = {
    "language": ("empty", UNEXPECTED_LANGUAGE, LOW_LANGUAGE_SCORE),
    "ocr": (OCR_LOW_CONFIDENCE, OCR_NOISE),
}


def reasons_by_filter(settings: QualitySettings | None = None) -> dict[str, tuple[str, ...]]:
    """Return every reason the gate can give, by the rule or filter that gives it first (in the gate's order).

    A reason two filters share (``empty``) belongs to the first that checks it.
    """
    given: set[str] = set()
    table: dict[str, tuple[str, ...]] = {}
    filters = (*FINEWEB2_FILTERS, *PROFILE_FILTERS)
    for name, reasons in [*RULE_REASONS.items(), *((f.NAME, f(settings).reasons()) for f in filters)]:
        table[name] = tuple(r for r in reasons if r not in given)
        given.update(reasons)
    return table


#: Every reason the gate can give with the default settings, by the filter that gives it.
REASONS_BY_FILTER = reasons_by_filter()
FILTER_OF_REASON = {reason: name for name, reasons in REASONS_BY_FILTER.items() for reason in reasons}


@functools.lru_cache(maxsize=1)
def dutch_vocabulary() -> pl.Series:
    """Lower-case Dutch words known to wordfreq (~311,000): a word outside it in OCR text is likely noise."""
    import wordfreq

    return pl.Series("word", sorted(wordfreq.get_frequency_dict("nl")), dtype=pl.String)


#: Rewrites from 19th-century Dutch spelling (before the 1947 reform; De Vries-Te Winkel) to today's,
#: applied to a lower-case word in order: ``menschen`` -> mensen, ``gebragt`` -> gebracht, ``Haerlem``,
#: ``wy`` -> wij, ``photographie``, ``dick`` -> dik, ``mooije`` -> mooie. ``sch`` at the start of a word is
#: today's spelling too (school), so only a ``sch`` after a letter changes.
OLD_SPELLING_CONSONANTS: tuple[tuple[str, str], ...] = (
    (r"(\p{L})sch", "${1}s"),
    (r"gt", "cht"),
    (r"ae", "aa"),
    (r"y", "ij"),
    (r"ph", "f"),
    (r"ck", "k"),
    (r"([aeiou])ij", "${1}i"),
)
#: Doubled vowels in open syllables that the reform made single (``gelooven``, ``zoo``, ``heeren``).
OLD_SPELLING_VOWELS: tuple[tuple[str, str], ...] = ((r"oo", "o"), (r"ee", "e"), (r"uu", "u"))


def _rewrite(word: pl.Expr, rules: Sequence[tuple[str, str]]) -> pl.Expr:
    for pattern, replacement in rules:
        word = word.str.replace_all(pattern, replacement)
    return word


def modern_spellings(word: pl.Expr) -> list[pl.Expr]:
    """Return the modern forms to try for a lower-case word in old spelling (rules, not word lists).

    Four candidates, as the rules conflict (``Italiaansche`` keeps its double ``aa``, ``zoo`` loses
    its double ``o``): the consonant rewrites; with the doubled vowels single as well; and either of these
    without an inflected final ``-e`` (``eene`` -> een, ``zijne`` -> zijn).
    """
    consonants = _rewrite(word, OLD_SPELLING_CONSONANTS)
    vowels = _rewrite(consonants, OLD_SPELLING_VOWELS)
    return [consonants, vowels, consonants.str.strip_suffix("e"), vowels.str.strip_suffix("e")]


def ocr_noise_ratio(
    texts: pl.Series | Sequence[str], vocabulary: pl.Series | None = None, *, old_spelling: bool = False
) -> pl.Series:
    """Share of alphabetic words not in the Dutch vocabulary, per text (null for texts without words).

    Clean modern news scores ~0.01, 19th-century newspaper OCR ~0.08 (at most ~0.24 on the KB sample).
    With ``old_spelling`` a word also counts as known when one of its :func:`modern_spellings` is.
    """
    words = vocabulary if vocabulary is not None else dutch_vocabulary()
    known = words.implode()
    frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).with_row_index("doc")
    per_word = (
        frame.select("doc", pl.col("text").str.extract_all(r"\p{L}+").alias("word"))
        .explode("word")
        .drop_nulls("word")
        .select("doc", word=pl.col("word").str.to_lowercase())
        .with_columns(unknown=~pl.col("word").is_in(known))
    )
    if old_spelling:
        # only the unknown words are rewritten (the known ones are most of any readable page), each distinct
        # word once: a page repeats its old spellings (``menschen``, ``zoo``) many times
        # only the unknown words are rewritten (the known ones are most of any readable page); the candidate
        # forms are looked up in one pass, as each lookup in the large vocabulary has a fixed cost
        unknown = per_word.filter("unknown")
        forms = (
            unknown.select("word")
            .unique()
            .with_columns(form=pl.concat_list(modern_spellings(pl.col("word"))))
            .explode("form")
        )
        modern = forms.filter(pl.col("form").is_in(known))["word"].unique()
        rewritten = unknown.with_columns(unknown=~pl.col("word").is_in(modern.implode()))
        per_word = pl.concat([per_word.filter(~pl.col("unknown")), rewritten])
    ratios = per_word.group_by("doc").agg(pl.col("unknown").mean())
    return frame.select("doc").join(ratios, on="doc", how="left").sort("doc")["unknown"].alias("ocr_noise_ratio")


class QualityGate:
    """Decide which documents to keep.

    :param settings: thresholds (default FineWeb-2's for Dutch); ``enabled=False`` keeps everything but
        still measures.
    :param languages: expected language codes (a source's ``languages``); others are dropped.
    :param detector: the language detector (default: py3langid over the first 5,000 characters).
    """

    def __init__(
        self,
        settings: QualitySettings | None = None,
        languages: Sequence[str] = ("nl",),
        detector: LanguageDetector | None = None,
    ) -> None:
        if not languages:
            raise ValueError("a quality gate needs at least one expected language")
        self.settings = settings or QualitySettings()
        self.languages = tuple(languages)
        self.detector = detector or LanguageDetector()
        self.filters: list[QualityFilter] = [
            filter_class(self.settings) for filter_class in (*FINEWEB2_FILTERS, *PROFILE_FILTERS)
        ]
        #: strips news boilerplate lines before the text is hashed and judged (``strip_boilerplate``)
        self.cleaner = NewsBoilerplateCleaner() if self.settings.strip_boilerplate else None

    def assess(
        self,
        texts: Sequence[str],
        ocr_confidence: Sequence[float | None] | None = None,
        is_ocr: Sequence[bool] | None = None,
    ) -> pl.DataFrame:
        """Return one row per text, in order: ``keep``, ``reason``, ``lang``, ``lang_score`` and the statistics.

        :param texts: normalised texts.
        :param ocr_confidence: mean OCR word confidence per text, where known (ALTO).
        :param is_ocr: which texts come from OCR (default: those with a confidence); the OCR noise rule
            applies to those only, as old spelling and names are not noise in born-digital text (with the
            setting ``noise_rule_all_texts``, as in the ``archive-ocr`` profile, every text is OCR text).
        """
        texts = list(texts)
        confidence = list(ocr_confidence) if ocr_confidence is not None else [None] * len(texts)
        ocr = list(is_ocr) if is_ocr is not None else [value is not None for value in confidence]
        if len(confidence) != len(texts) or len(ocr) != len(texts):
            raise ValueError("ocr_confidence and is_ocr must have one value per text")
        stats = text_stats(texts, self.settings)
        if stats.height == 0:
            return pl.DataFrame(schema={"keep": pl.Boolean, "reason": pl.String, "lang": pl.String})
        langs, scores = self.detector.detect_many(texts)
        s = self.settings
        is_ocr_series = pl.Series(
            [s.noise_rule_all_texts or bool(value) or confidence[i] is not None for i, value in enumerate(ocr)]
        )
        # the vocabulary lookup is only worth its cost when a batch holds OCR text (most sources have none)
        noise = (
            ocr_noise_ratio(texts, old_spelling=s.old_spelling)
            if is_ocr_series.any()
            else pl.Series([None] * len(texts), dtype=pl.Float64)
        )
        frame = stats.with_columns(
            lang=pl.Series(langs, dtype=pl.String),
            lang_score=pl.Series(scores, dtype=pl.Float64),
            ocr_confidence=pl.Series(confidence, dtype=pl.Float64),
            ocr_noise_ratio=pl.when(is_ocr_series).then(noise).otherwise(None),
        )
        language = (
            pl.when(pl.col("chars") == 0)
            .then(pl.lit("empty"))
            .when(~pl.col("lang").is_in(list(self.languages)))
            .then(pl.lit(UNEXPECTED_LANGUAGE))
            .when(pl.col("lang_score") < s.min_language_score)
            .then(pl.lit(LOW_LANGUAGE_SCORE))
        )
        ocr = (
            pl.when(pl.col("ocr_confidence") < s.min_ocr_confidence)
            .then(pl.lit(OCR_LOW_CONFIDENCE))
            .when(pl.col("ocr_noise_ratio") > s.max_ocr_noise_ratio)
            .then(pl.lit(OCR_NOISE))
        )
        reason = pl.coalesce(language, ocr, first_reason(self.filters)) if s.enabled else pl.lit(None, pl.String)
        decided = frame.with_columns(reason=reason).with_columns(keep=pl.col("reason").is_null())
        leading = ["keep", "reason", "lang", "lang_score"]
        return decided.select(leading + [c for c in decided.columns if c not in leading])
