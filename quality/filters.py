"""Heuristic quality filters for Dutch, vectorised with polars: the FineWeb-2 filtering stage, plus OCR noise.

The filters reproduce datatrove's ``GopherRepetitionFilter``, ``FineWebQualityFilter`` and
``GopherQualityFilter`` as ``fineweb-2-pipeline.py`` configures them for ``nld_Latn`` (thresholds from
``configs/nld_Latn.yml``; paragraph, duplicate-line-character and short-line rules off), in that order,
with datatrove's reason names. Differences, on purpose:

* **Words** come from :func:`tokenize`, two polars passes that mimic spaCy's blank Dutch tokenizer,
  which runs at ~0.6 MB/s and takes ~80% of datatrove's time. The regex runs in polars' engine and
  splits a few pieces differently (infixes such as "woord,woord"), which moves a borderline ratio now
  and then; benchmarks/bench_quality.py measures the agreement.
* **Duplicate n-grams** (a greedy left-to-right scan in datatrove) are first bounded from above by the
  characters of all words inside a repeated n-gram, which polars computes for a whole batch. Only the
  documents whose bound exceeds the threshold are scanned exactly, in Python. For the others the
  reported ``dup_{n}_gram_char_frac`` is that bound (never below the exact value).
* Stop words are counted as distinct words (datatrove >= 0.5).

Every statistic is a column of :func:`text_stats`; every filter is a small class whose :meth:`reason`
returns a polars expression over those columns: the reason a document fails, or null. Thresholds are
:class:`QualitySettings`, overridable per source.

Profiles other than ``web`` switch on settings datatrove does not have, each off by default so that the
``web`` profile decides exactly as FineWeb-2: closing quotes after terminal punctuation
(``closing_quotes_terminate``), more line-end characters (``extra_line_end_chars``), a minimum count for
the top n-gram (``top_n_gram_min_count``), and the keyword stuffing and consent wall rules
(:class:`StoplessLineFilter`, :class:`ConsentWallFilter`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import ClassVar

import polars as pl

from catalog.quality_settings import QualitySettings
from quality.punctuation import CLOSING_QUOTES, PUNCTUATION_SET, TERMINAL_PUNCTUATION

#: Words as spaCy's blank Dutch tokenizer cuts a whitespace-separated piece of text: from its first to its
#: last letter or digit (or a final % or -) is one token, so URLs, formulas, "2,5%", "e-mail" and
#: "Rooij:,,Het" stay whole, and the punctuation around it is a token per character. Dutch quotes (,, ''),
#: ellipses and clitics ('t) are one token each. (An ASCII word boundary: a Unicode one would push polars'
#: regex engine off its fast path.)
TOKEN_PATTERN = (
    r"''|,,|\.{2,}|['’][tsnk](?-u:\b)"  # noqa: S105 - a regex, not a password
    r"|[\p{L}\p{N}_](?:\S*[\p{L}\p{N}_%-])?|\S"
)

#: Words of cookie walls, consent prompts and paywalls (lower case, as the tokenizer cuts them).
CONSENT_WORDS = frozenset(
    """
    cookie cookies cookiebeleid cookieverklaring cookie-instellingen cookievoorkeuren cookiemelding
    toestemming akkoord accepteren accepteer accepteert weigeren weiger instellingen voorkeuren
    privacybeleid privacyverklaring privacyinstellingen privacy partners advertenties gepersonaliseerde
    personaliseren tracking trackingcookies analytische functionele abonnee abonnees abonnement
    abonneren abonneer inloggen log registreren account premium proefperiode opzegbaar
    """.split()
)


@functools.cache
def dutch_abbreviations() -> pl.Series:
    """Return spaCy's Dutch tokenizer exceptions that end in a full stop (nr., ca., d.w.z., initials).

    spaCy keeps such a piece as one token. Read from the installed spaCy (a dependency of presidio)
    once per process; without spaCy the list is empty and "nr." is cut in two.
    """
    try:
        from spacy.lang.nl.tokenizer_exceptions import TOKENIZER_EXCEPTIONS
    except ImportError:
        return pl.Series("abbreviation", [], dtype=pl.String)
    words = sorted(w for w in TOKENIZER_EXCEPTIONS if w.endswith(".") and not any(c.isspace() for c in w))
    return pl.Series("abbreviation", words, dtype=pl.String)


def tokenize(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the words of every ``text`` of ``frame`` (columns ``doc``, ``text``) as rows ``doc``, ``token``.

    Two steps, both in polars: split at whitespace; keep a piece that is a Dutch abbreviation whole and
    cut the others with :data:`TOKEN_PATTERN`. (One regex with the 4,500 abbreviations in front was
    four times slower.) Rows keep the text order within each document.
    """
    piece = pl.col("piece")
    return (
        frame.select("doc", pl.col("text").str.extract_all(r"\S+").alias("piece"))
        .explode("piece")
        .drop_nulls("piece")
        .select(
            "doc",
            token=pl.when(piece.is_in(dutch_abbreviations().implode()))
            .then(pl.concat_list([piece]))
            .otherwise(piece.str.extract_all(TOKEN_PATTERN)),
        )
        .explode("token")
        .drop_nulls("token")
    )


def _char_class(characters: Iterable[str]) -> str:
    """Return a regex character class of ``characters`` (escaped by code point, so any character is safe)."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(characters))) + "]"


_PUNCTUATION_CLASS = _char_class(PUNCTUATION_SET)


def line_end_pattern(settings: QualitySettings) -> str:
    """Return the regex a line that "ends in punctuation" matches, for these settings.

    datatrove's: a terminal punctuation character last. With ``closing_quotes_terminate`` the character
    may be followed by closing quotes or brackets (after one space at most, as some typesetting has it),
    as quoted speech ends in edited text: ``... opmerkelijk.'``.
    """
    ending = _char_class(TERMINAL_PUNCTUATION | set(settings.extra_line_end_chars))
    if settings.closing_quotes_terminate:
        return f"{ending}(?: ?{_char_class(CLOSING_QUOTES)}+)?$"
    return f"{ending}$"


# --- statistics -------------------------------------------------------------------------------------


def _line_stats(frame: pl.DataFrame, settings: QualitySettings) -> pl.DataFrame:
    lines = (
        frame.select("doc", pl.col("text").str.split("\n").alias("line"))
        .explode("line")
        .with_columns(pl.col("line").fill_null(""))
        .with_columns(
            nonempty=pl.col("line").str.len_chars() > 0,
            line_chars=pl.col("line").str.len_chars(),
        )
        .with_columns(
            # a repeat of an earlier non-empty line of the same document
            repeat=pl.col("nonempty") & ~pl.struct("doc", "line").is_first_distinct(),
        )
    )
    stripped_start = pl.col("line").str.strip_chars_start()
    stripped_end = pl.col("line").str.strip_chars_end()
    return lines.group_by("doc").agg(
        lines=pl.len(),
        nonempty_lines=pl.col("nonempty").sum(),
        duplicate_lines=pl.col("repeat").sum(),
        duplicate_line_chars=pl.col("line_chars").filter(pl.col("repeat")).sum(),
        punct_end_lines=(pl.col("nonempty") & pl.col("line").str.contains(line_end_pattern(settings))).sum(),
        bullet_lines=(stripped_start.str.starts_with("•") | stripped_start.str.starts_with("-")).sum(),
        ellipsis_end_lines=(stripped_end.str.ends_with("...") | stripped_end.str.ends_with("…")).sum(),
        longest_stopless_line=_stopless_words(settings).max(),
    )


def _stopless_words(settings: QualitySettings) -> pl.Expr:
    """Per line: its number of words when none of them is a stop word (any case), else 0.

    Computed only when the rule is on: a second tokenisation of every line costs time.
    """
    if settings.max_stopless_line_words is None:
        return pl.lit(0, dtype=pl.UInt32)
    words = pl.col("line").str.to_lowercase().str.extract_all(r"\p{L}+")
    stop_words = pl.lit(pl.Series([w.lower() for w in settings.stop_words], dtype=pl.String).implode())
    has_stop_word = words.list.eval(pl.element().is_in(stop_words)).list.any()
    return pl.when(has_stop_word).then(0).otherwise(words.list.len()).cast(pl.UInt32)


def _ngram_keys(n: int, separator: str) -> pl.Expr:
    return pl.concat_str([pl.col("token").shift(-k) for k in range(n)], separator=separator)


def _ngram_chars(n: int) -> pl.Expr:
    return pl.sum_horizontal([pl.col("token_chars").shift(-k) for k in range(n)])


def _token_stats(
    tokens: pl.DataFrame, frame: pl.DataFrame, settings: QualitySettings
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    tokens = tokens.with_columns(
        pos=pl.int_range(pl.len()).over("doc"),
        words=pl.len().over("doc"),
        token_chars=pl.col("token").str.len_chars(),
    )
    is_word = pl.col("token").str.replace_all(_PUNCTUATION_CLASS, "").str.len_chars() > 0
    per_doc = tokens.group_by("doc").agg(
        words=pl.len(),
        non_symbol_words=is_word.sum(),
        non_symbol_word_chars=pl.col("token_chars").filter(is_word).sum(),
        alpha_words=pl.col("token").str.contains(r"\p{L}").sum(),
        stop_words=pl.col("token").filter(pl.col("token").is_in(list(settings.stop_words))).n_unique(),
        # only worth a lower-casing pass over every word when the consent wall rule is on
        consent_words=pl.col("token").str.to_lowercase().is_in(list(CONSENT_WORDS)).sum()
        if settings.max_consent_word_ratio is not None
        else pl.lit(0, dtype=pl.UInt32),
    )
    columns = [per_doc]
    for n, _ in settings.top_n_grams:
        grams = (
            tokens.with_columns(gram=_ngram_keys(n, " "), gram_chars=_ngram_chars(n) + (n - 1))
            .filter(pl.col("pos") + n <= pl.col("words"))
            .with_columns(count=pl.len().over("doc", "gram"))
            # the most frequent n-gram; among equals the first seen (Counter.most_common): rows are in
            # text order, so the first row with the highest count
            .filter(pl.col("count") == pl.col("count").max().over("doc"))
            .group_by("doc")
            .agg(
                pl.when(pl.col("count").first() >= settings.top_n_gram_min_count)
                .then(pl.col("gram_chars").first() * pl.col("count").first())
                .otherwise(0)
                .alias(f"top_{n}_gram_chars")
            )
        )
        columns.append(grams)
    columns += _duplicate_ngram_bounds(tokens, frame, settings)
    return columns[0], _join_all(columns[1:])


def _covered_chars(tokens: pl.DataFrame, n: int) -> pl.DataFrame:
    """Per document: characters of every word inside a repeat of an earlier n-gram of that document.

    An upper bound of datatrove's greedy count (n-grams keyed by ``"".join``, as datatrove keys them).
    """
    return (
        tokens.with_columns(gram=_ngram_keys(n, ""))
        .with_columns(
            # not the first occurrence in its document (a hash pass: ~6x cheaper than a window over groups)
            start=(pl.col("pos") + n <= pl.col("words")) & ~pl.struct("doc", "gram").is_first_distinct()
        )
        # rows of one document are consecutive and a valid start lies n-1 rows before its document's end
        # at the latest, so the window never carries a start into the next document
        .with_columns(covered=pl.col("start").cast(pl.Int8).rolling_max(window_size=n, min_samples=1) > 0)
        .group_by("doc")
        .agg(pl.col("token_chars").filter(pl.col("covered")).sum().alias(f"dup_{n}_gram_bound_chars"))
    )


def _duplicate_ngram_bounds(tokens: pl.DataFrame, frame: pl.DataFrame, settings: QualitySettings) -> list[pl.DataFrame]:
    """Upper bounds of the duplicate n-gram characters, per n, for every document.

    A word inside a repeated n-gram is also inside a repeated (n-1)-gram, so the bound of the smallest n
    bounds all the others. Only documents where it exceeds the smallest threshold get their own bound
    per n; for the rest (most text) one pass decides all six rules.
    """
    if not settings.dup_n_grams:
        return []
    ordered = sorted(settings.dup_n_grams)
    smallest, floor = ordered[0][0], min(fraction for _, fraction in ordered)
    first = _covered_chars(tokens, smallest)
    chars = frame.select("doc", chars=pl.col("text").str.len_chars())
    suspects = first.join(chars, on="doc").filter(pl.col(f"dup_{smallest}_gram_bound_chars") > floor * pl.col("chars"))
    subset = tokens.filter(pl.col("doc").is_in(suspects["doc"].implode()))
    bounds = [first]
    for n, _ in ordered[1:]:
        own = _covered_chars(subset, n)
        inherited = first.rename({f"dup_{smallest}_gram_bound_chars": f"dup_{n}_gram_bound_chars"})
        bounds.append(pl.concat([own, inherited.join(own, on="doc", how="anti")]))
    return bounds


def _join_all(frames: Sequence[pl.DataFrame]) -> pl.DataFrame | None:
    if not frames:
        return None
    joined = frames[0]
    for other in frames[1:]:
        joined = joined.join(other, on="doc", how="full", coalesce=True)
    return joined


def greedy_duplicate_ngram_chars(words: Sequence[str], n: int) -> int:
    """Count the characters in repeated n-grams, scanning left to right (datatrove's ``find_all_duplicate``).

    A repeat is counted with the characters of its words and skipped as a whole; the n-grams inside a
    skipped repeat are never remembered.
    """
    seen: set[str] = set()
    repeated = 0
    index = 0
    while index < len(words) - n + 1:
        gram = "".join(words[index : index + n])
        if gram in seen:
            repeated += len(gram)
            index += n
        else:
            seen.add(gram)
            index += 1
    return repeated


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """Return a float ratio, null where the denominator is 0 (a rule on a null passes; "empty" rules come first)."""
    return pl.when(denominator > 0).then(numerator.cast(pl.Float64) / denominator).otherwise(None)


def text_stats(texts: pl.Series | Sequence[str], settings: QualitySettings | None = None) -> pl.DataFrame:
    """Return one row of filter statistics per text, in input order (all lengths in characters).

    Columns: ``chars``, ``words``, ``dup_line_frac``, ``top_{n}_gram_char_frac``,
    ``dup_{n}_gram_char_frac``, ``line_punct_ratio``, ``char_dup_ratio``, ``new_line_ratio``,
    ``non_symbol_words``, ``avg_word_length``, ``hash_ratio``, ``ellipsis_ratio``, ``bullet_lines_ratio``,
    ``ellipsis_lines_ratio``, ``alpha_words_ratio``, ``stop_words``, ``longest_stopless_line`` (0 unless
    that rule is on) and ``consent_word_ratio`` (null unless the consent wall rule is on).
    """
    settings = settings or QualitySettings()
    frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).with_row_index("doc")
    if frame.height == 0:
        return pl.DataFrame()
    base = frame.select(
        "doc",
        chars=pl.col("text").str.len_chars(),
        newlines=pl.col("text").str.count_matches("\n", literal=True),
        hashes=pl.col("text").str.count_matches("#", literal=True),
        ellipses=pl.col("text").str.count_matches("...", literal=True)
        + pl.col("text").str.count_matches("…", literal=True),
    )
    tokens = tokenize(frame)
    per_doc, grams = _token_stats(tokens, frame, settings)
    stats = _join_all([f for f in (base, _line_stats(frame, settings), per_doc, grams) if f is not None]).sort("doc")
    stats = stats.with_columns(pl.col(c).fill_null(0) for c in stats.columns if c != "doc")
    chars, words, lines = pl.col("chars"), pl.col("words"), pl.col("lines")
    nonempty = pl.col("nonempty_lines")
    out = stats.select(
        "doc",
        "chars",
        "words",
        dup_line_frac=_ratio(pl.col("duplicate_lines"), nonempty),
        **{f"top_{n}_gram_char_frac": _ratio(pl.col(f"top_{n}_gram_chars"), chars) for n, _ in settings.top_n_grams},
        **{
            f"dup_{n}_gram_char_frac": _ratio(pl.col(f"dup_{n}_gram_bound_chars"), chars)
            for n, _ in settings.dup_n_grams
        },
        line_punct_ratio=_ratio(pl.col("punct_end_lines"), nonempty),
        char_dup_ratio=_ratio(pl.col("duplicate_line_chars"), chars - pl.col("newlines")),
        new_line_ratio=_ratio(pl.col("newlines"), words),
        non_symbol_words="non_symbol_words",
        avg_word_length=_ratio(pl.col("non_symbol_word_chars"), pl.col("non_symbol_words")),
        hash_ratio=_ratio(pl.col("hashes"), words),
        ellipsis_ratio=_ratio(pl.col("ellipses"), words),
        bullet_lines_ratio=_ratio(pl.col("bullet_lines"), lines),
        ellipsis_lines_ratio=_ratio(pl.col("ellipsis_end_lines"), lines),
        alpha_words_ratio=_ratio(pl.col("alpha_words"), words),
        stop_words="stop_words",
        longest_stopless_line="longest_stopless_line",
        consent_word_ratio=_ratio(pl.col("consent_words"), pl.col("non_symbol_words"))
        if settings.max_consent_word_ratio is not None
        else pl.lit(None, dtype=pl.Float64),
    )
    return _exact_duplicate_ngrams(out, frame, tokens, settings).drop("doc")


def _exact_duplicate_ngrams(
    stats: pl.DataFrame, frame: pl.DataFrame, tokens: pl.DataFrame, settings: QualitySettings
) -> pl.DataFrame:
    """Replace the duplicate n-gram bounds above their threshold by datatrove's exact greedy count."""
    if not settings.dup_n_grams:
        return stats
    over = pl.any_horizontal(pl.col(f"dup_{n}_gram_char_frac") > fraction for n, fraction in settings.dup_n_grams)
    suspects = stats.filter(over)["doc"].to_list()
    if not suspects:
        return stats
    texts = frame["text"]
    exact: dict[str, list[float | None]] = {
        f"dup_{n}_gram_char_frac": [None] * stats.height for n, _ in settings.dup_n_grams
    }
    words_of = dict(
        tokens.filter(pl.col("doc").is_in(pl.Series(suspects, dtype=pl.UInt32).implode()))
        .group_by("doc", maintain_order=True)
        .agg("token")
        .iter_rows()
    )
    for doc in suspects:
        words = words_of.get(doc)
        length = len(texts[doc])
        for n, _ in settings.dup_n_grams:
            exact[f"dup_{n}_gram_char_frac"][doc] = greedy_duplicate_ngram_chars(words or [], n) / length
    return stats.with_columns(
        pl.coalesce(pl.Series(name, values, dtype=pl.Float64), pl.col(name)).alias(name)
        for name, values in exact.items()
    )


# --- filters ----------------------------------------------------------------------------------------


class QualityFilter:
    """A filter: settings in the constructor, :meth:`reason` an expression over :func:`text_stats` columns."""

    NAME: ClassVar[str] = ""

    def __init__(self, settings: QualitySettings | None = None) -> None:
        self.settings = settings or QualitySettings()

    def rules(self) -> list[tuple[pl.Expr, str]]:
        """Return (failure condition, reason) pairs in the order datatrove checks them."""
        raise NotImplementedError

    def reasons(self) -> tuple[str, ...]:
        """Return every reason this filter can give with its settings, in rule order."""
        return tuple(dict.fromkeys(why for _condition, why in self.rules()))

    def reason(self) -> pl.Expr:
        """Return the reason the first failing rule gives, or null when the document passes."""
        rules = self.rules()
        expression = pl.when(rules[0][0]).then(pl.lit(rules[0][1]))
        for condition, why in rules[1:]:
            expression = expression.when(condition).then(pl.lit(why))
        return expression.otherwise(pl.lit(None, dtype=pl.String))


class GopherRepetitionFilter(QualityFilter):
    """Repeated lines and n-grams (Gopher, Rae et al. 2021), as FineWeb-2 configures it."""

    NAME = "gopher_repetition"

    def rules(self) -> list[tuple[pl.Expr, str]]:
        """Empty text, duplicate lines, top n-gram share, duplicate n-gram share."""
        s = self.settings
        rules = [(pl.col("chars") == 0, "empty"), (pl.col("dup_line_frac") > s.dup_line_frac, "dup_line_frac")]
        rules += [(pl.col(f"top_{n}_gram_char_frac") > f, f"top_{n}_gram") for n, f in s.top_n_grams]
        rules += [(pl.col(f"dup_{n}_gram_char_frac") > f, f"duplicated_{n}_n_grams") for n, f in s.dup_n_grams]
        return rules


class FineWebQualityFilter(QualityFilter):
    """Lines ending in punctuation, duplicated line characters, newlines per word (FineWeb)."""

    NAME = "fineweb_quality"

    def rules(self) -> list[tuple[pl.Expr, str]]:
        """Line punctuation ratio, character duplicates ratio, list ratio (short lines: off, as in FineWeb-2)."""
        s = self.settings
        return [
            (pl.col("chars") == 0, "empty"),
            (pl.col("line_punct_ratio") < s.line_punct_thr, "line_punct_ratio"),
            (pl.col("char_dup_ratio") > s.char_duplicates_ratio, "char_dup_ratio"),
            (pl.col("new_line_ratio") > s.new_line_ratio, "list_ratio"),
        ]


class GopherQualityFilter(QualityFilter):
    """Document length, word length, symbols, bullets, ellipses, alphabetic words, stop words (Gopher)."""

    NAME = "gopher_quality"

    def rules(self) -> list[tuple[pl.Expr, str]]:
        """Return the Gopher quality rules in datatrove's order."""
        s = self.settings
        return [
            (pl.col("non_symbol_words") < s.min_doc_words, "gopher_short_doc"),
            (pl.col("non_symbol_words") > s.max_doc_words, "gopher_long_doc"),
            (pl.col("avg_word_length") < s.min_avg_word_length, "gopher_below_avg_threshold"),
            (pl.col("avg_word_length") > s.max_avg_word_length, "gopher_above_avg_threshold"),
            (pl.col("hash_ratio") > s.max_symbol_word_ratio, "gopher_too_many_hashes"),
            (pl.col("ellipsis_ratio") > s.max_symbol_word_ratio, "gopher_too_many_ellipsis"),
            (pl.col("bullet_lines_ratio") > s.max_bullet_lines_ratio, "gopher_too_many_bullets"),
            (pl.col("ellipsis_lines_ratio") > s.max_ellipsis_lines_ratio, "gopher_too_many_end_ellipsis"),
            (pl.col("alpha_words_ratio") < s.max_non_alpha_words_ratio, "gopher_below_alpha_threshold"),
            (pl.col("stop_words") < s.min_stop_words, "gopher_enough_stop_words"),
        ]


class ConsentWallFilter(QualityFilter):
    """Cookie walls, paywalls and consent prompts: pages about accepting cookies or subscribing, not text.

    Line stripping (:mod:`quality.boilerplate`) removes the short prompt lines; a wall written as a whole
    paragraph stays, and is recognised by how much of its wording is consent and subscription vocabulary
    (:data:`CONSENT_WORDS`). An article that discusses cookies uses a few such words
    among hundreds; a wall uses little else. Off unless ``max_consent_word_ratio`` is set.
    """

    NAME = "consent_wall"

    def rules(self) -> list[tuple[pl.Expr, str]]:
        """Share of consent and subscription words."""
        limit = self.settings.max_consent_word_ratio
        failing = pl.col("consent_word_ratio") > limit if limit is not None else pl.lit(False)
        return [(failing, "consent_wall")]


class StoplessLineFilter(QualityFilter):
    """Keyword stuffing, tag lists and word salad: a long line without one stop word.

    Dutch prose uses an article, a preposition or a conjunction every few words, so a line of dozens of
    words with none of them is a list of keywords, however it is punctuated. A whole-document ratio
    would miss a stuffed line under a real paragraph. Off unless ``max_stopless_line_words`` is set.
    """

    NAME = "stopless_line"

    def rules(self) -> list[tuple[pl.Expr, str]]:
        """Longest line without a stop word."""
        limit = self.settings.max_stopless_line_words
        failing = pl.col("longest_stopless_line") > limit if limit is not None else pl.lit(False)
        return [(failing, "stopless_line")]


#: The FineWeb-2 filtering stage, in its order.
FINEWEB2_FILTERS: tuple[type[QualityFilter], ...] = (GopherRepetitionFilter, FineWebQualityFilter, GopherQualityFilter)
#: Filters a profile can switch on, after FineWeb-2's (each passes everything with the ``web`` settings).
PROFILE_FILTERS: tuple[type[QualityFilter], ...] = (StoplessLineFilter, ConsentWallFilter)


def first_reason(filters: Sequence[QualityFilter]) -> pl.Expr:
    """Return the reason of the first filter that fails, or null when all pass."""
    return pl.coalesce([f.reason() for f in filters])
