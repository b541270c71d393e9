"""Training the CRF: gold spans to token labels, the model's windows and features, and the corpora in order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import pycrfsuite

from anonymisation.namemodel import features, scan, tokenize, windows
from anonymisation.training.corpora import KB_FILE, LICENCES, VOC_GLOB, Example, kb_split, read_any, read_conll
from anonymisation.training.synthetic import historical_examples, synthetic_examples

#: CRFsuite parameters (L-BFGS with elastic net; minfreq prunes features seen once, keeping the file small).
CRF_PARAMS = {
    "c1": 0.3,
    "c2": 0.01,
    "max_iterations": 150,
    "feature.minfreq": 2,
    "feature.possible_transitions": True,
}


def token_labels(text: str, spans: Sequence[tuple[int, int, str]]) -> tuple[list, list[str]]:
    """Tokenize with the model's tokenizer and give each token a BIO label from the gold character spans."""
    tokens = tokenize(text)
    labels = ["O"] * len(tokens)
    ordered = sorted(spans)
    k = 0
    for i, token in enumerate(tokens):
        while k < len(ordered) and ordered[k][1] <= token.start:
            k += 1
        if k < len(ordered) and ordered[k][0] < token.end:
            start, _end, label = ordered[k]
            first = token.start <= start or (i > 0 and tokens[i - 1].end <= start)
            labels[i] = ("B-" if first else "I-") + label
    return tokens, labels


def add_examples(trainer: pycrfsuite.Trainer, examples: Iterable[Example], stats: Counter) -> None:
    """Append each example's windows (the only parts the model tags at run time) to the trainer."""
    for example in examples:
        tokens, labels = token_labels(example.text, example.spans)
        stats["sentences"] += 1
        stats["tokens"] += len(tokens)
        doc = scan(example.text)
        for lo, hi in windows(doc):
            trainer.append(features(doc, lo, hi), labels[lo:hi])
            stats["window_tokens"] += hi - lo


def training_sets(data: Path, extra: Sequence[Path] = ()) -> list[tuple[str, str, list[Example]]]:
    """Return the training corpora as ``(name, licence, examples)``, in a fixed order."""
    sets = []
    voc = sorted(data.glob(VOC_GLOB))
    if voc:
        sets.append(("voc-missives", LICENCES["voc-missives"], [e for p in voc for e in read_conll(p)]))
    if (data / KB_FILE).exists():
        sets.append(("kb-ocr-ner (train split)", LICENCES["kb-ocr-ner"], kb_split(data)[0]))
    sets.append(("synthetic", LICENCES["synthetic"], synthetic_examples()))
    sets.append(("synthetic, historical register", LICENCES["synthetic"], historical_examples()))
    for path in extra:
        sets.append((str(path), "operator-supplied", read_any(path)))
    return sets


def train(sets: Sequence[tuple[str, str, list[Example]]], model_path: Path, params: dict | None = None) -> dict:
    """Train a CRF on the given sets and write it to ``model_path``; return per-set counts."""
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params(params or CRF_PARAMS)
    counts = {}
    for name, licence, examples in sets:
        stats: Counter = Counter()
        add_examples(trainer, examples, stats)
        counts[name] = {
            "licence": licence,
            "texts": stats["sentences"],
            "tokens": stats["tokens"],
            "window_tokens": stats["window_tokens"],
        }
    model_path.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(model_path))
    return counts
