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

from catalog.drops import check_spec_location
from catalog.lease import LeaseBusyError, LeaseError, RootLease
from catalog.registry import SourceRegistry, UnknownSourceError, spec_yaml
from catalog.releases import (
    ReleaseError,
    clean_incomplete_releases,
    list_versions,
    read_manifest,
    release_dir,
    verify_release,
)
from catalog.sources import ENV_SOURCES, SpecError, load_spec
from catalog.storage import DEFAULT_ROOT, StorageError
from pipelines.cli.common import CommandError, _dagster_instance, _reasons, _registry, _storage
from pipelines.cli.run import cmd_run_exclusive

# -- helpers -----------------------------------------------------------------------------------------


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


# -- commands ----------------------------------------------------------------------------------------


def cmd_releases_list(args: argparse.Namespace) -> int:
    """List release versions (complete ones, and incomplete folders flagged as such)."""
    versions = list_versions(_storage(args), args.corpus)
    if args.json:
        print(json.dumps([{k: v for k, v in entry.items() if k != "manifest"} | _summary(entry) for entry in versions]))
        return 0
    if not versions:
        print("no releases yet (run: corpusfabriek run)")
        return 0
    print(f"{'CORPUS':<16} {'VERSION':<22} {'CREATED (UTC)':<20} {'DOCUMENTS':>10} {'FILES':>6} {'SIZE':>10}  STATUS")
    for entry in versions:
        manifest = entry["manifest"]
        if manifest is None:
            print(
                f"{entry['corpus']:<16} {entry['version']:<22} {'-':<20} {'-':>10} {'-':>6} {'-':>10}  "
                "incomplete (no manifest: not a release)"
            )
            continue
        print(
            f"{entry['corpus']:<16} {entry['version']:<22} {manifest['created_at'][:19]:<20} "
            f"{manifest['total_documents']:>10} {len(manifest['files']):>6} "
            f"{_human_bytes(manifest['total_bytes']):>10}  complete"
        )
    return 0


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    manifest = entry["manifest"] or {}
    return {
        "created_at": manifest.get("created_at"),
        "total_documents": manifest.get("total_documents"),
        "files": len(manifest.get("files", [])),
        "total_bytes": manifest.get("total_bytes"),
    }


def cmd_releases_show(args: argparse.Namespace) -> int:
    """Print the summary of one release's manifest."""
    storage = _storage(args)
    manifest = read_manifest(storage, args.version, args.corpus)
    if args.json:
        print(json.dumps(manifest, indent=2, ensure_ascii=False))
        return 0
    print(f"release        {manifest['corpus']}/{manifest['version']}")
    print(f"location       {storage.url(release_dir(manifest['corpus'], manifest['version']))}")
    print(f"created        {manifest['created_at']}")
    print(f"code version   {manifest['code_version']}")
    print(f"schema         v{manifest['schema_version']} ({len(manifest['schema'])} columns)")
    print(f"documents      {manifest['total_documents']}")
    print(f"size           {_human_bytes(manifest['total_bytes'])} in {len(manifest['files'])} part(s)")
    print(f"digest         {manifest['release_digest']}")
    print(f"stages         {', '.join(manifest['stages'])}")
    print(f"anonymised     {'yes' if manifest['anonymised'] else 'NO: contains personal data'}")
    print(
        f"excluded       {manifest['excluded']['duplicate_content']} exact and "
        f"{manifest['excluded'].get('near_duplicate', 0)} near duplicate(s) ({manifest['excluded']['path']})"
    )
    print("sources")
    for source in manifest["sources"]:
        print(
            f"  {source['source_id']:<24} {source['documents']:>8} docs  licence {source['licence']:<14} "
            f"ingested {source['ingested_at'][:19]}  ({source['ingest_id']})"
        )
    print("files")
    for entry in manifest["files"]:
        print(
            f"  {entry['path']:<20} {entry['rows']:>8} rows {_human_bytes(entry['bytes']):>10}  "
            f"sha256 {entry['sha256']}"
        )
    return 0


def cmd_releases_verify(args: argparse.Namespace) -> int:
    """Re-read a release and compare every file with its manifest."""
    storage = _storage(args)
    manifest = read_manifest(storage, args.version, args.corpus)
    problems = verify_release(storage, manifest)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if problems:
        raise CommandError(
            f"release {manifest['corpus']}/{manifest['version']} does not verify: {len(problems)} problem(s)"
        )
    print(
        f"release {manifest['corpus']}/{manifest['version']} verifies: {len(manifest['files'])} file(s), "
        f"{manifest['total_documents']} documents"
    )
    return 0


def cmd_releases_clean(args: argparse.Namespace) -> int:
    """Remove incomplete builds, their orphaned excluded files and stray temporary files, holding the root's lease.

    With the lease held no build can be running, so every folder without a manifest is a failed build.
    """
    storage = _storage(args)
    lease = RootLease(storage, {"command": "corpusfabriek releases clean"})
    try:
        lease.acquire(wait=0)
    except LeaseBusyError as exc:
        raise CommandError(str(exc)) from None
    try:
        report = clean_incomplete_releases(storage, args.corpus, min_age_s=0, dry_run=args.dry_run)
    finally:
        lease.release()
    verb = "would remove" if args.dry_run else "removed"
    for key, what in (
        ("incomplete_releases", "incomplete release"),
        ("orphaned_excluded", "orphaned excluded file"),
        ("orphaned_index_parts", "orphaned index part"),
        ("temp_files", "temporary file"),
    ):
        for name in report[key]:
            print(f"{verb} {what} {name}")
    if not any(report.values()):
        print("nothing to clean up")
        return 0
    print(
        f"{verb} {len(report['incomplete_releases'])} incomplete release(s), {len(report['orphaned_excluded'])} "
        f"orphaned excluded file(s), {len(report['orphaned_index_parts'])} orphaned index part(s), "
        f"{len(report['temp_files'])} temporary file(s)"
    )
    return 0


def cmd_key_show(args: argparse.Namespace) -> int:
    """Print where the storage root's anonymisation key comes from and its record (never the key)."""
    from anonymisation.operators import check_key
    from catalog.keys import KEY_ENV, key_status

    status = key_status(_storage(args), check=check_key)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"storage root   {status['storage']}")
    if status["origin"] == "environment":
        also = f" (it takes precedence over the key file {status['key_file']})" if status["key_file_exists"] else ""
        print(f"key from       environment variable {KEY_ENV}{also}")
    elif status["origin"] == "file":
        print(f"key from       key file {status['key_file']} (mode {status['key_file_mode']})")
    elif status["key_file"] and not status["problem"]:
        print(f"key from       none yet: the first `corpusfabriek run` generates {status['key_file']}")
    elif status["key_file"]:
        print("key from       none")
    else:
        print(f"key from       none: set {KEY_ENV} (an S3 storage root keeps no key file)")
    if status["problem"]:
        print(f"problem        {status['problem']}")
    recorded = status["recorded"]
    if recorded is None:
        print("recorded       no key yet: the first run that anonymises with a key records its fingerprint")
        return 0
    if status["matches_record"] is True:
        print(f"key id         {recorded['key_id']} (matches this root's record)")
    elif status["matches_record"] is False:
        print(
            f"key id         {status['key_id']}: differs from this root's recorded key {recorded['key_id']}; runs are "
            "refused (use the recorded key, or `corpusfabriek key rotate --yes`)"
        )
    rotated = f"rotated {recorded['rotated_at']}" if recorded["rotated_at"] else "never rotated"
    first = f"first key {recorded['created_at']}"
    print(f"recorded       key {recorded['key_id']} since {recorded['since']} ({rotated}; {first})")
    for entry in recorded["earlier"]:
        kept = f", kept in {entry['retired_key_file']}" if entry.get("retired_key_file") else ""
        print(f"earlier key    {entry['key_id']}: {entry['since']} to {entry['until']}{kept}")
    stale = status["stale_sources"]
    print(f"stale sources  {', '.join(stale) + ': anonymised with a previous key; re-run them' if stale else 'none'}")
    return 0


def cmd_key_rotate(args: argparse.Namespace) -> int:
    """Make a new anonymisation key the storage root's key (explicitly: with --yes)."""
    from anonymisation.operators import check_key
    from catalog.keys import KEY_ENV, RECORD, key_file_path, rotate

    storage = _storage(args)
    path = key_file_path(storage)
    if os.environ.get(KEY_ENV):
        source = f"take the new key from {KEY_ENV}" + (
            f" (and retire the key file {path}, kept as {path.name}.<time>.old)" if path and path.exists() else ""
        )
    elif path is not None:
        source = f"generate a new key in {path}, keeping the current one as {path.name}.<time>.old"
    else:
        source = f"take the new key from {KEY_ENV}, which is not set: set it to the new key first"
    if not args.yes:
        print(f"corpusfabriek key rotate would, for {storage.url()}:")
        print(f"  - {source}")
        print(f"  - record its fingerprint in {RECORD} (earlier fingerprints stay in its history)")
        print(
            "  - leave every source anonymised with the current key out of releases until it is re-anonymised: "
            "the next `corpusfabriek run` re-anonymises every source (new surrogates)"
        )
        raise CommandError("the key was not rotated: confirm with `corpusfabriek key rotate --yes`")
    # Not while a run anonymises with the current key: it would finish a source with a key no longer the root's.
    lease = RootLease(storage, {"command": "corpusfabriek key rotate"})
    try:
        lease.acquire(wait=0)
    except LeaseBusyError as exc:
        raise CommandError(str(exc)) from None
    try:
        rotation = rotate(storage, check=check_key)
    finally:
        lease.release()
    previous = f", replacing {rotation.previous_key_id}" if rotation.previous_key_id else ""
    print(f"rotated the anonymisation key of {storage.url()}: key {rotation.key_id}{previous}")
    if rotation.key_file:
        print(f"new key file   {rotation.key_file} (readable only by you): back it up")
    else:
        print(f"new key        from {KEY_ENV}: keep setting it to this key")
    if rotation.retired_key_file:
        print(f"previous key   kept in {rotation.retired_key_file} (to reproduce earlier releases)")
    print(
        "next: `corpusfabriek run` re-anonymises every source with the new key; until then a release leaves out "
        "the sources anonymised with the previous one"
    )
    return 0


def cmd_sources_validate(args: argparse.Namespace) -> int:
    """Validate spec files and print every problem with its field path, including locations a run would refuse."""
    invalid = 0
    for path in args.files:
        try:
            spec = load_spec(path)
            check_spec_location(spec, path, storage_root=args.root)
        except SpecError as exc:
            invalid += 1
            print(f"{path}: {len(exc.problems)} problem(s)")
            for field_path, message in exc.problems:
                print(f"  {field_path}: {message}")
            continue
        print(f"{path}: valid ({spec.id}, kind {spec.kind}, status {spec.status})")
    if invalid:
        raise CommandError(f"{invalid} of {len(args.files)} spec(s) invalid")
    return 0


# The sources commands do not take the root's lease: the catalog is written lock-free by design (each change
# is new objects, each written atomically; no read-modify-write of a shared file), an emergency `suspend` must
# never wait behind an hours-long run, and a run reads the specs when it starts. Temporary files they leave
# while writing name their pid, so a run's clean-up never removes them.


def cmd_sources_register(args: argparse.Namespace) -> int:
    """Validate a spec and store it in the catalog; add its partition so Dagster shows it at once."""
    from pipelines.partitions import source_partitions

    registry = _registry(args)
    spec, outcome = registry.register(args.file, actor=args.actor)
    instance = _dagster_instance()
    if spec.id not in instance.get_dynamic_partitions(source_partitions.name):
        instance.add_dynamic_partitions(source_partitions.name, [spec.id])
    where = registry.storage.url("catalog/sources") if registry.storage else "the catalog"
    print(f"{outcome}: {spec.id} ({spec.kind}, status {spec.status}) in {where}")
    requested = load_spec(args.file).status
    if requested != spec.status:
        print(f"note: status {requested!r} in the file is ignored; use `corpusfabriek sources approve|suspend`")
    if spec.status == "sandbox":
        print("note: sandbox sources are ingested and processed, but enter no release until approved")
    return 0


def cmd_sources_set_status(args: argparse.Namespace) -> int:
    """Suspend or approve a source, recording the reason."""
    status = {"suspend": "suspended", "approve": "approved"}[args.sources_command]
    spec = _registry(args).set_status(args.source_id, status, reason=args.reason, actor=args.actor)
    print(f"{spec.id}: status {spec.status} ({args.reason})")
    return 0


def cmd_sources_list(args: argparse.Namespace) -> int:
    """List the registered sources."""
    registry = _registry(args)
    specs = registry.specs(strict=False)
    for problem in registry.problems:
        print(f"warning: invalid source spec skipped: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps([spec.model_dump(mode="json") for spec in specs.values()], ensure_ascii=False))
        return 0
    print(f"{'ID':<24} {'KIND':<12} {'STATUS':<10} {'LICENCE':<14} {'SCHEDULE':<14} NAME")
    for spec in specs.values():
        print(
            f"{spec.id:<24} {spec.kind:<12} {spec.status:<10} {spec.licence:<14} {spec.schedule or '-':<14} {spec.name}"
        )
    return 0


def cmd_sources_show(args: argparse.Namespace) -> int:
    """Print one source's spec and registration history."""
    registry = _registry(args)
    spec = registry.get(args.source_id)
    if args.json:
        print(json.dumps({"spec": spec.model_dump(mode="json"), "history": registry.history(spec.id)}))
        return 0
    print(spec_yaml(spec).rstrip())
    for event in registry.history(spec.id):
        note = f" — {event['reason']}" if event.get("reason") else ""
        print(f"# {event['at'][:19]} {event['action']} by {event['actor']}{note}")
    return 0


def cmd_sources_report(args: argparse.Namespace) -> int:
    """Print the partner report of one source."""
    from catalog.reports import format_report, partner_report

    storage = _storage(args)
    report = partner_report(storage, SourceRegistry.from_env(storage=storage), args.source_id)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0


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
