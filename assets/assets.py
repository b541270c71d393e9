"""The asset graph: ``raw_documents`` → ``clean_documents`` → ``anonymised_documents`` → ``corpus_release``.

Assets are thin: they call the catalog and quality libraries, which write through the storage resource,
and return metadata (counts per outcome, bytes, durations, paths). Documents never travel through a
Dagster IO manager. The zone assets carry blocking checks (accounting, Great Expectations suites, residual
identifiers): a failing check stops everything downstream in the run, and ``corpus_release`` only takes a
source whose anonymised zone passed its suite on the current snapshot. Later stages (near-duplicate
removal) slot in as further per-source assets between ``clean_documents`` and ``anonymised_documents``:
anonymisation is always the last stage before a release, and a release reads only the anonymised zone.
"""

from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from anonymisation.stage import (
    RESIDUAL_ENTITIES,
    anonymise_source,
    anonymised_path,
    anonymised_report_path,
    residual_scan,
)
from catalog.ingest import batch_path, ingest_source, quarantine_path
from catalog.releases import build_release, release_dir
from catalog.reports import partner_report
from catalog.storage import Storage
from pipelines.partitions import source_partitions
from pipelines.resources import AnonymisationResource, ReleaseResource, SourcesResource, StorageResource
from quality.clean import STAGE as CLEAN_STAGE
from quality.clean import clean_path, clean_report_path, clean_source, excluded_path
from quality.expectations import validate_zone, validation_matches, validation_path
from quality.gate import QualityGate

ACCOUNTING_CHECK = "accounting_balanced"
RESIDUAL_CHECK = "no_residual_identifiers"
CLEAN_EXPECTATIONS_CHECK = "clean_zone_expectations"
ANONYMISED_EXPECTATIONS_CHECK = "anonymised_zone_expectations"


def _expectations_check(store: Storage, check_name: str, summary: dict[str, Any]) -> AssetCheckResult:
    """Turn a zone validation summary into a blocking check result with the GX results as metadata."""
    metadata: dict[str, Any] = {
        "suite": summary["suite"],
        "documents": summary["documents"],
        "evaluated_expectations": summary["evaluated_expectations"],
        "successful_expectations": summary["successful_expectations"],
        "failed_expectations": MetadataValue.json(summary["failed_expectations"]),
        "duplicate_doc_ids_across_zone": summary["duplicate_doc_ids_across_zone"],
        "results": MetadataValue.json(summary["results"]),
        "validation_id": summary["validation_id"],
    }
    if summary["data_docs"]:
        metadata["data_docs"] = _location(store, summary["data_docs"])
    return AssetCheckResult(
        check_name=check_name, passed=summary["success"], severity=AssetCheckSeverity.ERROR, metadata=metadata
    )


def _location(storage: Storage, rel: str) -> MetadataValue:
    url = storage.url(rel)
    return MetadataValue.url(url) if storage.is_remote else MetadataValue.path(url)


@asset(
    partitions_def=source_partitions,
    group_name="ingest",
    kinds={"parquet"},
    description="Documents as fetched from each partner source (restricted zone: contains personal data). "
    "Unparseable input goes to quarantine/ with a reason.",
)
def raw_documents(
    context: AssetExecutionContext, storage: StorageResource, sources: SourcesResource
) -> MaterializeResult:
    """Fetch what is new in one source (the partition) into the raw and quarantine zones."""
    with storage.exclusive(context) as store:
        spec = sources.registry(store).get(context.partition_key)
        report = ingest_source(store, spec)
        context.log.info(
            f"ingested {spec.id}: {report['documents']} new documents, {report['quarantined']} quarantined"
        )
        return MaterializeResult(
            metadata={
                "dagster/row_count": report["documents"],
                "records_read": report["records_read"],
                "documents": report["documents"],
                "documents_by_fetch_mode": MetadataValue.json(report["documents_by_fetch_mode"]),
                "quarantined": report["quarantined"],
                "quarantined_by_reason": MetadataValue.json(report["quarantined_by_reason"]),
                "ingest_id": report["ingest_id"],
                "kind": spec.kind,
                "licence": spec.licence,
                "status": spec.status,
                "raw_bytes": report["raw_bytes"],
                "duration_s": report["duration_s"],
                "path": _location(store, batch_path(spec.id, report["ingest_id"])),
                "quarantine_path": _location(store, quarantine_path(spec.id, report["ingest_id"])),
            }
        )


@asset(
    partitions_def=source_partitions,
    deps=[raw_documents],
    group_name="clean",
    kinds={"parquet", "duckdb"},
    description="Normalised documents per source (mojibake, NFC, line endings, invisible characters, blanks) "
    "that pass the quality gate (expected language, OCR noise, the FineWeb-2 Dutch filters), exact duplicates "
    "within the source removed; every dropped document in excluded/ with its reason.",
    check_specs=[
        AssetCheckSpec(
            ACCOUNTING_CHECK,
            asset="clean_documents",
            blocking=True,
            description="Every input record is accounted for: records read = kept + dropped + quarantined.",
        ),
        AssetCheckSpec(
            CLEAN_EXPECTATIONS_CHECK,
            asset="clean_documents",
            blocking=True,
            description="Great Expectations suite of the clean zone: unique well-formed ids, text within bounds, "
            "language in the source's set, licence, source and provenance present. Data Docs linked.",
        ),
    ],
)
def clean_documents(
    context: AssetExecutionContext, storage: StorageResource, sources: SourcesResource
) -> MaterializeResult:
    """Clean one source's raw batches, check that every input record is accounted for, report to the partner."""
    with storage.exclusive(context) as store:
        spec = sources.registry(store).get(context.partition_key)
        report = clean_source(store, context.partition_key, gate=QualityGate(spec.quality, spec.languages))
        partner = partner_report(store, sources.registry(store), context.partition_key)
        unaccounted = report["records_read"] - report["kept"] - report["dropped"] - report["quarantined"]
        check = AssetCheckResult(
            check_name=ACCOUNTING_CHECK,
            passed=unaccounted == 0 and store.exists(clean_path(report["source_id"])),
            severity=AssetCheckSeverity.ERROR,
            metadata={"records_read": report["records_read"], "unaccounted": unaccounted},
        )
        expectations = validate_zone(
            store, "clean", spec.id, clean_path(spec.id), clean_report_path(spec.id), spec.languages
        )
        metadata = clean_metadata(store, report)
        metadata["partner_report"] = MetadataValue.json({k: v for k, v in partner.items() if k != "registration"})
        metadata["next_scheduled_run"] = partner["next_scheduled_run"] or "not scheduled"
        metadata["last_successful_run"] = partner["last_successful_run"] or "never"
        return MaterializeResult(
            metadata=metadata, check_results=[check, _expectations_check(store, CLEAN_EXPECTATIONS_CHECK, expectations)]
        )


def clean_metadata(store: Storage, report: dict[str, Any]) -> dict[str, Any]:
    """Metadata of a clean partition: the full accounting of its input records."""
    source_id = report["source_id"]
    return {
        "dagster/row_count": report["kept"],
        "records_read": report["records_read"],
        "kept": report["kept"],
        "dropped": report["dropped"],
        "dropped_by_reason": MetadataValue.json(report["dropped_by_reason"]),
        "dropped_by_filter": MetadataValue.json(report.get("dropped_by_filter", {})),
        "languages": MetadataValue.json(report.get("languages", {})),
        "quarantined": report["quarantined"],
        "quarantined_by_reason": MetadataValue.json(report["quarantined_by_reason"]),
        "accounting": MetadataValue.md(
            f"records read **{report['records_read']}** = kept **{report['kept']}** + dropped "
            f"**{report['dropped']}** + quarantined **{report['quarantined']}**"
        ),
        "text_changed_by_normalisation": report["text_changed_by_normalisation"],
        "ingest_id": report["ingest_id"],
        "clean_bytes": report["clean_bytes"],
        "duration_s": report["duration_s"],
        "path": _location(store, clean_path(source_id)),
        "excluded_path": _location(store, excluded_path(CLEAN_STAGE, source_id)),
    }


@asset(
    partitions_def=source_partitions,
    deps=[clean_documents],
    group_name="anonymise",
    kinds={"parquet", "presidio"},
    description="Clean documents with personal data replaced in context (surrogate, placeholder or keyed "
    "hash, per the source's policy); per-document entity counts and replacement offsets in "
    "annotations.anonymised. Only this zone is ever released.",
    check_specs=[
        AssetCheckSpec(
            RESIDUAL_CHECK,
            asset="anonymised_documents",
            blocking=True,
            description="No e-mail, IBAN, BSN, phone or credit card number is left in the anonymised zone "
            "other than the recorded replacements (surrogates pass checksums on purpose).",
        ),
        AssetCheckSpec(
            ANONYMISED_EXPECTATIONS_CHECK,
            asset="anonymised_documents",
            blocking=True,
            description="Great Expectations suite of the anonymised zone: the clean zone's expectations plus an "
            "anonymisation annotation on every document and no residual structured identifier. A release "
            "only takes a source whose current anonymised snapshot passed it.",
        ),
    ],
)
def anonymised_documents(
    context: AssetExecutionContext,
    storage: StorageResource,
    sources: SourcesResource,
    anonymisation: AnonymisationResource,
) -> MaterializeResult:
    """Anonymise one source's clean documents with its policy, then scan the result for residual identifiers."""
    with storage.exclusive(context) as store:
        source_id = context.partition_key
        spec = sources.registry(store).get(source_id)
        clean_report = store.read_json(clean_report_path(source_id))
        anonymiser = anonymisation.anonymiser(spec.anonymisation)
        report = anonymise_source(
            store, source_id, anonymiser, operator=spec.anonymisation.operator, clean_report=clean_report
        )
        scan = residual_scan(store, source_id)
        expectations = validate_zone(
            store,
            "anonymised",
            source_id,
            anonymised_path(source_id),
            anonymised_report_path(source_id),
            spec.languages,
            residuals=scan["by_document"],
        )
        context.log.info(
            f"{source_id}: {report['replacements']} replacements in {report['documents_with_personal_data']} of "
            f"{report['documents_out']} documents; residual identifiers: {scan['residuals']}"
        )
        check = AssetCheckResult(
            check_name=RESIDUAL_CHECK,
            passed=scan["residuals"] == 0 and report["documents_in"] == report["documents_out"],
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "documents_scanned": scan["documents"],
                "residuals": scan["residuals"],
                "residuals_by_entity": MetadataValue.json(scan["by_entity"]),
                # document ids and offsets only: never the values found
                "examples": MetadataValue.json(scan["examples"]),
                "entities_scanned": ", ".join(RESIDUAL_ENTITIES),
            },
        )
        return MaterializeResult(
            metadata={
                "dagster/row_count": report["documents_out"],
                "documents_in": report["documents_in"],
                "documents_out": report["documents_out"],
                "documents_with_personal_data": report["documents_with_personal_data"],
                "replacements": report["replacements"],
                "replacements_by_entity": MetadataValue.json(report["replacements_by_entity"]),
                "kept_names": report["kept_names"],
                "operator": report["operator"],
                "mb_per_s": report["mb_per_s"] or 0.0,
                "duration_s": report["duration_s"],
                "path": _location(store, anonymised_path(source_id)),
            },
            check_results=[check, _expectations_check(store, ANONYMISED_EXPECTATIONS_CHECK, expectations)],
        )


@asset(
    deps=[anonymised_documents],
    group_name="release",
    kinds={"parquet", "duckdb"},
    description="An immutable, versioned corpus release of all approved sources: exact and near duplicates "
    "across sources removed (a persistent MinHash index: only new documents are hashed, published ones are "
    "never replaced), Parquet parts plus a manifest (checksums, row counts, source partitions) written last.",
)
def corpus_release(
    context: AssetExecutionContext,
    storage: StorageResource,
    sources: SourcesResource,
    release: ReleaseResource,
) -> MaterializeResult:
    """Build a new release version from the anonymised zone of every approved source."""
    with storage.exclusive(context) as store:
        registry = sources.registry(store)
        specs = registry.specs(strict=False)
        for problem in registry.problems:
            context.log.warning(f"invalid source spec skipped: {problem}")
        partitions, missing, failed = [], [], {}
        for source_id, spec in sorted(specs.items()):
            if not spec.releasable:
                continue
            report_path = anonymised_report_path(source_id)
            if not store.exists(report_path):
                missing.append(source_id)
                continue
            valid, why = validation_matches(store, "anonymised", source_id, report_path)
            if not valid:  # a zone whose expectations failed (or were never run on it) is never released
                failed[source_id] = why
                continue
            summary = store.read_json(validation_path("anonymised", source_id))
            validation = {key: summary[key] for key in ("suite", "validation_id", "validated_at", "documents")}
            validation["evaluated_expectations"] = summary["evaluated_expectations"]
            validation["data_docs"] = summary["data_docs"]
            partitions.append({**store.read_json(report_path), "validation": validation})
        held_back = sorted(source_id for source_id, spec in specs.items() if not spec.releasable)
        if missing:
            context.log.warning(f"approved sources without anonymised documents, left out: {', '.join(missing)}")
        for source_id, why in failed.items():
            context.log.warning(f"approved source {source_id} left out of the release: {why}")
        priority = {source_id: spec.priority for source_id, spec in specs.items()}
        manifest = build_release(
            store,
            release.corpus,
            partitions,
            rows_per_part=release.rows_per_part,
            near_duplicates=release.near_duplicate_index(store, priority),
        )
        folder = release_dir(manifest["corpus"], manifest["version"])
        context.log.info(f"release {manifest['corpus']}/{manifest['version']}: {manifest['total_documents']} documents")
        return MaterializeResult(
            metadata={
                "dagster/row_count": manifest["total_documents"],
                "corpus": manifest["corpus"],
                "version": manifest["version"],
                "total_documents": manifest["total_documents"],
                "total_bytes": manifest["total_bytes"],
                "files": len(manifest["files"]),
                "release_digest": manifest["release_digest"],
                "duplicates_dropped_across_sources": manifest["excluded"]["duplicate_content"],
                "near_duplicates_dropped": manifest["excluded"]["near_duplicate"],
                "near_duplicates": MetadataValue.json(manifest["near_duplicates"] or {}),
                "anonymised": manifest["anonymised"],
                "sources": MetadataValue.json(manifest["sources"]),
                "sources_held_back": MetadataValue.json(
                    {"not_approved": held_back, "not_anonymised": missing, "expectations": failed}
                ),
                "code_version": manifest["code_version"],
                "duration_s": manifest["build_duration_s"],
                "path": _location(store, folder),
                "manifest": _location(store, f"{folder}/manifest.json"),
            }
        )
