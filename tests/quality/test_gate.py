"""The quality gate: language, OCR and FineWeb-2 rules together, in their order, on tiny inputs."""

from __future__ import annotations

import pytest

from catalog.quality_settings import QualitySettings
from quality.filters import FINEWEB2_FILTERS, PROFILE_FILTERS
from quality.gate import FILTER_OF_REASON, REASONS_BY_FILTER, QualityGate, ocr_noise_ratio
from tests.texts import DUTCH_ARTICLE as ARTICLE

FRISIAN = (
    "De gemeenteried fan Ljouwert hat tiisdei besletten dat de nije fytsbrêge oer it kanaal takom jier boud "
    "wurde sil. Neffens de wethâlder is de brêge nedich foar de groeiende wyk. Omwenners binne benaud foar "
    "lûdsoerlêst yn de tiid dat der boud wurdt, en dat duorret mear as in jier. It kolleezje lûkt der acht "
    "miljoen euro foar út; de provinsje betellet de helte. De earste peal giet yn maart de grûn yn."
)
ENGLISH = (
    "The city council decided on Tuesday that the new bicycle bridge over the canal will be built next year. "
    "According to the alderman, the bridge is needed for the growing district. Residents fear noise during "
    "construction, which will take more than a year. The council is setting aside eight million euros."
)


def test_keeps_dutch_and_drops_other_languages_with_a_reason():
    result = QualityGate(languages=["nl"]).assess([ARTICLE, ENGLISH, FRISIAN])
    assert result["keep"].to_list() == [True, False, False]
    assert result["reason"].to_list() == [None, "unexpected_language", "unexpected_language"]
    assert result["lang"].to_list() == ["nl", "en", "fy"]


def test_frisian_is_kept_as_frisian_when_the_source_expects_it():
    result = QualityGate(settings=QualitySettings(min_doc_words=40), languages=["nl", "fy"]).assess([FRISIAN])
    assert result.row(0, named=True)["keep"] is True
    assert result["lang"][0] == "fy"


def test_language_score_at_just_below_and_just_above_its_threshold():
    text = "Kom je morgen ook?"  # Dutch, but short: the model is less sure
    score = QualityGate().assess([text])["lang_score"][0]
    assert 0.5 < score < 0.99

    def reason(threshold: float) -> str | None:
        return QualityGate(QualitySettings(min_language_score=threshold)).assess([text])["reason"][0]

    # the gate's FineWeb-2 rules would drop so short a text: judge the language rule on its own
    assert reason(score) != "low_language_score"  # at: passes (the rule is "score below the threshold")
    assert reason(score - 1e-4) != "low_language_score"
    assert reason(score + 1e-4) == "low_language_score"


def test_ocr_rules_at_just_below_and_just_above_their_thresholds():
    noisy = ARTICLE.replace("e", "c")
    ratio = QualityGate().assess([noisy], is_ocr=[True])["ocr_noise_ratio"][0]
    assert 0 < ratio < 1

    def reason(confidence: float, **settings: float) -> str | None:
        gate = QualityGate(QualitySettings(**settings))
        return gate.assess([noisy], ocr_confidence=[confidence])["reason"][0]

    ocr = {"ocr_low_confidence", "ocr_noise"}
    assert reason(0.7, min_ocr_confidence=0.7, max_ocr_noise_ratio=1.0) not in ocr  # at
    assert reason(0.7, min_ocr_confidence=0.7 - 1e-6, max_ocr_noise_ratio=1.0) not in ocr  # threshold below
    assert reason(0.7, min_ocr_confidence=0.7 + 1e-6, max_ocr_noise_ratio=1.0) == "ocr_low_confidence"
    assert reason(0.9, min_ocr_confidence=0.0, max_ocr_noise_ratio=ratio) not in ocr  # at
    assert reason(0.9, min_ocr_confidence=0.0, max_ocr_noise_ratio=ratio + 1e-6) not in ocr
    assert reason(0.9, min_ocr_confidence=0.0, max_ocr_noise_ratio=ratio - 1e-6) == "ocr_noise"


def test_empty_text_is_empty_not_a_language_problem():
    assert QualityGate().assess([""])["reason"].to_list() == ["empty"]


def test_ocr_rules_apply_to_ocr_text_only():
    noisy = ARTICLE.replace("e", "c").replace("a", "n")  # what a bad OCR engine makes of it
    gate = QualityGate(QualitySettings(min_language_score=0.0), languages=["nl", "af", "fy", "en", "de", "lb"])
    result = gate.assess([ARTICLE, ARTICLE, noisy, noisy], ocr_confidence=[0.9, 0.5, None, None],
                         is_ocr=[True, True, True, False])  # fmt: skip
    assert result["reason"].to_list()[:3] == [None, "ocr_low_confidence", "ocr_noise"]
    assert result["ocr_noise_ratio"][3] is None  # born-digital: not measured, not dropped for it
    assert result["reason"][3] != "ocr_noise"


def test_ocr_noise_ratio_counts_unknown_words():
    ratios = ocr_noise_ratio(["de kat en de hond", "dc kqt cn xqzt hoxd", "12 34"]).to_list()
    assert ratios[0] == 0.0
    assert ratios[1] >= 0.6
    assert ratios[2] is None


def test_disabled_gate_measures_but_keeps_everything():
    result = QualityGate(QualitySettings(enabled=False)).assess([ENGLISH, "kort"])
    assert result["keep"].to_list() == [True, True]
    assert result["lang"].to_list()[0] == "en" and result["words"].to_list() == [57, 1]


def test_every_reason_a_rule_gives_is_listed_by_its_filter():
    settings = QualitySettings()
    filters = (*FINEWEB2_FILTERS, *PROFILE_FILTERS)
    for filter_class in filters:
        for _, reason in filter_class(settings).rules():
            if reason != "empty":
                assert FILTER_OF_REASON[reason] == filter_class.NAME, reason
    assert set(REASONS_BY_FILTER) == {"language", "ocr", *(f.NAME for f in filters)}


def test_needs_an_expected_language_and_aligned_inputs():
    with pytest.raises(ValueError, match="language"):
        QualityGate(languages=[])
    with pytest.raises(ValueError, match="one value per text"):
        QualityGate().assess([ARTICLE], ocr_confidence=[0.9, 0.8])
