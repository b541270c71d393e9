"""The partner report: what happened to one source's data, in numbers only (never content)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from catalog.documents import utc_now
from catalog.registry import SourceRegistry
from catalog.sources import SourceSpec
from catalog.storage import Storage
from stages.ingest import committed_ingests


def next_run(schedule: str | None, after: datetime) -> datetime | None:
    """Return the next time a cron schedule (UTC) fires after ``after``; None without a schedule."""
    if not schedule:
        return None
    from croniter import croniter

    return croniter(schedule, after).get_next(datetime)


def newest_manifests(storage: Storage) -> dict[str, dict[str, Any]]:
    """Return the manifest of each corpus's newest complete release, by corpus (read once for many reports)."""
    from catalog.releases import list_versions

    newest: dict[str, dict[str, Any]] = {}
    for entry in list_versions(storage) if storage.exists("releases") else []:
        if entry["complete"]:
            newest[entry["corpus"]] = entry["manifest"]
    return newest


def _release_duplicates(newest: dict[str, dict[str, Any]], source_id: str) -> list[dict[str, Any]]:
    """Per corpus, the newest release: the source's documents in it and its duplicates (counts, other sources)."""
    found = []
    for corpus, manifest in sorted(newest.items()):
        mine = next((s for s in manifest["sources"] if s["source_id"] == source_id), None)
        if mine is None:
            continue
        near = manifest.get("near_duplicates") or {}
        of_sources = {
            pair["kept_copy_source_id"]: pair["documents"]
            for pair in near.get("dropped_by_source_pair", [])
            if pair["source_id"] == source_id
        }
        found.append(
            {
                "corpus": corpus,
                "version": manifest["version"],
                "documents": mine["documents"],
                "exact_duplicates_dropped": mine["duplicates_dropped"],
                "near_duplicates_dropped": mine.get("near_duplicates_dropped", 0),
                "near_duplicates_of_sources": dict(sorted(of_sources.items())),
            }
        )
    return found


def partner_report(
    storage: Storage,
    registry: SourceRegistry,
    source_id: str,
    now: datetime | None = None,
    *,
    spec: SourceSpec | None = None,
    newest: dict[str, dict[str, Any]] | None = None,
) -> dict:
    """Build the report of one source: fetched, kept, dropped and quarantined (with reasons), runs, schedule.

    ``spec`` (the source's, loaded) and ``newest`` (:func:`newest_manifests`) let a caller that reports on many
    sources read the registry and the releases once, not once per source.
    """
    from catalog.zones import clean_excluded_path, clean_report_path  # the report reads the clean accounting

    spec = spec or registry.get(source_id)
    now = now or utc_now()
    ingests = committed_ingests(storage, source_id)
    quarantined: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    for ingest in ingests:
        quarantined.update(ingest["quarantined_by_reason"])
        modes.update(ingest.get("documents_by_fetch_mode", {}))
    clean = storage.read_json(clean_report_path(source_id)) if storage.exists(clean_report_path(source_id)) else None
    last = ingests[-1] if ingests else None
    report: dict[str, Any] = {
        "source_id": spec.id,
        "name": spec.name,
        "owner": spec.owner.organisation,
        "kind": spec.kind,
        "status": spec.status,
        "licence": spec.licence,
        "in_releases": spec.releasable,
        "runs": len(ingests),
        "last_successful_run": last["ingested_at"] if last else None,
        "last_run": {
            "ingest_id": last["ingest_id"],
            "records_read": last["records_read"],
            "documents": last["documents"],
            "quarantined": last["quarantined"],
        }
        if last
        else None,
        "schedule": spec.schedule,
        "next_scheduled_run": (n.isoformat() if (n := next_run(spec.schedule, now)) and spec.fetchable else None),
        "fetched": sum(ingest["records_read"] for ingest in ingests),
        "documents_by_fetch_mode": dict(sorted(modes.items())),
        "quarantined": sum(quarantined.values()),
        "quarantined_by_reason": dict(sorted(quarantined.items())),
        "kept": clean["kept"] if clean else None,
        "dropped": clean["dropped"] if clean else None,
        "dropped_by_reason": clean["dropped_by_reason"] if clean else None,
        # which filter dropped how many (language, ocr, gopher_repetition, ..., deduplication)
        "dropped_by_filter": clean.get("dropped_by_filter") if clean else None,
        "languages": clean.get("languages") if clean else None,
        "excluded_documents": clean_excluded_path(source_id) if clean else None,
        "in_latest_releases": _release_duplicates(newest_manifests(storage) if newest is None else newest, source_id),
        "cleaned_at_ingest": clean["ingest_id"] if clean else None,
        "registration": registry.history(source_id),
    }
    return report


def format_report(report: dict[str, Any]) -> str:
    """Render a partner report as plain text."""

    def reasons(counts: dict[str, int] | None) -> str:
        shown = ", ".join(f"{reason} {n}" for reason, n in (counts or {}).items() if n)
        return f" ({shown})" if shown else ""

    lines = [
        f"source          {report['source_id']} — {report['name']}",
        f"owner           {report['owner']}",
        f"kind / status   {report['kind']} / {report['status']}"
        + ("" if report["in_releases"] else "  (not released until approved)"),
        f"licence         {report['licence']}",
        f"runs            {report['runs']}, last successful {report['last_successful_run'] or 'never'}",
        f"next run        {report['next_scheduled_run'] or 'not scheduled'}"
        + (f"  (cron {report['schedule']})" if report["schedule"] else ""),
        f"fetched         {report['fetched']} record(s)",
        f"documents       by how their text was obtained:{reasons(report['documents_by_fetch_mode']) or ' none'}",
        f"quarantined     {report['quarantined']}" + reasons(report["quarantined_by_reason"]),
    ]
    if report["kept"] is None:
        lines.append("kept            not cleaned yet")
    else:
        lines.append(f"kept            {report['kept']}")
        lines.append(f"dropped         {report['dropped']}" + reasons(report["dropped_by_reason"]))
        if report.get("languages"):
            lines.append(f"languages       {reasons(report['languages']).strip(' ()')}")
        if report["dropped"]:
            lines.append(f"review drops    {report['excluded_documents']} (each with its reason)")
    for release in report.get("in_latest_releases") or []:
        lines.append(
            f"in release      {release['corpus']}/{release['version']}: {release['documents']} documents; duplicates "
            f"left out: {release['exact_duplicates_dropped']} exact, {release['near_duplicates_dropped']} near"
            + reasons(release["near_duplicates_of_sources"]).replace(" (", " (kept copy from: ", 1)
        )
    if report["last_run"]:
        run = report["last_run"]
        lines.append(
            f"last run        {run['ingest_id']}: {run['records_read']} read, {run['documents']} documents, "
            f"{run['quarantined']} quarantined"
        )
    for event in report["registration"]:
        note = f" — {event['reason']}" if event.get("reason") else ""
        lines.append(f"registry        {event['at'][:19]} {event['action']} by {event['actor']}{note}")
    return "\n".join(lines)


def format_report_markdown(report: dict[str, Any]) -> str:
    """Render a partner report as a two-column markdown table (the same lines as :func:`format_report`)."""
    rows = ["| | |", "|---|---|"]
    for line in format_report(report).splitlines():
        label, _, value = line.partition("  ")
        rows.append(f"| **{label.strip()}** | {value.strip().replace('|', '/')} |")
    return "\n".join(rows)
