"""Evaluating the name model alone: the data README's per-token PER measures, on the KB split held out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from anonymisation.namemodel import ModelSpan, NameModel
from anonymisation.training.corpora import KB_FILE, read_jsonl


class TokenScores:
    """The data README's per-token PER measures."""

    def __init__(self) -> None:
        self.c: Counter[str] = Counter()

    def add(
        self,
        offsets: Sequence[tuple[int, int]],
        gold_per: Sequence[bool],
        gold_o: Sequence[bool],
        found: Sequence[ModelSpan],
    ) -> None:
        """Score one text: gold token offsets and classes against the detected spans."""
        person = [(s.start, s.end) for s in found if s.label == "PER"]
        every = [(s.start, s.end) for s in found]
        for (start, end), per, o in zip(offsets, gold_per, gold_o, strict=True):
            in_person = any(a < end and start < b for a, b in person)
            in_any = in_person or any(a < end and start < b for a, b in every)
            self.c["tokens"] += 1
            self.c["gold_per"] += per
            self.c["per_found"] += per and in_person
            self.c["in_person"] += in_person
            self.c["in_person_gold"] += in_person and per
            self.c["o"] += o
            self.c["o_any"] += o and in_any
            self.c["o_person"] += o and in_person

    def figures(self) -> dict[str, float]:
        """Recall, precision and over-masking (any label, and PER spans only)."""
        c = self.c

        def ratio(a: str, b: str) -> float:
            return round(c[a] / c[b], 4) if c[b] else float("nan")

        return {
            "tokens": c["tokens"],
            "gold_per_tokens": c["gold_per"],
            "per_recall": ratio("per_found", "gold_per"),
            "per_precision": ratio("in_person_gold", "in_person"),
            "over_masking_any": ratio("o_any", "o"),
            "over_masking_per": ratio("o_person", "o"),
        }


def score_groups(model: NameModel, groups: Iterable[list[dict]]) -> dict[str, float]:
    """Score the model alone on gold IOB2 records; each group (records of one article) is tagged as one text.

    Records have ``tokens`` and ``ner_tags``; tokens are joined by single spaces, records by newlines.
    """
    scores = TokenScores()
    for group in groups:
        lines, offsets, per, o, position = [], [], [], [], 0
        for record in group:
            for token, tag in zip(record["tokens"], record["ner_tags"], strict=True):
                offsets.append((position, position + len(token)))
                per.append(tag.endswith("PER"))
                o.append(tag == "O")
                position += len(token) + 1
            lines.append(" ".join(record["tokens"]))
        scores.add(offsets, per, o, model.find("\n".join(lines)))
    return scores.figures()


def evaluate(model: NameModel, data: Path) -> dict[str, dict[str, float]]:
    """Evaluate the model alone on the KB split that training holds out (other sets: ``benchmarks/``)."""
    if not (data / KB_FILE).exists():
        return {}
    held = [r for i, r in enumerate(read_jsonl(data / KB_FILE)) if i % 4 == 3]
    return {"kb_heldout": score_groups(model, [[r] for r in held])}


def print_results(results: dict[str, dict[str, float]]) -> None:
    """Print the evaluation figures."""
    for name, f in results.items():
        print(
            f"{name:<26} PER recall {f['per_recall']:.3f}  precision {f['per_precision']:.3f}  "
            f"over-masking any {f['over_masking_any']:.4f} (PER {f['over_masking_per']:.4f})  "
            f"gold PER tokens {f['gold_per_tokens']}"
        )
