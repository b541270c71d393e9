"""Quality profiles in the spec: the default from kind and sector, explicit overrides, the stored form."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from catalog.quality_profiles import PROFILE_NAMES, QUALITY_PROFILES, default_profile
from catalog.quality_settings import QualitySettings
from catalog.registry import spec_yaml
from catalog.sources import SpecError, parse_spec

from .conftest import spec_data


@pytest.mark.parametrize(
    ("kind", "sector", "profile"),
    [
        ("rechtspraak", "news", "legal"),
        ("alto", "news", "archive-ocr"),
        ("rss", "news", "news"),
        ("warc", "News", "news"),
        ("files", "news", "news"),
        ("oai-pmh", "archives", "archive-ocr"),
        ("files", "archives", "archive-ocr"),
        ("files", "justice", "legal"),
        ("warc", "education", "web"),
        ("rss", "public-sector", "web"),
        ("files", "health", "sector"),
        ("oai-pmh", "education", "sector"),
    ],
)
def test_the_default_profile_comes_from_kind_and_sector(kind, sector, profile):
    assert default_profile(kind, sector) == profile
    extra = {"format": None} if kind != "files" else {}
    location = "https://bron.example/feed" if kind in ("rss", "oai-pmh") else "drop.jsonl"
    spec = parse_spec(spec_data(kind=kind, sector=sector, location=location, **extra))
    assert spec.quality.profile == profile
    assert spec.quality == QualitySettings(profile=profile)


def test_a_named_profile_beats_the_default():
    spec = parse_spec(spec_data(sector="news", quality={"profile": "web"}))
    assert spec.quality.profile == "web" and spec.quality == QualitySettings()


def test_an_explicit_threshold_beats_the_profile_and_the_rest_comes_from_it():
    spec = parse_spec(spec_data(sector="news", quality={"min_doc_words": 40, "line_punct_thr": 0.2}))
    quality = spec.quality
    assert quality.profile == "news"
    assert quality.min_doc_words == 40 and quality.line_punct_thr == 0.2
    assert quality.new_line_ratio == QUALITY_PROFILES["news"]["new_line_ratio"]
    assert quality.overrides == {"line_punct_thr": 0.2, "min_doc_words": 40}


def test_swapping_the_profile_keeps_the_overrides():
    news = QualitySettings(profile="news", min_doc_words=40)
    legal = news.with_profile("legal")
    assert legal.profile == "legal" and legal.min_doc_words == 40
    assert legal.extra_line_end_chars == QUALITY_PROFILES["legal"]["extra_line_end_chars"]
    assert legal.overrides == {"min_doc_words": 40}


def test_the_stored_spec_names_the_profile_and_the_overrides_and_reads_back_the_same():
    spec = parse_spec(spec_data(sector="archives", quality={"max_non_alpha_words_ratio": 0.65}))
    assert spec.to_data()["quality"] == {"profile": "archive-ocr", "max_non_alpha_words_ratio": 0.65}
    assert parse_spec(spec.to_data()) == spec
    assert "profile: archive-ocr" in spec_yaml(spec)


def test_a_spec_stored_before_profiles_keeps_web_with_its_own_changes():
    # an earlier version wrote every threshold out; only the values that differ from web's were the partner's
    written_out = {**QualitySettings().model_dump(mode="json"), "min_doc_words": 5}
    added = {"profile", "top_n_gram_min_count", "closing_quotes_terminate", "extra_line_end_chars"}
    added |= {"max_consent_word_ratio", "max_stopless_line_words", "noise_rule_all_texts", "old_spelling"}
    for name in added:
        written_out.pop(name)
    spec = parse_spec(spec_data(sector="news", quality=written_out))
    assert spec.quality.profile == "web" and spec.quality.overrides == {"min_doc_words": 5}


def test_an_unknown_profile_is_a_spec_problem_naming_the_choices():
    with pytest.raises(SpecError) as error:
        parse_spec(spec_data(quality={"profile": "kranten"}))
    assert error.value.problems[0][0] == "quality.profile"
    assert "news" in error.value.problems[0][1]
    with pytest.raises(ValidationError):
        QualitySettings(profile="kranten")


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_preset_is_valid_settings(profile):
    settings = QualitySettings(profile=profile)
    assert settings.overrides == {}
    assert all(getattr(settings, name) == value for name, value in QUALITY_PROFILES[profile].items())
