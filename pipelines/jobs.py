"""Jobs: ingest one source (a partition) through the per-source zones; build a release."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dagster import AssetSelection, define_asset_job

from assets.assets import anonymised_documents, clean_documents, corpus_release, raw_documents
from assets.reports import partner_reports
from pipelines.sensors import INGEST_JOB

if TYPE_CHECKING:  # not exported by dagster's public API
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

RELEASE_JOB = "build_release"


def make_jobs(run_tags: Mapping[str, str] | None = None) -> list[UnresolvedAssetJobDefinition]:
    """Return the ingest and release jobs; ``run_tags`` are set on every run they start.

    ``corpusfabriek run`` tags its runs with its storage root and process, so that a run left ``STARTED``
    by a killed process can be recognised and marked failed later (see :mod:`pipelines.recovery`).
    """
    return [
        define_asset_job(
            INGEST_JOB,
            selection=AssetSelection.assets(raw_documents, clean_documents, anonymised_documents),
            description="Fetch one source and carry it through the per-source zones (raw, clean, anonymised).",
            run_tags=run_tags,
        ),
        define_asset_job(
            RELEASE_JOB,
            selection=AssetSelection.assets(corpus_release, partner_reports),
            description="Cut a new immutable release from the anonymised zone of every approved source, then "
            "refresh the partners' reports.",
            run_tags=run_tags,
        ),
    ]


ingest_source_job, build_release_job = make_jobs()
