"""The command line of ``python -m anonymisation.training``: train, write the model card data, evaluate."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from anonymisation import namemodel
from anonymisation.namemodel import NameModel
from anonymisation.training.corpora import KB_FILE
from anonymisation.training.crf import CRF_PARAMS, train, training_sets
from anonymisation.training.evaluation import evaluate, print_results
from anonymisation.training.synthetic import (
    HISTORICAL_CAPITALS,
    HISTORICAL_SEED,
    HISTORICAL_SENTENCES,
    SEED,
    SYNTHETIC_SENTENCES,
)
from anonymisation.training.wordlists import HISTORICAL_TEMPLATES, TEMPLATES


def sha256(path: Path) -> str:
    """Return the sha256 hex digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version() -> str:
    """Return the code version recorded with a trained model: ``git describe`` of the source tree.

    ``unknown`` outside a git checkout. The anonymisation package imports nothing else of the project, so it
    asks git itself instead of using the catalog's zone stamp.
    """
    repo = Path(__file__).resolve().parents[2]
    try:
        return subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Train (and evaluate) the person-name model, or only evaluate one with ``--evaluate``."""
    from anonymisation import training  # the package's docstring is the command's description

    parser = argparse.ArgumentParser(
        prog="python -m anonymisation.training", description=training.__doc__.splitlines()[0]
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    parser.add_argument("--out", type=Path, default=Path("anonymisation/models"), help="model output folder")
    parser.add_argument("--name", default="names-nl", help="model file name without extension")
    parser.add_argument("--train", type=Path, action="append", default=[], help="extra CoNLL or JSONL file")
    parser.add_argument("--no-default-data", action="store_true", help="train on --train files (+ synthetic) only")
    parser.add_argument("--evaluate", action="store_true", help="only evaluate an existing model")
    parser.add_argument("--model", type=Path, help="model to evaluate (default: OUT/NAME.crfsuite)")
    args = parser.parse_args(argv)

    model_path = args.model or args.out / f"{args.name}.crfsuite"
    if args.evaluate:
        print_results(evaluate(NameModel(model_path), args.data))
        return 0

    data = args.data if not args.no_default_data else Path("/nonexistent")
    started = time.perf_counter()
    sets = training_sets(data, args.train)
    counts = train(sets, model_path)
    seconds = time.perf_counter() - started
    print(f"trained {model_path} in {seconds:.0f} s ({model_path.stat().st_size / 1e6:.2f} MB)")
    results = evaluate(NameModel(model_path), args.data)
    print_results(results)
    meta = {
        "model": model_path.name,
        "sha256": sha256(model_path),
        "size_bytes": model_path.stat().st_size,
        "features_version": namemodel.FEATURES_VERSION,
        "lexicon_fingerprint": namemodel.lexicon_fingerprint(),
        "window": namemodel.WINDOW,
        "labels": list(namemodel.LABELS),
        "crfsuite": {"algorithm": "lbfgs", **CRF_PARAMS},
        "synthetic": {"sentences": SYNTHETIC_SENTENCES, "seed": SEED, "templates": len(TEMPLATES)},
        "synthetic_historical": {
            "sentences": HISTORICAL_SENTENCES,
            "seed": HISTORICAL_SEED,
            "templates": len(HISTORICAL_TEMPLATES),
            "names_in_capitals": HISTORICAL_CAPITALS,
        },
        "kb_heldout": "records with index % 4 == 3 of " + KB_FILE,
        "training_data": counts,
        "excluded": {
            "evaluation-only files (research-only licences)": "never read by the training",
            "text-nl/*": "CC BY-SA 4.0: not used for training",
        },
        "evaluation": results,
        "training_seconds": round(seconds),
        "trained_at": datetime.now(UTC).date().isoformat(),
        "code_version": code_version(),
        "python": sys.version.split()[0],
    }
    meta_path = model_path.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {meta_path}")
    return 0
