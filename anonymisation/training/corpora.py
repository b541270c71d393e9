"""The training corpora: gold examples read from CoNLL and JSONL files, and the KB corpus's fixed split."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from anonymisation import namemodel

#: Gold tags of the training corpora mapped to the model's labels (everything else is O).
TAG_MAP = {"PER": "PER", "LOC": "LOC", "GPE": "LOC", "LOCderiv": "LOC", "ORG": "ORG"}

KB_FILE = "pii-dev/kb-ocr-ner-dev.jsonl"
VOC_GLOB = "ner-train/voc-missives/*.conll"

#: Licences of the data files used, as the data README states them.
LICENCES = {"voc-missives": "Apache-2.0", "kb-ocr-ner": "CC0-1.0", "synthetic": "EUPL-1.2 (generated here)"}


@dataclass
class Example:
    """One training or evaluation text with gold entity spans ``(start, end, label)``."""

    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)


def from_tokens(tokens: Sequence[str], tags: Sequence[str]) -> Example:
    """Join tokens with single spaces and turn IOB2 tags into character spans of mapped labels."""
    text_parts, spans, position = [], [], 0
    current: list | None = None
    for token, tag in zip(tokens, tags, strict=True):
        kind = tag[2:] if len(tag) > 2 else ""
        label = TAG_MAP.get(kind)
        start, end = position, position + len(token)
        if label and tag.startswith("I-") and current is not None and current[2] == label:
            current[1] = end
        else:
            if current is not None:
                spans.append(tuple(current))
            current = [start, end, label] if label else None
        text_parts.append(token)
        position = end + 1
    if current is not None:
        spans.append(tuple(current))
    return Example(" ".join(text_parts), spans)


def read_conll(path: Path) -> Iterator[Example]:
    """Read a CoNLL file (token first, IOB2 tag last on each line; blank line between units)."""
    tokens: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if not parts or parts[0] == "-DOCSTART-":
                if tokens:
                    yield from_tokens(tokens, tags)
                tokens, tags = [], []
                continue
            tokens.append(parts[0])
            tags.append(parts[-1] if len(parts) > 1 else "O")
    if tokens:
        yield from_tokens(tokens, tags)


def read_jsonl(path: Path) -> Iterator[dict]:
    """Read JSONL records."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def record_example(record: dict) -> Example:
    """Return an example from a JSONL record: ``tokens`` + ``ner_tags``, or ``text`` + ``spans``."""
    if "tokens" in record:
        return from_tokens(record["tokens"], record["ner_tags"])
    spans = [(s["start"], s["end"], TAG_MAP.get(s["label"], s["label"])) for s in record.get("spans", ())]
    return Example(record["text"], [s for s in spans if s[2] in namemodel.LABELS])


def read_any(path: Path) -> list[Example]:
    """Read an operator's extra training file by its extension (.jsonl, else CoNLL)."""
    if path.suffix == ".jsonl":
        return [record_example(r) for r in read_jsonl(path)]
    return list(read_conll(path))


def kb_split(data: Path) -> tuple[list[Example], list[Example]]:
    """Return the KB corpus split deterministically: (training, held out = every 4th record by index)."""
    train, held = [], []
    for index, record in enumerate(read_jsonl(data / KB_FILE)):
        (held if index % 4 == 3 else train).append(from_tokens(record["tokens"], record["ner_tags"]))
    return train, held
