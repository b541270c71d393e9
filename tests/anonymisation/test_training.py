"""Training the name model on a tiny in-memory corpus: it trains, loads, tags and is reproducible."""

from __future__ import annotations

import hashlib

from anonymisation import training
from anonymisation.namemodel import NameModel
from anonymisation.training import Example, from_tokens, read_conll, synthetic_examples, token_labels, train
from anonymisation.training.crf import training_sets
from anonymisation.training.synthetic import historical_examples


def tiny_sets() -> list[tuple[str, str, list[Example]]]:
    examples = [
        from_tokens(
            ["Minister", "Jan", "de", "Vries", "zei", "dat", "."], ["O", "B-PER", "I-PER", "I-PER", "O", "O", "O"]
        ),
        from_tokens(["Mevrouw", "Bakker", "woont", "in", "Utrecht", "."], ["O", "B-PER", "O", "O", "B-LOC", "O"]),
        from_tokens(["Nederland", "won", "van", "Ajax", "."], ["B-LOC", "O", "O", "B-ORG", "O"]),
        *synthetic_examples(300, seed=7),
    ]
    return [("tiny", "test", examples)]


SMALL = {"c1": 0.1, "c2": 0.01, "max_iterations": 30, "feature.minfreq": 1}


def test_train_load_and_tag(tmp_path):
    path = tmp_path / "tiny.crfsuite"
    counts = train(tiny_sets(), path, SMALL)
    assert counts["tiny"]["texts"] == 303
    model = NameModel(path)
    spans = model.find("Minister Jan de Vries zei dat.")
    assert all(s.label in {"PER", "LOC", "ORG"} for s in spans)


def test_training_is_bit_for_bit_reproducible(tmp_path):
    first, second = tmp_path / "a.crfsuite", tmp_path / "b.crfsuite"
    train(tiny_sets(), first, SMALL)
    train(tiny_sets(), second, SMALL)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


def test_synthetic_data_is_deterministic_and_spans_match_text():
    a, b = synthetic_examples(200), synthetic_examples(200)
    assert [(e.text, e.spans) for e in a] == [(e.text, e.spans) for e in b]
    for example in a:
        for start, end, label in example.spans:
            assert label in {"PER", "LOC", "ORG"}
            assert example.text[start:end].strip() == example.text[start:end] != ""


def test_historical_sentences_are_deterministic_and_set_some_names_in_capitals():
    a, b = historical_examples(300), historical_examples(300)
    assert [(e.text, e.spans) for e in a] == [(e.text, e.spans) for e in b]
    persons = [e.text[start:end] for e in a for start, end, label in e.spans if label == "PER"]
    capitals = [name for name in persons if name.isupper()]
    assert 0.15 < len(capitals) / len(persons) < 0.6  # HISTORICAL_CAPITALS of the sentences, not all names
    assert all(e.text[s:t].strip() == e.text[s:t] != "" for e in a for s, t, _ in e.spans)


def test_without_gold_data_the_model_trains_on_both_synthetic_sets(tmp_path):
    names = [name for name, _licence, _examples in training_sets(tmp_path / "no-data")]
    assert names == ["synthetic", "synthetic, historical register"]


def test_tag_mapping_and_token_labels():
    example = from_tokens(["Batavia", "en", "de", "VOC", "van", "Coen"], ["B-GPE", "O", "O", "B-ORG", "O", "B-PER"])
    assert [label for *_, label in example.spans] == ["LOC", "ORG", "PER"]
    example = from_tokens(["het", "schip", "Amelia", "voer"], ["O", "O", "B-SHP", "O"])
    assert example.spans == []
    tokens, labels = token_labels("A. van der Sluis zei", [(0, 16, "PER")])
    assert [t.text for t in tokens] == ["A.", "van", "der", "Sluis", "zei"]
    assert labels == ["B-PER", "I-PER", "I-PER", "I-PER", "O"]


def test_operator_conll_file(tmp_path):
    path = tmp_path / "extra.conll"
    path.write_text("Piet B-PER\nJansen I-PER\nkomt O\n\nUit O\nLeiden B-LOC\n", encoding="utf-8")
    examples = read_conll(path)
    examples = list(examples)
    assert len(examples) == 2
    assert examples[0].spans == [(0, 11, "PER")]
    assert training.read_any(path)[1].spans == [(4, 10, "LOC")]


def test_importing_the_training_package_runs_nothing(tmp_path):
    """Importing ``anonymisation.training.__main__`` (as the import checks do) must not retrain the model."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    models = repo / "anonymisation" / "models"
    before = {p.name: p.stat().st_mtime_ns for p in models.iterdir()}
    done = subprocess.run(
        [sys.executable, "-c", "import anonymisation.training.__main__"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert {p.name: p.stat().st_mtime_ns for p in models.iterdir()} == before
