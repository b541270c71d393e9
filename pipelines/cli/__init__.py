"""The ``corpusfabriek`` command line: run the pipeline, inspect sources and releases.

Exit codes: 0 on success, 1 on a failure (one line ``error: ...`` on stderr), 2 on wrong usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from catalog.lease import LeaseError
from catalog.registry import UnknownSourceError
from catalog.releases import ReleaseError
from catalog.sources import ENV_SOURCES, SpecError
from catalog.storage import DEFAULT_ROOT, StorageError
from pipelines.cli.common import CommandError, _reasons, _registry
from pipelines.cli.keys import cmd_key_rotate, cmd_key_show
from pipelines.cli.releases import cmd_releases_clean, cmd_releases_list, cmd_releases_show, cmd_releases_verify
from pipelines.cli.run import cmd_run_exclusive
from pipelines.cli.sources import (
    cmd_sources_list,
    cmd_sources_register,
    cmd_sources_report,
    cmd_sources_set_status,
    cmd_sources_show,
    cmd_sources_validate,
)

# -- helpers -----------------------------------------------------------------------------------------


# -- commands ----------------------------------------------------------------------------------------


def _entities(value: str | None) -> list[str] | None:
    """Parse ``--entities`` (comma-separated, ``+`` first to add to the defaults); ``None``: the defaults.

    :raises SystemExit: an entity type no recognizer knows.
    """
    if not value:
        return None
    from anonymisation.engine import default_analyzer, default_entities
    from anonymisation.recognizers import OPTIONAL_ENTITIES

    analyzer = default_analyzer()
    known = set(default_entities(analyzer)) | set(OPTIONAL_ENTITIES)
    asked = [e.strip().upper() for e in value.lstrip("+").split(",") if e.strip()]
    unknown = sorted(set(asked) - known)
    if unknown or not asked:
        raise SystemExit(
            f"--entities: unknown entity type(s) {', '.join(unknown) or '(none)'}; known: {', '.join(sorted(known))}"
        )
    return default_entities(analyzer) + asked if value.startswith("+") else asked


def cmd_anonymise(args: argparse.Namespace) -> int:
    """Anonymise JSONL records (``id``, ``text``) from a file or stdin to a file or stdout, streaming."""
    from anonymisation.anonymiser import Anonymiser
    from anonymisation.operators import check_key
    from catalog.keys import key_from_env

    # JSONL in and out, no storage root: the key comes from the environment only
    key = None if args.operator == "placeholder" else key_from_env(check=check_key)
    entities = _entities(args.entities)
    anonymiser = Anonymiser(operator=args.operator, key=key, entities=entities)
    source = open(args.input, encoding="utf-8") if args.input else sys.stdin
    sink = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    counts: dict[str, int] = {}
    records = 0
    try:
        for (record,) in _read_records(source, batch_size=1):
            result = anonymiser.anonymise(record["text"])
            record["text"] = result.text
            record["pii"] = [
                {"entity": f.entity, "start": f.start, "end": f.end, "score": round(f.score, 4)}
                for f in result.findings
            ]
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            records += 1
            for entity, n in result.replaced.items():
                counts[entity] = counts.get(entity, 0) + n
    finally:
        if args.input:
            source.close()
        if args.output:
            sink.close()
    summary = ", ".join(f"{entity} {n}" for entity, n in sorted(counts.items())) or "nothing"
    print(f"anonymised {records} record(s): replaced {summary}", file=sys.stderr)
    return 0


def _read_records(source: Any, batch_size: int) -> Any:
    """Yield lists of JSONL records (each with string ``text``), ``batch_size`` at a time."""
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise CommandError(f"line {number}: a record needs a string field 'text'")
        batch.append(record)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def cmd_quality(args: argparse.Namespace) -> int:
    """Decide keep or drop for JSONL records (``id``, ``text``) with the quality gate, in batches."""
    import polars as pl

    from quality.filters import QualitySettings
    from quality.gate import QualityGate
    from quality.normalise import normalise_text

    if args.source:
        spec = _registry(args).get(args.source)
        settings, languages = spec.quality, list(spec.languages)
    else:
        settings, languages = QualitySettings(), [code.strip() for code in args.languages.split(",") if code.strip()]
    gate = QualityGate(settings, languages)
    source = open(args.input, encoding="utf-8") if args.input else sys.stdin
    sink = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    reasons: dict[str, int] = {}
    records = kept = 0
    try:
        for batch in _read_records(source, args.batch_size):
            texts = [normalise_text(record["text"]) for record in batch]
            removed = [0] * len(texts)
            if gate.cleaner is not None:  # as the clean stage does: boilerplate lines go before judging
                texts, removed = gate.cleaner.clean_normalised(texts)
            assessment = gate.assess(texts).with_columns(boilerplate_lines=pl.Series(removed, dtype=pl.Int64))
            for record, row in zip(batch, assessment.iter_rows(named=True), strict=True):
                keep, reason = row.pop("keep"), row.pop("reason")
                lang, score = row.pop("lang"), row.pop("lang_score")
                stats = {name: (round(value, 6) if isinstance(value, float) else value) for name, value in row.items()}
                out = {"id": record.get("id"), "keep": keep, "reason": reason, "lang": lang, "lang_score": score}
                sink.write(json.dumps({**out, "stats": stats}, ensure_ascii=False) + "\n")
                records += 1
                kept += keep
                if reason is not None:
                    reasons[reason] = reasons.get(reason, 0) + 1
    finally:
        if args.input:
            source.close()
        if args.output:
            sink.close()
    print(f"kept {kept} of {records} record(s), dropped {records - kept}{_reasons(reasons)}", file=sys.stderr)
    return 0


def cmd_dedup(args: argparse.Namespace) -> int:
    """Cluster JSONL records (``id``, ``text``, optional ``source_id``, ``published_at``, ``url``) into duplicates."""
    from quality.neardup import Deduplicator, MinHashSettings
    from quality.normalise import normalise_text

    priority: dict[str, int] = {}
    for item in args.priority or []:
        source, _, value = item.partition("=")
        try:
            priority[source] = int(value)
        except ValueError:
            raise CommandError(f"--priority wants SOURCE=NUMBER, got {item!r}") from None
    try:
        settings = MinHashSettings(threshold=args.threshold)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    deduplicator = Deduplicator(settings, priority)
    source = open(args.input, encoding="utf-8") if args.input else sys.stdin
    try:
        for batch in _read_records(source, args.batch_size):
            deduplicator.add(
                [record.get("id") for record in batch],
                [normalise_text(record["text"]) for record in batch],
                [record.get("source_id") for record in batch],
                [record.get("published_at") for record in batch],
                [record.get("url") for record in batch],
            )
    finally:
        if args.input:
            source.close()
    decided = deduplicator.decide()
    sink = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for row in decided.iter_rows(named=True):
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            sink.close()
    dropped = decided.filter(~decided["keep"])
    kinds = dropped["duplicate"].value_counts().rows() if dropped.height else []
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds))
    print(
        f"kept {decided.height - dropped.height} of {decided.height} record(s)"
        + (f", duplicates {dropped.height} ({summary})" if dropped.height else ", no duplicates"),
        file=sys.stderr,
    )
    return 0


# -- parser ------------------------------------------------------------------------------------------


def _jsonl_io_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the --input and --output options that every JSONL-in, JSONL-out command shares."""
    parser.add_argument("--input", metavar="F", help="JSONL file (default: stdin)")
    parser.add_argument("--output", metavar="F", help="JSONL file (default: stdout)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``corpusfabriek`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root",
        help=f"storage root: a folder or s3://bucket/prefix (default: $CORPUSFABRIEK_ROOT or ./{DEFAULT_ROOT})",
    )
    parser = argparse.ArgumentParser(
        prog="corpusfabriek",
        description="Turn Dutch partner sources into curated, versioned training corpora.",
        epilog=f"Sources are read from ${ENV_SOURCES} (folders of YAML specs), default the bundled samples.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        parents=[common],
        help="ingest and clean every source, then cut a release",
        description="Materialise raw_documents and clean_documents for every registered "
        "source partition, then corpus_release, with progress output.",
    )
    run.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    run.add_argument("--no-release", action="store_true", help="ingest and clean only")
    run.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another run holds the storage root, wait up to this long for it (default 0: exit 1 at once)",
    )
    run.set_defaults(func=cmd_run_exclusive)

    key = commands.add_parser(
        "key",
        help="show or rotate the storage root's anonymisation key",
        description="The secret key of surrogates and keyed hashes: CORPUSFABRIEK_ANONYMISATION_KEY, or on a local "
        "storage root its owner-only key file secrets/anonymisation.key (generated by the first run). The root "
        "records a fingerprint of its key (never the key) and refuses runs with another key.",
    )
    key_commands = key.add_subparsers(dest="key_command", required=True, metavar="COMMAND")
    show = key_commands.add_parser(
        "show",
        parents=[common],
        help="where the key comes from and its record (never the key)",
        description="Print where the key comes from (variable or key file), its id (a short salted fingerprint), "
        "when it was recorded and rotated, and the sources anonymised with a previous key.",
    )
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=cmd_key_show)
    rotate = key_commands.add_parser(
        "rotate",
        parents=[common],
        help="make a new key the root's key (re-anonymises every source)",
        description="Record a new key: CORPUSFABRIEK_ANONYMISATION_KEY when set, else (local root) a newly generated "
        "key file, the old one kept as anonymisation.key.<time>.old. Every source must then be re-anonymised: "
        "releases leave out sources anonymised with the previous key until the next `corpusfabriek run`.",
    )
    rotate.add_argument("--yes", action="store_true", help="really rotate (without it: only say what would happen)")
    rotate.set_defaults(func=cmd_key_rotate)

    releases = commands.add_parser(
        "releases",
        help="list, show, verify and clean up releases",
        description="Inspect the immutable release versions in storage.",
    )
    release_commands = releases.add_subparsers(dest="releases_command", required=True, metavar="COMMAND")
    listing = release_commands.add_parser(
        "list",
        parents=[common],
        help="list release versions",
        description="List release versions; incomplete builds are flagged.",
    )
    listing.add_argument("--corpus", help="only this corpus")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_releases_list)
    for name, func, text in (
        ("show", cmd_releases_show, "print the manifest summary of a version"),
        ("verify", cmd_releases_verify, "check every file of a version against its manifest"),
    ):
        sub = release_commands.add_parser(
            name, parents=[common], help=text, description=text[0].upper() + text[1:] + "."
        )
        sub.add_argument("version", metavar="VERSION", help="version id, or 'latest'")
        sub.add_argument("--corpus", help="corpus name (needed only when versions repeat across corpora)")
        if name == "show":
            sub.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
        sub.set_defaults(func=func)
    clean = release_commands.add_parser(
        "clean",
        parents=[common],
        help="remove incomplete builds and their leftovers",
        description="Remove version folders without a manifest (failed builds), excluded files of versions "
        "that have no complete release, and temporary files of interrupted writes in release folders. "
        "Complete releases are never changed otherwise. Takes the storage root's lease (so no build is "
        "running); a build cleans up the same way when it starts.",
    )
    clean.add_argument("--corpus", help="only this corpus")
    clean.add_argument("--dry-run", action="store_true", help="only print what would be removed")
    clean.set_defaults(func=cmd_releases_clean)

    anonymise = commands.add_parser(
        "anonymise",
        help="anonymise JSONL records (id, text)",
        description="Read JSONL records with 'id' and 'text'; write them with 'text' anonymised and 'pii' "
        "(entity, start, end, score; offsets into the original). Streams: memory stays flat. The secret "
        "key for surrogate and hash comes from CORPUSFABRIEK_ANONYMISATION_KEY.",
    )
    _jsonl_io_arguments(anonymise)
    anonymise.add_argument(
        "--operator", choices=["surrogate", "placeholder", "hash"], default="surrogate", help="replacement"
    )
    anonymise.add_argument(
        "--entities",
        help="entity types to replace, comma-separated (default: all but LOCATION and ORGANIZATION); "
        "'+LOCATION,ORGANIZATION' adds places and organisations to the defaults",
    )
    anonymise.set_defaults(func=cmd_anonymise)

    quality = commands.add_parser(
        "quality",
        parents=[common],
        help="decide keep or drop for JSONL records (id, text)",
        description="Read JSONL records with 'id' and 'text'; write one line per record with 'id', 'keep', "
        "'reason' (null when kept), 'lang', 'lang_score' and 'stats', the statistics the filters used. Texts are "
        "normalised first, as in the clean stage. Thresholds: FineWeb-2's for Dutch, or a source's (--source).",
    )
    _jsonl_io_arguments(quality)
    quality.add_argument("--languages", default="nl", metavar="CODES", help="expected languages (default: nl)")
    quality.add_argument("--source", metavar="ID", help="use this registered source's thresholds and languages")
    quality.add_argument("--batch-size", type=int, default=1000, metavar="N", help="records per batch (memory)")
    quality.set_defaults(func=cmd_quality)

    dedup = commands.add_parser(
        "dedup",
        help="cluster JSONL records (id, text) into exact and near duplicates",
        description="Read JSONL records with 'id' and 'text' (optional 'source_id', 'published_at', 'url'); write one "
        "line per record with 'id', 'cluster_id' (the kept copy's id), 'cluster_size', 'keep', 'duplicate_of' and "
        "'duplicate' (exact or near). MinHash over word 5-grams, 14 bands x 8 rows (FineWeb's defaults). The copy "
        "kept: highest source priority, then earliest published_at, then longest text. Texts are normalised "
        "first and not kept in memory.",
    )
    _jsonl_io_arguments(dedup)
    dedup.add_argument(
        "--threshold", type=float, metavar="T", help="also require an estimated Jaccard similarity >= T (0-1)"
    )
    dedup.add_argument(
        "--priority", action="append", metavar="SOURCE=N", help="priority of a source_id (repeatable; default 0)"
    )
    dedup.add_argument("--batch-size", type=int, default=10_000, metavar="N", help="records hashed per batch")
    dedup.set_defaults(func=cmd_dedup)

    sources = commands.add_parser(
        "sources", help="validate, register and inspect partner sources", description="Manage partner sources."
    )
    source_commands = sources.add_subparsers(dest="sources_command", required=True, metavar="COMMAND")
    validate = source_commands.add_parser(
        "validate", help="check spec files", description="Validate spec files; list every problem."
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="YAML spec file(s)")
    validate.add_argument(
        "--root",
        help="storage root the sources will run on: their locations may not reach into it "
        f"(default: $CORPUSFABRIEK_ROOT or ./{DEFAULT_ROOT})",
    )
    validate.set_defaults(func=cmd_sources_validate)
    register = source_commands.add_parser(
        "register",
        parents=[common],
        help="validate a spec and register it",
        description="Store a spec in the catalog of the storage root and add its Dagster partition.",
    )
    register.add_argument("file", metavar="FILE", help="YAML spec file")
    register.add_argument("--actor", default=os.environ.get("USER", "cli"), help="who registers (recorded)")
    register.set_defaults(func=cmd_sources_register)
    for name, text in (("suspend", "stop fetching a source"), ("approve", "let a sandbox source into releases")):
        sub = source_commands.add_parser(
            name, parents=[common], help=text, description=text[0].upper() + text[1:] + "."
        )
        sub.add_argument("source_id", metavar="ID")
        sub.add_argument("--reason", required=True, help="why (recorded in the catalog history)")
        sub.add_argument("--actor", default=os.environ.get("USER", "cli"), help="who (recorded)")
        sub.set_defaults(func=cmd_sources_set_status)
    listing = source_commands.add_parser(
        "list", parents=[common], help="list registered sources", description="List registered sources."
    )
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_sources_list)
    for name, func, text in (
        ("show", cmd_sources_show, "print a source's spec and history"),
        ("report", cmd_sources_report, "print a source's partner report"),
    ):
        sub = source_commands.add_parser(
            name, parents=[common], help=text, description=text[0].upper() + text[1:] + "."
        )
        sub.add_argument("source_id", metavar="ID")
        sub.add_argument("--json", action="store_true", help="machine-readable output")
        sub.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``corpusfabriek`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a reader that went away shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`... | head -1`): what it read is all it wanted, nothing to report. Point stdout at
        # devnull so the interpreter's final flush does not raise again, and exit like a program killed by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (
        CommandError,
        LeaseError,
        ReleaseError,
        SpecError,
        StorageError,
        UnknownSourceError,
        KeyError,
        FileNotFoundError,
        ValueError,
    ) as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"error: {message.splitlines()[0] if message else type(exc).__name__}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unforeseen still ends in one line; the traceback on request
        if os.environ.get("CORPUSFABRIEK_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"error: unexpected {type(exc).__name__}: {first} (set CORPUSFABRIEK_DEBUG=1 for details)", file=sys.stderr
        )
        return 1
