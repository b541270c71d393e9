"""The clean stage for one source: normalise text, drop exact duplicates, account for everything.

It reads every committed raw batch of the source (all ingest runs) and writes the source's full clean
snapshot, so counts in its report are cumulative over all runs.

Zone layout for a source ``S``:

- ``clean/S/documents.parquet``: normalised documents kept
- ``excluded/clean/S.parquet``: documents dropped here, each with a machine-readable reason
- ``clean/S/clean.json``: the stage report, written last (the partition's commit marker)

Dropped reasons: ``superseded_record`` (the same native id delivered again later in the same
snapshot: the last delivery wins) and ``duplicate_content`` (same normalised text as an earlier
document of the source). Step one streams record batches into a local staging file; step two lets
DuckDB decide duplicates on the key columns only, out of core; step three streams the staging file
again and routes each row. Memory does not grow with the size of the source.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from typing import Any

import pyarrow as pa

from catalog.documents import (
    ANNOTATIONS,
    CLEAN_ANNOTATION,
    DOCUMENT_SCHEMA,
    EXCLUDED_SCHEMA,
    code_version,
    content_sha256,
)
from catalog.ingest import batch_path, committed_ingests
from catalog.parquet import BatchWriter, iter_batches
from catalog.storage import Storage, StorageError
from quality.dedup import DropCursor, duplicate_drops_sql, split_by_drops, with_exclusion
from quality.normalise import normalise_text

STAGE = "clean"
DROP_REASONS = ("superseded_record", "duplicate_content")
#: Within a source, the earliest publication is kept; ties keep the earlier record of the snapshot.
KEEP_ORDER = "published_at NULLS LAST, file_idx, row"


def clean_path(source_id: str) -> str:
    """Path of a source's clean documents."""
    return f"clean/{source_id}/documents.parquet"


def clean_report_path(source_id: str) -> str:
    """Path of a source's clean report (commit marker of the clean partition)."""
    return f"clean/{source_id}/clean.json"


def excluded_path(stage: str, source_id: str) -> str:
    """Path of the documents a stage dropped for a source."""
    return f"excluded/{stage}/{source_id}.parquet"


def normalise_batch(batch: pa.RecordBatch, version: str) -> tuple[pa.RecordBatch, int]:
    """Normalise the text of a batch of documents, rehash it and fill the clean annotation.

    Returns the new batch and how many texts normalisation changed.
    """
    before = batch.column("text").to_pylist()
    after = [normalise_text(text) for text in before]
    changed = [a != b for a, b in zip(after, before, strict=True)]
    clean = pa.StructArray.from_arrays(
        [
            pa.array([version] * len(after), pa.string()),
            pa.array(changed, pa.bool_()),
            pa.array([len(text) for text in before], pa.int64()),
            pa.array([len(text) for text in after], pa.int64()),
        ],
        fields=list(CLEAN_ANNOTATION),
    )
    annotations = batch.column("annotations")
    columns = {name: batch.column(name) for name in batch.schema.names}
    columns["text"] = pa.array(after, pa.string())
    columns["content_sha256"] = pa.array([content_sha256(text) for text in after], pa.string())
    columns["annotations"] = pa.StructArray.from_arrays(
        [annotations.field("raw"), clean, pa.nulls(len(after), ANNOTATIONS.field("anonymised").type)],
        fields=list(ANNOTATIONS),
    )
    return pa.RecordBatch.from_pydict(columns, schema=DOCUMENT_SCHEMA), sum(changed)


def clean_source(storage: Storage, source_id: str, *, memory_limit: str = "512MB") -> dict[str, Any]:
    """Clean one source's committed raw snapshot into the clean and excluded zones; return the report."""
    started = time.perf_counter()
    ingests = committed_ingests(storage, source_id)
    if not ingests:
        raise StorageError(f"source {source_id} has no committed raw batch: materialise raw_documents first")
    version = code_version()
    changed_total = 0
    input_documents = 0
    reasons: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="corpusfabriek-clean-") as tmp:
        staging = os.path.join(tmp, "staging.parquet")
        # All committed batches, oldest first, into one staging file: row order is delivery order, so
        # "the last delivery of a doc_id wins" is "the highest row wins".
        with BatchWriter(staging, DOCUMENT_SCHEMA) as writer:
            for ingest in ingests:
                with storage.open_input(batch_path(source_id, ingest["ingest_id"])) as raw:
                    for batch in iter_batches(raw):
                        cleaned, changed = normalise_batch(batch, version)
                        writer.write_batch(cleaned)
                        changed_total += changed
                        input_documents += cleaned.num_rows

        con = storage.duckdb(memory_limit=memory_limit)
        drops = DropCursor.from_arrow(con.sql(duplicate_drops_sql([staging], KEEP_ORDER)).to_arrow_reader(8_192))
        with (
            storage.staged_file(clean_path(source_id)) as kept_local,
            storage.staged_file(excluded_path(STAGE, source_id)) as excluded_local,
            BatchWriter(kept_local, DOCUMENT_SCHEMA) as kept_writer,
            BatchWriter(excluded_local, EXCLUDED_SCHEMA) as excluded_writer,
            open(staging, "rb") as staged,
        ):
            for kept_batch, dropped, why, duplicate_of in split_by_drops(iter_batches(staged), drops.for_file(0)):
                kept_writer.write_batch(kept_batch)
                excluded_writer.write_batch(with_exclusion(dropped, STAGE, why, duplicate_of))
                reasons.update(why)
        con.close()
        if not drops.exhausted():
            raise RuntimeError(f"source {source_id}: deduplication decisions were left unapplied")
    kept = kept_writer.rows_written

    dropped = sum(reasons.values())
    records_read = sum(ingest["records_read"] for ingest in ingests)
    quarantined: Counter[str] = Counter()
    for ingest in ingests:
        quarantined.update(ingest["quarantined_by_reason"])
    latest = ingests[-1]
    report = {
        "source_id": source_id,
        "ingest_id": latest["ingest_id"],
        "ingested_at": latest["ingested_at"],
        "ingests": len(ingests),
        "code_version": version,
        "licence": latest["licence"],
        "records_read": records_read,
        "input_documents": input_documents,
        "kept": kept,
        "dropped": dropped,
        "dropped_by_reason": {reason: reasons.get(reason, 0) for reason in DROP_REASONS},
        "quarantined": sum(quarantined.values()),
        "quarantined_by_reason": dict(sorted(quarantined.items())),
        "accounting_balanced": kept + dropped + sum(quarantined.values()) == records_read,
        "text_changed_by_normalisation": changed_total,
        "clean_bytes": storage.size(clean_path(source_id)),
        "duration_s": round(time.perf_counter() - started, 3),
    }
    storage.write_json(clean_report_path(source_id), report)
    return report
