"""The shard worker: ``python -m stages.shard_worker KIND ARGS...`` runs one shard of a stage and exits.

This is what travels to a local worker process or a cluster node (:mod:`stages.executors`): a command line
whose input and output are paths in storage. Exit code 0: the shard's output is complete in storage; any
other exit code: it is not (a partial output is never left under the output path: outputs are staged and
moved into place last), and the executor may retry it. Kinds register in :data:`KINDS`.

Kinds:

- ``echo``: copy an input object to an output object (a test of the executors and the cluster set-up);
- ``sleep``: wait a number of seconds (a shard that is still running when a test cancels it).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from catalog.storage import Storage


def _echo(args: argparse.Namespace) -> None:
    storage = Storage.from_env(args.root)
    if args.fail_unless_exists and not storage.exists(args.fail_unless_exists):
        # lets a test make a shard fail on its first attempt and pass on the retry
        storage.write_bytes(args.fail_unless_exists, b"attempted")
        raise SystemExit(f"shard {args.input}: failing on purpose until {args.fail_unless_exists} exists")
    storage.write_bytes(args.output, storage.read_bytes(args.input))
    print(f"copied {args.input} -> {args.output}")


def _echo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True, help="storage root (local folder or s3://bucket/prefix)")
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--fail-unless-exists", metavar="PATH", help="fail once, leaving PATH behind")


def _sleep(args: argparse.Namespace) -> None:
    print(f"sleeping {args.seconds} s", flush=True)
    time.sleep(args.seconds)


def _sleep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, required=True)


#: Every shard kind: (how to add its arguments, what it runs).
KINDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], None]]] = {
    "echo": (_echo_arguments, _echo),
    "sleep": (_sleep_arguments, _sleep),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one shard; return its exit code."""
    parser = argparse.ArgumentParser(prog="python -m stages.shard_worker", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="kind", required=True)
    for kind, (arguments, _) in KINDS.items():
        arguments(commands.add_parser(kind))
    args = parser.parse_args(argv)
    KINDS[args.kind][1](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
