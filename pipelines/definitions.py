"""The code location: every asset, check, job, sensor and resource is assembled here, and only here.

Cross-cutting policy lives in this file: where storage is, which environment variables hold secrets,
where source specs are registered. Environment variables:

- ``CORPUSFABRIEK_ROOT``: storage root (default ``./.corpusfabriek``; ``s3://bucket/prefix`` for S3)
- ``CORPUSFABRIEK_S3_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL``), ``AWS_REGION``: object-storage endpoint
- ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``: credentials, passed as Dagster ``EnvVar`` so their
  values are read at run time and never stored in run configuration or shown in the UI
- ``CORPUSFABRIEK_SOURCES``: folders of source specs (default: the bundled sample sources)
- ``CORPUSFABRIEK_CORPUS``: corpus name of releases (default ``nl-main``)
- ``CORPUSFABRIEK_ANONYMISATION_KEY``: secret key of surrogates and keyed hashes (``EnvVar``; >= 16 bytes);
  unset on a local root: the root's owner-only key file, read at run time (``catalog.keys``)
- ``CORPUSFABRIEK_NAME_MODEL``, ``CORPUSFABRIEK_CACHE_DIR``: handed to the anonymisation library

Every variable is named and read in ``catalog/settings.py``; the command line reads the same settings.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from dagster import (
    AssetDep,
    AssetsDefinition,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    FreshnessPolicy,
    SpecificPartitionsPartitionMapping,
)

from assets.assets import anonymised_documents, clean_documents, corpus_release, raw_documents
from assets.checks import ZONE_CHECKS, corpus_release_manifest_verifies
from assets.reports import partner_reports
from assets.resources import (
    AnonymisationResource,
    ReleaseResource,
    ShardsResource,
    SourcesResource,
    StorageResource,
)
from catalog.registry import SourceRegistry
from catalog.releases import DEFAULT_CORPUS
from catalog.schedules import FreshnessWindow, ingest_freshness, release_freshness
from catalog.settings import KEY_ENV, Settings, ShardSettings
from catalog.sources import SourceSpec
from catalog.storage import DEFAULT_ROOT, Storage
from pipelines.configuration import apply_settings
from pipelines.jobs import make_jobs
from pipelines.recovery import crashed_run_sensor
from pipelines.sensors import source_registry_sensor, source_schedule_sensor

SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
REANONYMISE_SENSOR = "reanonymise_sensor"
log = logging.getLogger(__name__)


def storage_resource(env: Mapping[str, str], root: str | None = None) -> StorageResource:
    """Configure storage from the environment; secrets are ``EnvVar`` references, never values."""
    settings = Settings.read(env)
    secrets = {name: EnvVar(name) if env.get(name) else None for name in SECRET_ENV}
    return StorageResource(
        root=root or settings.root or DEFAULT_ROOT,
        s3_endpoint_url=settings.s3.endpoint_url,
        region=settings.s3.region,
        access_key_id=secrets["AWS_ACCESS_KEY_ID"],
        secret_access_key=secrets["AWS_SECRET_ACCESS_KEY"],
    )


def registered_specs(settings: Settings, root: str | None, env: Mapping[str, str]) -> dict[str, SourceSpec] | None:
    """Read the registered sources once, when the code location loads (None: the registry cannot be read).

    Freshness windows and the release's inputs follow the specs; a registry that cannot be read (storage
    down) must not keep the code location from loading, so it only costs those two refinements until the
    next reload.
    """
    try:
        return SourceRegistry.from_env(env, Storage.from_env(root, env)).specs(strict=False)
    except Exception as exc:  # any storage or spec error: load without the refinements
        log.warning("source registry not readable at load, freshness and release inputs unrefined: %s", exc)
        return None


def _policy(window: FreshnessWindow | None) -> FreshnessPolicy | None:
    return FreshnessPolicy.time_window(fail_window=window.fail, warn_window=window.warn) if window else None


def refine_assets(specs: dict[str, SourceSpec] | None) -> list[AssetsDefinition]:
    """Return the assets with what the registered sources decide: freshness windows and the release's inputs.

    - ``raw_documents`` and ``corpus_release`` get freshness policies from the sources' cron schedules
      (:mod:`catalog.schedules`).
    - ``corpus_release`` depends on the anonymised partitions of approved sources only, so a sandbox
      source's new data does not mark the release "Unsynced" (it would never be in it).
    - ``anonymised_documents`` is re-anonymised by the automation sensor whenever its clean partition
      changed and that partition's blocking checks passed (a re-clean from the UI, for example).
    """
    raw, release = raw_documents, corpus_release
    if specs is not None:
        raw = raw_documents.map_asset_specs(
            lambda spec: spec.replace_attributes(freshness_policy=_policy(ingest_freshness(specs)))
        )
        approved = sorted(source_id for source_id, spec in specs.items() if spec.releasable)
        inputs = AssetDep(anonymised_documents, partition_mapping=SpecificPartitionsPartitionMapping(approved))
        release = corpus_release.map_asset_specs(
            lambda spec: spec.replace_attributes(deps=[inputs], freshness_policy=_policy(release_freshness(specs)))
        )
    anonymised = anonymised_documents.map_asset_specs(
        lambda spec: spec.replace_attributes(
            automation_condition=(
                AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()
            ).with_label("clean zone changed and passed its checks")
        )
    )
    return [raw, clean_documents, anonymised, release, partner_reports]


def build_definitions(
    env: Mapping[str, str] | None = None,
    *,
    root: str | None = None,
    run_tags: Mapping[str, str] | None = None,
    shards: ShardSettings | None = None,
) -> Definitions:
    """Assemble the code location from an environment (``os.environ`` by default).

    ``run_tags`` are set on every run of the jobs (``corpusfabriek run`` names its root and process).
    """
    env = os.environ if env is None else env
    settings = Settings.read(env)
    apply_settings(settings)
    reanonymise = AutomationConditionSensorDefinition(
        REANONYMISE_SENSOR,
        target=[anonymised_documents],
        default_status=DefaultSensorStatus.RUNNING,
        description="Re-anonymises a source whose clean partition changed (and passed its blocking checks).",
    )
    return Definitions(
        assets=refine_assets(registered_specs(settings, root, env)),
        asset_checks=[*ZONE_CHECKS, corpus_release_manifest_verifies],
        jobs=make_jobs(run_tags),
        sensors=[source_registry_sensor, source_schedule_sensor, crashed_run_sensor, reanonymise],
        resources={
            "storage": storage_resource(env, root),
            "sources": SourcesResource(folders=list(settings.sources)),
            "release": ReleaseResource(corpus=settings.corpus or DEFAULT_CORPUS, views_file=settings.corpus_views),
            "anonymisation": AnonymisationResource(key=EnvVar(KEY_ENV) if settings.anonymisation_key else None),
            "shards": ShardsResource.from_settings(shards or settings.shards),
        },
    )


defs = build_definitions()
