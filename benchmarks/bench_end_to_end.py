"""Benchmark: ``corpusfabriek run`` end to end (ingest, clean, anonymise, release) by corpus size and workers.

Each run is the real command in a fresh process on a fresh root, over a generated news file drop (real
Dutch sentences with a site's furniture lines and 5% exact copies, ``bench_furniture.py``): the source is
an approved news source with its quality profile and the default anonymisation. Per run it prints the
wall time, MB/s, the stages' own times from their reports, and the peak memory of the largest single
process (the command or one of its shard workers: ``RUSAGE_CHILDREN`` of a process that only waits for
it, so each run is measured on its own).

    python benchmarks/bench_end_to_end.py --mb 500 --workers 1 2        # the speed-up of two workers
    python benchmarks/bench_end_to_end.py --mb 250 1000 --workers 2     # memory flat in corpus size

Targets (issue: scale out): two workers >= 1.7x one on >= 500 MB; peak memory per process <= 3 GB at
1 GB, and the ratio of peaks between 250 MB and 1 GB <= 1.3. The generated drop is written once per size
and reused by that size's runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_furniture  # benchmarks/ is on sys.path when a script in it runs

REPO = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("corpusfabriek")
#: Average size of a generated document, to turn megabytes into a document count (measured on 2,000).
BYTES_PER_DOCUMENT = 2_300

SPEC = """\
id: bench-news
name: Benchmark news
owner: {{organisation: Benchmark, contact: bench@corpusfabriek.example}}
kind: files
format: jsonl
location: {drop}
licence: CC-BY-4.0
legal_basis: legitimate-interests
personal_data: expected
sector: news
status: approved
"""


def measure(drop: Path, workers: int, folder: Path) -> dict[str, Any]:
    """Run the command once over ``drop`` on a fresh root in ``folder``; return its figures (in a child process)."""
    specs = folder / "specs"
    specs.mkdir(parents=True)
    (specs / "bench.yaml").write_text(SPEC.format(drop=drop))
    home = folder / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "CORPUSFABRIEK_SOURCES": str(specs),
        "CORPUSFABRIEK_DROP_FOLDERS": str(drop.parent),
        "CORPUSFABRIEK_ANONYMISATION_KEY": "benchmark-key-not-secret-0123456789abcdef",
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    root = folder / "root"
    started = time.perf_counter()
    completed = subprocess.run(
        [str(CLI), "run", "--root", str(root), "--workers", str(workers)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"corpusfabriek run failed:\n{completed.stdout}\n{completed.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    def report(path: str) -> dict[str, Any]:
        return json.loads((root / path).read_text())

    clean = report("clean/bench-news/clean.json")
    anonymised = report("anonymised/bench-news/anonymised.json")
    return {
        "workers": workers,
        "input_mb": drop.stat().st_size / 1e6,
        "wall_s": wall,
        "clean_s": clean["duration_s"],
        "anonymise_s": anonymised["duration_s"],
        "kept": clean["kept"],
        "peak_rss_mb": peak,
        "output": completed.stdout.strip().splitlines()[-1],
    }


def main() -> None:
    """Generate each size's drop, run the command per worker count, print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[100.0], help="corpus sizes in MB")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--child", nargs=3, metavar=("DROP", "WORKERS", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        drop, workers, folder = args.child
        print(json.dumps(measure(Path(drop), int(workers), Path(folder))))
        return
    print(f"{os.cpu_count()} cores; the command's own settings (shards of 50,000 documents or 200 MB)")
    print("\n| MB | workers | wall | MB/s | clean | anonymise | peak RSS (largest process) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    results = []
    with tempfile.TemporaryDirectory(prefix="cf-e2e-") as tmp:
        for megabytes in args.mb:
            drop = Path(tmp, f"drop-{megabytes:g}", "news.jsonl")
            drop.parent.mkdir()
            bench_furniture.generate(drop, round(megabytes * 1e6 / BYTES_PER_DOCUMENT))
            for workers in args.workers:
                folder = Path(tmp, f"run-{megabytes:g}-{workers}")
                # a process of its own per run, so RUSAGE_CHILDREN holds this run's processes only
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(drop), str(workers), str(folder)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    raise SystemExit(out.stdout + out.stderr)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(r)
                print(
                    f"| {r['input_mb']:.0f} | {workers} | {r['wall_s']:.0f} s | {r['input_mb'] / r['wall_s']:.2f} | "
                    f"{r['clean_s']:.0f} s | {r['anonymise_s']:.0f} s | {r['peak_rss_mb']:,.0f} MB |",
                    flush=True,
                )
            shutil.rmtree(drop.parent)
    by_size: dict[float, list[dict[str, Any]]] = {}
    for r in results:
        by_size.setdefault(round(r["input_mb"]), []).append(r)
    print()
    for size, runs in by_size.items():
        one = next((r for r in runs if r["workers"] == 1), None)
        for r in runs:
            if one is not None and r["workers"] > 1:
                print(
                    f"{size} MB: {r['workers']} workers {one['wall_s'] / r['wall_s']:.2f}x one worker (target >= 1.7x)"
                )
    sizes = sorted(by_size)
    if len(sizes) > 1:
        small = max(r["peak_rss_mb"] for r in by_size[sizes[0]])
        large = max(r["peak_rss_mb"] for r in by_size[sizes[-1]])
        print(
            f"peak RSS {sizes[-1]} MB / {sizes[0]} MB: {large:,.0f} / {small:,.0f} MB = {large / small:.2f} "
            "(target <= 1.3; <= 3 GB per process)"
        )


if __name__ == "__main__":
    main()
