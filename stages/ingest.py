"""The ingest stage: fetch what is new in one source into the raw and quarantine zones, incrementally.

Zone layout for a source ``S``; each run (an *ingest*, id ``I``) adds one batch:

- ``raw/S/batches/I.parquet``: the documents this run fetched (restricted: personal data)
- ``quarantine/S/I.parquet``: input of this run that could not become a document, with reasons
- ``raw/S/cursors/I.json``: the connector's cursor after this run, written before the report
- ``raw/S/ingests/I.json``: the run's report, written after these files: it commits the batch and its cursor
- ``raw/S/cursor.json``: a copy of the newest committed cursor (the next run reads the committed one)
- ``raw/S/ingest.json``: a copy of the newest report (what reports and the clean stage read first)

What a source may read is decided before anything is read (:mod:`catalog.drops`): a location whose fixed
part lies outside the operator's drop folders, in the storage root or in a system folder fails the run
with a one-line error; a single file it names that may not be read is quarantined as ``location_refused``,
unread. A record that cannot become a document row (a lone surrogate in a string, a date outside the
years 1-9999, a value of the wrong type) is quarantined too, so one odd record never blocks a source.

Idempotence: a run that fails before its report is written leaves at most an uncommitted batch, which
every reader ignores, and no cursor change, so the next run fetches the same items again. The cursor a run
starts from is the one committed with the newest report, so a crash after the report (before the copy in
``cursor.json``) does not fetch the same items twice. Items carry stable ``doc_id`` values, and the clean
stage keeps the newest delivery of each id, so a delivery repeated by the source yields no duplicates either.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any, TypedDict

from catalog.connectors import Quarantined, RawRecord, connector_for
from catalog.connectors.records import MAX_QUARANTINE_BYTES, lone_surrogate_detail
from catalog.documents import DOCUMENT_SCHEMA, QUARANTINE_SCHEMA, code_version, content_sha256, make_doc_id, utc_now
from catalog.drops import DropPolicy, LocationRefusedError
from catalog.failpoints import failpoint
from catalog.fetch import Fetcher
from catalog.parquet import BatchWriter, RejectedRow
from catalog.sources import SourceSpec
from catalog.storage import Storage
from catalog.zones import (
    batch_path,
    committed_cursor_path,
    cursor_path,
    ingest_report_path,
    quarantine_path,
    run_report_path,
    run_reports_folder,
)
from quality.normalise import normalise_text


class IngestReport(TypedDict):
    """What one ingest run wrote (``raw/<source>/ingests/<ingest id>.json``, newest also ``ingest.json``)."""

    source_id: str
    ingest_id: str
    ingested_at: str
    code_version: str
    licence: str
    status: str
    kind: str
    locations: int
    records_read: int
    documents: int
    documents_by_fetch_mode: dict[str, int]
    quarantined: int
    quarantined_by_reason: dict[str, int]
    text_chars: int
    raw_bytes: int
    duration_s: float


def current_cursor(storage: Storage, source_id: str) -> dict[str, Any]:
    """Return the cursor the next run starts from: the one committed with the newest report, else ``cursor.json``.

    ``cursor.json`` is written after the report, so it can lag behind it after a crash, never run ahead.
    """
    # report file names are ingest ids, which sort by time: the newest name is enough, no report is read
    names = storage.ls(run_reports_folder(source_id))
    ingests = [name.removesuffix(".json") for name in names if name.endswith(".json")]
    if ingests:
        committed = committed_cursor_path(source_id, max(ingests))
        if storage.exists(committed):
            return storage.read_json(committed)
    return storage.read_json(cursor_path(source_id)) if storage.exists(cursor_path(source_id)) else {}


def committed_ingests(storage: Storage, source_id: str) -> list[dict[str, Any]]:
    """Return the reports of every committed ingest run of a source, oldest first."""
    names = storage.ls(run_reports_folder(source_id))
    reports = [storage.read_json(f"{run_reports_folder(source_id)}/{name}") for name in names if name.endswith(".json")]
    return sorted(reports, key=lambda report: report["ingest_id"])


class SourceSuspendedError(RuntimeError):
    """A suspended source must not be fetched."""


def _review_bytes(record: RawRecord) -> bytes:
    """Return the bytes kept in quarantine for a record that parsed but cannot become a document."""
    if record.raw_bytes is not None:
        return record.raw_bytes[:MAX_QUARANTINE_BYTES]
    fields = {"native_id": record.native_id, "title": record.title, "url": record.url, "text": record.text}
    return _json_bytes(fields)


def _json_bytes(fields: dict[str, Any]) -> bytes:
    # backslashreplace: a lone surrogate (why the record may be here) is kept as its escape, not an error.
    text = json.dumps(fields, ensure_ascii=False, default=str)
    return text.encode("utf-8", "backslashreplace")[:MAX_QUARANTINE_BYTES]


def _storable(text: str) -> str:
    """Return a string the quarantine can store: lone surrogates (e.g. in a file name) as their escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if lone_surrogate_detail("", text) else text


def _unstorable(record: RawRecord) -> Quarantined | None:
    """Return a Quarantined for a record whose strings or date no document row can hold, else None."""
    if not isinstance(record.text, str):
        detail = f"the text is {type(record.text).__name__}"
        return Quarantined(record.location, record.record, "invalid_field_type", detail, _review_bytes(record))
    if not isinstance(record.native_id, str) or not record.native_id:
        return Quarantined(record.location, record.record, "missing_id", "no native id", _review_bytes(record))
    strings = {
        "native_id": record.native_id,
        "url": record.url,
        "title": record.title,
        "text": record.text,
        "lang": record.lang,
        "location": record.location,
        "record": record.record,
        "fetch_mode": record.fetch_mode,
    }
    named = [*strings.items(), *(("metadata", part) for item in (record.metadata or {}).items() for part in item)]
    for name, value in named:
        problem = lone_surrogate_detail(name, value) if isinstance(value, str) else None
        if problem:
            return Quarantined(record.location, record.record, "invalid_text", problem, _review_bytes(record))
    published = record.published_at
    if isinstance(published, datetime) and published.tzinfo is not None:
        try:
            published.astimezone(UTC)
        except OverflowError:
            detail = "the publication date lies outside the years 1-9999 in UTC"
            return Quarantined(record.location, record.record, "invalid_published_at", detail, _review_bytes(record))
    return None


def ingest_source(storage: Storage, spec: SourceSpec, fetcher: Fetcher | None = None) -> IngestReport:
    """Fetch what is new in a source, write one committed batch, advance its cursor; return the run report.

    The report accounts for every input item of the run: ``records_read == documents + quarantined``.
    """
    if not spec.fetchable:
        raise SourceSuspendedError(f"source {spec.id} is suspended and is not fetched")
    # A spec must not read the pipeline's own zones (other sources' raw data) or the machine's secrets.
    drops = DropPolicy.for_storage(storage)
    problem = drops.folder_problem(spec.location)
    if problem:
        raise LocationRefusedError(f"source {spec.id}: its location {problem}")
    started = time.perf_counter()
    started_at = utc_now()
    ingest_id = f"{started_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"
    version = code_version()
    cursor = current_cursor(storage, spec.id)
    connector = connector_for(spec, fetcher or Fetcher.for_spec(spec), cursor, drops=drops)
    reasons: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    locations: set[str] = set()
    text_chars = 0

    with (
        storage.staged_file(batch_path(spec.id, ingest_id)) as raw_local,
        storage.staged_file(quarantine_path(spec.id, ingest_id)) as quarantine_local,
        BatchWriter(raw_local, DOCUMENT_SCHEMA, isolate_bad_rows=True) as documents,
        BatchWriter(quarantine_local, QUARANTINE_SCHEMA) as quarantine,
    ):

        def to_quarantine(item: Quarantined) -> None:
            reasons[item.reason] += 1
            quarantine.write_row(
                {
                    "source_id": spec.id,
                    "ingest_id": ingest_id,
                    "location": _storable(item.location),
                    "record": _storable(item.record),
                    "reason": item.reason,
                    "detail": _storable(item.detail),
                    "raw_bytes": item.raw_bytes,
                    "quarantined_at": utc_now(),
                }
            )

        def rejected(rows: list[RejectedRow]) -> None:
            """Move rows the document batch refused (a value no row can hold) to quarantine instead."""
            nonlocal text_chars
            for row, error in rows:
                raw = row["annotations"]["raw"]
                text_chars -= len(row["text"]) if isinstance(row["text"], str) else 0
                modes[raw["fetch_mode"]] -= 1
                detail = f"the record cannot be stored as a document ({error})"
                review = _json_bytes({key: row[key] for key in ("native_id", "title", "url", "text")})
                to_quarantine(Quarantined(raw["location"], raw["record"], "unstorable_record", detail, review))

        for item in connector.read():
            locations.add(item.location)
            if isinstance(item, RawRecord):
                item = _unstorable(item) or item
            normalised = normalise_text(item.text) if isinstance(item, RawRecord) else ""
            if isinstance(item, RawRecord) and not normalised:
                raw = _review_bytes(item)
                item = Quarantined(item.location, item.record, "empty_text", "the text is blank", raw)
            if isinstance(item, Quarantined):
                to_quarantine(item)
                continue
            text_chars += len(item.text)
            modes[item.fetch_mode] += 1
            rejected(documents.write_row(_document_row(spec, item, normalised, ingest_id, started_at, version)))
        rejected(documents.flush())
    new_cursor = connector.next_cursor()

    report: IngestReport = {
        "source_id": spec.id,
        "ingest_id": ingest_id,
        "ingested_at": started_at.isoformat(),
        "code_version": version,
        "licence": spec.licence,
        "status": spec.status,
        "kind": spec.kind,
        "locations": len(locations),
        "records_read": documents.rows_written + quarantine.rows_written,
        "documents": documents.rows_written,
        "documents_by_fetch_mode": dict(sorted((mode, n) for mode, n in modes.items() if n)),
        "quarantined": quarantine.rows_written,
        "quarantined_by_reason": dict(sorted(reasons.items())),
        "text_chars": text_chars,
        "raw_bytes": storage.size(batch_path(spec.id, ingest_id)),
        "duration_s": round(time.perf_counter() - started, 3),
    }
    # Commit order: batch, quarantine (above) and this run's cursor, then the run report, then the copies.
    storage.write_json(committed_cursor_path(spec.id, ingest_id), new_cursor)
    failpoint("ingest:batch-written")
    storage.write_json(run_report_path(spec.id, ingest_id), report)
    storage.write_json(ingest_report_path(spec.id), report)
    failpoint("ingest:report-written")
    storage.write_json(cursor_path(spec.id), new_cursor)
    return report


def _document_row(
    spec: SourceSpec, item: RawRecord, normalised: str, ingest_id: str, fetched_at: Any, version: str
) -> dict[str, Any]:
    return {
        "doc_id": make_doc_id(spec.id, item.native_id),
        "source_id": spec.id,
        "native_id": item.native_id,
        "url": item.url,
        "title": item.title,
        "text": item.text,
        "lang": item.lang,
        "published_at": item.published_at,
        "fetched_at": fetched_at,
        "licence": spec.licence,
        "content_sha256": content_sha256(normalised),
        "annotations": {
            "raw": {
                "ingest_id": ingest_id,
                "location": item.location,
                "record": item.record,
                "code_version": version,
                "fetch_mode": item.fetch_mode,
                "ocr_confidence": item.ocr_confidence,
                "source_metadata": json.dumps(item.metadata, ensure_ascii=False, sort_keys=True, default=str)
                if item.metadata
                else None,
            },
            "clean": None,
            "anonymised": None,
        },
    }
