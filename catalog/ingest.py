"""The ingest stage: read one source through its connector into the raw and quarantine zones.

Zone layout for a source ``S`` (each ingest replaces the previous snapshot atomically):

- ``raw/S/documents.parquet``: documents as fetched (restricted: personal data)
- ``quarantine/S/quarantine.parquet``: input that could not become a document, with reasons
- ``raw/S/ingest.json``: the ingest report, written last, so a reader trusts the snapshot only when it exists
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from typing import Any

from catalog.connectors import Quarantined, RawRecord, connector_for
from catalog.connectors.files import MAX_QUARANTINE_BYTES
from catalog.documents import (
    DOCUMENT_SCHEMA,
    QUARANTINE_SCHEMA,
    code_version,
    content_sha256,
    make_doc_id,
    utc_now,
)
from catalog.parquet import BatchWriter
from catalog.sources import SourceSpec
from catalog.storage import Storage
from quality.normalise import normalise_text


def raw_path(source_id: str) -> str:
    """Path of a source's raw snapshot."""
    return f"raw/{source_id}/documents.parquet"


def ingest_report_path(source_id: str) -> str:
    """Path of a source's ingest report (the snapshot's commit marker)."""
    return f"raw/{source_id}/ingest.json"


def quarantine_path(source_id: str) -> str:
    """Path of a source's quarantine file."""
    return f"quarantine/{source_id}/quarantine.parquet"


class SourceSuspendedError(RuntimeError):
    """A suspended source must not be fetched."""


def _review_bytes(record: RawRecord) -> bytes:
    """Return the bytes kept in quarantine for a record that parsed but cannot become a document."""
    if record.raw_bytes is not None:
        return record.raw_bytes[:MAX_QUARANTINE_BYTES]
    fields = {"native_id": record.native_id, "title": record.title, "url": record.url, "text": record.text}
    return json.dumps(fields, ensure_ascii=False).encode("utf-8")[:MAX_QUARANTINE_BYTES]


def ingest_source(storage: Storage, spec: SourceSpec) -> dict[str, Any]:
    """Fetch a source and write its raw and quarantine zones; return the ingest report.

    The report accounts for every input record: ``records_read == documents + quarantined``.
    """
    if not spec.fetchable:
        raise SourceSuspendedError(f"source {spec.id} is suspended and is not fetched")
    started = time.perf_counter()
    started_at = utc_now()
    ingest_id = f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    version = code_version()
    reasons: Counter[str] = Counter()
    locations: set[str] = set()
    text_chars = 0

    with (
        storage.staged_file(raw_path(spec.id)) as raw_local,
        storage.staged_file(quarantine_path(spec.id)) as quarantine_local,
    ):
        with (
            BatchWriter(raw_local, DOCUMENT_SCHEMA) as documents,
            BatchWriter(quarantine_local, QUARANTINE_SCHEMA) as quarantine,
        ):
            for item in connector_for(spec).read():
                locations.add(item.location)
                normalised = normalise_text(item.text) if isinstance(item, RawRecord) else ""
                if isinstance(item, RawRecord) and not normalised:
                    raw = _review_bytes(item)
                    item = Quarantined(item.location, item.record, "empty_text", "the text is blank", raw)
                if isinstance(item, Quarantined):
                    reasons[item.reason] += 1
                    quarantine.write_row(
                        {
                            "source_id": spec.id,
                            "ingest_id": ingest_id,
                            "location": item.location,
                            "record": item.record,
                            "reason": item.reason,
                            "detail": item.detail,
                            "raw_bytes": item.raw_bytes,
                            "quarantined_at": utc_now(),
                        }
                    )
                    continue
                text_chars += len(item.text)
                documents.write_row(
                    {
                        "doc_id": make_doc_id(spec.id, item.native_id),
                        "source_id": spec.id,
                        "native_id": item.native_id,
                        "url": item.url,
                        "title": item.title,
                        "text": item.text,
                        "lang": None,
                        "published_at": item.published_at,
                        "fetched_at": started_at,
                        "licence": spec.licence,
                        "content_sha256": content_sha256(normalised),
                        "annotations": {
                            "raw": {
                                "ingest_id": ingest_id,
                                "location": item.location,
                                "record": item.record,
                                "code_version": version,
                            },
                            "clean": None,
                        },
                    }
                )
        documents_written = documents.rows_written
        quarantined = sum(reasons.values())

    report = {
        "source_id": spec.id,
        "ingest_id": ingest_id,
        "ingested_at": started_at.isoformat(),
        "code_version": version,
        "licence": spec.licence,
        "status": spec.status,
        "locations": len(locations),
        "records_read": documents_written + quarantined,
        "documents": documents_written,
        "quarantined": quarantined,
        "quarantined_by_reason": dict(sorted(reasons.items())),
        "text_chars": text_chars,
        "raw_bytes": storage.size(raw_path(spec.id)),
        "duration_s": round(time.perf_counter() - started, 3),
    }
    storage.write_json(ingest_report_path(spec.id), report)
    return report
