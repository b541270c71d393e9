"""The FineWeb-2 filters on tiny inputs: statistics computed by hand, each rule at, below and above its threshold."""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from catalog.quality_settings import DUTCH_STOP_WORDS, QualitySettings
from quality.filters import (
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    first_reason,
    greedy_duplicate_ngram_chars,
    text_stats,
    tokenize,
)

SENTENCE = "De kat van de buren zat op het dak en keek naar de vogels in de tuin."


def stats_of(text: str, settings: QualitySettings | None = None) -> dict[str, float]:
    return text_stats([text], settings).row(0, named=True)


def reason(text: str, settings: QualitySettings, filter_class: type) -> str | None:
    return text_stats([text], settings).select(filter_class(settings).reason())[0, 0]


# --- statistics -------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    return tokenize(pl.DataFrame({"doc": [0], "text": [text]}))["token"].to_list()


def test_words_are_cut_like_the_dutch_tokenizer():
    assert words(",,Hij zei 't: d.w.z. 2,5% van nr. 4 (e-mail)...''") == [
        ",,", "Hij", "zei", "'t", ":", "d.w.z.", "2,5%", "van", "nr.", "4", "(", "e-mail", ")", "...", "''"
    ]  # fmt: skip
    # URLs and formulas stay one piece, as spaCy keeps them; the full stop after them is a token
    assert words("Zie https://voorbeeld.nl/a?b=1. En a+bsqrt(-1).") == [
        "Zie", "https://voorbeeld.nl/a?b=1", ".", "En", "a+bsqrt(-1", ")", "."
    ]  # fmt: skip


def test_line_statistics():
    text = "Een.\nTwee\nEen.\n\n- Drie…"
    stats = stats_of(text)
    assert stats["dup_line_frac"] == pytest.approx(1 / 4)  # four non-empty lines, one repeat
    assert stats["line_punct_ratio"] == pytest.approx(2 / 4)  # "…" does not end a sentence for FineWeb
    assert stats["char_dup_ratio"] == pytest.approx(len("Een.") / len(text.replace("\n", "")))
    assert stats["bullet_lines_ratio"] == pytest.approx(1 / 5)  # Gopher counts the empty line too
    assert stats["ellipsis_lines_ratio"] == pytest.approx(1 / 5)
    assert stats["new_line_ratio"] == pytest.approx(4 / stats["words"])


def test_word_statistics():
    text = "De # kat ... en 42 de hond!"
    stats = stats_of(text)
    # tokens: De # kat ... en 42 de hond !  -> 9 words, of which 6 not only punctuation ("42" counts)
    assert stats["words"] == 9
    assert stats["non_symbol_words"] == 6
    assert stats["avg_word_length"] == pytest.approx(len("Dekaten42dehond") / 6)
    assert stats["hash_ratio"] == pytest.approx(1 / 9)
    assert stats["ellipsis_ratio"] == pytest.approx(1 / 9)
    assert stats["alpha_words_ratio"] == pytest.approx(5 / 9)
    assert stats["stop_words"] == 2  # "de" and "en"; "De" is not a stop word (case-sensitive) and repeats count once


def test_top_ngram_is_the_most_frequent_and_the_first_among_equals():
    text = "aa bb aa bb cc dd cc dd"
    stats = stats_of(text)
    # "aa bb" x2 and "cc dd" x2 (and "bb aa", "dd cc" x1): the first of the most frequent wins
    assert stats["top_2_gram_char_frac"] == pytest.approx(len("aa bb") * 2 / len(text))
    longer = "a b a b ccc ddd ccc ddd"
    assert stats_of(longer)["top_2_gram_char_frac"] == pytest.approx(len("a b") * 2 / len(longer))


def test_greedy_duplicate_ngrams_skip_a_repeat_as_a_whole():
    words = "a b c d e a b c d e a b c d e".split()
    # first copy remembered, then "abcde" repeats at 5 and 10: 2 x 5 characters
    assert greedy_duplicate_ngram_chars(words, 5) == 10
    assert greedy_duplicate_ngram_chars(["ab", "c", "a", "bc"], 2) == 3  # keys are "".join(words), as in datatrove
    assert greedy_duplicate_ngram_chars(["x"] * 3, 5) == 0


def test_duplicate_ngram_statistic_is_exact_where_it_decides_and_never_below_exact():
    repeated = " ".join([SENTENCE] * 3)
    tokens = words(repeated)
    stats = stats_of(repeated)
    for n in range(5, 11):
        assert stats[f"dup_{n}_gram_char_frac"] == pytest.approx(
            greedy_duplicate_ngram_chars(tokens, n) / len(repeated)
        )
    clean = stats_of(SENTENCE + " Morgen regent het in Groningen, zegt het weerbericht van vanavond.")
    assert clean["dup_5_gram_char_frac"] == 0


def test_statistics_keep_input_order_and_handle_empty_text():
    stats = text_stats(["", SENTENCE, "x"])
    assert stats["chars"].to_list() == [0, len(SENTENCE), 1]
    assert stats["words"].to_list()[0] == 0
    assert stats["dup_line_frac"][0] is None  # no lines: no ratio, and the "empty" rule decides


# --- rules at, below and above their thresholds -----------------------------------------------------

DOCUMENT = "\n".join(
    [
        "De gemeenteraad van Groningen heeft dinsdag besloten dat de nieuwe fietsbrug over het Eemskanaal",
        "volgend jaar wordt gebouwd. Volgens de wethouder is de brug nodig voor de groeiende wijk Meerstad.",
        "- Omwonenden vrezen geluidsoverlast tijdens de bouw, die ruim een jaar gaat duren...",
        "Het college trekt er acht miljoen euro voor uit; de provincie betaalt de helft. #brug",
        "De eerste paal gaat in maart de grond in, als de vergunning op tijd rond is.",
        "Het college trekt er acht miljoen euro voor uit; de provincie betaalt de helft. #brug",
    ]
)

# (filter, rule's statistic, setting, reason, "max": the rule fails above the threshold / "min": below)
RULES = [
    (GopherRepetitionFilter, "dup_line_frac", "dup_line_frac", "dup_line_frac", "max"),
    (FineWebQualityFilter, "line_punct_ratio", "line_punct_thr", "line_punct_ratio", "min"),
    (FineWebQualityFilter, "char_dup_ratio", "char_duplicates_ratio", "char_dup_ratio", "max"),
    (FineWebQualityFilter, "new_line_ratio", "new_line_ratio", "list_ratio", "max"),
    (GopherQualityFilter, "non_symbol_words", "min_doc_words", "gopher_short_doc", "min"),
    (GopherQualityFilter, "non_symbol_words", "max_doc_words", "gopher_long_doc", "max"),
    (GopherQualityFilter, "avg_word_length", "min_avg_word_length", "gopher_below_avg_threshold", "min"),
    (GopherQualityFilter, "avg_word_length", "max_avg_word_length", "gopher_above_avg_threshold", "max"),
    (GopherQualityFilter, "hash_ratio", "max_symbol_word_ratio", "gopher_too_many_hashes", "max"),
    (GopherQualityFilter, "bullet_lines_ratio", "max_bullet_lines_ratio", "gopher_too_many_bullets", "max"),
    (GopherQualityFilter, "ellipsis_lines_ratio", "max_ellipsis_lines_ratio", "gopher_too_many_end_ellipsis", "max"),
    (GopherQualityFilter, "alpha_words_ratio", "max_non_alpha_words_ratio", "gopher_below_alpha_threshold", "min"),
    (GopherQualityFilter, "stop_words", "min_stop_words", "gopher_enough_stop_words", "min"),
]


def _permissive(**overrides: object) -> QualitySettings:
    """Settings under which DOCUMENT passes every rule, except the overridden ones."""
    base: dict[str, object] = {
        "dup_line_frac": 1.0, "top_n_grams": (), "dup_n_grams": (), "line_punct_thr": 0.0,
        "char_duplicates_ratio": 1.0, "new_line_ratio": 100.0, "min_doc_words": 0, "max_doc_words": 1_000_000,
        "min_avg_word_length": 0, "max_avg_word_length": 100, "max_symbol_word_ratio": 1.0,
        "max_bullet_lines_ratio": 1.0, "max_ellipsis_lines_ratio": 1.0, "max_non_alpha_words_ratio": 0.0,
        "min_stop_words": 0,
    }  # fmt: skip
    base.update(overrides)
    return QualitySettings(**base)


@pytest.mark.parametrize(("filter_class", "statistic", "setting", "why", "direction"), RULES)
def test_each_rule_at_just_below_and_just_above_its_threshold(filter_class, statistic, setting, why, direction):
    value = stats_of(DOCUMENT)[statistic]
    assert value > 0, f"DOCUMENT must exercise {statistic}"
    integer = setting in {"min_doc_words", "max_doc_words", "min_stop_words"}
    step = 1 if integer else 1e-9
    below, above = value - step, value + step
    if setting == "max_non_alpha_words_ratio":  # a bounded fraction: stay within [0, 1]
        above = min(above, 1.0)

    def outcome(threshold: float) -> str | None:
        return reason(DOCUMENT, _permissive(**{setting: int(threshold) if integer else threshold}), filter_class)

    assert outcome(value) is None  # at the threshold: passes (datatrove compares strictly)
    if direction == "max":
        assert outcome(below) == why
        assert outcome(above) is None
    else:
        assert outcome(below) is None
        assert outcome(above) == why


@pytest.mark.parametrize("n", [2, 3, 4])
def test_top_ngram_rule_at_just_below_and_just_above(n: int):
    value = stats_of(DOCUMENT)[f"top_{n}_gram_char_frac"]
    for threshold, expected in [(value, None), (value - 1e-9, f"top_{n}_gram"), (value + 1e-9, None)]:
        settings = _permissive(top_n_grams=((n, threshold),))
        assert reason(DOCUMENT, settings, GopherRepetitionFilter) == expected


@pytest.mark.parametrize("n", [5, 7, 10])
def test_duplicate_ngram_rule_at_just_below_and_just_above(n: int):
    text = DOCUMENT + "\n" + DOCUMENT.splitlines()[1]
    value = stats_of(text, _permissive(dup_n_grams=((n, 0.0),)))[f"dup_{n}_gram_char_frac"]
    assert value > 0
    for threshold, expected in [(value, None), (value - 1e-9, f"duplicated_{n}_n_grams"), (value + 1e-9, None)]:
        settings = _permissive(dup_n_grams=((n, threshold),))
        assert reason(text, settings, GopherRepetitionFilter) == expected


def test_ellipsis_words_rule():
    text = "Nou ... ja ... De kat en de hond."
    value = stats_of(text)["ellipsis_ratio"]
    assert reason(text, _permissive(max_symbol_word_ratio=value), GopherQualityFilter) is None
    assert reason(text, _permissive(max_symbol_word_ratio=value - 1e-9), GopherQualityFilter) == (
        "gopher_too_many_ellipsis"
    )


def test_fineweb2_dutch_defaults_keep_news_and_drop_junk():
    article = DOCUMENT.rsplit("\n", 1)[0]  # without its repeated last line
    texts = [
        article,
        "Koop nu! " * 40,
        "\n".join(f"regel {i} met woord{i}" for i in range(80)),
        "Te kort om iets te zeggen.",
    ]
    settings = QualitySettings()
    filters = [f(settings) for f in (GopherRepetitionFilter, FineWebQualityFilter, GopherQualityFilter)]
    reasons = text_stats(texts, settings).select(first_reason(filters))[:, 0]
    # a very short text fails on its first 2-gram alone (as in datatrove), before the length rule
    assert reasons.to_list() == [None, "top_2_gram", "line_punct_ratio", "top_2_gram"]


def test_defaults_are_fineweb2_nld_latn():
    settings = QualitySettings()
    assert settings.dup_line_frac == 0.296
    assert settings.top_n_grams == ((2, 0.213), (3, 0.182), (4, 0.158))
    assert settings.dup_n_grams == ((5, 0.156), (6, 0.146), (7, 0.136), (8, 0.126), (9, 0.115), (10, 0.104))
    assert (settings.line_punct_thr, settings.new_line_ratio, settings.char_duplicates_ratio) == (0.102, 0.154, 0.1)
    assert (settings.min_avg_word_length, settings.max_avg_word_length) == (3, 17)
    assert settings.max_non_alpha_words_ratio == 0.828
    assert settings.stop_words == DUTCH_STOP_WORDS and len(DUTCH_STOP_WORDS) == 15
    assert settings.min_language_score == 0.689


@pytest.mark.parametrize(
    "overrides",
    [{"dup_line_frac": 1.5}, {"top_n_grams": [[0, 0.2]]}, {"min_doc_words": 10, "max_doc_words": 5}, {"unknown": 1}],
)
def test_settings_are_validated(overrides: dict[str, object]):
    with pytest.raises(ValidationError):
        QualitySettings(**overrides)
