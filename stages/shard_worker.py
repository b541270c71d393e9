"""The shard worker: ``python -m stages.shard_worker KIND ARGS...`` runs one shard of a stage and exits.

This is what travels to a local worker process or a cluster node (:mod:`stages.executors`): a command line
whose input and output are paths in storage. Exit code 0: the shard's output is complete in storage; any
other exit code: it is not (a partial output is never left under the output path: outputs are staged and
moved into place last), and the executor may retry it. Kinds register in :data:`KINDS`.

Kinds:

- ``echo``: copy an input object to an output object (a test of the executors and the cluster set-up);
- ``sleep``: wait a number of seconds (a shard that is still running when a test cancels it);
- ``gate``: let the quality gate judge one shard of a source's normalised documents (:mod:`stages.clean`);
- ``anonymise``: anonymise one input shard of a source's clean documents (:mod:`stages.anonymise`); the
  secret key comes from the environment or the root's key file, never from the command line;
- ``residual``: scan a range of row groups of a source's anonymised documents for residual identifiers
  (the anonymised zone's check); counts, ids and offsets only, never the values found.
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


def _anonymise(args: argparse.Namespace) -> None:
    from stages.anonymise import run_anonymise_shard  # the anonymiser's imports only when this kind runs

    counts = run_anonymise_shard(
        args.root,
        args.source,
        args.input,
        args.output,
        policy_path=args.policy,
        key_id=args.key_id,
        expected_anonymiser_version=args.anonymiser_version,
        name_model_setting=args.name_model,
        expected_name_model=args.expected_name_model,
        code_version=args.code_version,
    )
    # counts and times only: what a shard's log may show
    print(f"anonymised {args.input}: {counts['documents']} documents in {counts['seconds']} s")


def _shard_arguments(parser: argparse.ArgumentParser, what_in: str, what_out: str) -> None:
    parser.add_argument("--root", required=True, help="storage root (local folder or s3://bucket/prefix)")
    parser.add_argument("--input", required=True, help=f"input shard ({what_in}) in storage")
    parser.add_argument("--output", required=True, help=f"output shard ({what_out}) in storage")


def _anonymise_arguments(parser: argparse.ArgumentParser) -> None:
    _shard_arguments(parser, "clean documents", "anonymised documents; its counts go next to it")
    parser.add_argument("--source", required=True, help="the source id")
    parser.add_argument("--policy", required=True, help="the source's anonymisation policy (JSON) in storage")
    parser.add_argument("--key-id", required=True, help="fingerprint of the key the stage planned with")
    parser.add_argument("--anonymiser-version", required=True, help="anonymiser code the stage planned with")
    parser.add_argument("--name-model", default="", help="name model setting (empty: the shipped model)")
    parser.add_argument("--expected-name-model", required=True, help="the name model id the stage planned with")
    parser.add_argument("--code-version", help="the stage's code version, stamped on the documents")


def _gate(args: argparse.Namespace) -> None:
    from stages.clean import run_gate_shard  # the gate's imports only when this kind runs

    started = time.perf_counter()
    judged = run_gate_shard(args.root, args.input, args.output, args.gate)
    # counts and times only: what a shard's log may show
    print(f"judged {args.input}: {judged} documents in {time.perf_counter() - started:.1f} s")


def _gate_arguments(parser: argparse.ArgumentParser) -> None:
    _shard_arguments(parser, "gate inputs and their texts", "the gate's decisions")
    parser.add_argument("--gate", required=True, help="the gate's settings, languages and key (JSON) in storage")


def _residual(args: argparse.Namespace) -> None:
    from stages.anonymise import run_residual_shard  # Presidio's imports only when this kind runs

    started = time.perf_counter()
    first, _, last = args.row_groups.partition(":")
    scanned = run_residual_shard(args.root, args.source, int(first), int(last), args.documents, args.output)
    print(f"scanned row groups {args.row_groups}: {scanned} documents in {time.perf_counter() - started:.1f} s")


def _residual_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True, help="storage root (local folder or s3://bucket/prefix)")
    parser.add_argument("--source", required=True, help="the source id")
    parser.add_argument("--row-groups", required=True, metavar="FIRST:LAST", help="row groups to scan (LAST excluded)")
    parser.add_argument("--documents", required=True, type=int, help="rows the file held when the scan was planned")
    parser.add_argument("--output", required=True, help="the scan's result (JSON) in storage")


#: Every shard kind: (how to add its arguments, what it runs).
KINDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], None]]] = {
    "echo": (_echo_arguments, _echo),
    "sleep": (_sleep_arguments, _sleep),
    "anonymise": (_anonymise_arguments, _anonymise),
    "gate": (_gate_arguments, _gate),
    "residual": (_residual_arguments, _residual),
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
