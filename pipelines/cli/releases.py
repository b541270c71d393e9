"""``corpusfabriek releases``: list, show, verify and clean up the release versions in storage."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from catalog.release_diff import diff_releases
from catalog.releases import list_versions, pull_release, read_manifest, release_dir, verify_release
from catalog.storage import human_size
from catalog.takedowns import list_takedowns, taken_down_in
from pipelines.cli.common import CommandError, _holding_lease, _storage
from stages.release import clean_incomplete_releases


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
            f"{human_size(manifest['total_bytes']):>10}  complete"
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
    print(f"size           {human_size(manifest['total_bytes'])} in {len(manifest['files'])} part(s)")
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
    takedowns = manifest.get("takedowns") or {}
    if takedowns:
        print(
            f"takedowns      {takedowns['documents_taken_down']} document(s) left out for "
            f"{len(takedowns['requests_applied'])} of {takedowns['requests_recorded']} request(s) recorded before"
        )
    # an immutable release stays as it is: requests recorded since mark its documents as superseded
    with contextlib.closing(storage.duckdb()) as con:
        later = list_takedowns(storage, after=manifest["created_at"])
        superseded = taken_down_in(storage, con, manifest, later)
    if superseded:
        requests = sorted({entry["takedown"] for entry in superseded})
        print(
            f"SUPERSEDED     {len(superseded)} document(s) taken down since this release (request(s) "
            f"{', '.join(requests)}): move on to a later release"
        )
    print("files")
    for entry in manifest["files"]:
        print(
            f"  {entry['path']:<20} {entry['rows']:>8} rows {human_size(entry['bytes']):>10}  sha256 {entry['sha256']}"
        )
    return 0


def cmd_releases_verify(args: argparse.Namespace) -> int:
    """Re-read a release and compare every file with its manifest."""
    storage = _storage(args)
    manifest = read_manifest(storage, args.version, args.corpus)
    problems = verify_release(storage, manifest)
    # the takedown requests recorded before the release was built must all have been honoured
    with contextlib.closing(storage.duckdb()) as con:
        earlier = list_takedowns(storage, before=manifest["created_at"])
        for entry in taken_down_in(storage, con, manifest, earlier):
            problems.append(
                f"document {entry['doc_id']} ({entry['source_id']}) is taken down by request {entry['takedown']}, "
                "recorded before this release was built"
            )
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


def cmd_releases_diff(args: argparse.Namespace) -> int:
    """Print what changed between two releases: per source, and with ``--json`` every document."""
    storage = _storage(args)
    old = read_manifest(storage, args.old, args.corpus)
    new = read_manifest(storage, args.new, args.corpus or old["corpus"])
    try:
        diff = diff_releases(storage, old, new)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    with diff:
        if args.json:
            _print_diff_json(diff)
            return 0
        totals = diff.totals()
        print(f"{old['corpus']}: {old['version']} -> {new['version']}")
        print(f"  {totals['added']} added, {totals['removed']} removed, {totals['changed']} changed")
        if diff.counts:
            print(f"  {'SOURCE':<24} {'ADDED':>8} {'REMOVED':>8} {'CHANGED':>8}  REMOVED BECAUSE")
        for source, counts in diff.counts.items():
            why = ", ".join(f"{reason} {n}" for reason, n in counts["removed_by_reason"].items())
            print(f"  {source:<24} {counts['added']:>8} {counts['removed']:>8} {counts['changed']:>8}  {why}")
    return 0


def _print_diff_json(diff: Any) -> None:
    """Print the diff as one JSON object, the entries streamed (a large diff is never held in memory)."""
    out = sys.stdout
    head = {"corpus": diff.old["corpus"], "old": diff.old["version"], "new": diff.new["version"]}
    out.write(json.dumps(head, ensure_ascii=False)[:-1])
    out.write(f', "totals": {json.dumps(diff.totals())}, "counts": {json.dumps(diff.counts, ensure_ascii=False)}')
    for kind in ("added", "removed", "changed"):
        out.write(f', "{kind}": [')
        for n, entry in enumerate(diff.entries(kind)):
            out.write((", " if n else "") + json.dumps(entry, ensure_ascii=False))
        out.write("]")
    out.write("}\n")


def cmd_releases_pull(args: argparse.Namespace) -> int:
    """Copy a release from storage (S3 or a folder) to a local folder and verify the copy."""
    storage = _storage(args)
    manifest = read_manifest(storage, args.version, args.corpus)
    folder, problems = pull_release(storage, manifest, args.to)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if problems:
        raise CommandError(f"the copy of {manifest['corpus']}/{manifest['version']} in {folder} does not verify")
    print(
        f"release {manifest['corpus']}/{manifest['version']}: {len(manifest['files'])} file(s), "
        f"{manifest['total_documents']} documents, verified in {folder}"
    )
    return 0


def cmd_releases_clean(args: argparse.Namespace) -> int:
    """Remove incomplete builds, their orphaned excluded files and stray temporary files, holding the root's lease.

    With the lease held no build can be running, so every folder without a manifest is a failed build.
    """
    storage = _storage(args)
    with _holding_lease(storage, "corpusfabriek releases clean"):
        report = clean_incomplete_releases(storage, args.corpus, min_age_s=0, dry_run=args.dry_run)
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
