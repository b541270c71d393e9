"""``corpusfabriek sources``: validate, register, suspend, approve and inspect partner sources."""

from __future__ import annotations

import argparse
import json
import sys

from catalog.drops import check_spec_location
from catalog.registry import SourceRegistry, spec_yaml
from catalog.sources import SpecError, load_spec
from pipelines.cli.common import CommandError, _dagster_instance, _registry, _storage


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
    from assets.partitions import source_partitions
    from catalog.zones import CATALOG_SOURCES

    registry = _registry(args)
    spec, outcome = registry.register(args.file, actor=args.actor)
    instance = _dagster_instance()
    if spec.id not in instance.get_dynamic_partitions(source_partitions.name):
        instance.add_dynamic_partitions(source_partitions.name, [spec.id])
    where = registry.storage.url(CATALOG_SOURCES) if registry.storage else "the catalog"
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
    from stages.report import format_report, partner_report

    storage = _storage(args)
    report = partner_report(storage, SourceRegistry.from_env(storage=storage), args.source_id)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0
