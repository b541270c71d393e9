"""The shipped person-name model: loading, tokenizer, spans and behaviour on clear Dutch sentences."""

from __future__ import annotations

import itertools

import pytest

from anonymisation.namemodel import DEFAULT_MODEL_PATH, ModelSpan, NameModel, default_name_model, tokenize


@pytest.fixture(scope="module")
def model() -> NameModel:
    return default_name_model()


def persons(model: NameModel, text: str) -> list[str]:
    return [text[s.start : s.end] for s in model.find(text) if s.label == "PER"]


def test_the_model_is_packaged():
    assert DEFAULT_MODEL_PATH.is_file()
    assert DEFAULT_MODEL_PATH.with_suffix(".json").is_file()
    assert DEFAULT_MODEL_PATH.with_suffix(".md").is_file()


def test_tokenizer_keeps_initials_particles_and_hyphenated_names_whole():
    text = "A.Th.Chr. van der Laan, J. Th. Bakker, Visser-de Jong, d'Ancona en in 't Veld (v/d Berg)."
    tokens = tokenize(text)
    words = [t.text for t in tokens]
    assert words[:4] == ["A.Th.Chr.", "van", "der", "Laan"]
    assert "J." in words and "Th." in words
    assert "Visser-de" in words and "d'Ancona" in words and "'t" in words and "v/d" in words
    assert all(text[t.start : t.end] == t.text for t in tokens)


def test_minister_with_full_name(model):
    assert persons(model, "Minister Hugo de Jonge zei dinsdag dat het kabinet doorgaat.") == ["Hugo de Jonge"]


def test_forms_of_address_and_initials(model):
    assert "Groen" in " ".join(persons(model, "Gisteren sprak mevrouw Groen met de wethouder."))
    found = persons(model, "De brief is ondertekend door A. van der Sluis, directeur van de stichting.")
    assert any("Sluis" in f and f.startswith("A.") for f in found)


def test_countries_and_languages_are_not_persons(model):
    text = "Nederland en België spreken English en Frans op de conferentie in Brussel."
    assert persons(model, text) == []


def test_spans_are_sorted_non_overlapping_and_well_formed(model):
    text = "Volgens premier Mark Rutte en minister Sigrid Kaag moet Ajax naar Amsterdam.\n" * 3
    spans = model.find(text)
    assert spans
    for span in spans:
        assert isinstance(span, ModelSpan)
        assert span.label in {"PER", "LOC", "ORG"}
        assert 0.0 <= span.score <= 1.0
        assert text[span.start : span.end].strip() == text[span.start : span.end]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_empty_whitespace_and_lowercase_text(model):
    assert model.find("") == []
    assert model.find("   \n\t ") == []
    assert model.find("dit is een zin zonder enige hoofdletter en dus zonder namen.") == []


def test_very_long_text(model):
    sentence = "Op dinsdag zei burgemeester Femke Halsema dat de stad het plan steunt. "
    text = sentence * 2000
    spans = [s for s in model.find(text) if s.label == "PER"]
    assert len(spans) >= 1900
    assert text[spans[-1].start : spans[-1].end] == "Femke Halsema"


def test_missing_and_corrupt_model_files_are_named(tmp_path):
    missing = tmp_path / "nope.crfsuite"
    with pytest.raises(FileNotFoundError, match=r"nope\.crfsuite"):
        NameModel(missing)
    corrupt = tmp_path / "corrupt.crfsuite"
    corrupt.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match=r"corrupt\.crfsuite"):
        NameModel(corrupt)


def test_the_last_text_is_tagged_once_and_its_result_cannot_be_changed_by_a_caller():
    from anonymisation.namemodel import default_name_model

    model = default_name_model()
    text = "Gisteren sprak Pieter de Vries in Utrecht."
    first = model.find(text)
    first.clear()
    assert model.find(text) == model.find(text) != []
