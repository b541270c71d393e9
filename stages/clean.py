"""The clean stage for one source: normalise text, pass the quality gate, drop exact duplicates, account for everything.

It reads every committed raw batch of the source (all ingest runs) and writes the source's full clean
snapshot, so counts in its report are cumulative over all runs.

Zone layout for a source ``S``:

- ``clean/S/documents.parquet``: normalised documents kept
- ``clean/S/excluded.parquet``: documents dropped here, each with a machine-readable reason
- ``clean/S/furniture.parquet``: the source's furniture lines removed, with their text, for review
- ``clean/S/decisions.parquet``: the quality gate's decisions by digest of each document's gate input, under
  the gate key in its footer (settings, languages, gate code version): reused by the next run for every
  document whose input is unchanged, so the gate (the expensive step) judges only what is new or changed
- ``clean/S/batches/<ingest_id>.normalised.parquet``: one committed raw batch normalised (pattern boilerplate
  stripped), with the boilerplate lines removed and each document's short-line keys (for furniture counting)
- ``clean/S/batches/<ingest_id>.prepared.parquet``: the same documents without the source's furniture lines,
  with the lines removed and the digest of each gate input; its footer holds the removed lines' texts
- ``clean/S/clean.json``: the stage report, written last (the partition's commit marker)

Both document files hold text *before* anonymisation, so the clean zone is restricted like ``raw/``: the
drops stay beside the kept documents instead of in the ``excluded/`` zone, which only ever holds anonymised
documents (the release's duplicates). Reviewers with access to the restricted zones see why each was dropped;
everyone else sees the counts per reason in the report. The cached batches hold text too, so they live here.

Dropped reasons: the quality gate's (``unexpected_language``, ``line_punct_ratio``, ``gopher_short_doc``,
...: see :mod:`quality.gate`), ``superseded_record`` (the same native id delivered again later in the same
snapshot: the last delivery wins) and ``duplicate_content`` (same normalised text as an earlier
document of the source).

A run goes in steps, and memory does not grow with the size of the source:

1. **Cached batches.** Raw batches never change once committed, and normalising one is a pure function of
   the batch, the normaliser's code and the boilerplate settings, so each is normalised once; the footer
   key (:func:`batch_key`) says from what, and a file whose key, rows or footer do not match is made again
   (the report says why, per batch). The furniture lines (:mod:`quality.furniture`) are counted by DuckDB
   from the stored line keys of all batches, no text read; a batch is stripped and digested again only when
   the furniture lines that occur in it changed (:func:`prepared_key`).
2. **Decide** (pass one over the prepared batches): earlier decisions where the gate input matches (a DuckDB
   join on disk), the gate for the rest, reading a row group's text only when the gate has rows to judge in
   it; the deduplication keys of the rows the gate keeps are staged locally.
3. **Deduplicate**: DuckDB decides on those keys only, out of core.
4. **Assemble** (pass two): each row is annotated from its decision and routed to the kept or excluded file.

The code version (the commit) is stamped on each document in pass two, not cached: a deployment that leaves
the normaliser alone keeps the cache.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import json
import multiprocessing
import os
import time
import unicodedata
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
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
from catalog.parquet import DEFAULT_BATCH_ROWS, BackgroundWrites, BatchWriter, iter_batches
from catalog.staging import temporary_directory
from catalog.storage import Storage, StorageError, sql_quote
from catalog.zones import (
    batch_path,
    clean_batches_folder,
    clean_decisions_path,
    clean_excluded_path,
    clean_furniture_path,
    clean_normalised_batch_path,
    clean_path,
    clean_prepared_batch_path,
    clean_report_path,
    clean_shards_folder,
)
from quality.boilerplate import NewsBoilerplateCleaner
from quality.dedup import KEY_COLUMNS, DropCursor, duplicate_drops_sql, split_by_drops, with_exclusion
from quality.furniture import LINE_KEYS, MAX_LINE_CHARS, Furniture, count_stored_lines, document_lines
from quality.gate import FILTER_OF_REASON, QualityGate
from quality.normalise import normalise_text
from stages.executors import (
    Executor,
    ProcessExecutor,
    ShardProgress,
    ShardSize,
    ShardTask,
    row_group_ranges,
    run_stage_shards,
    write_shards,
)
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
#: The gate's decision columns, first in every assessment (its statistics follow, as floats).
DECISION_COLUMNS = ("keep", "reason", "lang", "lang_score")
#: Source files whose code decides what the gate says about a text (relative to the repository).
GATE_MODULES = (
    "quality/gate.py",
    "quality/filters.py",
    "quality/language.py",
    "quality/punctuation.py",
    "catalog/quality_settings.py",
    "catalog/quality_profiles.py",
)
#: Libraries the decisions depend on: the language model, the vocabulary, the regex and tokenizer engines.
GATE_PACKAGES = ("polars", "numpy", "py3langid", "wordfreq", "spacy")
#: Parquet metadata key of the decisions file: under which gate, settings and languages they were taken.
DECISIONS_KEY = b"corpusfabriek.gate"
#: Source files whose code decides what a cached batch holds: normalisation, boilerplate, furniture lines.
NORMALISER_MODULES = ("quality/normalise.py", "quality/boilerplate.py", "quality/furniture.py")
#: Libraries the cached batches depend on: mojibake repair, the regex engine and line splitting, Arrow.
NORMALISER_PACKAGES = ("ftfy", "polars", "pyarrow")
#: Parquet footer key of a cached batch: the raw batch, code and settings it was made from (see batch_key).
BATCH_KEY = b"corpusfabriek.clean_batch"
#: Parquet footer key of a prepared batch: the text of each furniture line removed from it, by line_sha256.
BATCH_FURNITURE = b"corpusfabriek.furniture_lines"
#: Cached batches are written once and read on every run: zstd's default level reads as fast as the zone's
#: level 6 and writes about twice as fast, at nearly the same size on news text. Every file of the stage is
#: written without dictionary encoding: its columns are mostly distinct texts, hashes and ids, for which
#: Parquet builds a dictionary only to drop it, and zstd compresses the few repeated values as well.
CACHE_COMPRESSION = ("zstd", 3)
#: Local files that live for one run: written and read once, so the fastest codec.
STAGING_COMPRESSION = ("lz4", None)
#: The zone's snapshot files, rewritten whole on every run: zstd's default level writes them 2.5 times as
#: fast as the project's level 6 and makes them about 5% larger on Dutch text.
ZONE_COMPRESSION = ("zstd", 3)
#: The steps of ``seconds_by_step`` (and ``other``): normalising new raw batches; counting furniture lines and
#: stripping batches whose furniture changed; the gate; matching earlier decisions and staging the keys;
#: deduplication; annotating, routing and writing the zone.
STEPS = ("normalise", "furniture", "gate", "decide", "deduplicate", "assemble")


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
    documents_assessed: int
    documents_reused: int
    reassessed_reason: str | None
    gate_key: dict[str, str] | None
    gate_shards: int
    documents_normalised: int
    documents_normalised_reused: int
    normalised_reasons: dict[str, int]
    documents_stripped: int
    documents_stripped_reused: int
    stripped_reasons: dict[str, int]
    seconds_by_step: dict[str, float]
    duration_s: float


def normalise_batch(
    batch: pa.RecordBatch, version: str | None, cleaner: NewsBoilerplateCleaner | None = None
) -> tuple[pa.RecordBatch, int, list[int]]:
    """Normalise the text of a batch of documents (and strip boilerplate lines), rehash it, fill the annotation.

    ``version`` is the code version stamped into the clean annotation (``None``: left empty, stamped later).
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
    # the names taken by position: Arrow copies the strings, no Python object per entry
    keys = pa.array(names, pa.string()).take(pa.array(np.tile(np.arange(len(names), dtype=np.int32), rows)))
    offsets = pa.array(np.arange(0, rows * len(names) + 1, len(names), dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, keys, items)


def _gate_inputs(batch: pa.RecordBatch) -> tuple[list[float | None], list[bool]]:
    """Return what the gate reads besides the text, per row: the OCR confidence and whether the text is OCR."""
    raw = batch.column("annotations").field("raw")
    confidence = raw.field("ocr_confidence").to_pylist()
    is_ocr = pc.fill_null(pc.equal(raw.field("fetch_mode"), "ocr"), False).to_pylist()
    return confidence, is_ocr


def input_digests(batch: pa.RecordBatch) -> pa.Array:
    """Return, per row of a normalised batch, a digest of everything the gate reads of that document.

    The text enters through ``content_sha256`` (the hash of the very text the gate judges, after furniture
    removal); the same digest under the same gate key means the same decision.
    """
    confidence, is_ocr = _gate_inputs(batch)
    hashes = batch.column("content_sha256").to_pylist()
    return pa.array(
        [
            hashlib.sha256(f"{text}\x1f{score!r}\x1f{ocr}".encode()).hexdigest()[:32]
            for text, score, ocr in zip(hashes, confidence, is_ocr, strict=True)
        ],
        pa.string(),
    )


def gate_assessment(batch: pa.RecordBatch, gate: QualityGate) -> pl.DataFrame:
    """Let the gate judge a normalised batch: one row per document, the decision columns then the statistics.

    The statistics are cast to floats here, as the clean annotation stores them, so an assessment read back
    from the decisions file is the same frame as a fresh one.
    """
    confidence, is_ocr = _gate_inputs(batch)
    return _assess(gate, batch.column("text").to_pylist(), confidence, is_ocr)


def _assess(gate: QualityGate, texts: list[str], confidence: list[float | None], is_ocr: list[bool]) -> pl.DataFrame:
    """Return the gate's assessment of texts: the decision columns, then the statistics as floats."""
    assessment = gate.assess(texts, ocr_confidence=confidence, is_ocr=is_ocr)
    names = [c for c in assessment.columns if c not in _NOT_STATISTICS]
    return assessment.select([*DECISION_COLUMNS, *names]).cast({name: pl.Float64 for name in names})


def annotate(
    batch: pa.RecordBatch,
    assessment: pl.DataFrame,
    boilerplate_lines: list[int] | None = None,
    furniture_lines: list[int] | None = None,
) -> tuple[pa.RecordBatch, list[str | None]]:
    """Fill ``lang`` and the clean annotation's quality fields of a normalised batch from the gate's assessment.

    ``boilerplate_lines`` and ``furniture_lines`` (lines removed per document) join the statistics.
    Returns the annotated batch and, per row, the reason it is dropped (``None``: kept).
    """
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


def assess_batch(
    batch: pa.RecordBatch,
    gate: QualityGate,
    boilerplate_lines: list[int] | None = None,
    furniture_lines: list[int] | None = None,
) -> tuple[pa.RecordBatch, list[str | None]]:
    """Let the gate judge a normalised batch and annotate it: :func:`gate_assessment`, then :func:`annotate`."""
    return annotate(batch, gate_assessment(batch, gate), boilerplate_lines, furniture_lines)


def code_digest(modules: tuple[str, ...], functions: tuple[Any, ...], packages: tuple[str, ...]) -> str:
    """Return a digest of the code behind a result: source files (relative to the repository), functions, libraries.

    Narrower than :func:`catalog.documents.code_version` (the commit) on purpose: a commit that leaves this code
    alone keeps every result made with it valid, so a deployment does not redo the archive.
    """
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for rel in modules:
        digest.update(rel.encode())
        digest.update((root / rel).read_bytes())
    for function in functions:
        digest.update(inspect.getsource(function).encode())
    for name in packages:
        try:
            installed = package_version(name)
        except PackageNotFoundError:
            installed = "-"
        digest.update(f"{name}={installed}".encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def gate_version() -> str:
    """Return the code version of the gate: a digest of the code that decides and of the libraries it relies on."""
    return code_digest(GATE_MODULES, (gate_assessment,), GATE_PACKAGES)


@functools.lru_cache(maxsize=1)
def normaliser_version() -> str:
    """Return the code version of the cached batches: the code that normalises, strips and digests, its libraries.

    Unicode's version is in it too: NFC composition follows the tables of the running Python.
    """
    code = code_digest(
        NORMALISER_MODULES,
        (normalise_batch, replace_texts, input_digests, _gate_inputs, content_sha256),
        NORMALISER_PACKAGES,
    )
    schema = hashlib.sha256(_PREPARED_SCHEMA.to_string().encode()).hexdigest()[:8]
    return f"{code}-unicode{unicodedata.unidata_version}-{schema}"


def gate_key(gate: QualityGate) -> dict[str, str]:
    """Return what, besides a document's own input, the gate's decision depends on.

    Every effective setting counts (the profile's values and the overrides alike), and the language
    detector's configuration.
    """
    detector = {"class": f"{type(gate.detector).__module__}.{type(gate.detector).__qualname__}", **vars(gate.detector)}
    settings = json.dumps(
        {"settings": gate.settings.model_dump(mode="json"), "detector": detector}, sort_keys=True, default=str
    )
    return {
        "quality_profile": gate.settings.profile,
        "quality_settings": hashlib.sha256(settings.encode()).hexdigest()[:16],
        "languages": ",".join(gate.languages),
        "gate_version": gate_version(),
    }


def reassessed_reason(previous: dict[str, str] | None, current: dict[str, str]) -> str | None:
    """Say why every document is assessed again, or ``None`` when earlier decisions can be reused."""
    if previous is None:
        return "no earlier decisions"
    if previous.get("gate_version") != current["gate_version"]:
        return "the quality gate's code changed"
    if previous.get("quality_settings") != current["quality_settings"]:
        before = previous.get("quality_profile")
        after = current["quality_profile"]
        return "quality settings changed" + (f" (profile {before} -> {after})" if before != after else "")
    if previous.get("languages") != current["languages"]:
        return f"expected languages changed ({previous.get('languages')} -> {current['languages']})"
    return None


def previous_gate_key(storage: Storage, source_id: str) -> dict[str, str] | None:
    """Return the gate key of the source's decisions file (read from its footer only), ``None`` without one."""
    path = clean_decisions_path(source_id)
    if not storage.exists(path):
        return None
    try:
        with storage.open_input(path) as handle:
            metadata = pq.ParquetFile(handle).schema_arrow.metadata or {}
    except (OSError, pa.ArrowException):
        # a cache: an unreadable one costs a full assessment, never a wrong decision
        return None
    raw = metadata.get(DECISIONS_KEY)
    return json.loads(raw) if raw else None


class ReusedDecisions:
    """Earlier decisions matched to this run's rows, sorted by row, handed out batch by batch.

    Holds one Arrow batch of matches at a time, so memory does not grow with the source.
    """

    def __init__(self, reader: Any | None = None) -> None:
        self._batches: Iterator[pa.RecordBatch] = iter(reader) if reader is not None else iter(())
        self._pending: pa.Table | None = None

    def until(self, end: int) -> pa.Table | None:
        """Return the matches of the rows before ``end`` not handed out yet (``row`` first), or ``None``."""
        parts: list[pa.Table] = []
        while True:
            if self._pending is None:
                batch = next(self._batches, None)
                if batch is None:
                    break
                self._pending = pa.Table.from_batches([batch])
            before = pc.sum(pc.less(self._pending.column("row"), end)).as_py() or 0
            parts.append(self._pending.slice(0, before))
            if before < self._pending.num_rows:
                self._pending = self._pending.slice(before)
                break
            self._pending = None
        matched = [part for part in parts if part.num_rows]
        return pa.concat_tables(matched) if matched else None


def decide(
    batch: pa.RecordBatch, offset: int, reused: pa.Table | None, gate: QualityGate, seconds: Counter[str]
) -> tuple[pl.DataFrame, int]:
    """Return the assessment of a batch: earlier decisions where they match, the gate's for the other rows.

    :param offset: the batch's first row in the run. Returns the assessment and how many rows the gate judged.
    """
    rows = batch.num_rows
    frames: list[pl.DataFrame] = []
    matched = np.zeros(rows, dtype=bool)
    if reused is not None:
        position = reused.column("row").to_numpy() - offset
        matched[position] = True
        frames.append(pl.from_arrow(reused.drop_columns(["row"])).with_columns(position=pl.Series(position)))
    todo = np.flatnonzero(~matched)
    if len(todo):
        started = time.perf_counter()
        fresh = gate_assessment(batch.take(pa.array(todo)), gate)
        seconds["gate"] += time.perf_counter() - started
        frames.append(fresh.with_columns(position=pl.Series(todo)))
    if len(frames) == 1:
        return frames[0].drop("position"), len(todo)
    columns = frames[-1].columns  # a fresh assessment's columns, in the gate's order
    merged = pl.concat([frame.select(columns) for frame in frames], how="vertical_relaxed")
    return merged.sort("position").drop("position"), len(todo)


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


#: A prepared batch as cached: the documents without furniture lines, the lines removed, the gate input's digest.
_PREPARED_SCHEMA = (
    DOCUMENT_SCHEMA.append(pa.field("boilerplate_lines", pa.int64()))
    .append(pa.field("furniture_lines", pa.int64()))
    .append(pa.field("gate_input", pa.string()))
)
#: A normalised batch as cached: the documents, the boilerplate lines removed and the keys of the short lines.
_NORMALISED_SCHEMA = DOCUMENT_SCHEMA.append(pa.field("boilerplate_lines", pa.int64())).append(
    pa.field("line_keys", LINE_KEYS)
)
#: Why a cached batch is made again, by the first field of its key that differs (checked in this order).
_KEY_CHANGES = (
    (("ingest_id", "raw_bytes", "documents"), "cached from another raw batch"),
    (("normaliser_version",), "the normaliser's code changed"),
    (("boilerplate",), "boilerplate settings changed"),
    (("furniture_max_line_chars",), "furniture line length changed"),
    (("furniture",), "the batch's furniture lines changed"),
)


def batch_key(ingest: dict[str, Any], cleaner: NewsBoilerplateCleaner | None, max_line_chars: int) -> dict[str, str]:
    """Return what a raw batch's normalised batch is a pure function of: the batch, the code and the settings.

    The code version (the commit) stamped on each document is not in it: it is stamped when the batch is used.
    """
    boilerplate = "off"
    if cleaner is not None:
        boilerplate = hashlib.sha256(f"{cleaner.pattern}\x1f{cleaner.max_line_chars}".encode()).hexdigest()[:16]
    return {
        "ingest_id": ingest["ingest_id"],
        "raw_bytes": str(ingest.get("raw_bytes")),
        "documents": str(ingest.get("documents")),
        "normaliser_version": normaliser_version(),
        "boilerplate": boilerplate,
        "furniture_max_line_chars": str(max_line_chars),
    }


def prepared_key(key: dict[str, str], furniture_lines: list[int]) -> dict[str, str]:
    """Return the key of a prepared batch: its normalised batch's, and the source's furniture lines found in it.

    Stripping a batch depends on no other furniture line, so a line found (or lost) elsewhere in the source
    leaves the batch's prepared file valid.
    """
    lines = hashlib.sha256(",".join(f"{line:016x}" for line in furniture_lines).encode()).hexdigest()[:16]
    return {**key, "furniture": lines}


def rebuilt_reason(previous: dict[str, str] | None, current: dict[str, str]) -> str | None:
    """Say why a cached batch is made again, or ``None`` when the cached one is the batch ``current`` describes."""
    if previous is None:
        return "not cached"
    for fields, reason in _KEY_CHANGES:
        if any(previous.get(name) != current.get(name) for name in fields):
            return reason
    return None


def _cached(
    storage: Storage, path: str, key: dict[str, str], stored: set[str], needs: tuple[bytes, ...] = ()
) -> str | None:
    """Tell why a cached batch cannot be used, or ``None`` when it can. Only its footer is read.

    A cache is never trusted blindly: a file that cannot be read, lacks the footer entries ``needs``, carries
    another key or holds another number of rows than the raw batch is made again.

    :param stored: the names in the source's batches folder (listed once per run).
    """
    if path.rsplit("/", 1)[-1] not in stored:
        return "not cached"
    try:
        with storage.open_input(path) as handle:
            metadata = pq.ParquetFile(handle).metadata
        footer = dict(metadata.metadata or {})
        previous = json.loads(footer[BATCH_KEY])
        for name in needs:
            json.loads(footer[name])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return "unreadable"
    reason = rebuilt_reason(previous, key)
    if reason is None and str(metadata.num_rows) != key["documents"]:
        return "unreadable"
    return reason


@dataclass
class CacheUse:
    """How a run came by one kind of cached batch: documents made again (with why, per batch) or reused."""

    made: int = 0
    reused: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def note(self, reason: str | None, documents: int) -> None:
        """Count one batch: reused when ``reason`` is ``None``, else made again for that reason."""
        if reason is None:
            self.reused += documents
        else:
            self.made += documents
            self.reasons[reason] += 1


def _writer(path: str, schema: pa.Schema, compression: tuple[str, int | None]) -> BatchWriter:
    """Return a writer of one of the stage's files: without dictionary encoding (see CACHE_COMPRESSION)."""
    return BatchWriter(path, schema, compression=compression, use_dictionary=False)


def _normalised(batch: pa.RecordBatch, cleaner: NewsBoilerplateCleaner | None, max_line_chars: int) -> pa.RecordBatch:
    """Return a raw batch as the normalised cache stores it: documents, boilerplate lines removed, line keys."""
    # no code version: the cache outlives commits that leave the normaliser alone
    cleaned, _, boilerplate = normalise_batch(batch, None, cleaner)
    return cleaned.append_column("boilerplate_lines", pa.array(boilerplate, pa.int64())).append_column(
        "line_keys", document_lines(pl.from_arrow(cleaned.column("text")), max_line_chars)
    )


def _normalised_part(task: tuple[str, str, int, int, NewsBoilerplateCleaner | None, int]) -> list[pa.RecordBatch]:
    """Normalise row groups ``first`` to ``last`` (exclusive) of a raw batch (a task for :class:`RowGroupPool`)."""
    root, path, first, last, cleaner, max_line_chars = task
    with Storage.from_env(root).open_input(path) as raw:
        batches = pq.ParquetFile(raw).iter_batches(batch_size=DEFAULT_BATCH_ROWS, row_groups=range(first, last))
        return [_normalised(batch, cleaner, max_line_chars) for batch in batches]


class RowGroupPool:
    """Worker processes that normalise or strip the row groups of a large cached batch side by side.

    Normalising and stripping are pure Python per text (Unicode normalisation, line hashing, digests), so
    threads would not help: each process takes a contiguous range of row groups and returns its batches,
    which the step writes in order, so the cached batch holds the rows one process writes. A batch under
    :data:`POOL_MIN_DOCUMENTS` stays in the step's own process: starting the pool would cost more. The
    processes start on first use.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def ranges(self, rows: list[int]) -> list[tuple[int, int]]:
        """Return the row-group ranges to hand out for a batch (its row groups' rows); none for a small batch.

        A range holds about :data:`POOL_RANGE_DOCUMENTS` documents whatever the batch's size: a process returns
        a whole range at once, so a range that grew with the batch would grow the step's memory with it.
        """
        total = sum(rows)
        if total < POOL_MIN_DOCUMENTS:
            return []
        ranges = row_group_ranges(rows, max(2 * self.workers, -(-total // POOL_RANGE_DOCUMENTS)))
        return ranges if len(ranges) > 1 else []

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """Run ``function`` on every task in the processes; yield the results in task order.

        At most two tasks per process are out at a time (a window, not all tasks at once): results that
        finish early wait in memory for the ones before them, so only a few may.
        """
        if self._pool is None:
            # spawn, not fork: the step's process runs threads (DuckDB, Dagster) that a fork would copy mid-work
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        pool = self._pool
        remaining = iter(tasks)
        window: deque[Future[Any]] = deque(
            pool.submit(function, t) for t in itertools.islice(remaining, 2 * self.workers)
        )
        while window:
            result = window.popleft().result()
            for task in itertools.islice(remaining, 1):
                window.append(pool.submit(function, task))
            yield result

    def close(self) -> None:
        """Stop the worker processes (if any were started)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


#: About how many documents a process of :class:`RowGroupPool` takes at a time (a few row groups of raw batches).
POOL_RANGE_DOCUMENTS = 8_000
#: Batches with fewer documents are normalised and stripped in the step's own process (see :class:`RowGroupPool`).
POOL_MIN_DOCUMENTS = 20_000


def _normalise_raw_batch(
    storage: Storage,
    source_id: str,
    key: dict[str, str],
    cleaner: NewsBoilerplateCleaner | None,
    max_line_chars: int,
    pool: RowGroupPool | None = None,
) -> None:
    """Normalise one committed raw batch into its cached normalised batch (written whole, then published).

    With a ``pool`` (and a batch of at least :data:`POOL_MIN_DOCUMENTS` documents in several row groups) the
    pool's processes normalise contiguous ranges of row groups; the cached batch holds the same rows.
    """
    path = clean_normalised_batch_path(source_id, key["ingest_id"])
    raw_path = batch_path(source_id, key["ingest_id"])
    with (
        storage.open_input(raw_path) as raw,
        storage.staged_file(path) as local,
        _writer(local, _NORMALISED_SCHEMA, CACHE_COMPRESSION) as writer,
    ):
        ranges = pool.ranges(_row_group_rows(raw)) if pool is not None else []
        if pool is not None and ranges:
            tasks = [(storage.root, raw_path, first, last, cleaner, max_line_chars) for first, last in ranges]
            for batches in pool.map(_normalised_part, tasks):
                for batch in batches:
                    writer.write_batch(batch)
        else:
            raw.seek(0)
            for batch in iter_batches(raw):
                writer.write_batch(_normalised(batch, cleaner, max_line_chars))
        writer.add_metadata({BATCH_KEY: json.dumps(key, sort_keys=True).encode()})


def _prepared(batch: pa.RecordBatch, furniture: Furniture) -> pa.RecordBatch:
    """Return a normalised batch as the prepared cache stores it: furniture lines stripped, gate inputs digested."""
    documents = _documents(batch)
    removed = [0] * batch.num_rows
    if len(furniture):
        texts, removed = furniture.strip(documents.column("text").to_pylist())
        documents = replace_texts(documents, texts, removed)
    return (
        documents.append_column("boilerplate_lines", batch.column("boilerplate_lines"))
        .append_column("furniture_lines", pa.array(removed, pa.int64()))
        .append_column("gate_input", input_digests(documents))
    )


#: What the prepared batch reads of a normalised one (the line keys were for counting furniture).
_PREPARE_COLUMNS = [name for name in _NORMALISED_SCHEMA.names if name != "line_keys"]


def _prepared_part(task: tuple[str, str, int, int, Furniture]) -> tuple[list[pa.RecordBatch], dict[int, str]]:
    """Strip row groups ``first`` to ``last`` (exclusive) of a normalised batch (a task for :class:`RowGroupPool`).

    Returns the prepared batches and the text of each furniture line found in them.
    """
    root, path, first, last, furniture = task
    with Storage.from_env(root).open_input(path) as normalised:
        batches = pq.ParquetFile(normalised).iter_batches(
            batch_size=DEFAULT_BATCH_ROWS, row_groups=range(first, last), columns=_PREPARE_COLUMNS
        )
        return [_prepared(batch, furniture) for batch in batches], furniture.texts


def _prepare_batch(
    storage: Storage, source_id: str, key: dict[str, str], furniture: Furniture, pool: RowGroupPool | None = None
) -> None:
    """Strip the furniture lines from one cached normalised batch and digest each gate input, into its prepared batch.

    :param furniture: the source's furniture lines that occur in this batch. Their text goes into the footer, so
        a run that reuses the batch can still list them for review.
    :param pool: strips a large batch's row groups in its processes (see :class:`RowGroupPool`).
    """
    path = clean_normalised_batch_path(source_id, key["ingest_id"])
    with (
        storage.open_input(path) as normalised,
        storage.staged_file(clean_prepared_batch_path(source_id, key["ingest_id"])) as local,
        _writer(local, _PREPARED_SCHEMA, CACHE_COMPRESSION) as writer,
    ):
        ranges = pool.ranges(_row_group_rows(normalised)) if pool is not None and len(furniture) else []
        if pool is not None and ranges:
            tasks = [(storage.root, path, first, last, furniture) for first, last in ranges]
            for batches, texts in pool.map(_prepared_part, tasks):
                for batch in batches:
                    writer.write_batch(batch)
                for line, text in texts.items():  # the first text found of each line, as one process keeps it
                    furniture.texts.setdefault(line, text)
        else:
            for batch in iter_batches(normalised, columns=_PREPARE_COLUMNS):
                writer.write_batch(_prepared(batch, furniture))
        lines = {f"{line:016x}": text for line, text in sorted(furniture.texts.items())}
        writer.add_metadata(
            {
                BATCH_KEY: json.dumps(key, sort_keys=True).encode(),
                BATCH_FURNITURE: json.dumps(lines, ensure_ascii=False, sort_keys=True).encode(),
            }
        )


def _row_group_rows(handle: Any) -> list[int]:
    """Return the rows of each row group of an open Parquet file."""
    metadata = pq.ParquetFile(handle).metadata
    return [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]


def _documents(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Return a staged batch's document columns only."""
    return pa.RecordBatch.from_arrays([batch.column(name) for name in DOCUMENT_SCHEMA.names], schema=DOCUMENT_SCHEMA)


def _stamped(batch: pa.RecordBatch, version: str) -> pa.RecordBatch:
    """Return a cached batch's documents with this run's code version in their clean annotation."""
    annotations = batch.column("annotations")
    clean = annotations.field("clean")
    clean = pa.StructArray.from_arrays(
        [pa.array([version] * batch.num_rows, pa.string())]
        + [clean.field(name) for name in CLEAN_ANNOTATION.names[1:]],
        fields=list(CLEAN_ANNOTATION),
    )
    columns = [batch.column(name) for name in DOCUMENT_SCHEMA.names]
    columns[DOCUMENT_SCHEMA.get_field_index("annotations")] = pa.StructArray.from_arrays(
        [annotations.field("raw"), clean, annotations.field("anonymised")], fields=list(ANNOTATIONS)
    )
    return pa.RecordBatch.from_arrays(columns, schema=DOCUMENT_SCHEMA)


def _remove_stale_batches(storage: Storage, source_id: str, stored: set[str], ingest_ids: set[str]) -> None:
    """Remove cached batches of raw batches that are no longer committed (they would never be read again)."""
    for name in sorted(stored):
        if name.split(".", 1)[0] not in ingest_ids:
            storage.delete(f"{clean_batches_folder(source_id)}/{name}")


#: Each prepared row's number in the run (``$offsets``: the first row of each prepared batch) and columns.
_PREPARED_ROWS = """
    SELECT list_extract($offsets::BIGINT[], file_index::BIGINT + 1) + file_row_number AS row, {columns}
    FROM read_parquet($files, file_row_number = true)
"""


def _reused_reader(
    con: Any, storage: Storage, decision_files: list[str], prepared: list[str], offsets: list[int]
) -> Any:
    """Return a DuckDB reader of the decisions of this run's rows found in files, by row (out of core: a join on disk).

    :param decision_files: URLs of decision files (the source's earlier decisions, this run's gate shards'),
        no gate input in two of them.
    :param prepared: the prepared batches, in the run's order; ``offsets``: the first row of each in the run.
    """
    return con.sql(
        f"""
        SELECT p.row, d.* EXCLUDE (gate_input)
        FROM ({_PREPARED_ROWS.format(columns="gate_input")}) AS p
        JOIN read_parquet($decisions, union_by_name = true) AS d ON p.gate_input = d.gate_input
        ORDER BY p.row
        """,
        params={"files": [storage.url(path) for path in prepared], "offsets": offsets, "decisions": decision_files},
    ).to_arrow_reader(8_192)


@dataclass
class CachedSource:
    """A source's cached batches, ready for the gate's pass: where they are, the furniture, what was made again."""

    #: each prepared batch's path, oldest raw batch first
    prepared: list[str]
    #: the documents in each
    documents: list[int]
    #: the source's furniture lines (none when not asked for); their removal is counted as the batches are read
    furniture: Furniture
    normalised: CacheUse
    stripped: CacheUse


def cache_batches(
    storage: Storage,
    source_id: str,
    ingests: list[dict[str, Any]],
    gate: QualityGate | None,
    con: Any,
    seconds: Counter[str],
    workers: int = 1,
) -> CachedSource:
    """Make sure every committed raw batch of the source has a valid normalised and prepared batch in the cache.

    Normalises only the raw batches without a valid normalised batch (a large one with ``workers``
    processes, see :class:`RowGroupPool`); counts the furniture lines from the stored line keys of all of
    them (no text is read); strips and digests again only the batches whose own furniture lines changed.
    """
    cleaner = gate.cleaner if gate is not None else None
    max_line_chars = gate.settings.furniture_max_line_chars if gate is not None else MAX_LINE_CHARS
    stored = set(storage.ls(clean_batches_folder(source_id)))
    normalised = CacheUse()
    keys: list[dict[str, str]] = []
    pool = RowGroupPool(workers) if workers > 1 else None
    try:
        for ingest in ingests:
            if ingest.get("documents") == 0:
                continue  # a run that brought nothing new: no batch to normalise (nor to read on every run)
            key = batch_key(ingest, cleaner, max_line_chars)
            reason = _cached(storage, clean_normalised_batch_path(source_id, key["ingest_id"]), key, stored)
            if reason is not None:
                started = time.perf_counter()
                _normalise_raw_batch(storage, source_id, key, cleaner, max_line_chars, pool)
                seconds["normalise"] += time.perf_counter() - started
            normalised.note(reason, int(key["documents"]))
            keys.append(key)

        started = time.perf_counter()
        documents = sum(int(key["documents"]) for key in keys)
        furniture = Furniture({}, max_line_chars, documents=documents)
        present: list[list[int]] = [[] for _ in keys]
        if gate is not None and gate.settings.strip_furniture:
            files = [storage.url(clean_normalised_batch_path(source_id, key["ingest_id"])) for key in keys]
            furniture, present = count_stored_lines(con, files, documents, gate.settings)
        stripped = CacheUse()
        for key, lines in zip(keys, present, strict=True):
            prepared = prepared_key(key, lines)
            path = clean_prepared_batch_path(source_id, key["ingest_id"])
            reason = _cached(storage, path, prepared, stored, needs=(BATCH_FURNITURE,))
            if reason is not None:
                _prepare_batch(storage, source_id, prepared, furniture.only(lines), pool)
            stripped.note(reason, int(key["documents"]))
        seconds["furniture"] += time.perf_counter() - started
    finally:
        if pool is not None:
            pool.close()
    _remove_stale_batches(storage, source_id, stored, {key["ingest_id"] for key in keys})
    paths = [clean_prepared_batch_path(source_id, key["ingest_id"]) for key in keys]
    return CachedSource(paths, [int(key["documents"]) for key in keys], furniture, normalised, stripped)


def _row_group(parquet: pq.ParquetFile, index: int, columns: list[str] | None = None) -> pa.RecordBatch:
    """Return one row group of a Parquet file as one record batch (the cached batches' row groups are small)."""
    table = parquet.read_row_group(index, columns=columns)
    batches = table.to_batches()
    if len(batches) == 1:  # the usual case: no copy
        return batches[0]
    return table.combine_chunks().to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist([], table.schema)


#: The columns of the documents deduplication reads (the gate's pass stages them for the rows it keeps).
_KEYS_SCHEMA = pa.schema([DOCUMENT_SCHEMA.field(name) for name in KEY_COLUMNS])


def _gate_pass(
    storage: Storage,
    prepared: list[str],
    gate: QualityGate | None,
    reused: ReusedDecisions,
    decided: str,
    kept_keys: str,
    seconds: Counter[str],
) -> int:
    """Pass one over the prepared batches: decide every row, stage the keys of the rows the gate keeps.

    Earlier decisions are taken where the gate input matches; the gate judges the rest. A row group's text is
    read only when the gate judges some of its rows. The decisions go to ``decided`` (one row group per
    prepared row group, for pass two), the kept rows' deduplication keys to ``kept_keys``. Returns how many
    rows the gate judged.
    """
    assessed = 0
    offset = 0
    decisions: pq.ParquetWriter | None = None
    with _writer(kept_keys, _KEYS_SCHEMA, STAGING_COMPRESSION) as keys:
        for path in prepared:
            with storage.open_input(path) as handle:
                parquet = pq.ParquetFile(handle)
                for index in range(parquet.num_row_groups):
                    end = offset + parquet.metadata.row_group(index).num_rows
                    if gate is None:
                        keys.write_batch(_row_group(parquet, index, list(KEY_COLUMNS)))
                        offset = end
                        continue
                    matches = reused.until(end)
                    complete = matches is not None and matches.num_rows == end - offset
                    batch = _row_group(parquet, index, [*KEY_COLUMNS, "gate_input"] if complete else None)
                    assessment, judged = decide(batch, offset, matches, gate, seconds)
                    assessed += judged
                    table = assessment.to_arrow().append_column("gate_input", batch.column("gate_input"))
                    if decisions is None:
                        decisions = pq.ParquetWriter(decided, table.schema, compression=STAGING_COMPRESSION[0])
                    decisions.write_table(table.cast(decisions.schema))
                    kept = pa.array(assessment["reason"].is_null().to_numpy(), pa.bool_())
                    keys.write_batch(batch.select(list(KEY_COLUMNS)).filter(kept))
                    offset = end
    if decisions is not None:
        decisions.close()
    return assessed


@dataclass
class _Tally:
    """What pass two counts for the report."""

    input_documents: int = 0
    text_changed: int = 0
    boilerplate_lines: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)


def _assemble_pass(
    storage: Storage,
    prepared: list[str],
    gate: QualityGate | None,
    furniture: Furniture,
    decided: str,
    rejects: BatchWriter,
    version: str,
    tally: _Tally,
) -> Iterator[pa.RecordBatch]:
    """Pass two over the prepared batches: annotate every row from its decision; yield the rows the gate keeps.

    The rows the gate drops go to ``rejects`` with their reason. Yields in delivery order, so the kept rows
    come in the order their keys were staged in pass one (deduplication's row numbers refer to that order).
    """
    # no decisions file when the gate had no row to decide
    decisions = pq.ParquetFile(decided) if gate is not None and os.path.exists(decided) else None
    group = 0
    for path in prepared:
        with storage.open_input(path) as handle:
            parquet = pq.ParquetFile(handle)
            lines = json.loads(parquet.metadata.metadata[BATCH_FURNITURE])
            furniture.account({int(line, 16): text for line, text in lines.items()})
            for index in range(parquet.num_row_groups):
                staged = _row_group(parquet, index)
                cleaned = _stamped(staged, version)
                boilerplate = staged.column("boilerplate_lines").to_pylist()
                furniture_lines = staged.column("furniture_lines").to_pylist()
                furniture.account({}, furniture_lines)
                tally.input_documents += cleaned.num_rows
                tally.boilerplate_lines += sum(boilerplate)
                changed = pc.sum(cleaned.column("annotations").field("clean").field("text_changed")).as_py()
                tally.text_changed += changed or 0
                if decisions is None or gate is None:
                    yield cleaned
                    continue
                assessment = pl.from_arrow(decisions.read_row_group(group).drop_columns(["gate_input"]))
                group += 1
                if assessment.height != cleaned.num_rows:  # pass one wrote a row group per prepared row group
                    raise RuntimeError(f"{path}: the gate's decisions do not line up with the documents")
                annotated, why = annotate(
                    cleaned,
                    assessment,  # type: ignore[arg-type]
                    boilerplate if gate.cleaner else None,
                    furniture_lines if gate.settings.strip_furniture else None,
                )
                tally.languages.update(annotated.column("lang").to_pylist())
                keep = pa.array([reason is None for reason in why], pa.bool_())
                yield annotated.filter(keep)
                dropped_why = [reason for reason in why if reason is not None]
                if dropped_why:
                    dropped = annotated.filter(pc.invert(keep))
                    rejects.write_batch(with_exclusion(dropped, STAGE, dropped_why, [None] * len(dropped_why)))
                    tally.reasons.update(dropped_why)


def _write_decisions(con: Any, storage: Storage, source_id: str, decided: str, key: dict[str, str]) -> None:
    """Write the run's decisions, one row per distinct gate input, as the source's decisions file."""
    reader = con.sql(f"SELECT DISTINCT ON (gate_input) * FROM read_parquet({sql_quote(decided)})").to_arrow_reader(
        65_536
    )
    schema = reader.schema.with_metadata({DECISIONS_KEY: json.dumps(key, sort_keys=True).encode()})
    with (
        storage.staged_file(clean_decisions_path(source_id)) as local,
        pq.ParquetWriter(local, schema, compression="zstd") as writer,
    ):
        for batch in reader:
            writer.write_batch(batch)


def _by_filter(reasons: Counter[str]) -> dict[str, int]:
    """Count dropped documents per filter (``language``, ``ocr``, ``gopher_repetition``, ..., ``deduplication``)."""
    totals: Counter[str] = Counter()
    for reason, count in reasons.items():
        totals["deduplication" if reason in DEDUP_REASONS else FILTER_OF_REASON.get(reason, "other")] += count
    return dict(sorted(totals.items()))


def clean_source(
    storage: Storage,
    source_id: str,
    *,
    gate: QualityGate | None = None,
    memory_limit: str = "512MB",
    executor: Executor | None = None,
    shard_size: ShardSize | None = None,
    progress: Callable[[ShardProgress], None] | None = None,
) -> CleanReport:
    """Clean one source's committed raw snapshot into the clean and excluded zones; return the report.

    :param gate: the quality gate built from the source's spec (``QualityGate(spec.quality,
        spec.languages)``); ``None`` runs normalisation and deduplication only.
    :param executor: runs the gate's work in shards (worker processes or cluster jobs): the documents whose
        gate input has no decision yet, each distinct input once, in shards of ``shard_size``; ``None``: the
        gate judges them in this process. Either way the decisions, and so the zone, are the same.
    :param progress: called with a :class:`~stages.executors.ShardProgress` per finished gate shard.
    :raises ShardFailure: a gate shard failed (after the executor's retries); the zone is left as it was.
    """
    started = time.perf_counter()
    ingests = committed_ingests(storage, source_id)
    if not ingests:
        raise StorageError(f"source {source_id} has no committed raw batch: materialise raw_documents first")
    version = code_version()
    examples: dict[str, list[str]] = {}
    seconds: Counter[str] = Counter()
    tally = _Tally()
    key = gate_key(gate) if gate is not None else None
    reassessed = None
    reused = ReusedDecisions()
    gate_shards = sharded_assessed = 0
    with temporary_directory("clean-") as tmp:
        kept_keys = os.path.join(tmp, "kept-keys.parquet")
        decided = os.path.join(tmp, "decided.parquet")
        rejected = os.path.join(tmp, "rejected.parquet")
        con = storage.duckdb(memory_limit=memory_limit)
        # local worker processes normalise a large batch side by side; cluster jobs are for the gate's shards
        workers = executor.workers if isinstance(executor, ProcessExecutor) else 1
        cached = cache_batches(storage, source_id, ingests, gate, con, seconds, workers)
        step = time.perf_counter()
        if gate is not None and key is not None:
            reassessed = reassessed_reason(previous_gate_key(storage, source_id), key)
            offsets = [sum(cached.documents[:n]) for n in range(len(cached.documents))]
            decision_files = [] if reassessed else [storage.url(clean_decisions_path(source_id))]
            if executor is not None:
                started_gate = time.perf_counter()
                outputs, sharded_assessed = _assess_in_shards(
                    con, storage, source_id, cached.prepared, offsets, decision_files, gate, key, executor,
                    shard_size, progress,
                )  # fmt: skip
                gate_shards = len(outputs)
                decision_files += [storage.url(output) for output in outputs]
                seconds["gate"] += time.perf_counter() - started_gate
            if decision_files:
                reused = ReusedDecisions(_reused_reader(con, storage, decision_files, cached.prepared, offsets))
        # Row order is delivery order (oldest raw batch first), so "the last delivery of a doc_id wins" is
        # "the highest row wins". Deduplication needs the keys of every row the gate keeps before any row
        # can be routed, so the gate decides in pass one and pass two writes the zone.
        assessed_total = sharded_assessed + _gate_pass(
            storage, cached.prepared, gate, reused, decided, kept_keys, seconds
        )
        seconds["decide"] += time.perf_counter() - step - seconds["gate"]
        step = time.perf_counter()
        drops = DropCursor.from_arrow(con.sql(duplicate_drops_sql([kept_keys], KEEP_ORDER)).to_arrow_reader(8_192))
        seconds["deduplicate"] += time.perf_counter() - step
        step = time.perf_counter()
        with (
            storage.staged_file(clean_path(source_id)) as kept_local,
            storage.staged_file(clean_excluded_path(source_id)) as excluded_local,
            _writer(kept_local, DOCUMENT_SCHEMA, ZONE_COMPRESSION) as kept_writer,
            _writer(excluded_local, EXCLUDED_SCHEMA, ZONE_COMPRESSION) as excluded_writer,
            # compressing the zone's files (the bulk of a re-run) overlaps reading and annotating
            BackgroundWrites() as background,
        ):
            with _writer(rejected, EXCLUDED_SCHEMA, STAGING_COMPRESSION) as rejects:
                assembled = _assemble_pass(
                    storage, cached.prepared, gate, cached.furniture, decided, rejects, version, tally
                )
                for kept_batch, dropped, why, duplicate_of in split_by_drops(assembled, drops.for_file(0)):
                    background.write_batch(kept_writer, kept_batch)
                    background.write_batch(excluded_writer, with_exclusion(dropped, STAGE, why, duplicate_of))
                    add_examples(examples, dropped.column("doc_id").to_pylist(), why)
                    tally.reasons.update(why)
            with open(rejected, "rb") as rejected_file:
                for batch in iter_batches(rejected_file):
                    background.write_batch(excluded_writer, batch)
                    add_examples(
                        examples, batch.column("doc_id").to_pylist(), batch.column("excluded_reason").to_pylist()
                    )
        # the furniture lines' text may name people (a byline): only here, in the restricted clean zone
        furniture = cached.furniture
        with storage.staged_file(clean_furniture_path(source_id)) as furniture_local:
            pq.write_table(furniture.review_table(), furniture_local)
        # Without a gate the earlier decisions file stays: it caches a pure function of its key, so it is
        # still right for the next run that has one.
        if key is not None and os.path.exists(decided):
            _write_decisions(con, storage, source_id, decided, key)
        con.close()
        if gate_shards:
            storage.delete(clean_shards_folder(source_id), recursive=True)
        seconds["assemble"] += time.perf_counter() - step
        if not drops.exhausted():
            raise RuntimeError(f"source {source_id}: deduplication decisions were left unapplied")
    kept = kept_writer.rows_written

    reasons = tally.reasons
    input_documents = tally.input_documents
    languages = tally.languages
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
        "text_changed_by_normalisation": tally.text_changed,
        "boilerplate_lines_removed": tally.boilerplate_lines,
        "furniture_lines_removed": furniture.lines_removed,
        "furniture_documents_affected": furniture.documents_affected,
        "furniture_lines_found": len(furniture.found()),
        "furniture_min_documents": furniture.threshold,
        # hash, document frequency and length only: the text is in the review file beside this report
        "furniture": [asdict(line) for line in furniture.found()[:REPORTED_FURNITURE_LINES]],
        # ids only: a reviewer finds the documents, with their reason, in the excluded file
        "dropped_examples": {reason: examples[reason] for reason in sorted(examples)},
        "clean_bytes": storage.size(clean_path(source_id)),
        # the gate is the expensive step: a document whose gate input, settings and gate code are unchanged
        # since the last run keeps its decision (see reassessed_reason when all were judged again)
        "documents_assessed": assessed_total,
        "documents_reused": input_documents - assessed_total if gate is not None else 0,
        "reassessed_reason": reassessed,
        "gate_key": key,
        # shards the gate's work ran in, by an executor (0: in the step's own process)
        "gate_shards": gate_shards,
        # normalisation, furniture stripping and digesting are cached per raw batch (clean/<source>/batches/):
        # a run redoes them only for new batches, or where the code, the settings or a batch's furniture changed
        "documents_normalised": cached.normalised.made,
        "documents_normalised_reused": cached.normalised.reused,
        "normalised_reasons": dict(sorted(cached.normalised.reasons.items())),
        "documents_stripped": cached.stripped.made,
        "documents_stripped_reused": cached.stripped.reused,
        "stripped_reasons": dict(sorted(cached.stripped.reasons.items())),
        "seconds_by_step": {},
        "duration_s": 0.0,
    }
    duration = time.perf_counter() - started
    report["seconds_by_step"] = {
        **{step: round(seconds[step], 3) for step in STEPS},
        "other": round(duration - sum(seconds.values()), 3),
    }
    report["duration_s"] = round(duration, 3)
    failpoint("clean:documents-written")
    storage.write_json(clean_report_path(source_id), report)
    return report


# -- the gate in shards ---------------------------------------------------------------------------------

#: A gate shard's input: each distinct gate input once, with what the gate reads of its document.
GATE_SHARD_SCHEMA = pa.schema(
    [
        pa.field("gate_input", pa.string()),
        pa.field("text", pa.string()),
        pa.field("ocr_confidence", pa.float64()),
        pa.field("is_ocr", pa.bool_()),
    ]
)


def _assess_in_shards(
    con: Any,
    storage: Storage,
    source_id: str,
    prepared: list[str],
    offsets: list[int],
    decision_files: list[str],
    gate: QualityGate,
    key: dict[str, str],
    executor: Executor,
    shard_size: ShardSize | None,
    progress: Callable[[ShardProgress], None] | None,
) -> tuple[list[str], int]:
    """Let shard workers judge every gate input of the run that no decision file holds; return their outputs.

    Returns the output paths (decision files of the shards) and how many of the run's documents they decide.
    The gate's settings travel as a file beside the shards, with the gate key: a worker whose gate differs
    (other code or libraries on a node) refuses, so a decision is never taken by another gate than the key
    says.

    :raises ShardFailure: naming the failed shards with the end of their logs.
    """
    folder = clean_shards_folder(source_id)
    storage.delete(folder, recursive=True)  # what a crashed run left (the caller holds the root's lease)
    folder = f"{folder}/{uuid.uuid4().hex[:16]}"
    files = {"files": [storage.url(path) for path in prepared], "offsets": offsets}
    todo = f"SELECT p.* FROM ({_PREPARED_ROWS.format(columns='gate_input')}) AS p"
    if decision_files:
        todo += " ANTI JOIN read_parquet($decisions) AS d ON p.gate_input = d.gate_input"
    params = {**files, "decisions": decision_files} if decision_files else files
    con.execute(f"CREATE OR REPLACE TEMP TABLE gate_todo AS {todo}", params)
    (undecided,) = con.execute("SELECT count(*) FROM gate_todo").fetchall()[0]
    if not undecided:
        return [], 0
    (distinct,) = con.execute("SELECT count(DISTINCT gate_input) FROM gate_todo").fetchall()[0]
    size = (shard_size or ShardSize()).balanced(distinct, getattr(executor, "workers", None))
    # the first document of each distinct input, in the run's order (deterministic shards): DuckDB sorts the
    # row numbers only, and the texts stream from the prepared batches (a sort over texts would not fit)
    first = con.sql("SELECT min(row) AS row FROM gate_todo GROUP BY gate_input ORDER BY row").to_arrow_reader(65_536)
    batches = _rows_to_judge(storage, prepared, ReusedDecisions(first))
    shards = write_shards(storage, batches, folder, size, GATE_SHARD_SCHEMA, sized=("text",))
    settings_path = f"{folder}/gate.json"
    storage.write_json(
        settings_path,
        {"quality": gate.settings.model_dump(mode="json"), "languages": list(gate.languages), "key": key},
    )
    outputs = [path.replace("/in/", "/out/") for path, _ in shards]
    tasks = [
        ShardTask(
            f"{source_id}/gate-{n:05d}",
            ("gate", "--root", storage.root, "--input", path, "--output", output, "--gate", settings_path),
        )
        for n, ((path, _), output) in enumerate(zip(shards, outputs, strict=True))
    ]
    run_stage_shards(executor, tasks, outputs, storage, stage=STAGE, source_id=source_id, progress=progress)
    return outputs, undecided


def _rows_to_judge(storage: Storage, prepared: list[str], wanted: ReusedDecisions) -> Iterator[pa.RecordBatch]:
    """Stream the wanted rows of the prepared batches (numbered in the run's order) as gate shard input."""
    offset = 0
    for path in prepared:
        with storage.open_input(path) as handle:
            parquet = pq.ParquetFile(handle)
            for index in range(parquet.num_row_groups):
                end = offset + parquet.metadata.row_group(index).num_rows
                rows = wanted.until(end)
                if rows is not None:
                    batch = _row_group(parquet, index, ["gate_input", "text", "annotations"])
                    batch = batch.take(pa.array(rows.column("row").to_numpy() - offset))
                    confidence, is_ocr = _gate_inputs(batch)
                    yield pa.RecordBatch.from_arrays(
                        [
                            batch.column("gate_input"),
                            batch.column("text"),
                            pa.array(confidence, pa.float64()),
                            pa.array(is_ocr, pa.bool_()),
                        ],
                        schema=GATE_SHARD_SCHEMA,
                    )
                offset = end


def run_gate_shard(root: str, input_path: str, output_path: str, settings_path: str) -> int:
    """Judge one gate shard (the shard worker's ``gate`` kind); write its decisions; return the documents judged.

    :raises RuntimeError: this process's gate is not the one the stage planned with (other code, settings
        or libraries): its decisions would not be the ones the key promises.
    """
    from catalog.quality_settings import QualitySettings

    storage = Storage.from_env(root)
    planned = storage.read_json(settings_path)
    gate = QualityGate(QualitySettings.model_validate(planned["quality"]), planned["languages"])
    if gate_key(gate) != planned["key"]:
        differs = sorted(k for k in planned["key"] if gate_key(gate).get(k) != planned["key"][k])
        raise RuntimeError(
            f"this worker's quality gate differs from the one the stage planned with: {', '.join(differs)}"
        )
    judged = 0
    with storage.open_input(input_path) as handle, storage.staged_file(output_path) as local:
        writer: pq.ParquetWriter | None = None
        for batch in iter_batches(handle):
            assessment = _assess(
                gate,
                batch.column("text").to_pylist(),
                batch.column("ocr_confidence").to_pylist(),
                batch.column("is_ocr").to_pylist(),
            )
            table = assessment.to_arrow().append_column("gate_input", batch.column("gate_input"))
            if writer is None:
                writer = pq.ParquetWriter(local, table.schema, compression="lz4")
            writer.write_table(table.cast(writer.schema))
            judged += batch.num_rows
        if writer is None:  # an empty shard still answers with a (empty) decisions file
            pq.write_table(pa.table({"gate_input": pa.array([], pa.string())}), local)
        else:
            writer.close()
    return judged
