"""Simulated factory run: a source's clean and anonymise shards through the local Slurm, extrapolated to N nodes.

It starts the test suite's one-node Slurm cluster (munged, slurmctld and slurmd from Debian's packages, as
root, everything under a temporary folder; see ``tests/slurm.py``), ingests a generated news source (real
Dutch sentences with a site's furniture lines, ``bench_furniture.py``) and runs its two shard stages three
ways, each on a fresh copy of the ingested root:

1. in this process, unsharded (the reference);
2. sharded, on a pool of local worker processes (as many as the node has CPUs);
3. sharded, as Slurm job arrays on the local cluster (one CPU per array task).

The clean stage shards its quality gate, the anonymisation stage its documents (``--shards`` each). The
three runs must give the same zone (documents kept, replacements made). From the Slurm runs it measures
the shard overhead: the wall time beyond the work itself (the reference's time spread over the CPUs), per
shard and CPU, which covers submitting, scheduling, starting Python, loading the gate or the anonymiser
and reading and writing the shard. A burst of empty shards (``sleep 0``) separates the scheduler's share.
Then it prints the factory plan of ``plan_factory.py`` for 1 TB with the rates and overhead measured here.

    python benchmarks/simulate_slurm.py                       # 6,000 documents in 24 shards per stage
    python benchmarks/simulate_slurm.py --documents 40000 --shards 8

Needs root and the Slurm programs (``.ci/run`` installs them); never touches the network.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_anonymise_stage as stage_bench  # benchmarks/ is on sys.path when a script in it runs
import bench_furniture
from bench_connectors import spec_for
from offline import block_network
from plan_factory import Rates, print_plan

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anonymisation.anonymiser import Anonymiser  # noqa: E402
from anonymisation.operators import check_key  # noqa: E402
from catalog.keys import root_key  # noqa: E402
from catalog.settings import KEY_ENV  # noqa: E402
from catalog.sources import AnonymisationPolicy  # noqa: E402
from catalog.storage import Storage  # noqa: E402
from quality.gate import QualityGate  # noqa: E402
from stages.anonymise import anonymise_source  # noqa: E402
from stages.clean import clean_source  # noqa: E402
from stages.executors import Executor, ProcessExecutor, ShardSize, ShardTask  # noqa: E402
from stages.ingest import ingest_source  # noqa: E402
from stages.slurm import SlurmCommands, SlurmExecutor  # noqa: E402
from tests.slurm import PARTITION, missing_programs, start_local_slurm  # noqa: E402

SOURCE = "bench-news"
POLICY = AnonymisationPolicy()


def run_stages(root: Path, spec: Any, executor: Executor | None, size: ShardSize) -> dict[str, Any]:
    """Clean and anonymise the ingested source on ``root``; return each stage's seconds and report."""
    storage = Storage(str(root))
    key = root_key(storage, check=check_key, env={KEY_ENV: stage_bench.KEY.decode()})
    anonymiser = Anonymiser.from_policy(POLICY, stage_bench.KEY)
    started = time.perf_counter()
    clean = clean_source(
        storage, SOURCE, gate=QualityGate(spec.quality, spec.languages), executor=executor, shard_size=size
    )
    middle = time.perf_counter()
    anonymised = anonymise_source(
        storage,
        SOURCE,
        anonymiser,
        operator=POLICY.operator,
        clean_report=clean,
        key_id=key.key_id,
        policy=POLICY,
        executor=executor,
        shard_size=size,
    )
    return {
        "clean_s": middle - started,
        "anonymise_s": time.perf_counter() - middle,
        "kept": clean["kept"],
        "replacements": anonymised["replacements"],
        "shards": (clean["gate_shards"], anonymised["shards"]),
    }


def main() -> None:
    """Ingest, run the three variants and the empty-shard burst, print the figures and the plan."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=6_000, help="generated news documents")
    parser.add_argument("--shards", type=int, default=24, help="shards per stage in the sharded runs")
    parser.add_argument("--empty", type=int, default=100, help="empty shards in the scheduling burst")
    parser.add_argument("--tb", type=float, default=1.0, help="corpus size of the extrapolation")
    parser.add_argument("--cores", type=int, default=64, help="cores per node of the extrapolation")
    args = parser.parse_args()
    missing = missing_programs()
    if missing or os.geteuid() != 0:
        raise SystemExit(f"needs root and the Slurm programs (missing: {', '.join(missing) or 'none'})")
    block_network("simulate_slurm")
    cpus = os.cpu_count() or 1
    size = ShardSize(documents=math.ceil(args.documents / args.shards))
    env = {**os.environ, KEY_ENV: stage_bench.KEY.decode(), "PYTHONPATH": str(REPO)}
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        drop = tmp / "drop" / "news.jsonl"
        drop.parent.mkdir()
        megabytes = bench_furniture.generate(drop, args.documents) / 1e6
        os.environ["CORPUSFABRIEK_DROP_FOLDERS"] = str(drop.parent)
        spec = spec_for(SOURCE, "files", str(drop), format="jsonl", status="approved", sector="news")
        ingest_source(Storage(str(tmp / "ingested")), spec)
        cluster = start_local_slurm(tmp / "slurm")
        try:
            warm = tmp / "warm-up"  # the gate's and the anonymiser's models load outside the timings
            shutil.copytree(tmp / "ingested", warm)
            run_stages(warm, spec, None, size)
            executors: dict[str, Executor | None] = {
                "in-process": None,
                f"{cpus} local worker processes": ProcessExecutor(workers=cpus, env=env),
                "Slurm job arrays": SlurmExecutor(
                    work_dir=tmp / "slurm-work",
                    partition=PARTITION,
                    poll_interval=0.5,
                    commands=SlurmCommands(env=cluster.env(env)),
                ),
            }
            for name, executor in executors.items():
                root = tmp / name.replace(" ", "-")
                shutil.copytree(tmp / "ingested", root)
                results[name] = run_stages(root, spec, executor, size)
            slurm = executors["Slurm job arrays"]
            assert isinstance(slurm, SlurmExecutor)
            started = time.perf_counter()
            ended = slurm.run([ShardTask(f"empty-{n}", ("sleep", "--seconds", "0")) for n in range(args.empty)])
            burst = time.perf_counter() - started
            assert all(result.ok for result in ended), [r.log_tail for r in ended if not r.ok]
        finally:
            cluster.stop()
    outcomes = {name: (r["kept"], r["replacements"]) for name, r in results.items()}
    assert len(set(outcomes.values())) == 1, f"the runs differ: {outcomes}"
    reference = results["in-process"]
    gate_shards, anonymise_shards = results["Slurm job arrays"]["shards"]
    print(
        f"{args.documents:,} generated news documents, {megabytes:.1f} MB; {gate_shards} clean (gate) and "
        f"{anonymise_shards} anonymise shards; {cpus} CPUs on the node"
    )
    print("\n| run | clean | anonymise | both | speed-up |")
    print("|---|---:|---:|---:|---:|")
    both_reference = reference["clean_s"] + reference["anonymise_s"]
    for name, r in results.items():
        both = r["clean_s"] + r["anonymise_s"]
        print(
            f"| {name} | {r['clean_s']:.1f} s | {r['anonymise_s']:.1f} s | {both:.1f} s | "
            f"{both_reference / both:.2f}x |"
        )
    slurm_run = results["Slurm job arrays"]
    overhead = max(0.0, (slurm_run["anonymise_s"] - reference["anonymise_s"] / cpus) * cpus / anonymise_shards)
    gate_overhead = max(0.0, (slurm_run["clean_s"] - reference["clean_s"] / cpus) * cpus / max(gate_shards, 1))
    print(
        "\nshard overhead through Slurm, per shard on one CPU: "
        f"anonymise {overhead:.2f} s, clean {gate_overhead:.2f} s (submit, schedule, start Python, load the "
        "models, read and write the shard; the clean figure also holds the stage's unsharded steps)"
    )
    print(
        f"scheduling alone: {args.empty} empty shards in {burst:.1f} s = {burst * cpus / args.empty:.2f} s per "
        "shard on one CPU"
    )
    clean_rate = megabytes / reference["clean_s"]
    anonymise_rate = megabytes / reference["anonymise_s"]
    print(
        f"\nExtrapolation (per core, measured here: clean {clean_rate:.2f} MB/s, anonymise {anonymise_rate:.2f} "
        f"MB/s; the larger shard overhead above):\n"
    )
    rates = Rates(
        clean=round(clean_rate, 2),
        anonymise=round(anonymise_rate, 2),
        shard_overhead=round(max(overhead, gate_overhead), 2),
    )
    print_plan(args.tb, args.cores, 0.85, rates)


if __name__ == "__main__":
    main()
