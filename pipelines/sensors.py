"""Sensors: registered sources become partitions and runs without a restart; cron schedules per source.

Schedules are a sensor rather than one ``ScheduleDefinition`` per source because sources are data: a
schedule definition would need a code reload for every new or changed spec, the sensor does not.
"""

import json
import os
from datetime import UTC, datetime

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from assets.assets import status_tags
from assets.partitions import source_partitions
from assets.resources import SourcesResource, StorageResource
from catalog.registry import spec_digest
from catalog.sources import SpecError

INGEST_JOB = "ingest_source"

#: Seconds between evaluations of the registry sensor. Operators rarely need to change it; the daemon test
#: shortens it so that a registration is picked up within seconds.
REGISTRY_INTERVAL_S = int(os.environ.get("CORPUSFABRIEK_SENSOR_INTERVAL_S") or 30)


@sensor(
    name="source_registry_sensor",
    job_name=INGEST_JOB,
    minimum_interval_seconds=REGISTRY_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a partition for every newly registered source and ingests new or changed specs.",
)
def source_registry_sensor(
    context: SensorEvaluationContext, sources: SourcesResource, storage: StorageResource
) -> SensorResult | SkipReason:
    """Compare the registry with the known partitions and spec digests; add and ingest what is new."""
    registry = sources.registry(storage.get())
    try:
        specs = registry.specs(strict=False)
    except SpecError as exc:  # a missing spec folder: nothing can be trusted
        return SkipReason(f"source registry unavailable: {exc}")
    for problem in registry.problems:  # one partner's broken spec must not hold up the others
        context.log.warning(f"invalid source spec skipped: {problem}")
    if not specs and registry.problems:
        return SkipReason(f"source registry has only invalid specs: {registry.problems[0]}")
    known = set(context.instance.get_dynamic_partitions(source_partitions.name))
    seen = json.loads(context.cursor) if context.cursor else {}
    digests = {source_id: spec_digest(spec) for source_id, spec in specs.items()}
    new = sorted(set(specs) - known)
    # A spec version the sensor has not seen gets its run whether or not its partition exists already:
    # `corpusfabriek sources register` adds the partition itself. The run key makes it exactly one run.
    unseen = sorted(source_id for source_id in specs if seen.get(source_id) != digests[source_id])
    runs = [
        RunRequest(
            partition_key=source_id,
            run_key=f"spec:{source_id}:{digests[source_id]}",
            tags=status_tags(specs[source_id]),
        )
        for source_id in unseen
        if specs[source_id].fetchable
    ]
    if not new and not runs and seen == digests:
        return SkipReason(f"no new or changed sources ({len(specs)} registered)")
    return SensorResult(
        dynamic_partitions_requests=[source_partitions.build_add_request(new)] if new else [],
        run_requests=runs,
        cursor=json.dumps(digests, sort_keys=True),
    )


@sensor(
    name="source_schedule_sensor",
    job_name=INGEST_JOB,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts an incremental ingest of each source when its cron schedule (UTC) falls due.",
)
def source_schedule_sensor(
    context: SensorEvaluationContext, sources: SourcesResource, storage: StorageResource
) -> SensorResult | SkipReason:
    """Request one run per source whose schedule fired since the previous evaluation."""
    from croniter import croniter

    now = datetime.now(UTC)
    if not context.cursor:
        return SensorResult(cursor=now.isoformat())  # start counting from now: no backfill of past ticks
    since = datetime.fromisoformat(context.cursor)
    try:
        specs = sources.registry(storage.get()).specs(strict=False)
    except SpecError as exc:
        return SkipReason(f"source registry unavailable: {exc}")
    known = set(context.instance.get_dynamic_partitions(source_partitions.name))
    runs = []
    upcoming: list[tuple[datetime, str]] = []
    for source_id, spec in specs.items():
        if not spec.schedule or not spec.fetchable or source_id not in known:
            continue
        due = croniter(spec.schedule, since).get_next(datetime)
        if due <= now:
            key = f"schedule:{source_id}:{due.isoformat()}"
            runs.append(RunRequest(partition_key=source_id, run_key=key, tags=status_tags(spec)))
        upcoming.append((croniter(spec.schedule, now).get_next(datetime), source_id))
    if runs:
        return SensorResult(run_requests=runs, cursor=now.isoformat())
    # say what comes next, so an operator reading the ticks knows the sensor is alive and what it waits for
    if upcoming:
        when, source_id = min(upcoming)
        why = f"no source due; next: {source_id} at {when:%Y-%m-%d %H:%M} UTC"
    else:
        why = "no scheduled source (no fetchable source with a schedule has a partition yet)"
    return SensorResult(cursor=now.isoformat(), skip_reason=SkipReason(why))
