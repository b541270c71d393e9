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

import functools
import hashlib
import inspect
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
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
from catalog.parquet import BatchWriter, iter_batches
from catalog.staging import temporary_directory
from catalog.storage import Storage, StorageError, sql_quote
from catalog.zones import (
    batch_path,
    clean_decisions_path,
    clean_excluded_path,
    clean_furniture_path,
    clean_path,
    clean_report_path,
    clean_shards_folder,
)
from quality.boilerplate import NewsBoilerplateCleaner
from quality.dedup import DropCursor, duplicate_drops_sql, split_by_drops, with_exclusion
from quality.furniture import Furniture, FurnitureCounter
from quality.gate import FILTER_OF_REASON, QualityGate
from quality.normalise import normalise_text
from stages.executors import Executor, ShardProgress, ShardSize, ShardTask, run_stage_shards, write_shards
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
    seconds_by_step: dict[str, float]
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


@functools.lru_cache(maxsize=1)
def gate_version() -> str:
    """Return the code version of the gate: a digest of the code that decides and of the libraries it relies on.

    Narrower than :func:`catalog.documents.code_version` (the commit) on purpose: a commit that leaves the
    gate alone keeps every earlier decision valid, so a deployment does not re-assess the archive.
    """
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for rel in GATE_MODULES:
        digest.update(rel.encode())
        digest.update((root / rel).read_bytes())
    digest.update(inspect.getsource(gate_assessment).encode())
    for name in GATE_PACKAGES:
        try:
            installed = package_version(name)
        except PackageNotFoundError:
            installed = "-"
        digest.update(f"{name}={installed}".encode())
    return digest.hexdigest()[:16]


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


#: One normalised batch: the batch, and per document the pattern boilerplate and furniture lines removed.
Normalised = tuple[pa.RecordBatch, list[int], list[int]]
#: The staged batches the gate's pass reads: the documents, lines removed, and the digest of the gate's input.
_PREPARED_SCHEMA = (
    DOCUMENT_SCHEMA.append(pa.field("boilerplate_lines", pa.int64()))
    .append(pa.field("furniture_lines", pa.int64()))
    .append(pa.field("gate_input", pa.string()))
)


def _normalised_batches(
    storage: Storage,
    source_id: str,
    ingests: list[Any],
    version: str,
    cleaner: NewsBoilerplateCleaner | None,
    seconds: Counter[str],
) -> Iterator[Normalised]:
    """Stream the source's committed raw batches, oldest first, normalised (and pattern boilerplate stripped)."""
    for ingest in ingests:
        with storage.open_input(batch_path(source_id, ingest["ingest_id"])) as raw:
            for batch in iter_batches(raw):
                started = time.perf_counter()
                cleaned, _, boilerplate = normalise_batch(batch, version, cleaner)
                seconds["normalise"] += time.perf_counter() - started
                yield cleaned, boilerplate, [0] * cleaned.num_rows


def _documents(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Return a staged batch's document columns only."""
    return pa.RecordBatch.from_arrays([batch.column(name) for name in DOCUMENT_SCHEMA.names], schema=DOCUMENT_SCHEMA)


def _without_furniture(
    batches: Iterator[Normalised], gate: QualityGate, tmp: str, con: Any, seconds: Counter[str]
) -> tuple[Furniture, Iterator[Normalised]]:
    """Pass one over the source: count its furniture lines while staging the normalised batches locally.

    Returns the furniture and pass two: the staged batches with the furniture lines removed.
    """
    settings = gate.settings
    counter = FurnitureCounter.from_settings(tmp, settings)
    staged = os.path.join(tmp, "normalised.parquet")
    schema = DOCUMENT_SCHEMA.append(pa.field("boilerplate_lines", pa.int64()))
    with BatchWriter(staged, schema) as writer:
        for batch, boilerplate, _ in batches:
            started = time.perf_counter()
            counter.add(pl.from_arrow(batch.column("text")))
            seconds["furniture"] += time.perf_counter() - started
            writer.write_batch(batch.append_column("boilerplate_lines", pa.array(boilerplate, pa.int64())))
    started = time.perf_counter()
    furniture = counter.finish(con)
    seconds["furniture"] += time.perf_counter() - started

    def second_pass() -> Iterator[Normalised]:
        with open(staged, "rb") as handle:
            for batch in iter_batches(handle):
                boilerplate = batch.column("boilerplate_lines").to_pylist()
                batch = _documents(batch)
                started = time.perf_counter()
                texts, removed = furniture.strip(batch.column("text").to_pylist())
                stripped = replace_texts(batch, texts, removed)
                seconds["furniture"] += time.perf_counter() - started
                yield stripped, boilerplate, removed
        os.remove(staged)  # the prepared file holds the same documents now

    return furniture, second_pass()


def _prepare(batches: Iterator[Normalised], path: str) -> int:
    """Stage the batches the gate will judge with the digest of each document's gate input; return the rows.

    The digests of the whole run must be known before the gate's pass, so the earlier decisions can be
    matched in one join.
    """
    with BatchWriter(path, _PREPARED_SCHEMA) as writer:
        for batch, boilerplate, furniture_lines in batches:
            writer.write_batch(
                batch.append_column("boilerplate_lines", pa.array(boilerplate, pa.int64()))
                .append_column("furniture_lines", pa.array(furniture_lines, pa.int64()))
                .append_column("gate_input", input_digests(batch))
            )
    return writer.rows_written


def _read_prepared(path: str) -> Iterator[Normalised]:
    """Stream the prepared batches back (their ``gate_input`` column stays on the batch)."""
    with open(path, "rb") as handle:
        for batch in iter_batches(handle):
            yield batch, batch.column("boilerplate_lines").to_pylist(), batch.column("furniture_lines").to_pylist()


def _reused_reader(con: Any, decision_files: list[str], prepared: str) -> Any:
    """Return a DuckDB reader of the decisions of this run's rows found in files, by row (out of core: a join on disk).

    :param decision_files: URLs of decision files (the source's earlier decisions, this run's gate shards'),
        with no gate input in two of them.
    """
    files = "[" + ", ".join(sql_quote(url) for url in decision_files) + "]"
    return con.sql(
        f"""
        SELECT p.row, d.* EXCLUDE (gate_input)
        FROM (SELECT file_row_number AS row, gate_input
              FROM read_parquet({sql_quote(prepared)}, file_row_number = true)) AS p
        JOIN read_parquet({files}, union_by_name = true) AS d ON p.gate_input = d.gate_input
        ORDER BY p.row
        """
    ).to_arrow_reader(8_192)


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
    changed_total = 0
    input_documents = 0
    reasons: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    boilerplate_lines = 0
    examples: dict[str, list[str]] = {}
    seconds: Counter[str] = Counter()
    assessed_total = 0
    key = gate_key(gate) if gate is not None else None
    reassessed = None
    reused = ReusedDecisions()
    gate_shards = 0
    with temporary_directory("clean-") as tmp:
        staging = os.path.join(tmp, "staging.parquet")
        rejected = os.path.join(tmp, "rejected.parquet")
        con = storage.duckdb(memory_limit=memory_limit)
        cleaner = gate.cleaner if gate is not None else None
        batches = _normalised_batches(storage, source_id, ingests, version, cleaner, seconds)
        furniture = None
        if gate is not None and gate.settings.strip_furniture:
            furniture, batches = _without_furniture(batches, gate, tmp, con, seconds)
        decided = os.path.join(tmp, "decided.parquet")
        if gate is not None and key is not None:
            prepared = os.path.join(tmp, "prepared.parquet")
            _prepare(batches, prepared)
            reassessed = reassessed_reason(previous_gate_key(storage, source_id), key)
            decision_files = [] if reassessed else [storage.url(clean_decisions_path(source_id))]
            if executor is not None:
                started_gate = time.perf_counter()
                outputs, assessed_total = _assess_in_shards(
                    con, storage, source_id, prepared, decision_files, gate, key, executor, shard_size, progress
                )
                gate_shards = len(outputs)
                decision_files += [storage.url(output) for output in outputs]
                seconds["gate"] += time.perf_counter() - started_gate
            reused = ReusedDecisions(_reused_reader(con, decision_files, prepared) if decision_files else None)
            batches = _read_prepared(prepared)
        # All committed batches, oldest first, into one staging file: row order is delivery order, so
        # "the last delivery of a doc_id wins" is "the highest row wins".
        decisions: pq.ParquetWriter | None = None
        with BatchWriter(staging, DOCUMENT_SCHEMA) as writer, BatchWriter(rejected, EXCLUDED_SCHEMA) as rejects:
            for staged_batch, boilerplate, furniture_lines in batches:
                cleaned = _documents(staged_batch)
                boilerplate_lines += sum(boilerplate)
                changed_total += pc.sum(cleaned.column("annotations").field("clean").field("text_changed")).as_py() or 0
                offset = input_documents
                input_documents += cleaned.num_rows
                if gate is None:
                    writer.write_batch(cleaned)
                    continue
                assessment, assessed = decide(cleaned, offset, reused.until(input_documents), gate, seconds)
                assessed_total += assessed
                decision_table = assessment.to_arrow().append_column("gate_input", staged_batch.column("gate_input"))
                if decisions is None:
                    decisions = pq.ParquetWriter(decided, decision_table.schema, compression="lz4")
                decisions.write_table(decision_table.cast(decisions.schema))
                annotated, why = annotate(
                    cleaned,
                    assessment,
                    boilerplate if cleaner else None,
                    furniture_lines if furniture is not None else None,
                )
                languages.update(annotated.column("lang").to_pylist())
                keep = pa.array([reason is None for reason in why], pa.bool_())
                writer.write_batch(annotated.filter(keep))
                dropped_why = [reason for reason in why if reason is not None]
                if dropped_why:
                    dropped = annotated.filter(pc.invert(keep))
                    rejects.write_batch(with_exclusion(dropped, STAGE, dropped_why, [None] * len(dropped_why)))
                    reasons.update(dropped_why)
        if decisions is not None:
            decisions.close()

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
        # Without a gate the earlier decisions file stays: it caches a pure function of its key, so it is
        # still right for the next run that has one.
        if key is not None and os.path.exists(decided):
            _write_decisions(con, storage, source_id, decided, key)
        con.close()
        if gate_shards:
            storage.delete(clean_shards_folder(source_id), recursive=True)
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
        # the gate is the expensive step: a document whose gate input, settings and gate code are unchanged
        # since the last run keeps its decision (see reassessed_reason when all were judged again)
        "documents_assessed": assessed_total,
        "documents_reused": input_documents - assessed_total if gate is not None else 0,
        "reassessed_reason": reassessed,
        "gate_key": key,
        # shards the gate's work ran in, by an executor (0: in the step's own process)
        "gate_shards": gate_shards,
        "seconds_by_step": {},
        "duration_s": 0.0,
    }
    duration = time.perf_counter() - started
    report["seconds_by_step"] = {
        **{step: round(seconds[step], 3) for step in ("normalise", "furniture", "gate")},
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
    prepared: str,
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
    rows = (
        f"(SELECT file_row_number AS row, gate_input FROM read_parquet({sql_quote(prepared)}, file_row_number = true))"
    )
    if decision_files:
        files = "[" + ", ".join(sql_quote(url) for url in decision_files) + "]"
        rows = f"(SELECT * FROM {rows} WHERE gate_input NOT IN (SELECT gate_input FROM read_parquet({files})))"
    con.execute(f"CREATE OR REPLACE TEMP TABLE gate_todo AS SELECT * FROM {rows}")
    (undecided,) = con.execute("SELECT count(*) FROM gate_todo").fetchall()[0]
    if not undecided:
        return [], 0
    # the first document of each distinct input, in the run's order (deterministic shards)
    reader = con.sql(
        f"""
        SELECT p.gate_input, p.text, p.annotations.raw.ocr_confidence::DOUBLE AS ocr_confidence,
               coalesce(p.annotations.raw.fetch_mode = 'ocr', false) AS is_ocr
        FROM read_parquet({sql_quote(prepared)}, file_row_number = true) AS p
        JOIN (SELECT min(row) AS row FROM gate_todo GROUP BY gate_input) AS first ON p.file_row_number = first.row
        ORDER BY p.file_row_number
        """
    ).to_arrow_reader(8_192)
    batches = (
        pa.Table.from_batches([batch]).cast(GATE_SHARD_SCHEMA).combine_chunks().to_batches()[0] for batch in reader
    )
    shards = write_shards(storage, batches, folder, shard_size or ShardSize(), GATE_SHARD_SCHEMA, sized=("text",))
    settings_path = f"{folder}/gate.json"
    storage.write_json(
        settings_path,
        {"quality": gate.settings.model_dump(mode="json"), "languages": list(gate.languages), "key": key},
    )
    tasks = [
        ShardTask(
            f"{source_id}/gate-{n:05d}",
            (
                "gate",
                "--root",
                storage.root,
                "--input",
                path,
                "--output",
                path.replace("/in/", "/out/"),
                "--gate",
                settings_path,
            ),
        )
        for n, (path, _) in enumerate(shards)
    ]
    outputs = [path.replace("/in/", "/out/") for path, _ in shards]
    run_stage_shards(executor, tasks, outputs, storage, stage=STAGE, source_id=source_id, progress=progress)
    return outputs, undecided


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
