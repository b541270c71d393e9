"""The clean stage for one source: normalise text, pass the quality gate, drop exact duplicates, account for everything.

It reads every committed raw batch of the source (all ingest runs) and writes the source's full clean
snapshot, so counts in its report are cumulative over all runs.

Zone layout for a source ``S``:

- ``clean/S/documents.parquet``: normalised documents kept
- ``clean/S/excluded.parquet``: documents dropped here, each with a machine-readable reason
- ``clean/S/furniture.parquet``: the source's furniture lines removed, with their text, for review
- ``clean/S/clean.json``: the stage report, written last (the partition's commit marker)

Both document files hold text *before* anonymisation, so the clean zone is restricted like ``raw/``: the
drops stay beside the kept documents instead of in the ``excluded/`` zone, which only ever holds anonymised
documents (the release's duplicates). Reviewers with access to the restricted zones see why each was dropped;
everyone else sees the counts per reason in the report.

Dropped reasons: the quality gate's (``unexpected_language``, ``line_punct_ratio``, ``gopher_short_doc``,
...: see :mod:`quality.gate`), ``superseded_record`` (the same native id delivered again later in the same
snapshot: the last delivery wins) and ``duplicate_content`` (same normalised text as an earlier
document of the source). Step one normalises record batches, lets the gate decide per batch and streams
what passes into a local staging file (the rest into an excluded staging file); step two lets
DuckDB decide duplicates on the key columns only, out of core; step three streams the staging file
again and routes each row. Memory does not grow with the size of the source.

With ``strip_furniture`` (the default) step one reads the source twice: a first pass normalises every batch
into a local file while counting in how many documents each short line occurs (:mod:`quality.furniture`,
out of core), then the gate's pass removes the source's furniture lines from each batch before judging it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, TypedDict

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.documents import (
    ANNOTATIONS,
    CLEAN_ANNOTATION,
    DOCUMENT_SCHEMA,
    EXCLUDED_SCHEMA,
    code_version,
    content_sha256,
)
from catalog.failpoints import failpoint
from catalog.parquet import BatchWriter, iter_batches
from catalog.staging import temporary_directory
from catalog.storage import Storage, StorageError
from catalog.zones import batch_path, clean_excluded_path, clean_furniture_path, clean_path, clean_report_path
from quality.boilerplate import NewsBoilerplateCleaner
from quality.dedup import DropCursor, duplicate_drops_sql, split_by_drops, with_exclusion
from quality.furniture import Furniture, FurnitureCounter
from quality.gate import FILTER_OF_REASON, QualityGate
from quality.normalise import normalise_text
from stages.ingest import committed_ingests
from stages.report import add_examples

STAGE = "clean"
DEDUP_REASONS = ("superseded_record", "duplicate_content")
#: Columns of the gate's assessment that are decisions or provenance, not statistics.
_NOT_STATISTICS = frozenset({"keep", "reason", "lang", "lang_score", "ocr_confidence"})
#: Within a source, the earliest publication is kept; ties keep the earlier record of the snapshot.
KEEP_ORDER = "published_at NULLS LAST, file_idx, row"
#: Furniture lines listed in the report (most frequent first); the review file has them all.
REPORTED_FURNITURE_LINES = 50


class CleanReport(TypedDict):
    """The clean stage's accounting of one source (``clean/<source>/clean.json``, the partition's commit)."""

    source_id: str
    ingest_id: str
    ingested_at: str
    ingests: int
    code_version: str
    licence: str
    records_read: int
    input_documents: int
    kept: int
    dropped: int
    dropped_by_reason: dict[str, int]
    dropped_by_filter: dict[str, int]
    quality_gate: bool
    quality_profile: str | None
    languages: dict[str, int]
    quarantined: int
    quarantined_by_reason: dict[str, int]
    accounting_balanced: bool
    text_changed_by_normalisation: int
    boilerplate_lines_removed: int
    furniture_lines_removed: int
    furniture_documents_affected: int
    furniture_lines_found: int
    furniture_min_documents: int
    furniture: list[dict[str, Any]]
    dropped_examples: dict[str, list[str]]
    clean_bytes: int
    duration_s: float


def normalise_batch(
    batch: pa.RecordBatch, version: str, cleaner: NewsBoilerplateCleaner | None = None
) -> tuple[pa.RecordBatch, int, list[int]]:
    """Normalise the text of a batch of documents (and strip boilerplate lines), rehash it, fill the annotation.

    Returns the new batch, how many texts changed and the boilerplate lines removed per document.
    """
    before = batch.column("text").to_pylist()
    after = [normalise_text(text) for text in before]
    removed = [0] * len(after)
    if cleaner is not None:
        after, removed = cleaner.clean_normalised(after)
    changed = [a != b for a, b in zip(after, before, strict=True)]
    clean = pa.StructArray.from_arrays(
        [
            pa.array([version] * len(after), pa.string()),
            pa.array(changed, pa.bool_()),
            pa.array([len(text) for text in before], pa.int64()),
            pa.array([len(text) for text in after], pa.int64()),
            pa.nulls(len(after), pa.float64()),
            pa.nulls(len(after), CLEAN_ANNOTATION.field("quality").type),
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
    return pa.RecordBatch.from_pydict(columns, schema=DOCUMENT_SCHEMA), sum(changed), removed


def _statistics_map(assessment: Any) -> pa.MapArray:
    """Return the gate's statistics per document as one ``map<string, float64>`` (built column-wise, no row loop)."""
    names = [c for c in assessment.columns if c not in _NOT_STATISTICS]
    rows = assessment.height
    values = assessment.select(names).cast({name: float for name in names}).to_numpy().astype(np.float64)
    items = pa.array(values.reshape(-1), pa.float64(), mask=np.isnan(values.reshape(-1)))
    keys = pa.array(np.tile(np.array(names, dtype=object), rows), pa.string())
    offsets = pa.array(np.arange(0, rows * len(names) + 1, len(names), dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, keys, items)


def assess_batch(
    batch: pa.RecordBatch,
    gate: QualityGate,
    boilerplate_lines: list[int] | None = None,
    furniture_lines: list[int] | None = None,
) -> tuple[pa.RecordBatch, list[str | None]]:
    """Let the gate decide on a normalised batch: fill ``lang`` and the clean annotation's quality fields.

    ``boilerplate_lines`` and ``furniture_lines`` (lines removed per document) join the statistics.
    Returns the annotated batch and, per row, the reason it is dropped (``None``: kept).
    """
    raw = batch.column("annotations").field("raw")
    confidence = raw.field("ocr_confidence").to_pylist()
    is_ocr = pc.fill_null(pc.equal(raw.field("fetch_mode"), "ocr"), False).to_pylist()
    assessment = gate.assess(batch.column("text").to_pylist(), ocr_confidence=confidence, is_ocr=is_ocr)
    if boilerplate_lines is not None:
        assessment = assessment.with_columns(boilerplate_lines=pl.Series(boilerplate_lines, dtype=pl.Float64))
    if furniture_lines is not None:
        assessment = assessment.with_columns(furniture_lines=pl.Series(furniture_lines, dtype=pl.Float64))
    annotations = batch.column("annotations")
    clean = annotations.field("clean")
    clean = pa.StructArray.from_arrays(
        [clean.field(name) for name in ("code_version", "text_changed", "chars_before", "chars_after")]
        + [pa.array(assessment["lang_score"].to_list(), pa.float64()), _statistics_map(assessment)],
        fields=list(CLEAN_ANNOTATION),
    )
    columns = {name: batch.column(name) for name in batch.schema.names}
    columns["lang"] = pa.array(assessment["lang"].to_list(), pa.string())
    columns["annotations"] = pa.StructArray.from_arrays(
        [annotations.field("raw"), clean, annotations.field("anonymised")], fields=list(ANNOTATIONS)
    )
    return pa.RecordBatch.from_pydict(columns, schema=DOCUMENT_SCHEMA), assessment["reason"].to_list()


def replace_texts(batch: pa.RecordBatch, texts: list[str], removed: list[int]) -> pa.RecordBatch:
    """Return a normalised batch with new texts where ``removed`` says lines went: rehashed, annotation updated."""
    if not any(removed):
        return batch
    went = pa.array([n > 0 for n in removed], pa.bool_())
    annotations = batch.column("annotations")
    clean = annotations.field("clean")
    clean = pa.StructArray.from_arrays(
        [
            clean.field("code_version"),
            pc.or_(clean.field("text_changed"), went),
            clean.field("chars_before"),
            pa.array([len(text) for text in texts], pa.int64()),
            clean.field("lang_score"),
            clean.field("quality"),
        ],
        fields=list(CLEAN_ANNOTATION),
    )
    columns = {name: batch.column(name) for name in batch.schema.names}
    columns["text"] = pa.array(texts, pa.string())
    columns["content_sha256"] = pa.array(
        [
            content_sha256(text) if n else old
            for text, n, old in zip(texts, removed, columns["content_sha256"].to_pylist(), strict=True)
        ],
        pa.string(),
    )
    columns["annotations"] = pa.StructArray.from_arrays(
        [annotations.field("raw"), clean, annotations.field("anonymised")], fields=list(ANNOTATIONS)
    )
    return pa.RecordBatch.from_pydict(columns, schema=batch.schema)


#: One normalised batch: the batch, and per document the pattern boilerplate and furniture lines removed.
Normalised = tuple[pa.RecordBatch, list[int], list[int]]


def _normalised_batches(
    storage: Storage, source_id: str, ingests: list[Any], version: str, cleaner: NewsBoilerplateCleaner | None
) -> Iterator[Normalised]:
    """Stream the source's committed raw batches, oldest first, normalised (and pattern boilerplate stripped)."""
    for ingest in ingests:
        with storage.open_input(batch_path(source_id, ingest["ingest_id"])) as raw:
            for batch in iter_batches(raw):
                cleaned, _, boilerplate = normalise_batch(batch, version, cleaner)
                yield cleaned, boilerplate, [0] * cleaned.num_rows


def _without_furniture(
    batches: Iterator[Normalised], gate: QualityGate, tmp: str, con: Any
) -> tuple[Furniture, Iterator[Normalised]]:
    """Pass one over the source: count its furniture lines while staging the normalised batches locally.

    Returns the furniture and pass two: the staged batches with the furniture lines removed.
    """
    settings = gate.settings
    counter = FurnitureCounter(
        tmp,
        min_documents=settings.furniture_min_documents,
        min_share=settings.furniture_min_share,
        max_line_chars=settings.furniture_max_line_chars,
    )
    staged = os.path.join(tmp, "normalised.parquet")
    schema = DOCUMENT_SCHEMA.append(pa.field("boilerplate_lines", pa.int64()))
    with BatchWriter(staged, schema) as writer:
        for batch, boilerplate, _ in batches:
            counter.add(pl.from_arrow(batch.column("text")))
            writer.write_batch(batch.append_column("boilerplate_lines", pa.array(boilerplate, pa.int64())))
    furniture = counter.finish(con)

    def second_pass() -> Iterator[Normalised]:
        with open(staged, "rb") as handle:
            for batch in iter_batches(handle):
                boilerplate = batch.column("boilerplate_lines").to_pylist()
                batch = pa.RecordBatch.from_arrays(
                    [batch.column(name) for name in DOCUMENT_SCHEMA.names], schema=DOCUMENT_SCHEMA
                )
                texts, removed = furniture.strip(batch.column("text").to_pylist())
                yield replace_texts(batch, texts, removed), boilerplate, removed

    return furniture, second_pass()


def _by_filter(reasons: Counter[str]) -> dict[str, int]:
    """Count dropped documents per filter (``language``, ``ocr``, ``gopher_repetition``, ..., ``deduplication``)."""
    totals: Counter[str] = Counter()
    for reason, count in reasons.items():
        totals["deduplication" if reason in DEDUP_REASONS else FILTER_OF_REASON.get(reason, "other")] += count
    return dict(sorted(totals.items()))


def clean_source(
    storage: Storage, source_id: str, *, gate: QualityGate | None = None, memory_limit: str = "512MB"
) -> CleanReport:
    """Clean one source's committed raw snapshot into the clean and excluded zones; return the report.

    :param gate: the quality gate built from the source's spec (``QualityGate(spec.quality,
        spec.languages)``); ``None`` runs normalisation and deduplication only.
    """
    started = time.perf_counter()
    ingests = committed_ingests(storage, source_id)
    if not ingests:
        raise StorageError(f"source {source_id} has no committed raw batch: materialise raw_documents first")
    version = code_version()
    changed_total = 0
    input_documents = 0
    reasons: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    boilerplate_lines = 0
    examples: dict[str, list[str]] = {}
    with temporary_directory("clean-") as tmp:
        staging = os.path.join(tmp, "staging.parquet")
        rejected = os.path.join(tmp, "rejected.parquet")
        con = storage.duckdb(memory_limit=memory_limit)
        cleaner = gate.cleaner if gate is not None else None
        batches = _normalised_batches(storage, source_id, ingests, version, cleaner)
        furniture = None
        if gate is not None and gate.settings.strip_furniture:
            furniture, batches = _without_furniture(batches, gate, tmp, con)
        # All committed batches, oldest first, into one staging file: row order is delivery order, so
        # "the last delivery of a doc_id wins" is "the highest row wins".
        with BatchWriter(staging, DOCUMENT_SCHEMA) as writer, BatchWriter(rejected, EXCLUDED_SCHEMA) as rejects:
            for cleaned, boilerplate, furniture_lines in batches:
                boilerplate_lines += sum(boilerplate)
                changed_total += pc.sum(cleaned.column("annotations").field("clean").field("text_changed")).as_py() or 0
                input_documents += cleaned.num_rows
                if gate is None:
                    writer.write_batch(cleaned)
                    continue
                assessed, why = assess_batch(
                    cleaned, gate, boilerplate if cleaner else None, furniture_lines if furniture is not None else None
                )
                languages.update(assessed.column("lang").to_pylist())
                keep = pa.array([reason is None for reason in why], pa.bool_())
                writer.write_batch(assessed.filter(keep))
                dropped_why = [reason for reason in why if reason is not None]
                if dropped_why:
                    dropped = assessed.filter(pc.invert(keep))
                    rejects.write_batch(with_exclusion(dropped, STAGE, dropped_why, [None] * len(dropped_why)))
                    reasons.update(dropped_why)

        drops = DropCursor.from_arrow(con.sql(duplicate_drops_sql([staging], KEEP_ORDER)).to_arrow_reader(8_192))
        with (
            storage.staged_file(clean_path(source_id)) as kept_local,
            storage.staged_file(clean_excluded_path(source_id)) as excluded_local,
            BatchWriter(kept_local, DOCUMENT_SCHEMA) as kept_writer,
            BatchWriter(excluded_local, EXCLUDED_SCHEMA) as excluded_writer,
            open(staging, "rb") as staged,
        ):
            for kept_batch, dropped, why, duplicate_of in split_by_drops(iter_batches(staged), drops.for_file(0)):
                kept_writer.write_batch(kept_batch)
                excluded_writer.write_batch(with_exclusion(dropped, STAGE, why, duplicate_of))
                add_examples(examples, dropped.column("doc_id").to_pylist(), why)
                reasons.update(why)
            with open(rejected, "rb") as rejected_file:
                for batch in iter_batches(rejected_file):
                    excluded_writer.write_batch(batch)
                    add_examples(
                        examples, batch.column("doc_id").to_pylist(), batch.column("excluded_reason").to_pylist()
                    )
        # the furniture lines' text may name people (a byline): only here, in the restricted clean zone
        if furniture is None:  # not asked for: an empty review file, no stale one from an earlier run
            furniture = Furniture({}, 0)
        with storage.staged_file(clean_furniture_path(source_id)) as furniture_local:
            pq.write_table(furniture.review_table(), furniture_local)
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
    report: CleanReport = {
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
        "dropped_by_reason": {
            **{reason: reasons.get(reason, 0) for reason in DEDUP_REASONS},
            **{reason: count for reason, count in sorted(reasons.items()) if reason not in DEDUP_REASONS},
        },
        "dropped_by_filter": _by_filter(reasons),
        "quality_gate": gate is not None,
        "quality_profile": gate.settings.profile if gate is not None else None,
        "languages": dict(languages.most_common()),
        "quarantined": sum(quarantined.values()),
        "quarantined_by_reason": dict(sorted(quarantined.items())),
        "accounting_balanced": kept + dropped + sum(quarantined.values()) == records_read,
        "text_changed_by_normalisation": changed_total,
        "boilerplate_lines_removed": boilerplate_lines,
        "furniture_lines_removed": furniture.lines_removed,
        "furniture_documents_affected": furniture.documents_affected,
        "furniture_lines_found": len(furniture.found()),
        "furniture_min_documents": furniture.threshold,
        # hash, document frequency and length only: the text is in the review file beside this report
        "furniture": [asdict(line) for line in furniture.found()[:REPORTED_FURNITURE_LINES]],
        # ids only: a reviewer finds the documents, with their reason, in the excluded file
        "dropped_examples": {reason: examples[reason] for reason in sorted(examples)},
        "clean_bytes": storage.size(clean_path(source_id)),
        "duration_s": round(time.perf_counter() - started, 3),
    }
    failpoint("clean:documents-written")
    storage.write_json(clean_report_path(source_id), report)
    return report
