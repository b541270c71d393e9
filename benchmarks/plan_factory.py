"""Plan for the factory: how long a corpus takes on N Slurm nodes, from rates measured on this machine.

The shardable stages (clean, anonymise) scale with cores: a shard is independent work on its own input.
The reduce steps (deduplication within a source, the near-duplicate reduce and the release's writing) run
in one process per source or per release and do not. So the time of a first pass is

    shardable work / (nodes x cores x efficiency) + shard overhead + serial reduce,

and a daily run with a small share of new documents pays the shardable work of the new documents only
(incremental stages) but still the reduce over the whole source and release.

    python benchmarks/plan_factory.py                       # 1 TB, the rates measured here
    python benchmarks/plan_factory.py --tb 5 --cores 128 --clean 1.6 --anonymise 0.65

The default rates are this repository's measured figures (README: incremental cleaning and anonymisation,
the pipeline benchmark, the Slurm executor); pass your own after measuring on the factory's nodes.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, fields

#: Cluster sizes the plan is printed for.
NODES = (1, 2, 4, 8, 16, 32, 64)


def hours(seconds: float) -> str:
    """Format a duration in hours (or minutes under an hour)."""
    return f"{seconds / 3600:7.1f} h" if seconds >= 3600 else f"{seconds / 60:7.1f} m"


@dataclass(frozen=True)
class Rates:
    """Measured rates and the shape of the work: what the plan is computed from."""

    clean: float = 1.6  # clean stage, MB/s per core (first run)
    anonymise: float = 0.65  # anonymisation, MB/s per core
    ingest: float = 20.0  # MB/s per source process
    reduce: float = 15.0  # serial reduce (dedup, release), MB/s
    shard_mb: float = 200.0  # megabytes of text per shard
    shard_overhead: float = 4.0  # seconds per shard on one core (start-up, scheduling)
    sources: int = 50  # sources ingested in parallel
    new: float = 0.01  # share of new documents in a daily run


@dataclass(frozen=True)
class PlanRow:
    """The plan for one cluster size, in seconds."""

    nodes: int
    work: float
    overhead: float
    reduce: float
    first_pass: float
    daily: float


def plan(tb: float, cores: int, efficiency: float, rates: Rates, nodes: Sequence[int] = NODES) -> list[PlanRow]:
    """Return the time of a first pass and of a daily run over ``tb`` TB of text for each cluster size."""
    megabytes = tb * 1e6
    core_seconds = megabytes / rates.clean + megabytes / rates.anonymise
    shards = 2 * megabytes / rates.shard_mb  # one clean and one anonymise shard per shard of text
    ingest = megabytes / (rates.ingest * rates.sources)
    reduce = megabytes / rates.reduce
    rows = []
    for count in nodes:
        parallel = count * cores * efficiency
        work = core_seconds / parallel
        overhead = shards * rates.shard_overhead / parallel
        # a daily run: the new share through the shards, the reduce still over the whole release
        daily = rates.new * (ingest + work + overhead) + reduce
        rows.append(PlanRow(count, work, overhead, reduce, ingest + work + overhead + reduce, daily))
    return rows


def print_plan(tb: float, cores: int, efficiency: float, rates: Rates) -> None:
    """Print the plan table (a Markdown table, so it pastes into a README or a closing note)."""
    megabytes = tb * 1e6
    shards = 2 * megabytes / rates.shard_mb
    core_hours = (megabytes / rates.clean + megabytes / rates.anonymise) / 3600
    print(
        f"{tb:g} TB of text; {cores} cores per node at {efficiency:.0%}; clean {rates.clean:g} and anonymise "
        f"{rates.anonymise:g} MB/s per core; {shards:,.0f} shards of {rates.shard_mb:g} MB "
        f"({rates.shard_overhead:g} s overhead each); serial reduce {rates.reduce:g} MB/s"
    )
    ingest = megabytes / (rates.ingest * rates.sources)
    print(f"shardable work: {core_hours:,.0f} core-hours; ingest over {rates.sources} sources {hours(ingest)}")
    print("\n| nodes | shard work | shard overhead | serial reduce | first pass | daily run |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in plan(tb, cores, efficiency, rates):
        cells = (row.work, row.overhead, row.reduce, row.first_pass, row.daily)
        print(f"| {row.nodes} | " + " | ".join(hours(c).strip() for c in cells) + " |")


def main() -> None:
    """Print the plan table for the given corpus size, node shape and measured rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tb", type=float, default=1.0, help="corpus size in TB of text")
    parser.add_argument("--cores", type=int, default=64, help="cores per node")
    parser.add_argument("--efficiency", type=float, default=0.85, help="share of cores doing shard work")
    defaults = Rates()
    for name in fields(Rates):
        flag = "--" + name.name.replace("_", "-")
        parser.add_argument(flag, type=type(getattr(defaults, name.name)), default=getattr(defaults, name.name))
    args = parser.parse_args()
    rates = Rates(**{name.name: getattr(args, name.name) for name in fields(Rates)})
    print_plan(args.tb, args.cores, args.efficiency, rates)
    print(
        "\nThe serial reduce dominates from a few nodes on: split releases by source group or make the release "
        "writer parallel before buying nodes."
    )


if __name__ == "__main__":
    main()
