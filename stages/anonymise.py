"""The anonymisation stage for one source, and the residual scan that guards what it wrote.

Zone layout for a source ``S``:

- ``anonymised/S/documents.parquet``: the clean documents with personal data replaced in every string field
  that reaches a release: ``title`` and ``text`` (surrogates, one document so a name is found and replaced
  alike in both), ``native_id`` (a keyed pseudonym), ``url`` (shape kept, identifying parts replaced by keyed
  tokens) and the raw annotation's ``location``, ``record`` and ``source_metadata``
  (:mod:`anonymisation.document`); ``content_sha256`` recomputed, ``doc_id`` unchanged (the identity used by
  deduplication and releases), and ``annotations.anonymised`` filled: entity counts, kept names, the offsets
  of every replacement in the new title and text, and the parts pseudonymised per field (never the values);
- ``anonymised/S/anonymised.json``: the stage report, written last (the partition's commit marker).

Every clean document comes out again (anonymisation drops nothing), so the accounting identity of the
clean stage carries over unchanged: ``documents_in == documents_out`` is part of the report.

:func:`residual_scan` re-reads every released string field of the anonymised file with the structured
recognizers and reports any e-mail, IBAN, BSN, phone or credit card number that is *not* one of the recorded
replacements. Surrogates pass checksums on purpose, so the recorded offsets are what tells them apart from a
value that was missed (for example an entity type a source's policy left out); the short fields have no
recorded replacements (their replacements are tokens that match no recognizer), so any finding there counts.
"""

from __future__ import annotations

import json
import re
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import unquote

import pyarrow as pa

from anonymisation.entities import RESIDUAL_ENTITIES
from catalog.documents import DOCUMENT_SCHEMA, code_version, content_sha256
from catalog.failpoints import failpoint
from catalog.parquet import BatchWriter, iter_batches
from catalog.storage import Storage, StorageError
from catalog.zones import anonymised_path, anonymised_report_path, clean_path

if TYPE_CHECKING:  # the engine imports Presidio, the clean stage polars: import them only to run
    from anonymisation.anonymiser import Anonymiser
    from anonymisation.document import AnonymisedDocument, DocumentAnonymiser
    from anonymisation.engine import Finding
    from stages.clean import CleanReport

STAGE = "anonymise"

#: The short string fields that reach a release besides title and text (the last three in annotations.raw).
SHORT_FIELDS = ("native_id", "url", "location", "record", "source_metadata")


#: Fields of ``annotations.raw`` that reach a release as strings.
RAW_STRING_FIELDS = ("location", "record", "source_metadata")


def _replacement_spans(replacements: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"entity": e, "start": s, "end": t} for e, s, t in replacements]


class AnonymisationReport(TypedDict):
    """The anonymisation stage's report of one source (``anonymised/<source>/anonymised.json``, the commit).

    Counts and types only, never a value.
    """

    source_id: str
    ingest_id: str
    ingested_at: str
    licence: str
    code_version: str
    clean_code_version: str
    operator: str
    key_id: str | None
    native_id_policy: str
    name_model: str
    documents_in: int
    documents_out: int
    documents_with_personal_data: int
    replacements: int
    replacements_by_entity: dict[str, int]
    kept_names: int
    fields_pseudonymised: dict[str, int]
    chars: int
    duration_s: float
    mb_per_s: float | None


def _annotation(version: str, operator: str, document: AnonymisedDocument) -> dict[str, Any]:
    title, text = document.title, document.text
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
        "replacements": _replacement_spans(text.replacements),
        "title_replacements": _replacement_spans(title.replacements if title else []),
        "fields_pseudonymised": sorted(document.pseudonymised.items()),
    }


def anonymise_batch(
    batch: pa.RecordBatch, documents: DocumentAnonymiser, operator: str, version: str
) -> tuple[pa.RecordBatch, Counter[str], int, int, Counter[str]]:
    """Anonymise every released string field of a batch of clean documents.

    Returns the new batch, replacements per entity type (title and text), kept allow-listed names, how many
    documents had at least one replacement in title or text, and per field how many documents had parts of
    it pseudonymised.
    """
    from anonymisation.document import DocumentFields

    rows = batch.to_pylist()
    totals: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    kept = touched = 0
    for row in rows:
        annotations = dict(row["annotations"] or {})
        raw = dict(annotations.get("raw") or {})
        document = documents.anonymise(
            DocumentFields(
                native_id=row["native_id"],
                text=row["text"],
                title=row["title"],
                url=row["url"],
                **{name: raw.get(name) for name in RAW_STRING_FIELDS},
            )
        )
        new = document.fields
        row.update(native_id=new.native_id, url=new.url, title=new.title, text=new.text)
        row["content_sha256"] = content_sha256(new.text)
        if annotations.get("raw") is not None:
            raw.update({name: getattr(new, name) for name in RAW_STRING_FIELDS})
            annotations["raw"] = raw
        annotation = _annotation(version, operator, document)
        annotations["anonymised"] = annotation
        row["annotations"] = annotations
        totals.update(dict(annotation["entities"]))
        fields.update(document.pseudonymised.keys())
        kept += annotation["kept_names"]
        touched += bool(annotation["entities"])
    return pa.RecordBatch.from_pylist(rows, schema=DOCUMENT_SCHEMA), totals, kept, touched, fields


def anonymise_source(
    storage: Storage,
    source_id: str,
    anonymiser: Anonymiser,
    *,
    operator: str,
    clean_report: CleanReport,
    key_id: str | None = None,
) -> AnonymisationReport:
    """Anonymise one source's clean documents into the anonymised zone; return the report.

    :param anonymiser: the source's anonymiser; it must hold the secret key (ids, URLs and metadata are
        pseudonymised with it whatever the operator).
    :param operator: the policy's default operator name, recorded in annotations and the report.
    :param clean_report: the clean partition's report (its ingest id and licence are carried forward).
    :param key_id: the short salted fingerprint of the anonymiser's key (``catalog.keys``); recorded so that a
        release never mixes sources anonymised with other keys.
    :raises AnonymisationKeyError: the anonymiser has no key.
    """
    from anonymisation.document import DocumentAnonymiser

    documents = DocumentAnonymiser(anonymiser)  # fails before anything is read when the key is missing
    if not storage.exists(clean_path(source_id)):
        raise StorageError(f"source {source_id} has no clean documents: materialise clean_documents first")
    started = time.perf_counter()
    version = code_version()
    totals: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    kept = touched = documents_in = chars = 0
    with (
        storage.open_input(clean_path(source_id)) as clean,
        storage.staged_file(anonymised_path(source_id)) as local,
        BatchWriter(local, DOCUMENT_SCHEMA) as writer,
    ):
        for batch in iter_batches(clean):
            documents_in += batch.num_rows
            chars += sum(len(t) for t in batch.column("text").to_pylist())
            out, counts, kept_here, touched_here, fields_here = anonymise_batch(batch, documents, operator, version)
            writer.write_batch(out)
            totals.update(counts)
            fields.update(fields_here)
            kept += kept_here
            touched += touched_here
    duration = time.perf_counter() - started
    report: AnonymisationReport = {
        "source_id": source_id,
        "ingest_id": clean_report["ingest_id"],
        "ingested_at": clean_report["ingested_at"],
        "licence": clean_report["licence"],
        "code_version": version,
        "clean_code_version": clean_report["code_version"],
        "operator": operator,
        "key_id": key_id,
        "native_id_policy": anonymiser.native_id,
        # which person-name model found the names (the rules alone: "none"); its card is in the package
        "name_model": _name_model_id(),
        "documents_in": documents_in,
        "documents_out": writer.rows_written,
        "documents_with_personal_data": touched,
        "replacements": sum(totals.values()),
        "replacements_by_entity": dict(sorted(totals.items())),
        "kept_names": kept,
        # documents with parts of a short field replaced by keyed pseudonyms, per field
        "fields_pseudonymised": {name: fields.get(name, 0) for name in SHORT_FIELDS},
        "chars": chars,
        "duration_s": round(duration, 3),
        "mb_per_s": round(chars / 1e6 / duration, 3) if duration > 0 else None,
    }
    failpoint("anonymise:documents-written")
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


#: Between the short fields read in one pass: no residual pattern crosses a line, and the gap is wider than
#: any recognizer's context window, so a context word of one field ("?bsn=") never counts for another.
_PIECE_SEPARATOR = "\n" * 128
#: Metadata keys named in the scan's output as they are (connector-defined names, never values).
_SAFE_KEY = re.compile(r"^[a-z][a-z0-9_:-]{0,39}$")


def _released_strings(row: dict[str, Any]) -> Iterator[tuple[str, str, list[dict[str, Any]] | None]]:
    """Yield ``(field name, value, recorded replacements or None)`` for every released string of a row."""
    annotations = row["annotations"] or {}
    anonymised = annotations.get("anonymised") or {}
    raw = annotations.get("raw") or {}
    yield "text", row["text"], anonymised.get("replacements") or []
    yield "title", row["title"], anonymised.get("title_replacements") or []
    yield "native_id", row["native_id"], None
    yield "url", row["url"], None
    yield "location", raw.get("location"), None
    yield "record", raw.get("record"), None
    metadata = raw.get("source_metadata")
    if not metadata:
        return
    try:
        parsed = json.loads(metadata)
    except ValueError:
        yield "source_metadata", metadata, None
        return
    for key, value in _json_strings(parsed, ""):
        yield ("source_metadata." + key if _SAFE_KEY.match(key) else "source_metadata"), value, None


def _json_strings(value: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _json_strings(v, key or str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v, key)


def _scan_texts(name: str, value: str) -> list[str]:
    """Return what the scan reads of a field: a URL or path decoded, a segment a line, also with ``- _ . +`` as spaces.

    The URL pseudonymiser reads paths the same ways, so the scan is exactly as strict as what it checks;
    offsets of findings in such fields are into the decoded value.
    """
    from anonymisation.pseudonyms import is_url, path_lines, spaced

    if name in ("url", "location") or is_url(value):
        decoded = path_lines(unquote(value))
        alternative = spaced(decoded)
        return [decoded] if alternative == decoded else [decoded, alternative]
    return [value]


def _findings(engine: Any, text: str) -> list[Finding]:
    from anonymisation.engine import LANGUAGE, Finding, resolve_overlaps

    results = engine.analyze(text=text, language=LANGUAGE, entities=list(RESIDUAL_ENTITIES))
    return resolve_overlaps(Finding(r.entity_type, r.start, r.end, float(r.score)) for r in results)


def _residuals(engine: Any, row: dict[str, Any]) -> Iterator[tuple[str, Finding]]:
    """Yield ``(field name, finding)`` for every identifier in a row that is not a recorded replacement.

    The short fields are read in one pass, far apart (see ``_PIECE_SEPARATOR``): one analyzer call per
    document for them, not one per field.
    """
    from anonymisation.engine import Finding

    pieces: list[tuple[str, int, str]] = []  # (field name, start in the joined text, text read)
    at = 0
    for field_name, value, recorded in _released_strings(row):
        if not value:
            continue
        if recorded is not None:  # title and text: replacements recorded by offset
            for finding in _unrecorded(_findings(engine, value), recorded):
                yield field_name, finding
            continue
        for text in _scan_texts(field_name, value):
            pieces.append((field_name, at, text))
            at += len(text) + len(_PIECE_SEPARATOR)
    if not pieces:
        return
    starts = [start for _, start, _ in pieces]
    seen: set[tuple[str, str, int, int]] = set()
    for finding in _findings(engine, _PIECE_SEPARATOR.join(text for _, _, text in pieces)):
        field_name, start, _ = pieces[bisect_right(starts, finding.start) - 1]
        local = Finding(finding.entity, finding.start - start, finding.end - start, finding.score)
        key = (field_name, local.entity, local.start, local.end)  # both readings of a URL find the same
        if key not in seen:
            seen.add(key)
            yield field_name, local


def residual_scan(storage: Storage, source_id: str, analyzer: Any = None, *, max_examples: int = 20) -> dict[str, Any]:
    """Scan every released string field of a source's anonymised documents for unreplaced identifiers.

    Fields: ``text``, ``title`` (recorded replacements are not residuals), ``native_id``, ``url``, and the raw
    annotation's ``location``, ``record`` and every string value of ``source_metadata`` (named
    ``source_metadata.<key>``). A pseudonymised field counts as clean only if nothing is found in it.

    Returns ``{"documents": n, "residuals": total, "by_entity": {...}, "by_field": {...},
    "by_document": {doc_id: n}, "examples": [{doc_id, field, entity, start, end}]}``: types, field names,
    document ids and offsets only, never the values found.
    """
    engine = analyzer or residual_analyzer()
    by_entity: Counter[str] = Counter()
    by_field: Counter[str] = Counter()
    by_document: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    documents = 0
    columns = ["doc_id", "native_id", "url", "title", "text", "annotations"]
    with storage.open_input(anonymised_path(source_id)) as handle:
        for batch in iter_batches(handle, columns=columns):
            for row in batch.to_pylist():
                documents += 1
                for field_name, finding in _residuals(engine, row):
                    by_entity[finding.entity] += 1
                    by_field[field_name.split(".")[0]] += 1
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
        "by_field": {name: by_field.get(name, 0) for name in ("text", "title", *SHORT_FIELDS)},
        "by_document": dict(by_document),
        "examples": examples,
    }


__all__ = [
    "RESIDUAL_ENTITIES",
    "SHORT_FIELDS",
    "anonymise_batch",
    "anonymise_source",
    "anonymised_path",
    "anonymised_report_path",
    "residual_analyzer",
    "residual_scan",
]


def _name_model_id() -> str:
    from anonymisation.persons import model_id  # imported here: this module stays light for path helpers

    return model_id()
