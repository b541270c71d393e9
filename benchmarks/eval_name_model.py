"""Evaluate the person-name model alone (no rules) on IOB2 gold data: whole articles and sentence by sentence.

Gold data is JSONL with ``tokens`` and ``ner_tags`` (IOB2); records that share a ``doc`` value are one
article. Evaluation-only data (such as the research-only CoNLL-2002 Dutch dev split) is read here, never by
the training in ``anonymisation/training/``. Measures as ``../shared/data/README.md`` defines them: PER
token recall, share of tokens in PER spans that are gold PER, over-masking of O tokens (any label, and PER).

    python benchmarks/eval_name_model.py ../shared/data/pii-dev/conll2002-ned-testa.jsonl
    python benchmarks/eval_name_model.py ../shared/data/pii-dev/kb-ocr-ner-dev.jsonl --heldout [--model PATH]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from anonymisation.namemodel import NameModel
from anonymisation.training import read_jsonl, score_groups


def main() -> None:
    """Print the model-alone figures for each gold file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="gold JSONL files (tokens + ner_tags)")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped one)")
    parser.add_argument("--heldout", action="store_true", help="only records with index %% 4 == 3 (never trained on)")
    args = parser.parse_args()
    model = NameModel(args.model)
    for path in args.files:
        records = [r for i, r in enumerate(read_jsonl(path)) if not args.heldout or i % 4 == 3]
        articles: dict[object, list[dict]] = {}
        for number, record in enumerate(records):
            articles.setdefault(record.get("doc", f"record-{number}"), []).append(record)
        for name, groups in (("articles", list(articles.values())), ("sentences", [[r] for r in records])):
            started = time.perf_counter()
            f = score_groups(model, groups)
            print(
                f"{path.name} ({name}): PER recall {f['per_recall']:.3f}  precision {f['per_precision']:.3f}  "
                f"over-masking any {f['over_masking_any']:.4f} (PER {f['over_masking_per']:.4f})  "
                f"gold PER tokens {f['gold_per_tokens']}  [{time.perf_counter() - started:.1f} s]"
            )


if __name__ == "__main__":
    main()
