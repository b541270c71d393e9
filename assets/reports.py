"""The partners' view: one report per source, refreshed after every release so it names the release it is in.

``clean_documents`` shows a source's report as it stands after cleaning; this asset shows all of them once
the release is built: fetched, kept, dropped and quarantined with reasons, duplicates and whose copies
were kept, the releases the source is in, the last and the next scheduled run. The same content as
``corpusfabriek sources report``.
"""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.assets import GROUP, OWNERS, corpus_release
from assets.metadata import rows_table
from assets.resources import SourcesResource, StorageResource
from assets.versions import CODE_VERSIONS
from stages.report import format_report_markdown, newest_manifests, partner_report

#: The columns of the overview table (one row per registered source).
OVERVIEW_COLUMNS = [
    ("source_id", "string"),
    ("status", "string"),
    ("fetched", "int"),
    ("kept", "int"),
    ("dropped", "int"),
    ("quarantined", "int"),
    ("in_release", "string"),
    ("documents_in_release", "int"),
    ("next_scheduled_run", "string"),
]


@asset(
    deps=[corpus_release],
    group_name=GROUP,
    owners=OWNERS,
    tags={"zone": "catalog", "privacy": "shareable", "pii": "none"},
    code_version=CODE_VERSIONS["partner_reports"],
    kinds={"markdown"},
    description="What happened to each partner's data, refreshed after every release: an overview table and "
    "one markdown report per source (the registry's events, which name people, are left out).",
)
def partner_reports(
    context: AssetExecutionContext, storage: StorageResource, sources: SourcesResource
) -> MaterializeResult:
    """Build every registered source's report as it stands after the release."""
    store = storage.get()
    registry = sources.registry(store)
    newest, specs = newest_manifests(store), registry.specs(strict=False)
    reports = [partner_report(store, registry, sid, spec=specs[sid], newest=newest) for sid in sorted(specs)]
    rows = []
    metadata: dict[str, MetadataValue] = {}
    for report in reports:
        releases = report.get("in_latest_releases") or []
        rows.append(
            {
                **{name: report.get(name) for name, _ in OVERVIEW_COLUMNS[:6]},
                "in_release": ", ".join(f"{r['corpus']}/{r['version']}" for r in releases) or "none",
                "documents_in_release": sum(r["documents"] for r in releases),
                "next_scheduled_run": report.get("next_scheduled_run") or "not scheduled",
            }
        )
        metadata[f"report: {report['source_id']}"] = MetadataValue.md(
            format_report_markdown({**report, "registration": []})
        )
    context.log.info(f"partner reports of {len(reports)} source(s) refreshed")
    return MaterializeResult(metadata={"sources": rows_table(rows, OVERVIEW_COLUMNS), **metadata})
