"""Great Expectations 1.x suites for the document zones, with Data Docs written to storage.

dagster-ge does not work with GX 1.x, so this is the thin wrapper: it profiles a zone batch by batch into
a small frame of *safe* columns (ids, codes, lengths, presence flags, counts; never text, titles or
URLs, so neither the results nor the Data Docs can hold personal data), validates each batch with the
zone's suite in a throw-away GX project, stores the Data Docs (made to open offline, see
:mod:`stages.data_docs`) and writes a ``validation.json`` that the release reads: a zone whose expectations
fail is never released.

Uniqueness of ``doc_id`` over the whole zone is counted by DuckDB out of core (GX sees one batch at a
time, so memory does not grow with the zone); the GX uniqueness expectation covers each batch.

No Dagster here: the assets call :func:`validate_zone` and turn its summary into check metadata.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.documents import DOCUMENT_SCHEMA, utc_now
from catalog.parquet import iter_batches
from catalog.settings import Settings, keep_libraries_offline
from catalog.staging import temporary_directory
from catalog.storage import Storage
from catalog.zones import DATA_DOCS, validation_path
from stages.data_docs import expectation_rows, publish_validation

#: The zones that have a suite, and the report file (commit marker) of each.
ZONES = ("clean", "anonymised")
#: Rows per GX validation: the profile frame of one chunk is small (about 100 bytes per document).
CHUNK_ROWS = 200_000
#: Bounds of a document's text length in characters.
MIN_TEXT_CHARS = 1
MAX_TEXT_CHARS = 5_000_000

SHA256_HEX = r"^[0-9a-f]{64}$"
DOC_ID_HEX = r"^[0-9a-f]{32}$"


def _present(array: pa.Array) -> pa.Array:
    return pc.invert(pc.is_null(array))


def profile_batch(batch: pa.RecordBatch, zone: str, residuals: Mapping[str, int] | None = None) -> Any:
    """Return the safe profile of a batch of documents as a pandas frame (what the suite validates).

    :param residuals: for the anonymised zone, residual identifiers per ``doc_id`` (from the residual
        scan); documents not in it have none.
    """
    import pandas as pd

    raw = batch.column("annotations").field("raw")
    columns: dict[str, Any] = {
        "doc_id": batch.column("doc_id").to_pylist(),
        "source_id": batch.column("source_id").to_pylist(),
        "licence": batch.column("licence").to_pylist(),
        "lang": batch.column("lang").to_pylist(),
        "content_sha256": batch.column("content_sha256").to_pylist(),
        "text_chars": pc.utf8_length(batch.column("text")).to_pylist(),
        "has_fetched_at": _present(batch.column("fetched_at")).to_pylist(),
        "has_ingest_id": _present(raw.field("ingest_id")).to_pylist(),
        "has_location": _present(raw.field("location")).to_pylist(),
        "has_record": _present(raw.field("record")).to_pylist(),
        "has_clean_annotation": _present(batch.column("annotations").field("clean")).to_pylist(),
    }
    if zone == "anonymised":
        columns["has_anonymised_annotation"] = _present(batch.column("annotations").field("anonymised")).to_pylist()
        found = residuals or {}
        columns["residual_identifiers"] = [found.get(doc_id, 0) for doc_id in columns["doc_id"]]
    return pd.DataFrame(columns)


def zone_expectations(
    zone: str, source_id: str, languages: Sequence[str], *, max_text_chars: int = MAX_TEXT_CHARS
) -> list[Any]:
    """Return the expectations of a zone partition (GX 1.x expectation objects)."""
    import great_expectations as gx

    e = gx.expectations
    expectations = [
        e.ExpectColumnValuesToNotBeNull(column="doc_id"),
        e.ExpectColumnValuesToBeUnique(column="doc_id"),
        e.ExpectColumnValuesToMatchRegex(column="doc_id", regex=DOC_ID_HEX),
        e.ExpectColumnValuesToBeInSet(column="source_id", value_set=[source_id]),
        e.ExpectColumnValuesToNotBeNull(column="licence"),
        e.ExpectColumnValueLengthsToBeBetween(column="licence", min_value=1),
        e.ExpectColumnValuesToNotBeNull(column="lang"),
        e.ExpectColumnValuesToBeInSet(column="lang", value_set=list(languages)),
        e.ExpectColumnValuesToBeBetween(column="text_chars", min_value=MIN_TEXT_CHARS, max_value=max_text_chars),
        e.ExpectColumnValuesToMatchRegex(column="content_sha256", regex=SHA256_HEX),
    ]
    flags = ["has_fetched_at", "has_ingest_id", "has_location", "has_record", "has_clean_annotation"]
    if zone == "anonymised":
        flags.append("has_anonymised_annotation")
        expectations.append(e.ExpectColumnValuesToBeBetween(column="residual_identifiers", min_value=0, max_value=0))
    expectations += [e.ExpectColumnValuesToBeInSet(column=flag, value_set=[True]) for flag in flags]
    return expectations


def _gx_project(root: Path, zone: str, expectations: list[Any]) -> tuple[Any, Any]:
    """Create a throw-away file GX project with the zone's suite; return (context, checkpoint)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX logs every metric at INFO and draws progress bars; neither belongs in pipeline logs.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    context.enable_analytics(False)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # no walkthrough pop-ups and no profiling section: the pages are read offline, without script
    for site in (context.variables.data_docs_sites or {}).values():
        site["show_how_to_buttons"] = False
        site["site_section_builders"] = {"profiling": "None"}
    context.variables.save()
    asset = context.data_sources.add_pandas(f"{zone}_zone").add_dataframe_asset("documents")
    batch_definition = asset.add_batch_definition_whole_dataframe("batch")
    suite = gx.ExpectationSuite(name=f"{zone}_zone")
    for expectation in expectations:
        suite.add_expectation(expectation)
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{zone}_zone", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{zone}_zone",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            # counts and up to 20 unexpected values of the profile (ids, lengths, codes: no personal data)
            result_format={"result_format": "SUMMARY"},
        )
    )
    return context, checkpoint


def _duplicate_doc_ids(storage: Storage, path: str) -> int:
    con = storage.duckdb(memory_limit="256MB")
    try:
        url = storage.url(path)
        ((duplicates,),) = con.execute(
            f"SELECT count(*) - count(DISTINCT doc_id) FROM read_parquet('{url}')"
        ).fetchall()
    finally:
        con.close()
    return int(duplicates)


def validate_zone(
    storage: Storage,
    zone: str,
    source_id: str,
    zone_path: str,
    report_path: str,
    languages: Sequence[str],
    *,
    residuals: Mapping[str, int] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    data_docs_keep: int | None = None,
    data_docs_url: str | None = None,
) -> dict[str, Any]:
    """Validate one zone partition with its suite; write Data Docs and ``validation.json``; return the summary.

    :param zone_path: the partition's documents file; ``report_path``: its stage report (the commit
        marker), whose SHA-256 ties the validation to this exact snapshot of the zone.
    :param languages: the source's expected languages.
    :param residuals: for ``anonymised``: residual identifiers per document id from the residual scan.
    :param data_docs_keep: validation pages kept per zone and source (default: the setting
        ``CORPUSFABRIEK_DATA_DOCS_KEEP``).
    :param data_docs_url: where ``corpusfabriek docs serve`` is reached (default: ``CORPUSFABRIEK_DATA_DOCS_URL``);
        when known, the summary's ``data_docs_url`` is the page's address there.

    The summary's ``data_docs`` is the storage path of the validation's page (``index.html``).
    """
    if zone not in ZONES:
        raise ValueError(f"unknown zone {zone!r}; expected one of {', '.join(ZONES)}")
    settings = Settings.read()
    keep = settings.data_docs_keep if data_docs_keep is None else data_docs_keep
    base_url = (settings.data_docs_url if data_docs_url is None else data_docs_url.rstrip("/")) or None
    keep_libraries_offline()  # no usage statistics, ever (offline factory)
    started = utc_now()
    validation_id = f"{started:%Y%m%dT%H%M%S%fZ}"
    expectations = zone_expectations(zone, source_id, languages)
    results: dict[str, dict[str, Any]] = {}
    chunks = documents = 0
    with temporary_directory("gx-") as tmp:
        _, checkpoint = _gx_project(Path(tmp), zone, expectations)
        with storage.open_input(zone_path) as handle:
            pending: list[Any] = []
            pending_rows = 0
            batches = iter_batches(handle)
            while True:
                batch = next(batches, None)
                if batch is not None:
                    pending.append(profile_batch(batch, zone, residuals))
                    pending_rows += batch.num_rows
                if pending and (batch is None or pending_rows >= chunk_rows):
                    _merge(results, _run_checkpoint(checkpoint, pending))
                    chunks += 1
                    documents += pending_rows
                    pending, pending_rows = [], 0
                if batch is None:
                    break
            if chunks == 0:  # an empty zone is still validated (and passes: there is nothing wrong in it)
                _merge(results, _run_checkpoint(checkpoint, [profile_batch(_empty_batch(), zone, residuals)]))
                chunks = 1
        duplicates = _duplicate_doc_ids(storage, zone_path)
        failed = sorted(name for name, result in results.items() if not result["success"])
        summary: dict[str, Any] = {
            "zone": zone,
            "source_id": source_id,
            "suite": f"{zone}_zone",
            "validation_id": validation_id,
            "validated_at": started.isoformat(),
            "success": not failed and duplicates == 0,
            "documents": documents,
            "chunks": chunks,
            "evaluated_expectations": len(results) + 1,
            "successful_expectations": len(results) - len(failed) + (duplicates == 0),
            "failed_expectations": failed + (["doc_id unique across the zone"] if duplicates else []),
            "duplicate_doc_ids_across_zone": duplicates,
            "results": results,
            "report_sha256": hashlib.sha256(storage.read_bytes(report_path)).hexdigest(),
        }
        site = Path(tmp) / "gx" / "uncommitted" / "data_docs" / "local_site"
        page = publish_validation(storage, site, summary, keep=keep)
    summary["data_docs"] = page
    summary["data_docs_url"] = f"{base_url}/{page.removeprefix(DATA_DOCS + '/')}" if base_url else None
    storage.write_json(validation_path(zone, source_id), summary)
    return summary


def failed_expectations_markdown(summary: Mapping[str, Any]) -> str:
    """Return a markdown table of a validation's failed expectations, or ``All N expectations passed.``.

    Columns: expectation type, column, unexpected (of the values checked), and what was expected (the
    expectation's parameters). Built from the summary alone, which holds counts and parameters, never text.
    """
    rows = [row for row in expectation_rows(summary) if not row["success"]]
    if not rows:
        return f"All {summary.get('evaluated_expectations', len(expectation_rows(summary)))} expectations passed."
    lines = ["| Expectation | Column | Unexpected | Expected |", "|---|---|---|---|"]
    for row in rows:
        checked = row["element_count"]
        share = f" ({row['unexpected_count'] / checked:.0%})" if checked else ""
        cells = [
            f"`{row['expectation']}`",
            f"`{row['column']}`",
            f"{row['unexpected_count']:,} of {checked:,}{share}",
            row["expected"] or "-",
        ]
        lines.append("| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


def _markdown_cell(text: str) -> str:
    """Keep a value inside its table cell: one line, pipes escaped (also inside code spans)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _empty_batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=DOCUMENT_SCHEMA)


def _run_checkpoint(checkpoint: Any, frames: list[Any]) -> dict[str, dict[str, Any]]:
    """Validate one chunk; return per expectation: success, element and unexpected counts."""
    import pandas as pd

    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    outcome = checkpoint.run(batch_parameters={"dataframe": frame})
    (run,) = outcome.run_results.values()
    chunk: dict[str, dict[str, Any]] = {}
    for result in run.results:
        config = result.expectation_config
        name = f"{config.type}({config.kwargs.get('column', '')})"
        details = result.result or {}
        chunk[name] = {
            "expectation_type": config.type,
            "column": config.kwargs.get("column", ""),
            # the suite's parameters (value sets, patterns, bounds): from the spec and the code, not the data
            "expected": {
                key: value for key, value in config.kwargs.items() if key not in ("column", "batch_id", "result_format")
            },
            "success": bool(result.success),
            "element_count": int(details.get("element_count") or 0),
            "unexpected_count": int(details.get("unexpected_count") or 0),
        }
    return chunk


def _merge(total: dict[str, dict[str, Any]], chunk: dict[str, dict[str, Any]]) -> None:
    for name, result in chunk.items():
        counts = {"success": True, "element_count": 0, "unexpected_count": 0}
        seen = total.setdefault(name, {**{k: v for k, v in result.items() if k not in counts}, **counts})
        seen["success"] = seen["success"] and result["success"]
        seen["element_count"] += result["element_count"]
        seen["unexpected_count"] += result["unexpected_count"]


def validation_matches(storage: Storage, zone: str, source_id: str, report_path: str) -> tuple[bool, str]:
    """Tell whether the zone partition's latest validation passed *and* is of its current snapshot.

    Returns ``(ok, reason)``; reasons: ``passed``, ``not_validated``, ``expectations_failed``,
    ``validated_an_older_snapshot``.
    """
    if not storage.exists(validation_path(zone, source_id)):
        return False, "not_validated"
    summary = storage.read_json(validation_path(zone, source_id))
    if summary.get("report_sha256") != hashlib.sha256(storage.read_bytes(report_path)).hexdigest():
        return False, "validated_an_older_snapshot"
    if not summary.get("success"):
        return False, "expectations_failed"
    return True, "passed"
