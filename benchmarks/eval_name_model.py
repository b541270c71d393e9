"""Evaluate the person-name model alone (no rules) on IOB2 gold data: whole articles and sentence by sentence.

Gold data is JSONL with ``tokens`` and ``ner_tags`` (IOB2); records that share a ``doc`` value are one
article. Evaluation-only data (such as the research-only CoNLL-2002 Dutch dev split) is read here, never by
the training in ``anonymisation/training/``. Measures as ``../shared/data/README.md`` defines them: PER
token recall, share of tokens in PER spans that are gold PER, over-masking of O tokens (any label, and PER).

    python benchmarks/eval_name_model.py ../shared/data/pii-dev/conll2002-ned-testa.jsonl
    python benchmarks/eval_name_model.py ../shared/data/pii-dev/kb-ocr-ner-dev.jsonl --heldout [--model PATH]
    python benchmarks/eval_name_model.py FILE --min-score 0 0.5 0.7 0.8   # spans below a score dropped
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from anonymisation.namemodel import ModelSpan, NameModel
from anonymisation.training import read_jsonl, score_groups


class AtLeast:
    """The model's spans from a minimum score on (what a caller that wants more precision would keep)."""

    def __init__(self, model: NameModel, min_score: float) -> None:
        self.model, self.min_score = model, min_score

    def find(self, text: str) -> list[ModelSpan]:
        """Return the model's spans in ``text`` scoring at least ``min_score``."""
        return [s for s in self.model.find(text) if s.score >= self.min_score]


def main() -> None:
    """Print the model-alone figures for each gold file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="gold JSONL files (tokens + ner_tags)")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped one)")
    parser.add_argument("--heldout", action="store_true", help="only records with index %% 4 == 3 (never trained on)")
    parser.add_argument("--min-score", type=float, nargs="+", default=[0.0], help="minimum span scores to compare")
    args = parser.parse_args()
    model = NameModel(args.model)
    for path in args.files:
        records = [r for i, r in enumerate(read_jsonl(path)) if not args.heldout or i % 4 == 3]
        articles: dict[object, list[dict]] = {}
        for number, record in enumerate(records):
            articles.setdefault(record.get("doc", f"record-{number}"), []).append(record)
        for min_score in args.min_score:
            label = f", min score {min_score:g}" if args.min_score != [0.0] else ""
            for name, groups in (("articles", list(articles.values())), ("sentences", [[r] for r in records])):
                started = time.perf_counter()
                f = score_groups(AtLeast(model, min_score), groups)  # type: ignore[arg-type]
                print(
                    f"{path.name} ({name}{label}): PER recall {f['per_recall']:.3f}  "
                    f"precision {f['per_precision']:.3f}  "
                    f"over-masking any {f['over_masking_any']:.4f} (PER {f['over_masking_per']:.4f})  "
                    f"gold PER tokens {f['gold_per_tokens']}  [{time.perf_counter() - started:.1f} s]"
                )


if __name__ == "__main__":
    main()
