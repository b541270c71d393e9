"""The asset graph: ``raw_documents`` → ``clean_documents`` → ``anonymised_documents`` → ``corpus_release``.

Assets are thin: they call the stages (:mod:`stages`), which write through the storage resource, and
return metadata (counts per outcome, bytes, durations, paths). Documents never travel through a Dagster IO
manager. The zone assets carry blocking checks (accounting, Great Expectations suites, residual
identifiers): a failing check stops everything downstream in the run, and ``corpus_release`` takes only the
sources the release stage finds releasable (approved, anonymised with the current key, expectations passed
on the current snapshot). Exact duplicates within a source go in the clean stage; exact and near
duplicates across sources in the release, against the persistent index: anonymisation is always the last
stage before a release, and a release reads only the anonymised zone.
"""

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.metadata import COLUMN_SCHEMA, column_lineage, counts_table, location, rows_table
from assets.partitions import source_partitions
from assets.resources import (
    AnonymisationResource,
    ReleaseResource,
    ShardsResource,
    SourcesResource,
    StorageResource,
)
from assets.versions import CODE_VERSIONS, DATA_FIELDS, data_version, raw_data_version
from catalog.failures import record_failure
from catalog.registry import UnknownSourceError
from catalog.sources import SourceSpec
from catalog.storage import Storage, human_size
from catalog.zones import (
    anonymised_path,
    batch_path,
    clean_excluded_path,
    clean_path,
    clean_report_path,
    quarantine_path,
    release_dir,
)
from quality.gate import QualityGate
from stages.anonymise import anonymise_source
from stages.clean import clean_source
from stages.executors import ShardProgress, emit_progress
from stages.ingest import committed_ingests, ingest_source
from stages.release import build_release, releasable_partitions
from stages.report import format_report_markdown, partner_report

#: Every asset is the data engineers' (one team, as the factory runs it); partners read their report.
OWNERS = ["team:data-engineering"]
#: One group: the graph opens with the asset names, in pipeline order.
GROUP = "corpusfabriek"
#: The tag that carries a source's status (sandbox, approved, suspended) on its partition's events and runs.
SOURCE_STATUS_TAG = "corpusfabriek/source_status"


def _shard_progress(context: AssetExecutionContext) -> Callable[[ShardProgress], None]:
    """Return a stage's shard-progress callback: a line in the run's log, and the event for a command line's display."""

    def progress(event: ShardProgress) -> None:
        context.log.info(str(event))
        emit_progress(event)

    return progress


def status_tags(spec: SourceSpec) -> dict[str, str]:
    """Return the tags of a source partition's materialisations: its status when the stage ran."""
    return {SOURCE_STATUS_TAG: spec.status}


def _definition_metadata() -> dict[str, Any]:
    return {"dagster/column_schema": COLUMN_SCHEMA}


#: The columns of the release's ``sources`` table (one row per source in the release).
SOURCE_COLUMNS = [
    ("source_id", "string"),
    ("licence", "string"),
    ("documents", "int"),
    ("duplicates_dropped", "int"),
    ("near_duplicates_dropped", "int"),
    ("replacements", "int"),
    ("suite", "string"),
    ("validated_documents", "int"),
]


def _build_views(
    context: AssetExecutionContext,
    store: Storage,
    release: ReleaseResource,
    partitions: list[dict[str, Any]],
    specs: dict[str, SourceSpec],
    priority: dict[str, int],
) -> list[dict[str, Any]]:
    """Cut a release of every corpus view from the partitions the main corpus took; return a summary of each."""
    summaries = []
    for view in release.views():
        chosen = [p for p in partitions if p["source_id"] in specs and view.selects(specs[p["source_id"]])]
        if not chosen:
            context.log.warning(f"corpus view {view.name}: no released source matches it, no version cut")
            summaries.append({"corpus": view.name, "version": None, "documents": 0, "sources": []})
            continue
        manifest = build_release(
            store,
            view.name,
            chosen,
            rows_per_part=release.rows_per_part,
            near_duplicates=release.near_duplicate_index(store, priority, view.name),
            clean_min_age_s=0,
            specs=specs,
        )
        summaries.append(
            {
                "corpus": view.name,
                "version": manifest["version"],
                "documents": manifest["total_documents"],
                "sources": [p["source_id"] for p in chosen],
                "unchanged_since": manifest.unchanged_since,
            }
        )
        context.log.info(f"corpus view {view.name}/{manifest['version']}: {manifest['total_documents']} documents")
    return summaries


def _source_row(entry: dict[str, Any]) -> dict[str, Any]:
    """Flatten a manifest's source entry into a row of :data:`SOURCE_COLUMNS` (the manifest has the rest)."""
    expectations = entry.get("expectations") or {}
    return {
        **{name: entry.get(name) for name, _ in SOURCE_COLUMNS[:5]},
        "replacements": sum((entry.get("anonymisation") or {}).get("replacements_by_entity", {}).values()),
        "suite": expectations.get("suite"),
        "validated_documents": expectations.get("documents"),
    }


def partition_spec(sources: SourcesResource, store: Storage, source_id: str) -> SourceSpec:
    """Return the spec of a partition's source; a partition nobody registered fails with the known sources named."""
    try:
        return sources.registry(store).get(source_id)
    except UnknownSourceError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None


@contextlib.contextmanager
def failure_recorded(store: Storage, source_id: str, stage: str, run_id: str) -> Iterator[None]:
    """Record a failing stage of a source (it holds the source back from releases), then let it fail the step."""
    try:
        yield
    except Exception as exc:
        record_failure(store, source_id, stage, exc, run_id)
        raise


@asset(
    partitions_def=source_partitions,
    group_name=GROUP,
    owners=OWNERS,
    tags={"zone": "raw", "privacy": "restricted", "pii": "original"},
    code_version=CODE_VERSIONS["raw_documents"],
    metadata=_definition_metadata(),
    kinds={"parquet"},
    description="Documents as fetched from each partner source (restricted zone: contains personal data). "
    "Unparseable input goes to quarantine/ with a reason.",
)
def raw_documents(
    context: AssetExecutionContext, storage: StorageResource, sources: SourcesResource
) -> MaterializeResult:
    """Fetch what is new in one source (the partition) into the raw and quarantine zones."""
    with storage.exclusive(context) as store:
        spec = partition_spec(sources, store, context.partition_key)
        with failure_recorded(store, spec.id, "raw_documents", context.run.run_id):
            report = ingest_source(store, spec)
        context.log.info(
            f"ingested {spec.id}: {report['documents']} new documents, {report['quarantined']} quarantined"
        )
        return MaterializeResult(
            tags=status_tags(spec),
            data_version=DataVersion(raw_data_version(committed_ingests(store, spec.id))),
            metadata={
                "dagster/row_count": report["documents"],
                "records_read": report["records_read"],
                "documents": report["documents"],
                "documents_by_fetch_mode": counts_table(report["documents_by_fetch_mode"], "fetch mode"),
                "quarantined": report["quarantined"],
                "quarantined_by_reason": counts_table(report["quarantined_by_reason"], "reason", "records"),
                "ingest_id": report["ingest_id"],
                "ingested_at": MetadataValue.timestamp(datetime.fromisoformat(report["ingested_at"])),
                "kind": spec.kind,
                "licence": spec.licence,
                "status": spec.status,
                "raw_bytes": report["raw_bytes"],
                "raw size": human_size(report["raw_bytes"]),
                "duration_s": report["duration_s"],
                "path": location(store, batch_path(spec.id, report["ingest_id"])),
                "quarantine_path": location(store, quarantine_path(spec.id, report["ingest_id"])),
            },
        )


@asset(
    partitions_def=source_partitions,
    deps=[raw_documents],
    group_name=GROUP,
    owners=OWNERS,
    tags={"zone": "clean", "privacy": "restricted", "pii": "original"},
    code_version=CODE_VERSIONS["clean_documents"],
    metadata=_definition_metadata(),
    kinds={"parquet", "duckdb"},
    description="Normalised documents per source (mojibake, NFC, line endings, invisible characters, blanks) "
    "that pass the quality gate (expected language, OCR noise, the FineWeb-2 Dutch filters), exact duplicates "
    "within the source removed; every dropped document kept beside them with its reason (restricted: not yet "
    "anonymised).",
)
def clean_documents(
    context: AssetExecutionContext, storage: StorageResource, sources: SourcesResource, shards: ShardsResource
) -> MaterializeResult:
    """Clean one source's raw batches, check that every input record is accounted for, report to the partner."""
    with storage.exclusive(context) as store:
        spec = partition_spec(sources, store, context.partition_key)
        with failure_recorded(store, spec.id, "clean_documents", context.run.run_id):
            report = clean_source(
                store,
                spec.id,
                gate=QualityGate(spec.quality, spec.languages),
                executor=shards.executor(),
                shard_size=shards.shard_size(),
                progress=_shard_progress(context),
            )
            partner = partner_report(store, sources.registry(store), spec.id)
        metadata = clean_metadata(store, report)
        # without the registry's events: they name the people who registered the source
        metadata["partner_report"] = MetadataValue.md(format_report_markdown({**partner, "registration": []}))
        metadata["next_scheduled_run"] = partner["next_scheduled_run"] or "not scheduled"
        metadata["last_successful_run"] = partner["last_successful_run"] or "never"
        return MaterializeResult(
            metadata=metadata,
            tags=status_tags(spec),
            data_version=DataVersion(data_version(report, DATA_FIELDS["clean_documents"])),
        )


def clean_metadata(store: Storage, report: dict[str, Any]) -> dict[str, Any]:
    """Metadata of a clean partition: the full accounting of its input records."""
    source_id = report["source_id"]
    return {
        "dagster/row_count": report["kept"],
        "records_read": report["records_read"],
        "kept": report["kept"],
        "dropped": report["dropped"],
        "dropped_by_reason": counts_table(report["dropped_by_reason"], "reason"),
        "dropped_by_filter": counts_table(report.get("dropped_by_filter", {}), "filter"),
        "languages": counts_table(report.get("languages", {}), "language"),
        "quarantined": report["quarantined"],
        "quarantined_by_reason": counts_table(report["quarantined_by_reason"], "reason", "records"),
        "accounting": MetadataValue.md(
            f"records read **{report['records_read']}** = kept **{report['kept']}** + dropped "
            f"**{report['dropped']}** + quarantined **{report['quarantined']}**"
        ),
        "text_changed_by_normalisation": report["text_changed_by_normalisation"],
        "quality_profile": report.get("quality_profile") or "web",
        # lines repeated across the source's documents (site furniture), removed before judging
        "furniture_lines_removed": report.get("furniture_lines_removed", 0),
        "furniture_documents_affected": report.get("furniture_documents_affected", 0),
        # judged by the gate this run; the others kept their earlier decision (unchanged gate input and settings)
        "documents_assessed": report.get("documents_assessed", report["input_documents"]),
        "documents_reused": report.get("documents_reused", 0),
        "ingest_id": report["ingest_id"],
        "clean_bytes": report["clean_bytes"],
        "clean size": human_size(report["clean_bytes"]),
        "duration_s": report["duration_s"],
        "path": location(store, clean_path(source_id)),
        "excluded_path": location(store, clean_excluded_path(source_id)),
    }


@asset(
    partitions_def=source_partitions,
    deps=[clean_documents],
    group_name=GROUP,
    owners=OWNERS,
    tags={"zone": "anonymised", "privacy": "shareable", "pii": "replaced"},
    code_version=CODE_VERSIONS["anonymised_documents"],
    metadata=_definition_metadata(),
    kinds={"parquet", "presidio"},
    description="Clean documents with personal data replaced in context (surrogate, placeholder or keyed "
    "hash, per the source's policy); per-document entity counts and replacement offsets in "
    "annotations.anonymised. Only this zone is ever released.",
)
def anonymised_documents(
    context: AssetExecutionContext,
    storage: StorageResource,
    sources: SourcesResource,
    anonymisation: AnonymisationResource,
    shards: ShardsResource,
) -> MaterializeResult:
    """Anonymise one source's clean documents with its policy, then scan the result for residual identifiers."""
    with storage.exclusive(context) as store:
        source_id = context.partition_key
        spec = partition_spec(sources, store, source_id)
        with failure_recorded(store, source_id, "anonymised_documents", context.run.run_id):
            clean_report = store.read_json(clean_report_path(source_id))
            key = anonymisation.root_key(store)  # every policy: ids, URLs and metadata are pseudonymised with it
            if key.notice:
                context.log.warning(key.notice)  # names the generated key file, never the key
            report = anonymise_source(
                store,
                source_id,
                anonymisation.anonymiser(spec.anonymisation, key),
                operator=spec.anonymisation.operator,
                clean_report=clean_report,
                key_id=key.key_id,
                policy=spec.anonymisation,
                executor=shards.executor(),
                shard_size=shards.shard_size(),
                progress=_shard_progress(context),
            )
        if report["reprocessed_reason"]:
            context.log.info(f"{source_id}: every document anonymised: {report['reprocessed_reason']}")
        context.log.info(
            f"{source_id}: {report['replacements']} replacements in {report['documents_with_personal_data']} of "
            f"{report['documents_out']} documents ({report['documents_anonymised']} anonymised, "
            f"{report['documents_reused']} reused, {report['shards']} shard(s))"
        )
        return MaterializeResult(
            tags=status_tags(spec),
            data_version=DataVersion(
                data_version(
                    report,
                    DATA_FIELDS["anonymised_documents"],
                    upstream=data_version(clean_report, DATA_FIELDS["clean_documents"]),
                )
            ),
            metadata={
                "dagster/row_count": report["documents_out"],
                "documents_in": report["documents_in"],
                "documents_out": report["documents_out"],
                "documents_with_personal_data": report["documents_with_personal_data"],
                # incremental runs: only new and changed documents are anonymised, the rest reused
                "documents_anonymised": report["documents_anonymised"],
                "documents_reused": report["documents_reused"],
                "reprocessed_reason": report["reprocessed_reason"] or "",
                "shards": report["shards"],
                "executor": report["executor"],
                "replacements": report["replacements"],
                "replacements_by_entity": counts_table(report["replacements_by_entity"], "entity", "replacements"),
                "kept_names": report["kept_names"],
                # documents whose native id, URL, location, record or metadata had parts pseudonymised
                "fields_pseudonymised": counts_table(report["fields_pseudonymised"], "field"),
                "dagster/column_lineage": column_lineage("clean_documents"),
                "operator": report["operator"],
                "mb_per_s": report["mb_per_s"] or 0.0,
                "duration_s": report["duration_s"],
                "path": location(store, anonymised_path(source_id)),
            },
        )


@asset(
    deps=[anonymised_documents],
    group_name=GROUP,
    owners=OWNERS,
    tags={"zone": "releases", "privacy": "shareable", "pii": "replaced"},
    code_version=CODE_VERSIONS["corpus_release"],
    metadata=_definition_metadata(),
    kinds={"parquet", "duckdb"},
    description="An immutable, versioned corpus release of all approved sources: exact and near duplicates "
    "across sources removed (a persistent MinHash index: only new documents are hashed, published ones are "
    "never replaced, a newer version of a document replaces its earlier one), Parquet parts plus a manifest "
    "(checksums, row counts, source partitions) written last. When nothing changed since the latest release, "
    "no version is cut: the materialisation names that version and says `unchanged_since`.",
)
def corpus_release(
    context: AssetExecutionContext,
    storage: StorageResource,
    sources: SourcesResource,
    release: ReleaseResource,
) -> MaterializeResult:
    """Build a new release version from the anonymised zone of every approved source (none if nothing changed)."""
    with storage.exclusive(context) as store:
        registry = sources.registry(store)
        specs = registry.specs(strict=False)
        for problem in registry.problems:
            context.log.warning(f"invalid source spec skipped: {problem}")
        chosen = releasable_partitions(store, specs)
        if chosen.missing:
            missing = ", ".join(chosen.missing)
            context.log.warning(f"approved sources without anonymised documents, left out: {missing}")
        for source_id, why in (chosen.failed | chosen.previous_key).items():
            context.log.warning(f"approved source {source_id} left out of the release: {why}")
        for source_id, why in chosen.failing.items():
            context.log.warning(f"approved source {source_id} held back from the release: {why}")
        priority = {source_id: spec.priority for source_id, spec in specs.items()}
        manifest = build_release(
            store,
            release.corpus,
            chosen.partitions,
            rows_per_part=release.rows_per_part,
            near_duplicates=release.near_duplicate_index(store, priority),
            # this step holds the root's lease: no other build can be running, so what failed builds left is
            # removed whatever its age
            clean_min_age_s=0,
            specs=specs,
        )
        folder = release_dir(manifest["corpus"], manifest["version"])
        # the datasheet (counts, owners, reasons: no personal data) is shown in the UI as it is in the folder
        datasheet = f"{folder}/datasheet.md"
        documentation = (
            {"datasheet": MetadataValue.md(store.read_bytes(datasheet).decode("utf-8"))}
            if store.exists(datasheet)
            else {}
        )
        cleaned = {key: len(paths) for key, paths in manifest.cleaned_up.items()}
        if any(cleaned.values()):
            context.log.info(f"cleaned up before the build: {cleaned}")
        unchanged: dict[str, Any] = {}
        if manifest.unchanged_since is not None:
            # the same corpus and version keys as the release it repeats: the manifest check verifies that one
            unchanged = {"unchanged_since": manifest.unchanged_since}
            context.log.info(
                f"release {manifest['corpus']}: nothing changed since {manifest.unchanged_since}, no version cut"
            )
        else:
            context.log.info(
                f"release {manifest['corpus']}/{manifest['version']}: {manifest['total_documents']} documents"
            )
        views = _build_views(context, store, release, chosen.partitions, specs, priority)
        return MaterializeResult(
            data_version=DataVersion(manifest["release_digest"]),
            metadata={
                **unchanged,
                # the corpus views cut beside the main corpus: one release line each
                **({"views": MetadataValue.json(views)} if views else {}),
                "cleaned_up": MetadataValue.json(cleaned),
                "dagster/row_count": manifest["total_documents"],
                "corpus": manifest["corpus"],
                "version": manifest["version"],
                "total_documents": manifest["total_documents"],
                "total_bytes": manifest["total_bytes"],
                "size": human_size(manifest["total_bytes"]),
                "files": len(manifest["files"]),
                "release_digest": manifest["release_digest"],
                "duplicates_dropped_across_sources": manifest["excluded"]["duplicate_content"],
                "near_duplicates_dropped": manifest["excluded"]["near_duplicate"],
                "documents_taken_down": manifest["excluded"].get("takedown", 0),
                **documentation,
                "near_duplicates": MetadataValue.json(manifest["near_duplicates"] or {}),
                "anonymised": manifest["anonymised"],
                "sources": rows_table([_source_row(entry) for entry in manifest["sources"]], SOURCE_COLUMNS),
                "dagster/column_lineage": column_lineage("anonymised_documents"),
                "sources_held_back": MetadataValue.json(
                    {
                        "not_approved": chosen.not_approved,
                        "not_anonymised": chosen.missing,
                        "expectations": chosen.failed,
                        "failing": chosen.failing,
                        "previous_key": chosen.previous_key,
                    }
                ),
                "code_version": manifest["code_version"],
                "duration_s": manifest["build_duration_s"],
                "path": location(store, folder),
                "manifest": location(store, f"{folder}/manifest.json"),
            },
        )
