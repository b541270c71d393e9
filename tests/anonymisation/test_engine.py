"""The offline Dutch analyzer: builds and runs with the network blocked, finds planted data, resolves overlaps."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest
import spacy
import spacy.cli
import tldextract.tldextract
from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from anonymisation.engine import Finding, analyse, blank_model_path, build_analyzer, resolve_overlaps

HAS_DUTCH_RECOGNIZERS = importlib.util.find_spec("anonymisation.recognizers") is not None


@pytest.fixture
def blocked_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make every outgoing connection (and spaCy's model download) fail; return the attempts."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args[1] if len(args) > 1 else args)
        raise OSError("network is blocked in this test")

    def no_download(*args: object, **kwargs: object) -> None:
        attempts.append(("spacy.cli.download", args))
        raise AssertionError("spaCy tried to download a model")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(spacy.cli, "download", no_download)
    return attempts


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One blank-pipeline folder for the tests that are not about building it (loading takes ~2 s)."""
    return tmp_path_factory.mktemp("spacy-cache")


def _bsn_like(score: float = 0.6) -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity="NINE_DIGITS",
        patterns=[Pattern("nine digits", r"\b\d{9}\b", score)],
        supported_language="nl",
    )


def test_builds_and_runs_offline(tmp_path: Path, blocked_network: list[object], monkeypatch: pytest.MonkeyPatch):
    # A fresh cache folder, so the blank pipeline is written and loaded under the block; and tldextract's
    # online default with no disk cache, so only build_analyzer can make it offline.
    monkeypatch.setattr(tldextract.tldextract, "TLD_EXTRACTOR", tldextract.tldextract.TLDExtract(cache_dir=None))
    recognizers = [_bsn_like(), EmailRecognizer(supported_language="nl")]
    analyzer = build_analyzer(recognizers, cache_dir=tmp_path, tokenize=True)

    text = "Stuur het naar zoë.de.vries@voorbeeld.nl, nummer 123456782."
    findings = analyse(text, analyzer)

    assert [(f.entity, text[f.start : f.end]) for f in findings] == [
        ("EMAIL_ADDRESS", "zoë.de.vries@voorbeeld.nl"),
        ("NINE_DIGITS", "123456782"),
    ]
    assert blocked_network == []  # nothing even tried to connect
    assert (tmp_path / f"spacy-blank-nl-{spacy.__version__}-v1" / "config.cfg").is_file()


def test_context_words_work_with_the_blank_pipeline(shared_cache: Path):
    recognizer = PatternRecognizer(
        supported_entity="NINE_DIGITS",
        patterns=[Pattern("nine digits", r"\b\d{9}\b", 0.3)],
        context=["bsn"],
        supported_language="nl",
    )
    analyzer = build_analyzer([recognizer], cache_dir=shared_cache, tokenize=True)

    (with_context,) = analyse("Mijn BSN is 123456782.", analyzer)
    (without,) = analyse("Het getal is 123456782.", analyzer)

    assert with_context.score > without.score == pytest.approx(0.3)


def test_blank_model_is_saved_once(tmp_path: Path):
    first = blank_model_path(tmp_path)
    written = (first / "config.cfg").stat().st_mtime_ns

    assert blank_model_path(tmp_path) == first
    assert (first / "config.cfg").stat().st_mtime_ns == written
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no staging folders left behind


def test_missing_spacy_model_is_refused_not_downloaded(tmp_path: Path, blocked_network: list[object]):
    with pytest.raises(LookupError, match="not installed"):
        build_analyzer([_bsn_like()], spacy_model="nl_core_news_does_not_exist", cache_dir=tmp_path)
    assert blocked_network == []


def test_installed_ner_model_adds_persons_only(tmp_path: Path, blocked_network: list[object]):
    # A stand-in for nl_core_news_lg: a blank (multi-language, quick to load) pipeline whose entity ruler
    # labels PER and LOC.
    nlp = spacy.blank("xx")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PER", "pattern": "Jan Jansen"}, {"label": "LOC", "pattern": "Utrecht"}])
    model_dir = tmp_path / "fake_ner_model"
    nlp.to_disk(model_dir)

    analyzer = build_analyzer([_bsn_like()], spacy_model=str(model_dir), cache_dir=tmp_path)
    text = "Jan Jansen woont in Utrecht."

    assert [(f.entity, text[f.start : f.end]) for f in analyse(text, analyzer)] == [("PERSON", "Jan Jansen")]


def test_rejects_recognizers_for_another_language(tmp_path: Path):
    english = PatternRecognizer(supported_entity="X", patterns=[Pattern("x", r"x", 0.5)], supported_language="en")
    with pytest.raises(ValueError, match="supported_language='nl'"):
        build_analyzer([english], cache_dir=tmp_path)


@pytest.mark.skipif(not HAS_DUTCH_RECOGNIZERS, reason="anonymisation/recognizers (other engineer) not there yet")
def test_default_dutch_recognizers_find_planted_email_and_iban(shared_cache: Path, blocked_network: list[object]):
    analyzer = build_analyzer(cache_dir=shared_cache)
    text = "Mail naar p.bakker@voorbeeld.nl of maak het bedrag over naar NL91 ABNA 0417 1643 00, dank je!"

    found = {(f.entity, text[f.start : f.end]) for f in analyse(text, analyzer)}

    assert ("EMAIL_ADDRESS", "p.bakker@voorbeeld.nl") in found
    assert ("IBAN_CODE", "NL91 ABNA 0417 1643 00") in found
    assert blocked_network == []


def test_analyse_resolves_overlapping_recognizers(shared_cache: Path):
    account = PatternRecognizer(
        supported_entity="ACCOUNT", patterns=[Pattern("account", r"AB-\d{6}", 0.5)], supported_language="nl"
    )
    number = PatternRecognizer(
        supported_entity="NUMBER", patterns=[Pattern("number", r"\d{6}", 0.9)], supported_language="nl"
    )
    analyzer = build_analyzer([account, number], cache_dir=shared_cache)
    text = "Rekening AB-123456 en 654321."

    findings = analyse(text, analyzer)

    assert [(f.entity, text[f.start : f.end]) for f in findings] == [("NUMBER", "123456"), ("NUMBER", "654321")]


def test_resolve_overlaps_prefers_score_then_length_and_keeps_touching_spans():
    findings = [
        Finding("SHORT_HIGH", 10, 14, 0.9),
        Finding("LONG_LOW", 5, 20, 0.6),  # overlaps the better SHORT_HIGH: dropped
        Finding("A", 30, 34, 0.7),
        Finding("A_LONGER", 30, 38, 0.7),  # same score, longer: wins over A
        Finding("TOUCHING", 38, 40, 0.1),  # touches A_LONGER without overlapping: kept
        Finding("EMPTY", 50, 50, 1.0),  # empty span: dropped
        Finding("FIRST", 0, 3, 0.5),
    ]

    assert resolve_overlaps(findings) == [
        Finding("FIRST", 0, 3, 0.5),
        Finding("SHORT_HIGH", 10, 14, 0.9),
        Finding("A_LONGER", 30, 38, 0.7),
        Finding("TOUCHING", 38, 40, 0.1),
    ]


@pytest.mark.skipif(not HAS_DUTCH_RECOGNIZERS, reason="anonymisation/recognizers not there")
def test_without_tokenising_the_dutch_recognizers_find_the_same(shared_cache: Path):
    text = (
        "Mijn BSN is 264183757 en mijn IBAN NL08 ABNA 0417 2639 58. Bel 06-12345678 of mail naar "
        "j.devries@voorbeeld.nl. Ik woon op de Herestraat 12a, 9712 AB Groningen, geboren op 12-03-1985."
    )
    fast = analyse(text, build_analyzer(cache_dir=shared_cache))
    tokenised = analyse(text, build_analyzer(cache_dir=shared_cache, tokenize=True))
    assert fast == tokenised
    assert {f.entity for f in fast} >= {"NL_BSN", "IBAN_CODE", "PHONE_NUMBER", "EMAIL_ADDRESS", "DATE_OF_BIRTH"}


@pytest.mark.skipif(not HAS_DUTCH_RECOGNIZERS, reason="anonymisation/recognizers not there")
def test_skipping_the_stock_context_enhancer_for_pre_enhanced_results_changes_nothing(shared_cache: Path):
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from anonymisation.recognizers import dutch_recognizers

    text = (
        "Mevrouw J. de Vries (geboren 12-03-1985) woont op de Herestraat 12a, 9712 AB Groningen. Haar BSN is "
        "264183757, rekening NL08 ABNA 0417 2639 58, telefoon 06-12345678, kenteken 12-BDF-3, KvK 12345678."
    )
    ours = build_analyzer(cache_dir=shared_cache, tokenize=True)
    stock_enhancer = AnalyzerEngine(
        registry=RecognizerRegistry(recognizers=dutch_recognizers(), supported_languages=["nl"]),
        nlp_engine=ours.nlp_engine,
        supported_languages=["nl"],
    )

    def key(engine: AnalyzerEngine) -> list[tuple[str, int, int, float]]:
        return sorted((r.entity_type, r.start, r.end, r.score) for r in engine.analyze(text, language="nl"))

    assert key(ours) == key(stock_enhancer)
    assert len(key(ours)) >= 9
