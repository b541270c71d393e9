"""The partner report: what happened to one source's data, in numbers only (never content).

Decisions stay reviewable without showing text: per drop reason the report names up to three document ids
(the clean zone's excluded file holds those documents with their reason), and per quarantine reason up to
three row references ``<ingest id>:<row>`` into that run's quarantine file. Quarantined input has no
document id, and its ``location``/``record`` fields can hold names (a file name, an OAI identifier), so the
reference is the pipeline's own: the run and the row number (from 0) in ``quarantine/<source>/<ingest id>.parquet``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from catalog.documents import utc_now
from catalog.parquet import iter_batches
from catalog.registry import SourceRegistry
from catalog.sources import SourceSpec
from catalog.storage import Storage
from stages.ingest import committed_ingests

#: Example ids per reason in a report.
EXAMPLES_PER_REASON = 3


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


def add_examples(examples: dict[str, list[str]], ids: list[str], reasons: list[str]) -> None:
    """Add ids to ``examples`` (by reason) until each reason has :data:`EXAMPLES_PER_REASON`."""
    for example, reason in zip(ids, reasons, strict=True):
        found = examples.setdefault(reason, [])
        if len(found) < EXAMPLES_PER_REASON:
            found.append(example)


def _first_per_reason(batches: Any, wanted: dict[str, int]) -> dict[str, list[str]]:
    """Collect example ids per reason from ``(ids, reasons)`` batches; stop once every reason has its examples.

    :param wanted: how many rows each reason has (a reason with fewer than three is complete at its count).
    """
    examples: dict[str, list[str]] = {}
    for ids, reasons in batches:
        add_examples(examples, ids, reasons)
        if all(len(examples.get(r, [])) >= min(n, EXAMPLES_PER_REASON) for r, n in wanted.items()):
            break
    return {reason: examples[reason] for reason in sorted(examples)}


def dropped_examples(storage: Storage, source_id: str, dropped_by_reason: dict[str, int]) -> dict[str, list[str]]:
    """Return up to three document ids per drop reason, read from the clean zone's excluded file (ids only)."""
    from catalog.zones import clean_excluded_path

    path = clean_excluded_path(source_id)
    if not any(dropped_by_reason.values()) or not storage.exists(path):
        return {}
    with storage.open_input(path) as handle:
        batches = (
            (batch.column("doc_id").to_pylist(), batch.column("excluded_reason").to_pylist())
            for batch in iter_batches(handle, columns=["doc_id", "excluded_reason"])
        )
        return _first_per_reason(batches, dropped_by_reason)


def quarantined_examples(storage: Storage, source_id: str, ingests: list[Any]) -> dict[str, list[str]]:
    """Return up to three references ``<ingest id>:<row>`` per quarantine reason, newest runs first.

    Only the ``reason`` column is read: the quarantined input itself (and where it came from) may hold
    personal data.
    """
    from catalog.zones import quarantine_path

    wanted: Counter[str] = Counter()
    for ingest in ingests:
        wanted.update(ingest["quarantined_by_reason"])

    def batches() -> Any:
        for ingest in reversed(ingests):
            path = quarantine_path(source_id, ingest["ingest_id"])
            if not ingest["quarantined"] or not storage.exists(path):
                continue
            row = 0
            with storage.open_input(path) as handle:
                for batch in iter_batches(handle, columns=["reason"]):
                    refs = [f"{ingest['ingest_id']}:{row + i}" for i in range(batch.num_rows)]
                    yield refs, batch.column("reason").to_pylist()
                    row += batch.num_rows

    return _first_per_reason(batches(), dict(wanted))


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
        # document ids only (never text): the documents are in the excluded file, each with its reason
        "dropped_examples": (
            clean["dropped_examples"]
            if clean and "dropped_examples" in clean
            else dropped_examples(storage, source_id, clean["dropped_by_reason"])
            if clean
            else None
        ),
        "quarantined_examples": quarantined_examples(storage, source_id, ingests),
        # lines repeated across the source's documents (bylines, prompts, footers), removed before judging
        "furniture_lines_removed": clean.get("furniture_lines_removed") if clean else None,
        "furniture_documents_affected": clean.get("furniture_documents_affected") if clean else None,
        "furniture_lines_found": clean.get("furniture_lines_found") if clean else None,
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
    for reason, refs in (report.get("quarantined_examples") or {}).items():
        lines.append(f"quarantine ids  {reason}: {', '.join(refs)}")
    if report["kept"] is None:
        lines.append("kept            not cleaned yet")
    else:
        lines.append(f"kept            {report['kept']}")
        lines.append(f"dropped         {report['dropped']}" + reasons(report["dropped_by_reason"]))
        for reason, ids in (report.get("dropped_examples") or {}).items():
            lines.append(f"drop ids        {reason}: {', '.join(ids)}")
        if report.get("furniture_lines_removed"):
            lines.append(
                f"furniture       {report['furniture_lines_removed']} line(s) removed from "
                f"{report['furniture_documents_affected']} document(s): {report['furniture_lines_found']} "
                "distinct line(s) repeated across the source"
            )
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
