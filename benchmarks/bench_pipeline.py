"""Benchmark: throughput of ingest → clean → release, and whether peak memory grows with corpus size.

Each corpus size runs in a fresh child process (so peak RSS is that size's own), on a generated file
drop of ~2 KB Dutch documents with 5% exact duplicates and a little invisible-character noise. The
sentences come from ``../shared/data/text-nl/`` when present (real Dutch news), else a built-in list.

    python benchmarks/bench_pipeline.py                  # sizes 20000 and 80000
    python benchmarks/bench_pipeline.py --sizes 10000 40000 160000

Prints per size: documents/s and MB/s of each stage, peak RSS; then the ratios between the largest and
the smallest size (memory ratio near 1.0 means memory does not grow with corpus size).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dutch_text  # benchmarks/ is on sys.path when a script in it runs

REPO = Path(__file__).resolve().parent.parent


def generate(path: Path, n: int, seed: int = 7) -> int:
    """Write a JSONL drop of ``n`` documents (~2 KB each) line by line; return its size in bytes."""
    rng = random.Random(seed)
    pool = dutch_text.sentences()
    previous: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            if previous and rng.random() < 0.05:
                text = rng.choice(previous)  # exact duplicate of an earlier document
            else:
                parts, size = [], 0
                while size < 2000:
                    sentence = rng.choice(pool)
                    parts.append(sentence)
                    size += len(sentence) + 2
                text = ". ".join(parts) + "."
                if rng.random() < 0.1:
                    text = text.replace(" ", "\u00a0", 3) + "\u200b\r\n"  # normalisation has work to do
                if len(previous) < 1000:
                    previous.append(text)
            record = {"id": f"doc-{i}", "text": text, "title": f"Artikel {i}", "published_at": "2026-01-01"}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path.stat().st_size


def child(n: int) -> dict:
    """Run one size in this process and return its figures."""
    from catalog.sources import parse_spec
    from catalog.storage import Storage
    from stages.clean import clean_source
    from stages.ingest import ingest_source
    from stages.release import build_release

    with tempfile.TemporaryDirectory(prefix="cf-bench-") as tmp:
        drop = Path(tmp, "drop.jsonl")
        size = generate(drop, n)
        rss_after_generate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        spec = parse_spec(
            {
                "id": "bench",
                "name": "bench",
                "owner": {"organisation": "bench", "contact": "bench@corpusfabriek.example"},
                "legal_basis": "not-applicable",
                "sector": "benchmark",
                "kind": "files",
                "format": "jsonl",
                "location": str(drop),
                "licence": "CC0-1.0",
                "personal_data": "none",
                "status": "approved",
            }
        )
        storage = Storage(str(Path(tmp, "root")))
        os.environ["CORPUSFABRIEK_DROP_FOLDERS"] = tmp  # the generated drop lies here, as an operator declares it
        timings = {}
        started = time.perf_counter()
        ingest_source(storage, spec)
        timings["ingest"] = time.perf_counter() - started
        started = time.perf_counter()
        report = clean_source(storage, "bench")
        timings["clean"] = time.perf_counter() - started
        started = time.perf_counter()
        manifest = build_release(storage, "bench", [report])
        timings["release"] = time.perf_counter() - started
    return {
        "documents": n,
        "input_mb": size / 1e6,
        "kept": manifest["total_documents"],
        "seconds": timings,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_generate_mb": rss_after_generate / 1024,
    }


def main() -> None:
    """Run every size in a child process and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 80_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    print(f"text: {dutch_text.source_name()}; one core per stage")
    results = []
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True, cwd=REPO
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        stages = "  ".join(
            f"{stage} {r['documents'] / sec:,.0f} docs/s ({r['input_mb'] / sec:.1f} MB/s)"
            for stage, sec in r["seconds"].items()
        )
        print(
            f"{r['documents']:>9,} docs {r['input_mb']:7.1f} MB  kept {r['kept']:,}  {stages}  "
            f"peak RSS {r['peak_rss_mb']:.0f} MB"
        )
    small, large = results[0], results[-1]
    growth = large["documents"] / small["documents"]
    total_small = sum(small["seconds"].values()) / small["documents"]
    total_large = sum(large["seconds"].values()) / large["documents"]
    print(
        f"ratio largest/smallest: corpus x{growth:.1f}, peak RSS x{large['peak_rss_mb'] / small['peak_rss_mb']:.2f}, "
        f"time per document x{total_large / total_small:.2f}"
    )


if __name__ == "__main__":
    main()
