"""Quality profiles: each profile's rules at, just below and just above its thresholds, and the cases they exist for."""

from __future__ import annotations

import polars as pl
import pytest

from catalog.quality_profiles import PROFILE_NAMES, QUALITY_PROFILES
from catalog.quality_settings import QualitySettings
from quality.filters import (
    FINEWEB2_FILTERS,
    PROFILE_FILTERS,
    first_reason,
    line_end_pattern,
    text_stats,
)
from quality.gate import QualityGate, ocr_noise_ratio
from tests.texts import DUTCH_ARTICLE as ARTICLE

#: Statistics of a document every rule passes.
PASSING = {
    "chars": 1000, "words": 200, "dup_line_frac": 0.0, "line_punct_ratio": 1.0, "char_dup_ratio": 0.0,
    "new_line_ratio": 0.01, "non_symbol_words": 200, "avg_word_length": 5.0, "hash_ratio": 0.0,
    "ellipsis_ratio": 0.0, "bullet_lines_ratio": 0.0, "ellipsis_lines_ratio": 0.0, "alpha_words_ratio": 1.0,
    "stop_words": 10, "longest_stopless_line": 0, "consent_word_ratio": 0.0,
}  # fmt: skip

#: (statistic, setting, reason, the statistic fails when it is "below" or "above" the setting, step)
RULES = [
    ("non_symbol_words", "min_doc_words", "gopher_short_doc", "below", 1),
    ("alpha_words_ratio", "max_non_alpha_words_ratio", "gopher_below_alpha_threshold", "below", 0.001),
    ("new_line_ratio", "new_line_ratio", "list_ratio", "above", 0.001),
    ("line_punct_ratio", "line_punct_thr", "line_punct_ratio", "below", 0.001),
    ("bullet_lines_ratio", "max_bullet_lines_ratio", "gopher_too_many_bullets", "above", 0.001),
    ("stop_words", "min_stop_words", "gopher_enough_stop_words", "below", 1),
    ("longest_stopless_line", "max_stopless_line_words", "stopless_line", "above", 1),
    ("consent_word_ratio", "max_consent_word_ratio", "consent_wall", "above", 0.001),
]


def decide(settings: QualitySettings, **stats: float) -> str | None:
    """Return the reason the filters give for one document with these statistics (None: kept)."""
    row = {**PASSING, **{f"top_{n}_gram_char_frac": 0.0 for n, _ in settings.top_n_grams}}
    row |= {f"dup_{n}_gram_char_frac": 0.0 for n, _ in settings.dup_n_grams}
    filters = [f(settings) for f in (*FINEWEB2_FILTERS, *PROFILE_FILTERS)]
    return pl.DataFrame([{**row, **stats}]).select(first_reason(filters))[0, 0]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize(("statistic", "setting", "reason", "fails", "step"), RULES)
def test_each_rule_at_just_below_and_just_above_its_threshold(profile, statistic, setting, reason, fails, step):
    settings = QualitySettings(profile=profile)
    threshold = getattr(settings, setting)
    if threshold is None:  # the rule is off in this profile: nothing fails it
        assert decide(settings, **{statistic: 10**6}) is None
        return
    below, above = threshold - step, threshold + step
    assert decide(settings, **{statistic: threshold}) is None  # at the threshold: kept
    failing, passing = (below, above) if fails == "below" else (above, below)
    assert decide(settings, **{statistic: passing}) is None
    if fails == "below" and threshold == 0:
        return  # a share cannot go below 0: the rule is off
    assert decide(settings, **{statistic: failing}) == reason


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_ocr_rules_at_just_below_and_just_above_their_thresholds(profile, monkeypatch):
    settings = QualitySettings(profile=profile)
    noise = settings.max_ocr_noise_ratio
    monkeypatch.setattr(
        "quality.gate.ocr_noise_ratio", lambda texts, **_: pl.Series([noise - 0.01, noise, noise + 0.01])
    )
    gate = QualityGate(settings)
    reasons = gate.assess([ARTICLE] * 3, is_ocr=[True] * 3)["reason"].to_list()
    assert reasons == [None, None, "ocr_noise"]
    low = settings.min_ocr_confidence
    reasons = gate.assess([ARTICLE] * 3, ocr_confidence=[low - 0.01, low, low + 0.01])["reason"].to_list()
    assert reasons[0] == "ocr_low_confidence" and reasons[1] != "ocr_low_confidence"


def test_the_noise_rule_reaches_born_digital_text_only_where_the_profile_says_so(monkeypatch):
    monkeypatch.setattr("quality.gate.ocr_noise_ratio", lambda texts, **_: pl.Series([0.9] * len(texts)))
    expected = {
        "web": None,
        "news": "ocr_noise",
        "archive-ocr": "ocr_noise",
        "legal": "ocr_noise",
        "sector": "ocr_noise",
    }
    for profile, reason in expected.items():
        assert QualityGate(QualitySettings(profile=profile)).assess([ARTICLE])["reason"][0] == reason, profile


def test_web_is_fineweb2_exactly():
    assert QUALITY_PROFILES["web"] == {}
    web = QualitySettings(profile="web")
    assert web == QualitySettings()
    assert not web.closing_quotes_terminate and web.top_n_gram_min_count == 1 and web.extra_line_end_chars == ""
    assert web.max_consent_word_ratio is None and web.max_stopless_line_words is None


# --- the cases the profiles exist for ---------------------------------------------------------------------

QUOTED = ARTICLE[: -len("op tijd rond is.")] + "op tijd rond is, noemde de wethouder 'opmerkelijk.'"


def test_an_article_ending_in_a_closing_quote_is_kept_by_news_and_has_no_terminated_line_for_web():
    web = QualityGate(QualitySettings(profile="web")).assess([QUOTED])
    news = QualityGate(QualitySettings(profile="news")).assess([QUOTED])
    assert web["line_punct_ratio"][0] == 0.0 and web["reason"][0] == "line_punct_ratio"
    assert news["line_punct_ratio"][0] == 1.0 and news["keep"][0]


@pytest.mark.parametrize(
    ("line", "web", "news"),
    [
        ("Hij zei: 'Dat is opmerkelijk.'", False, True),
        ('Zij vroeg: "Waarom?"', False, True),
        ("Het was „een droom.”", False, True),
        ("Gaat dat goed?’", False, True),
        ("(Zie de bijlage!)", False, True),
        ("Il a dit: «C'est fini.»", False, True),
        ("Mooier kon niet. ''", False, True),
        ("Dat is opmerkelijk.", True, True),
        ("Dat is 'opmerkelijk'", False, False),  # the quote is closed before the sentence ends
        ("De uitslag (voorlopig)", False, False),
    ],
)
def test_which_line_endings_count_as_terminated(line, web, news):
    for profile, expected in (("web", web), ("news", news)):
        settings = QualitySettings(profile=profile)
        assert (pl.Series([line]).str.contains(line_end_pattern(settings))[0]) is expected, (profile, line)


def test_legal_enumerations_end_their_lines():
    settings = QualitySettings(profile="legal")
    lines = ["De rechtbank:", "a. verklaart het beroep gegrond;", "b. vernietigt het besluit;", "2.1 De feiten"]
    assert pl.Series(lines).str.contains(line_end_pattern(settings)).to_list() == [True, True, True, False]
    assert not pl.Series(lines[:3]).str.contains(line_end_pattern(QualitySettings())).any()


LEGAL = (
    "ECLI:NL:HR:2020:123\n\n"
    "2.1 De eiser vordert vergoeding van de schade op grond van art. 6:162 BW. Hij stelt dat de gemeente "
    "onrechtmatig heeft gehandeld door de weg niet te onderhouden.\n"
    "2.2 De gemeente voert het volgende aan:\n"
    "a. de schade is niet aangetoond;\n"
    "b. de eiser heeft zelf niet voldoende opgelet;\n"
    "c. de vordering is verjaard op grond van art. 3:310 BW.\n"
    "3. De beoordeling\n"
    "3.1 De rechtbank overweegt dat de gemeente als wegbeheerder op grond van art. 6:174 BW aansprakelijk is "
    "voor een gebrekkige weg. Zie ook HR 17 december 2010, ECLI:NL:HR:2010:BN6236."
)


def test_a_ruling_with_numbered_paragraphs_enumerations_and_citations_passes_legal():
    legal = QualityGate(QualitySettings(profile="legal")).assess([LEGAL])
    web = QualityGate(QualitySettings(profile="web")).assess([LEGAL])
    assert legal["keep"][0]
    assert legal["line_punct_ratio"][0] == 6 / 8 > web["line_punct_ratio"][0] == 3 / 8


def test_a_short_news_item_is_kept_by_news_and_dropped_by_web():
    item = (
        "Vier woningen in Rotterdam-Zuid zijn in de nacht van zaterdag op zondag verwoest door een grote brand. "
        "Volgens een woordvoerder van de politie raakte niemand gewond door de vlammen."
    )
    assert QualityGate(QualitySettings(profile="news")).assess([item])["keep"][0]
    assert QualityGate(QualitySettings(profile="web")).assess([item])["reason"][0] in ("gopher_short_doc", "top_4_gram")


def test_a_top_ngram_counts_only_when_it_repeats_in_profiles_other_than_web():
    text = "Vier woningen in Rotterdam-Zuid zijn verwoest door brand."
    web = text_stats([text], QualitySettings())["top_2_gram_char_frac"][0]
    news = text_stats([text], QualitySettings(profile="news"))["top_2_gram_char_frac"][0]
    assert web > 0 and news == 0
    repeated = "zeer goed " * 4
    assert text_stats([repeated], QualitySettings(profile="news"))["top_2_gram_char_frac"][0] > 0.5


def test_keyword_stuffing_under_a_real_paragraph_is_dropped_by_news():
    stuffing = (
        "goedkoop zonnepanelen kopen korting online beste prijs laptops fietsen matrassen tuinmeubelen gratis "
        "bezorging aanbieding outlet sale webshop actie voordeel snel morgen thuis garantie retour klanten "
        "reviews vergelijken bestellen"
    )
    text = ARTICLE + "\n" + stuffing
    result = QualityGate(QualitySettings(profile="news")).assess([text, ARTICLE])
    assert result["reason"].to_list() == ["stopless_line", None]
    assert result["longest_stopless_line"].to_list() == [28, 0]


def test_a_cookie_wall_paragraph_is_dropped_by_news_and_an_article_about_cookies_is_not():
    wall = (
        "Wij en onze partners gebruiken cookies en vergelijkbare technieken om advertenties te personaliseren. "
        "Door op akkoord te klikken geef je toestemming voor het plaatsen van cookies; je kunt je voorkeuren "
        "wijzigen via de cookie-instellingen. Lees meer in ons privacybeleid en onze cookieverklaring."
    )
    article = ARTICLE + " De gemeente plaatst op haar website voortaan alleen nog cookies die nodig zijn."
    result = QualityGate(QualitySettings(profile="news")).assess([wall, article])
    assert result["reason"].to_list() == ["consent_wall", None]


def test_old_spelling_is_not_noise_but_garbage_is():
    old = "De menschen zoo eene visch gelooven gebragt heerscht oogenblik Italiaansche voltooijing wy"
    garbage = "Dc rnenfchen zco ccne vifcli gclooveu gcbraqt hccrfcht oogeublik ltaliaaufche"
    modern, historic = ocr_noise_ratio([old, garbage]), ocr_noise_ratio([old, garbage], old_spelling=True)
    assert historic[0] == 0.0 < modern[0]
    assert historic[1] > 0.5
    assert QualitySettings(profile="archive-ocr").old_spelling and not QualitySettings().old_spelling


def test_archive_ocr_treats_every_text_as_ocr(monkeypatch):
    monkeypatch.setattr("quality.gate.ocr_noise_ratio", lambda texts, **_: pl.Series([0.5] * len(texts)))
    assert QualityGate(QualitySettings(profile="archive-ocr")).assess([ARTICLE])["reason"][0] == "ocr_noise"
    assert QualityGate(QualitySettings(profile="web")).assess([ARTICLE])["reason"][0] is None


def test_an_explicit_value_beats_the_profile():
    settings = QualitySettings(profile="news", min_doc_words=80, closing_quotes_terminate=False)
    assert settings.min_doc_words == 80 and not settings.closing_quotes_terminate
    assert settings.new_line_ratio == QUALITY_PROFILES["news"]["new_line_ratio"]
    assert QualityGate(settings).assess([QUOTED])["reason"][0] == "line_punct_ratio"
