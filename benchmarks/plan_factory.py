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


def hours(seconds: float) -> str:
    """Format a duration in hours (or minutes under an hour)."""
    return f"{seconds / 3600:7.1f} h" if seconds >= 3600 else f"{seconds / 60:7.1f} m"


def main() -> None:
    """Print the plan table for the given corpus size, node shape and measured rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tb", type=float, default=1.0, help="corpus size in TB of text")
    parser.add_argument("--cores", type=int, default=64, help="cores per node")
    parser.add_argument("--efficiency", type=float, default=0.85, help="share of cores doing shard work")
    parser.add_argument("--clean", type=float, default=1.6, help="clean stage, MB/s per core (first run)")
    parser.add_argument("--anonymise", type=float, default=0.65, help="anonymisation, MB/s per core")
    parser.add_argument("--ingest", type=float, default=20.0, help="ingest, MB/s per source process")
    parser.add_argument("--reduce", type=float, default=15.0, help="serial reduce (dedup, release), MB/s")
    parser.add_argument("--shard-mb", type=float, default=200.0, help="megabytes of text per shard")
    parser.add_argument("--shard-overhead", type=float, default=4.0, help="seconds per shard (start-up, Slurm)")
    parser.add_argument("--sources", type=int, default=50, help="sources ingested in parallel")
    parser.add_argument("--new", type=float, default=0.01, help="share of new documents in a daily run")
    args = parser.parse_args()

    megabytes = args.tb * 1e6
    core_seconds = megabytes / args.clean + megabytes / args.anonymise
    shards = 2 * megabytes / args.shard_mb  # one clean and one anonymise shard per shard of text
    ingest = megabytes / (args.ingest * args.sources)
    reduce = megabytes / args.reduce
    print(
        f"{args.tb:g} TB of text; {args.cores} cores per node at {args.efficiency:.0%}; clean {args.clean} and "
        f"anonymise {args.anonymise} MB/s per core; {shards:,.0f} shards of {args.shard_mb:g} MB "
        f"({args.shard_overhead:g} s overhead each); serial reduce {args.reduce} MB/s"
    )
    print(f"shardable work: {core_seconds / 3600:,.0f} core-hours; ingest over {args.sources} sources {hours(ingest)}")
    print(f"\n{'nodes':>6} {'shard work':>11} {'overhead':>10} {'reduce':>10} {'first pass':>11} {'daily run':>11}")
    for nodes in (1, 2, 4, 8, 16, 32, 64):
        parallel = nodes * args.cores * args.efficiency
        work = core_seconds / parallel
        overhead = shards * args.shard_overhead / parallel
        total = ingest + work + overhead + reduce
        # a daily run: the new share through the shards, the reduce still over the whole release
        daily = args.new * (ingest + work + overhead) + reduce
        print(
            f"{nodes:>6} {hours(work):>11} {hours(overhead):>10} {hours(reduce):>10} {hours(total):>11} "
            f"{hours(daily):>11}"
        )
    print(
        "\nThe serial reduce dominates from a few nodes on: split releases by source group or make the release "
        "writer parallel before buying nodes."
    )


if __name__ == "__main__":
    main()
