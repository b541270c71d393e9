"""Simulated factory run: many anonymisation shards through the local one-node Slurm, extrapolated to N nodes.

It starts the test suite's one-node Slurm cluster (munged, slurmctld and slurmd from Debian's packages, as
root, everything under a temporary folder; see ``tests/slurm.py``) and runs one source's anonymisation
three ways over the same clean zone (real Dutch text, ``bench_anonymise_stage.py``'s documents):

1. in this process, unsharded (the reference: its report must equal the sharded runs');
2. sharded, on a pool of local worker processes (as many as the node has CPUs);
3. sharded, as one Slurm job array on the local cluster (one CPU per array task).

From the Slurm run it measures the shard overhead: the wall time the cluster needed beyond the shards' own
work divided over the CPUs, per shard, which covers submitting, scheduling, starting Python, loading the
anonymiser and reading and writing the shard. It also runs a burst of empty shards (``sleep 0``) to
separate the scheduler's share. It then prints the factory plan of ``plan_factory.py`` for 1 TB with the
overhead and the per-core rate measured here.

    python benchmarks/simulate_slurm.py                    # 48 shards of ~0.4 MB (~3 min)
    python benchmarks/simulate_slurm.py --shards 96 --copies 8

Needs root and the Slurm programs (``.ci/run`` installs them); never touches the network.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import bench_anonymise_stage as stage_bench  # benchmarks/ is on sys.path when a script in it runs
import bench_incremental_anonymise as incremental
from offline import block_network
from plan_factory import Rates, print_plan

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anonymisation.anonymiser import Anonymiser  # noqa: E402
from catalog.settings import KEY_ENV  # noqa: E402
from stages.executors import (  # noqa: E402
    ProcessExecutor,
    ShardSize,
    ShardTask,
)
from stages.slurm import SlurmCommands, SlurmExecutor  # noqa: E402
from tests.slurm import PARTITION, missing_programs, start_local_slurm  # noqa: E402


def main() -> None:
    """Run the three variants and the empty-shard burst, print the figures and the plan."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="repeat the benchmark corpus this many times")
    parser.add_argument("--shards", type=int, default=48, help="shards of the sharded runs")
    parser.add_argument("--empty", type=int, default=100, help="empty shards in the scheduling burst")
    parser.add_argument("--tb", type=float, default=1.0, help="corpus size of the extrapolation")
    parser.add_argument("--cores", type=int, default=64, help="cores per node of the extrapolation")
    args = parser.parse_args()
    missing = missing_programs()
    if missing or os.geteuid() != 0:
        raise SystemExit(f"needs root and the Slurm programs (missing: {', '.join(missing) or 'none'})")
    block_network("simulate_slurm")
    texts = stage_bench.texts()
    rows = [stage_bench.row(n, text) for n, text in enumerate(texts * args.copies)]
    megabytes = sum(len(r["text"].encode()) for r in rows) / 1e6
    anonymiser = Anonymiser.from_policy(incremental.POLICY, stage_bench.KEY)
    size = ShardSize(documents=math.ceil(len(rows) / args.shards))
    cpus = os.cpu_count() or 1
    env = {**os.environ, KEY_ENV: stage_bench.KEY.decode(), "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as folder:
        cluster = start_local_slurm(Path(folder) / "slurm")
        try:
            storage, key_id = incremental.fresh_root(folder, "warm-up")
            incremental.write_clean(storage, rows[:50])
            incremental.run(storage, anonymiser, key_id)  # word lists and analyzer built outside the timings
            timings = {}
            reports = {}
            executors = {
                "in-process": None,
                f"{cpus} local worker processes": ProcessExecutor(workers=cpus, env=env),
                "Slurm job array": SlurmExecutor(
                    work_dir=Path(folder) / "slurm-work",
                    partition=PARTITION,
                    poll_interval=0.5,
                    commands=SlurmCommands(env=cluster.env(env)),
                ),
            }
            for name, executor in executors.items():
                storage, key_id = incremental.fresh_root(folder, name.replace(" ", "-"))
                incremental.write_clean(storage, rows)
                timings[name], reports[name] = incremental.run(
                    storage, anonymiser, key_id, executor=executor, shard_size=None if executor is None else size
                )
            slurm = executors["Slurm job array"]
            started = time.perf_counter()
            results = slurm.run([ShardTask(f"empty-{n}", ("sleep", "--seconds", "0")) for n in range(args.empty)])
            burst = time.perf_counter() - started
            assert all(result.ok for result in results), [r.log_tail for r in results if not r.ok]
        finally:
            cluster.stop()
    replacements = {name: report["replacements"] for name, report in reports.items()}
    assert len(set(replacements.values())) == 1, f"the runs differ: {replacements}"
    reference = timings["in-process"]
    shards = reports["Slurm job array"]["shards"]
    print(f"{len(rows):,} documents, {megabytes:.1f} MB of text; {shards} shards; {cpus} CPUs on the node")
    print("\n| run | wall time | speed-up | MB/s |")
    print("|---|---:|---:|---:|")
    for name, seconds in timings.items():
        print(f"| {name} | {seconds:.1f} s | {reference / seconds:.2f}x | {megabytes / seconds:.2f} |")
    rate = megabytes / reference  # MB/s of one core doing the work itself
    # the cluster's wall time beyond the work itself (spread over its CPUs), per shard and CPU
    overhead = max(0.0, (timings["Slurm job array"] - reference / cpus) * cpus / shards)
    print(
        f"\nshard overhead through Slurm: {overhead:.2f} s per shard on one CPU (submit, schedule, start Python, "
        f"load the anonymiser, read and write the shard)"
    )
    print(
        f"scheduling alone: {args.empty} empty shards in {burst:.1f} s = {burst * cpus / args.empty:.2f} s per "
        "shard on one CPU"
    )
    print(f"\nExtrapolation (anonymisation {rate:.2f} MB/s per core measured here, the shard overhead above):\n")
    print_plan(args.tb, args.cores, 0.85, Rates(anonymise=round(rate, 2), shard_overhead=round(overhead, 2)))


if __name__ == "__main__":
    main()
