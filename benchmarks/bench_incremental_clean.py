"""Benchmark: the clean stage's first run on a source, and a re-run after 1% new documents arrived.

The source is the furniture benchmark's generated news (~2 KB Dutch documents framed by a site's bylines,
prompts and footers, 5% exact copies), delivered as a folder drop: the first file is ingested and cleaned,
then a second file with 1% new documents (new ids) is ingested and the source is cleaned again. The re-run
takes the first raw batch's normalised and prepared (furniture-stripped, digested) batches from the cache
and the gate's decisions of every unchanged document; it normalises, strips and judges only the new batch,
and still deduplicates and writes the source's whole snapshot.

Before/after: the same re-run once more with the cache of normalised batches removed (what every re-run
cost before the cache: all of the source normalised, counted and stripped again; the gate's decisions are
still reused), which must write the very same zone. Prints the times, the ratios to the first run and
where each run's time goes (the report's ``seconds_by_step``).

    python benchmarks/bench_incremental_clean.py                    # 40,000 documents (~30+ s first run)
    python benchmarks/bench_incremental_clean.py --documents 100000 --new-share 0.01

Offline: every network connection fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_furniture  # benchmarks/ is on sys.path when a script in it runs
import dutch_text
from bench_connectors import spec_for
from offline import block_network

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def new_documents(path: Path, n: int) -> int:
    """Write ``n`` generated documents with ids no earlier delivery used; return the file's size in bytes."""
    generated = path.with_suffix(".generated.jsonl")
    bench_furniture.generate(generated, n, seed=23)
    with generated.open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as out:
        for line in source:
            record = json.loads(line)
            record["id"] = f"new-{record['id']}"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    generated.unlink()
    return path.stat().st_size


def timed_clean(storage: Any, source_id: str, gate: Any) -> tuple[float, dict[str, Any]]:
    """Clean the source; return the wall-clock seconds and the report."""
    from stages.clean import clean_source

    started = time.perf_counter()
    report = clean_source(storage, source_id, gate=gate)
    return time.perf_counter() - started, dict(report)


def describe(label: str, seconds: float, report: dict[str, Any]) -> None:
    """Print one run: time, documents normalised and judged (the rest reused) and the time by step."""
    steps = ", ".join(f"{step} {value:.2f} s" for step, value in report["seconds_by_step"].items())
    print(
        f"  {label:<22} {seconds:7.2f} s  {report['input_documents']:>7,} docs  normalised "
        f"{report['documents_normalised']:>7,}  assessed {report['documents_assessed']:>7,}  ({steps})"
    )


def main() -> None:
    """Generate the source, clean it, add 1% new documents, clean it again; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40_000)
    parser.add_argument("--new-share", type=float, default=0.01)
    args = parser.parse_args()
    block_network("bench_incremental_clean")

    from catalog.storage import Storage
    from catalog.zones import clean_batches_folder
    from quality.gate import QualityGate
    from stages.ingest import ingest_source

    with tempfile.TemporaryDirectory(prefix="cf-bench-incremental-") as tmp:
        drop = Path(tmp, "drop")
        drop.mkdir()
        size_mb = bench_furniture.generate(drop / "part-1.jsonl", args.documents) / 1e6
        os.environ["CORPUSFABRIEK_DROP_FOLDERS"] = tmp
        storage = Storage(str(Path(tmp, "root")))
        spec = spec_for("bench-incremental", "files", str(drop), format="jsonl", status="approved")
        gate = QualityGate(languages=["nl"])
        gate.assess(["De gemeenteraad vergaderde dinsdag over de begroting."])  # load the models outside the timing
        print(
            f"generated news source: {args.documents:,} documents, {size_mb:.1f} MB ({dutch_text.source_name()}); "
            "one core"
        )

        ingest_source(storage, spec)
        first, first_report = timed_clean(storage, spec.id, gate)
        describe("first run", first, first_report)

        unchanged, unchanged_report = timed_clean(storage, spec.id, gate)
        describe("re-run, nothing new", unchanged, unchanged_report)

        added = max(1, round(args.documents * args.new_share))
        new_documents(drop / "part-2.jsonl", added)
        ingest_source(storage, spec)
        rerun, rerun_report = timed_clean(storage, spec.id, gate)
        describe(f"re-run, {args.new_share:.0%} new", rerun, rerun_report)
        zone = snapshot(storage, spec.id)

        storage.delete(clean_batches_folder(spec.id), recursive=True)
        uncached, uncached_report = timed_clean(storage, spec.id, gate)
        describe("the same, no cache", uncached, uncached_report)
        same = snapshot(storage, spec.id) == zone and counts(uncached_report) == counts(rerun_report)

        steps = rerun_report["seconds_by_step"]
        top = max(steps, key=steps.get)
        print(
            f"re-run with {args.new_share:.0%} new / first run: {rerun / first:.1%} (target: <= 5%); without the "
            f"cache of normalised batches (before): {uncached / first:.1%}; nothing new: {unchanged / first:.1%}; "
            f"the re-run's largest step: {top} ({steps[top] / rerun:.0%} of it); zone with and without the cache "
            f"the same: {same}"
        )
        if not same:
            raise SystemExit("the cached re-run wrote another zone than a run without the cache")


def snapshot(storage: Any, source_id: str) -> dict[str, Any]:
    """Return the clean zone's files of a source as tables."""
    import pyarrow.parquet as pq

    from catalog.zones import clean_decisions_path, clean_excluded_path, clean_furniture_path, clean_path

    tables = {}
    for path in (clean_path, clean_excluded_path, clean_furniture_path, clean_decisions_path):
        with storage.open_input(path(source_id)) as handle:
            tables[path.__name__] = pq.read_table(handle)
    # one row per distinct gate input, in no particular order
    tables["clean_decisions_path"] = tables["clean_decisions_path"].sort_by("gate_input")
    return tables


def counts(report: dict[str, Any]) -> dict[str, Any]:
    """Return what a report says the zone holds (not how the run went: times, what was reused)."""
    how = ("seconds_by_step", "duration_s", "documents_assessed", "documents_reused", "reassessed_reason")
    how += ("documents_normalised", "documents_normalised_reused", "normalised_reasons")
    how += ("documents_stripped", "documents_stripped_reused", "stripped_reasons")
    return {name: value for name, value in report.items() if name not in how}


if __name__ == "__main__":
    main()
