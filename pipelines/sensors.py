"""Sensors: the source registry sensor turns newly registered specs into partitions and ingest runs."""

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from catalog.sources import SpecError
from pipelines.partitions import source_partitions
from pipelines.resources import SourcesResource

INGEST_JOB = "ingest_source"


@sensor(
    name="source_registry_sensor",
    job_name=INGEST_JOB,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a partition for every newly registered source and requests its first ingest.",
)
def source_registry_sensor(context: SensorEvaluationContext, sources: SourcesResource) -> SensorResult | SkipReason:
    """Compare the registry with the known partitions; add and ingest the new sources."""
    try:
        specs = sources.registry().specs()
    except SpecError as exc:
        return SkipReason(f"source registry has an invalid spec: {exc}")
    known = set(context.instance.get_dynamic_partitions(source_partitions.name))
    new = sorted(set(specs) - known)
    if not new:
        return SkipReason(f"no new sources ({len(specs)} registered)")
    return SensorResult(
        dynamic_partitions_requests=[source_partitions.build_add_request(new)],
        run_requests=[
            RunRequest(partition_key=key, run_key=f"first-ingest:{key}") for key in new if specs[key].fetchable
        ],
    )
