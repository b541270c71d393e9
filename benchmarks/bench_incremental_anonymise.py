"""Benchmark: incremental and sharded anonymisation (``anonymise_source`` with reuse, shards and workers).

The documents are those of ``bench_anonymise_stage.py`` (real Dutch text with a news feed's short fields),
written straight into a clean zone. Measured, after a warm-up on a small other source:

1. the first run of the source (everything anonymised, in this process);
2. a re-run after 1% new documents arrived (only those anonymised, the rest reused); target <= 5% of (1);
3. the first run again on a fresh root, sharded, with one and with two worker processes (the shard
   workers start, load the anonymiser and read their shards from storage).

    python benchmarks/bench_incremental_anonymise.py [--copies 4] [--shards 8]

Never touches the network.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_anonymise_stage as stage_bench  # benchmarks/ is on sys.path when a script in it runs
import pyarrow as pa
import pyarrow.parquet as pq
from offline import block_network

from anonymisation.anonymiser import Anonymiser
from anonymisation.operators import check_key
from catalog.documents import DOCUMENT_SCHEMA
from catalog.keys import root_key
from catalog.settings import KEY_ENV
from catalog.sources import AnonymisationPolicy
from catalog.storage import Storage
from catalog.zones import clean_path
from stages.anonymise import anonymise_source
from stages.executors import Executor, ProcessExecutor, ShardSize

POLICY = AnonymisationPolicy()
REPO = Path(__file__).resolve().parent.parent


def write_clean(storage: Storage, rows: list[dict[str, Any]], source_id: str = "bench") -> None:
    """Write rows as a source's clean zone."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), sink)
    storage.write_bytes(clean_path(source_id), sink.getvalue().to_pybytes())


def run(
    storage: Storage,
    anonymiser: Anonymiser,
    key_id: str,
    *,
    source_id: str = "bench",
    executor: Executor | None = None,
    shard_size: ShardSize | None = None,
) -> tuple[float, dict[str, Any]]:
    """Run the stage once; return its wall time and report."""
    started = time.perf_counter()
    report = anonymise_source(
        storage,
        source_id,
        anonymiser,
        operator=POLICY.operator,
        clean_report=stage_bench.CLEAN_REPORT,
        key_id=key_id,
        policy=POLICY,
        executor=executor,
        shard_size=shard_size,
    )
    return time.perf_counter() - started, dict(report)


def fresh_root(folder: str, name: str) -> tuple[Storage, str]:
    """Return a new storage root and the id of the benchmark key on it."""
    storage = Storage(str(Path(folder) / name))
    return storage, root_key(storage, check=check_key, env={KEY_ENV: stage_bench.KEY.decode()}).key_id


def main() -> None:
    """Build the clean zone, run the stage first, incrementally and sharded, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="repeat the corpus this many times")
    parser.add_argument("--new", type=float, default=0.01, help="share of new documents in the re-run")
    parser.add_argument("--shards", type=int, default=8, help="shards of the sharded first runs")
    args = parser.parse_args()
    block_network("bench_incremental_anonymise")
    texts = stage_bench.texts()
    rows = [stage_bench.row(n, text) for n, text in enumerate(texts * args.copies)]
    new = max(1, round(len(rows) * args.new))
    more = [stage_bench.row(len(rows) + n, texts[n % len(texts)]) for n in range(new)]
    chars = sum(len(r["text"]) for r in rows)
    anonymiser = Anonymiser.from_policy(POLICY, stage_bench.KEY)
    env = {**os.environ, KEY_ENV: stage_bench.KEY.decode(), "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as folder:
        storage, key_id = fresh_root(folder, "root")
        write_clean(storage, rows[:50], "warm-up")  # word lists and analyzer built outside the timings
        run(storage, anonymiser, key_id, source_id="warm-up")
        write_clean(storage, rows)
        first, report = run(storage, anonymiser, key_id)
        write_clean(storage, rows + more)
        again, incremental = run(storage, anonymiser, key_id)
        assert incremental["documents_anonymised"] == new, incremental
        size = ShardSize(documents=math.ceil(len(rows) / args.shards))
        sharded: dict[int, tuple[float, dict[str, Any]]] = {}
        for workers in (1, 2):
            root, key_id = fresh_root(folder, f"workers-{workers}")
            write_clean(root, rows)
            sharded[workers] = run(
                root, anonymiser, key_id, executor=ProcessExecutor(workers=workers, env=env), shard_size=size
            )
    print(f"{len(rows)} documents, {chars / 1e6:.2f} MB of text; {os.cpu_count()} cores")
    print(f"first run, in-process:        {first:7.2f} s ({chars / 1e6 / first:.3f} MB/s)")
    print(
        f"re-run with {new} new ({args.new:.0%}):  {again:7.2f} s = {again / first:.1%} of the first run "
        f"({incremental['documents_anonymised']} anonymised, {incremental['documents_reused']} reused; target <= 5%)"
    )
    one, two = sharded[1][0], sharded[2][0]
    print(f"first run, {sharded[1][1]['shards']} shards, 1 worker process:  {one:7.2f} s")
    print(f"first run, {sharded[2][1]['shards']} shards, 2 worker processes: {two:7.2f} s")
    print(f"speed-up 2 workers vs 1 worker process: {one / two:.2f}x; vs in-process: {first / two:.2f}x")
    assert report["replacements"] == sharded[2][1]["replacements"], "sharded and in-process runs differ"


if __name__ == "__main__":
    main()
