"""Jobs: ingest one source (a partition) through the per-source zones; build a release."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from assets.assets import anonymised_documents, clean_documents, corpus_release, raw_documents
from pipelines.sensors import INGEST_JOB

RELEASE_JOB = "build_release"

ingest_source_job = define_asset_job(
    INGEST_JOB,
    selection=AssetSelection.assets(raw_documents, clean_documents, anonymised_documents),
    description="Fetch one source and carry it through the per-source zones (raw, clean, anonymised).",
)

build_release_job = define_asset_job(
    RELEASE_JOB,
    selection=AssetSelection.assets(corpus_release),
    description="Cut a new immutable release from the anonymised zone of every approved source.",
)
