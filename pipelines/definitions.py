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

import os
from collections.abc import Mapping

from dagster import Definitions, EnvVar

from assets.assets import anonymised_documents, clean_documents, corpus_release, raw_documents
from assets.checks import corpus_release_manifest_verifies
from assets.reports import partner_reports
from assets.resources import AnonymisationResource, ReleaseResource, SourcesResource, StorageResource
from catalog.releases import DEFAULT_CORPUS
from catalog.settings import KEY_ENV, Settings
from catalog.storage import DEFAULT_ROOT
from pipelines.configuration import apply_settings
from pipelines.jobs import make_jobs
from pipelines.recovery import crashed_run_sensor
from pipelines.sensors import source_registry_sensor, source_schedule_sensor

SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


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


def build_definitions(
    env: Mapping[str, str] | None = None, *, root: str | None = None, run_tags: Mapping[str, str] | None = None
) -> Definitions:
    """Assemble the code location from an environment (``os.environ`` by default).

    ``run_tags`` are set on every run of the jobs (``corpusfabriek run`` names its root and process).
    """
    env = os.environ if env is None else env
    settings = Settings.read(env)
    apply_settings(settings)
    return Definitions(
        assets=[raw_documents, clean_documents, anonymised_documents, corpus_release, partner_reports],
        asset_checks=[corpus_release_manifest_verifies],
        jobs=make_jobs(run_tags),
        sensors=[source_registry_sensor, source_schedule_sensor, crashed_run_sensor],
        resources={
            "storage": storage_resource(env, root),
            "sources": SourcesResource(folders=list(settings.sources)),
            "release": ReleaseResource(corpus=settings.corpus or DEFAULT_CORPUS),
            "anonymisation": AnonymisationResource(key=EnvVar(KEY_ENV) if settings.anonymisation_key else None),
        },
    )


defs = build_definitions()
