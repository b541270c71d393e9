"""The anonymisation stage for one source, and the residual scan that guards what it wrote.

Zone layout for a source ``S``:

- ``anonymised/S/documents.parquet``: the clean documents with personal data replaced in ``title`` and
  ``text``, ``content_sha256`` recomputed, and ``annotations.anonymised`` filled: entity counts, kept
  names and the offsets of every replacement in the new text (never the values);
- ``anonymised/S/anonymised.json``: the stage report, written last (the partition's commit marker).

Every clean document comes out again (anonymisation drops nothing), so the accounting identity of the
clean stage carries over unchanged: ``documents_in == documents_out`` is part of the report.

:func:`residual_scan` re-reads the anonymised file with the structured recognizers and reports any
e-mail, IBAN, BSN, phone or credit card number that is *not* one of the recorded replacements. Surrogates
pass checksums on purpose, so the recorded offsets are what tells them apart from a value that was missed
(for example an entity type a source's policy left out).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from catalog.documents import DOCUMENT_SCHEMA, code_version, content_sha256
from catalog.parquet import BatchWriter, iter_batches
from catalog.storage import Storage, StorageError
from quality.clean import clean_path

if TYPE_CHECKING:  # the engine imports Presidio: keep this module light for path helpers
    from anonymisation.anonymiser import AnonymisedText, Anonymiser
    from anonymisation.engine import Finding

STAGE = "anonymise"

#: Entity types whose presence after anonymisation blocks a release.
RESIDUAL_ENTITIES = ("EMAIL_ADDRESS", "IBAN_CODE", "NL_BSN", "PHONE_NUMBER", "CREDIT_CARD")


def anonymised_path(source_id: str) -> str:
    """Path of a source's anonymised documents."""
    return f"anonymised/{source_id}/documents.parquet"


def anonymised_report_path(source_id: str) -> str:
    """Path of a source's anonymisation report (commit marker of the partition)."""
    return f"anonymised/{source_id}/anonymised.json"


def _spans(replacements: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"entity": entity, "start": start, "end": end} for entity, start, end in replacements]


def _annotation(version: str, operator: str, title: AnonymisedText | None, text: AnonymisedText) -> dict[str, Any]:
    counts = Counter(text.replaced)
    kept = sum(text.kept.values())
    if title is not None:
        counts.update(title.replaced)
        kept += sum(title.kept.values())
    return {
        "code_version": version,
        "operator": operator,
        "entities": sorted(counts.items()),
        "kept_names": kept,
        "replacements": [{"entity": e, "start": s, "end": t} for e, s, t in text.replacements],
        "title_replacements": [
            {"entity": e, "start": s, "end": t} for e, s, t in (title.replacements if title else [])
        ],
    }


def anonymise_batch(
    batch: pa.RecordBatch, anonymiser: Anonymiser, operator: str, version: str
) -> tuple[pa.RecordBatch, Counter[str], int, int]:
    """Anonymise the titles and texts of a batch of clean documents.

    Returns the new batch, replacements per entity type, kept allow-listed names, and how many documents
    had at least one replacement.
    """
    rows = batch.to_pylist()
    totals: Counter[str] = Counter()
    kept = touched = 0
    for row in rows:
        title = anonymiser.anonymise(row["title"]) if row["title"] else None
        text = anonymiser.anonymise(row["text"])
        annotation = _annotation(version, operator, title, text)
        if title is not None:
            row["title"] = title.text
        row["text"] = text.text
        row["content_sha256"] = content_sha256(text.text)
        annotations = dict(row["annotations"] or {})
        annotations["anonymised"] = annotation
        row["annotations"] = annotations
        totals.update(dict(annotation["entities"]))
        kept += annotation["kept_names"]
        touched += bool(annotation["entities"])
    return pa.RecordBatch.from_pylist(rows, schema=DOCUMENT_SCHEMA), totals, kept, touched


def anonymise_source(
    storage: Storage,
    source_id: str,
    anonymiser: Anonymiser,
    *,
    operator: str,
    clean_report: dict[str, Any],
    key_id: str | None = None,
) -> dict[str, Any]:
    """Anonymise one source's clean documents into the anonymised zone; return the report.

    :param operator: the policy's default operator name, recorded in annotations and the report.
    :param clean_report: the clean partition's report (its ingest id and licence are carried forward).
    :param key_id: the short salted fingerprint of the anonymiser's key (``catalog.keys``), ``None`` when
        the policy uses no key; recorded so that a release never mixes sources anonymised with other keys.
    """
    if not storage.exists(clean_path(source_id)):
        raise StorageError(f"source {source_id} has no clean documents: materialise clean_documents first")
    started = time.perf_counter()
    version = code_version()
    totals: Counter[str] = Counter()
    kept = touched = documents_in = chars = 0
    with (
        storage.open_input(clean_path(source_id)) as clean,
        storage.staged_file(anonymised_path(source_id)) as local,
        BatchWriter(local, DOCUMENT_SCHEMA) as writer,
    ):
        for batch in iter_batches(clean):
            documents_in += batch.num_rows
            chars += sum(len(t) for t in batch.column("text").to_pylist())
            out, counts, kept_here, touched_here = anonymise_batch(batch, anonymiser, operator, version)
            writer.write_batch(out)
            totals.update(counts)
            kept += kept_here
            touched += touched_here
    duration = time.perf_counter() - started
    report = {
        "source_id": source_id,
        "ingest_id": clean_report["ingest_id"],
        "ingested_at": clean_report["ingested_at"],
        "licence": clean_report["licence"],
        "code_version": version,
        "clean_code_version": clean_report["code_version"],
        "operator": operator,
        "key_id": key_id,
        "documents_in": documents_in,
        "documents_out": writer.rows_written,
        "documents_with_personal_data": touched,
        "replacements": sum(totals.values()),
        "replacements_by_entity": dict(sorted(totals.items())),
        "kept_names": kept,
        "chars": chars,
        "duration_s": round(duration, 3),
        "mb_per_s": round(chars / 1e6 / duration, 3) if duration > 0 else None,
    }
    storage.write_json(anonymised_report_path(source_id), report)
    return report


def residual_analyzer() -> Any:
    """Build an analyzer with only the structured recognizers the residual scan looks for."""
    from anonymisation.engine import build_analyzer
    from anonymisation.recognizers import dutch_recognizers

    wanted = set(RESIDUAL_ENTITIES)
    return build_analyzer([r for r in dutch_recognizers() if set(r.supported_entities) & wanted])


def _unrecorded(findings: Iterable[Finding], recorded: list[dict[str, Any]]) -> Iterator[Finding]:
    spans = [(r["start"], r["end"]) for r in recorded or ()]
    for finding in findings:
        if not any(start <= finding.start and finding.end <= end for start, end in spans):
            yield finding


def residual_scan(storage: Storage, source_id: str, analyzer: Any = None, *, max_examples: int = 20) -> dict[str, Any]:
    """Scan a source's anonymised documents for structured identifiers that were not replaced.

    Returns ``{"documents": n, "residuals": total, "by_entity": {...}, "by_document": {doc_id: n},
    "examples": [{doc_id, field, entity, start, end}]}``: types, document ids and offsets only, never the
    values found.
    """
    from anonymisation.engine import LANGUAGE, Finding, resolve_overlaps

    engine = analyzer or residual_analyzer()
    by_entity: Counter[str] = Counter()
    by_document: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    documents = 0
    with storage.open_input(anonymised_path(source_id)) as handle:
        for batch in iter_batches(handle, columns=["doc_id", "title", "text", "annotations"]):
            for row in batch.to_pylist():
                documents += 1
                annotation = (row["annotations"] or {}).get("anonymised") or {}
                for field_name, recorded_key in (("text", "replacements"), ("title", "title_replacements")):
                    value = row[field_name]
                    if not value:
                        continue
                    results = engine.analyze(text=value, language=LANGUAGE, entities=list(RESIDUAL_ENTITIES))
                    findings = resolve_overlaps(Finding(r.entity_type, r.start, r.end, float(r.score)) for r in results)
                    for finding in _unrecorded(findings, annotation.get(recorded_key) or []):
                        by_entity[finding.entity] += 1
                        by_document[row["doc_id"]] += 1
                        if len(examples) < max_examples:
                            examples.append(
                                {
                                    "doc_id": row["doc_id"],
                                    "field": field_name,
                                    "entity": finding.entity,
                                    "start": finding.start,
                                    "end": finding.end,
                                }
                            )
    return {
        "source_id": source_id,
        "documents": documents,
        "residuals": sum(by_entity.values()),
        "by_entity": {entity: by_entity.get(entity, 0) for entity in RESIDUAL_ENTITIES},
        "by_document": dict(by_document),
        "examples": examples,
    }


__all__ = [
    "RESIDUAL_ENTITIES",
    "anonymise_batch",
    "anonymise_source",
    "anonymised_path",
    "anonymised_report_path",
    "residual_analyzer",
    "residual_scan",
]
