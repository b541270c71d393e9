"""Blocking asset checks. Each re-reads what is stored, so "Execute" on a check works without re-materialising.

A failing blocking check stops everything downstream of it in the run. The zone checks are evaluated per
partition (per source), so one source's passing check never hides another source's failure; a failed zone
check is recorded as the source's failure, which holds it back from releases until its last stage passes.
"""

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    asset_check,
    multi_asset_check,
)

from assets.assets import (
    anonymised_documents,
    clean_documents,
    corpus_release,
    failure_recorded,
    partition_spec,
)
from assets.metadata import counts_table, location, rows_table
from assets.partitions import source_partitions
from assets.resources import ShardsResource, SourcesResource, StorageResource
from catalog.failures import clear_failure, record_failure
from catalog.releases import read_manifest, verify_release
from catalog.sources import SourceSpec
from catalog.storage import Storage
from catalog.zones import anonymised_path, anonymised_report_path, clean_path, clean_report_path
from stages.anonymise import RESIDUAL_ENTITIES, residual_scan
from stages.data_docs import expectation_rows
from stages.validate import failed_expectations_markdown, validate_zone

ACCOUNTING_CHECK = "accounting_balanced"
RESIDUAL_CHECK = "no_residual_identifiers"
CLEAN_EXPECTATIONS_CHECK = "clean_zone_expectations"
ANONYMISED_EXPECTATIONS_CHECK = "anonymised_zone_expectations"
#: The columns of a validation's ``results`` table.
EXPECTATION_COLUMNS = [
    ("expectation", "string"),
    ("column", "string"),
    ("success", "bool"),
    ("unexpected_count", "int"),
    ("element_count", "int"),
    ("expected", "string"),
]


def _zone_check(name: str, asset: Any, description: str) -> AssetCheckSpec:
    """Return the spec of a blocking check of a per-source zone asset, evaluated per partition (per source)."""
    with warnings.catch_warnings():
        # Partitioned checks are a Dagster preview feature (1.13); the warning would reach every CLI user's
        # terminal and says nothing they can act on.
        warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")
        return AssetCheckSpec(
            name, asset=asset, blocking=True, partitions_def=source_partitions, description=description
        )


def expectations_result(store: Storage, check_name: str, summary: dict[str, Any]) -> AssetCheckResult:
    """Turn a zone validation summary into a blocking check result: the failures as a table, Data Docs linked."""
    metadata: dict[str, Any] = {
        "suite": summary["suite"],
        "documents": summary["documents"],
        "evaluated_expectations": summary["evaluated_expectations"],
        "successful_expectations": summary["successful_expectations"],
        # what failed, readable in the check's page; the Data Docs page has every expectation
        "failed": MetadataValue.md(failed_expectations_markdown(summary)),
        "failed_expectations": MetadataValue.json(summary["failed_expectations"]),
        "duplicate_doc_ids_across_zone": summary["duplicate_doc_ids_across_zone"],
        # one row per expectation, failed ones first (the Data Docs page has the same)
        "results": rows_table(expectation_rows(summary), EXPECTATION_COLUMNS),
        "validation_id": summary["validation_id"],
    }
    if summary["data_docs"]:
        metadata["data_docs"] = location(store, summary["data_docs"])
    if summary.get("data_docs_url"):  # served by `corpusfabriek docs serve`: a link the UI opens
        metadata["data_docs_page"] = MetadataValue.url(summary["data_docs_url"])
    return AssetCheckResult(
        check_name=check_name, passed=summary["success"], severity=AssetCheckSeverity.ERROR, metadata=metadata
    )


def _selected(context: AssetCheckExecutionContext) -> set[str]:
    """Return the names of the checks this run asked for ("Execute" on one check runs only that one)."""
    return {key.name for key in context.selected_asset_check_keys}


@contextlib.contextmanager
def _checking(
    context: AssetCheckExecutionContext, storage: StorageResource, sources: SourcesResource, stage: str
) -> Iterator[tuple[Storage, str, SourceSpec]]:
    """Hold the root's lease for a zone check; yield the storage, the partition's source and its spec.

    An error while checking is recorded as the source's failure of ``stage`` before it fails the step.
    """
    with storage.exclusive(context.op_execution_context) as store:
        source_id = context.op_execution_context.partition_key
        spec = partition_spec(sources, store, source_id)
        with failure_recorded(store, source_id, stage, context.run.run_id):
            yield store, source_id, spec


def _record_outcome(store: Storage, source_id: str, stage: str, results: list[AssetCheckResult], run_id: str) -> bool:
    """Record a failed blocking check of a source as its failure; return whether every check passed."""
    failed = [result.check_name for result in results if not result.passed]
    if failed:
        record_failure(store, source_id, stage, f"blocking check(s) failed: {', '.join(failed)}", run_id)
    return not failed


@multi_asset_check(
    specs=[
        _zone_check(
            ACCOUNTING_CHECK,
            clean_documents,
            "Every input record is accounted for: records read = kept + dropped + quarantined.",
        ),
        _zone_check(
            CLEAN_EXPECTATIONS_CHECK,
            clean_documents,
            "Great Expectations suite of the clean zone: unique well-formed ids, text within bounds, "
            "language in the source's set, licence, source and provenance present. Data Docs linked.",
        ),
    ],
    description="Re-read one source's stored clean zone: its accounting and its Great Expectations suite.",
    can_subset=True,
)
def clean_zone_checks(
    context: AssetCheckExecutionContext, storage: StorageResource, sources: SourcesResource
) -> Iterator[AssetCheckResult]:
    """Check the stored clean partition: every input record accounted for, the zone's suite passes."""
    selected = _selected(context)
    results: list[AssetCheckResult] = []
    with _checking(context, storage, sources, "clean_documents") as (store, source_id, spec):
        if ACCOUNTING_CHECK in selected:
            report = store.read_json(clean_report_path(source_id))
            unaccounted = report["records_read"] - report["kept"] - report["dropped"] - report["quarantined"]
            results.append(
                AssetCheckResult(
                    check_name=ACCOUNTING_CHECK,
                    passed=unaccounted == 0 and store.exists(clean_path(source_id)),
                    severity=AssetCheckSeverity.ERROR,
                    metadata={"records_read": report["records_read"], "unaccounted": unaccounted},
                )
            )
        if CLEAN_EXPECTATIONS_CHECK in selected:
            summary = validate_zone(
                store, "clean", source_id, clean_path(source_id), clean_report_path(source_id), spec.languages
            )
            results.append(expectations_result(store, CLEAN_EXPECTATIONS_CHECK, summary))
        _record_outcome(store, source_id, "clean_documents", results, context.run.run_id)
    yield from results


@multi_asset_check(
    specs=[
        _zone_check(
            RESIDUAL_CHECK,
            anonymised_documents,
            "No e-mail, IBAN, BSN, phone or credit card number is left in the anonymised zone "
            "other than the recorded replacements (surrogates pass checksums on purpose).",
        ),
        _zone_check(
            ANONYMISED_EXPECTATIONS_CHECK,
            anonymised_documents,
            "Great Expectations suite of the anonymised zone: the clean zone's expectations plus an "
            "anonymisation annotation on every document and no residual structured identifier. A release "
            "only takes a source whose current anonymised snapshot passed it.",
        ),
    ],
    description="Re-read one source's stored anonymised zone: a residual-identifier scan and its Great "
    "Expectations suite.",
    can_subset=True,
)
def anonymised_zone_checks(
    context: AssetCheckExecutionContext, storage: StorageResource, sources: SourcesResource, shards: ShardsResource
) -> Iterator[AssetCheckResult]:
    """Check the stored anonymised partition; when both checks ran and passed, the source is healthy again."""
    selected = _selected(context)
    results: list[AssetCheckResult] = []
    with _checking(context, storage, sources, "anonymised_documents") as (store, source_id, spec):
        report = store.read_json(anonymised_report_path(source_id))
        # both checks need the scan (the suite expects no residual); on the stage's workers, as its shards ran
        scan = residual_scan(store, source_id, executor=shards.executor())
        context.log.info(f"{source_id}: residual identifiers: {scan['residuals']}")
        if RESIDUAL_CHECK in selected:
            results.append(
                AssetCheckResult(
                    check_name=RESIDUAL_CHECK,
                    passed=scan["residuals"] == 0 and report["documents_in"] == report["documents_out"],
                    severity=AssetCheckSeverity.ERROR,
                    metadata={
                        "documents_scanned": scan["documents"],
                        "residuals": scan["residuals"],
                        "residuals_by_entity": counts_table(scan["by_entity"], "entity", "residuals"),
                        "residuals_by_field": counts_table(scan["by_field"], "field", "residuals"),
                        # document ids and offsets only: never the values found
                        "examples": MetadataValue.json(scan["examples"]),
                        "entities_scanned": ", ".join(RESIDUAL_ENTITIES),
                    },
                )
            )
        if ANONYMISED_EXPECTATIONS_CHECK in selected:
            summary = validate_zone(
                store,
                "anonymised",
                source_id,
                anonymised_path(source_id),
                anonymised_report_path(source_id),
                spec.languages,
                residuals=scan["by_document"],
            )
            results.append(expectations_result(store, ANONYMISED_EXPECTATIONS_CHECK, summary))
        passed = _record_outcome(store, source_id, "anonymised_documents", results, context.run.run_id)
        if passed and selected >= {RESIDUAL_CHECK, ANONYMISED_EXPECTATIONS_CHECK}:
            clear_failure(store, source_id)  # the last stage of the source passed all its checks: healthy again
    yield from results


@asset_check(
    asset=corpus_release,
    blocking=True,
    description="The newest release verifies against its manifest: every part's size, SHA-256 and row count.",
)
def corpus_release_manifest_verifies(context: AssetCheckExecutionContext, storage: StorageResource) -> AssetCheckResult:
    """Re-read the release just built from storage and compare it with its manifest."""
    store = storage.get()
    event = context.instance.get_latest_materialization_event(AssetKey("corpus_release"))
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    if "version" not in metadata:
        return AssetCheckResult(passed=False, metadata={"problem": "no materialisation with a version"})
    version, corpus = metadata["version"].value, metadata["corpus"].value
    problems = verify_release(store, read_manifest(store, version, corpus))
    # every corpus view cut in the same step, each against its own manifest
    for view in metadata["views"].value if "views" in metadata else []:
        if view["version"] is not None:
            found = verify_release(store, read_manifest(store, view["version"], view["corpus"]))
            problems += [f"{view['corpus']}: {problem}" for problem in found]
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={"version": version, "problems": len(problems), "details": "\n".join(problems) or "none"},
    )


ZONE_CHECKS = [clean_zone_checks, anonymised_zone_checks]
