"""Blocking asset checks: a failing check stops everything downstream of it in the run."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetKey, asset_check

from assets.assets import corpus_release
from assets.resources import StorageResource
from catalog.releases import read_manifest, verify_release


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
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={"version": version, "problems": len(problems), "details": "\n".join(problems) or "none"},
    )
