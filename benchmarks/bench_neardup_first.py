"""Benchmark: memory and time of a corpus's first near-duplicate plan, where every document is new and hashed.

``bench_neardup_reduce.py`` grows the index; this one grows the release: N generated news articles (real
Dutch sentences, a site's furniture lines, 5% exact copies: ``bench_furniture.py``) planned against an empty
index, then committed, each N in a child process of its own (peak RSS is ``ru_maxrss`` of that child, and
the figure before planning is printed too). The plan's drops are printed as a count and a digest, so two
versions of the code can be compared for equal decisions.

    python benchmarks/bench_neardup_first.py --docs 100000 400000

Memory must not grow with N beyond DuckDB's limit (``NearDuplicateIndex(memory_limit=...)``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import bench_furniture  # benchmarks/ is on sys.path when a script in it runs
import pyarrow as pa

from catalog.storage import Storage
from quality.dedup_index import NearDuplicateIndex

BATCH_ROWS = 5_000
REPO = Path(__file__).resolve().parents[1]


def batches(drop: Path) -> Iterator[pa.RecordBatch]:
    """Stream the drop's articles as the release's candidate documents (no URL, no publication time)."""
    rows = []
    with drop.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            text = json.loads(line)["text"]
            digest = hashlib.sha256(text.encode()).hexdigest()
            rows.append(
                {"doc_id": f"d{n}", "source_id": "s", "published_at": None, "content_sha256": digest, "url": None}
                | {"text": text}
            )
            if len(rows) == BATCH_ROWS:
                yield pa.RecordBatch.from_pylist(rows)
                rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows)


def child(drop: Path) -> None:
    """Plan and commit the first release over the drop; print its figures as JSON."""
    with tempfile.TemporaryDirectory(prefix="cf-neardup-first-") as root:
        index = NearDuplicateIndex(Storage(root), "bench")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        plan = index.plan(lambda: batches(drop))
        seconds = time.perf_counter() - started
        index.commit(plan, "v20260101T000000Z")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    drops = hashlib.sha256(json.dumps(sorted(plan.drops.items())).encode()).hexdigest()[:12]
    figures = {"before_mb": before, "peak_mb": peak, "seconds": seconds, "drops": len(plan.drops), "digest": drops}
    print(json.dumps(figures))


def main() -> None:
    """Generate each size's drop, plan it in a child process, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[100_000, 400_000])
    parser.add_argument("--child", metavar="DROP", help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("DROP", "DOCS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return
    if args.generate:
        bench_furniture.generate(Path(args.generate[0]), int(args.generate[1]))
        return
    print("| documents | peak RSS | before planning | seconds | near duplicates dropped (digest) |")
    print("|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="cf-neardup-first-") as tmp:
        for documents in args.docs:
            drop = Path(tmp, f"news-{documents}.jsonl")
            # generated in a process of its own: a child's peak RSS starts from its parent's size at fork
            subprocess.run([sys.executable, __file__, "--generate", str(drop), str(documents)], check=True)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(drop)],
                capture_output=True,
                text=True,
                check=False,
                # PYTHONPATH, when set, names the checkout to measure (another commit's, to compare)
                env={
                    **os.environ,
                    "PYTHONPATH": os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parents[1]),
                },
            )
            if out.returncode != 0:
                raise SystemExit(out.stdout + out.stderr)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"| {documents:,} | {r['peak_mb']:,.0f} MB | {r['before_mb']:,.0f} MB | {r['seconds']:.1f} | "
                f"{r['drops']:,} ({r['digest']}) |",
                flush=True,
            )
            drop.unlink()


if __name__ == "__main__":
    main()
