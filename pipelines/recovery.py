"""Runs left ``STARTED`` by a killed ``corpusfabriek run`` are marked failed.

``corpusfabriek run`` executes its Dagster jobs in its own process. Killed with SIGKILL, it cannot tell
Dagster, and the run stays ``STARTED`` for ever; worse, the run queue counts it against its per-partition
limit, so daemon runs of that source never start again. Dagster's run monitoring cannot help here: the
default run launcher has no worker health check (only runs it launched through a code server are watched,
by that server), and in-process runs have no worker to check at all.

So the CLI tags every run it starts with its storage root, host, pid, process start time and lease token
(:func:`cli_run_tags`), and unfinished runs with such tags whose process is gone are marked failed:

- by the next ``corpusfabriek run`` on the root, while it holds the root's lease (so no other run on the
  root can be alive): :func:`fail_crashed_runs`;
- by the sensor ``crashed_run_sensor`` of the code location, every minute while the daemon runs: on this
  host by pid and start time, for other hosts by the root's lease (a live CLI run holds it, renewed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from assets.resources import StorageResource
from catalog.lease import DEFAULT_TTL_S, RootLease, stale_reason
from catalog.processes import hostname, is_alive

ROOT_TAG = "corpusfabriek/root"
HOST_TAG = "corpusfabriek/host"
PID_TAG = "corpusfabriek/pid"
START_TAG = "corpusfabriek/process_start"
LEASE_TAG = "corpusfabriek/lease"

UNFINISHED = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def cli_run_tags(lease: RootLease) -> dict[str, str]:
    """Tags for the runs of a ``corpusfabriek run`` holding ``lease``: root, host, pid, start time, token."""
    record = lease.read() or {}
    return {
        ROOT_TAG: lease.root,
        HOST_TAG: hostname(),
        PID_TAG: str(record.get("pid", "")),
        START_TAG: str(record.get("process_start", "")),
        LEASE_TAG: str(lease.token or ""),
    }


def _process_gone(tags: Mapping[str, str], holding: str | None, lease_record: Mapping[str, Any] | None) -> bool | None:
    """Tell whether the CLI process of a run is gone: True, False, or None when it cannot be told."""
    if holding is not None and tags.get(LEASE_TAG) == holding:
        return False  # our own run
    if tags.get(HOST_TAG) == hostname():
        try:
            return not is_alive(int(tags.get(PID_TAG, "")), tags.get(START_TAG))
        except ValueError:
            return None
    if holding is not None:
        return True  # we hold the root's lease: no other run on this root is alive
    if lease_record is not None:
        alive = lease_record.get("token") == tags.get(LEASE_TAG) and stale_reason(lease_record, DEFAULT_TTL_S) is None
        return not alive
    return None


def fail_crashed_runs(
    instance: DagsterInstance,
    root: str,
    *,
    holding: str | None = None,
    lease_record: Mapping[str, Any] | None = None,
) -> list[str]:
    """Mark unfinished CLI runs on ``root`` whose process is gone as failed; return one line per run.

    :param holding: the token of the root's lease when the caller holds it (``corpusfabriek run``).
    :param lease_record: the root's current lease record, to judge runs of other hosts without holding it.
    """
    lines = []
    records = instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED, tags={ROOT_TAG: root}))
    for record in records:
        run = record.dagster_run
        # a re-execution from the UI inherits the CLI run's tags, but its process is one the UI launched
        # (watched by run monitoring), never the CLI's: the CLI starts no re-executions
        if run.parent_run_id or not _process_gone(run.tags, holding, lease_record):
            continue
        where = f"pid {run.tags.get(PID_TAG, '?')} on host {run.tags.get(HOST_TAG, '?')}"
        instance.report_run_failed(
            run, f"The corpusfabriek run process of this run ({where}) is gone (killed?): marked failed."
        )
        partition = run.tags.get("dagster/partition")
        what = f"{run.job_name}, partition {partition}" if partition else run.job_name
        lines.append(f"run {run.run_id[:8]} ({what}) marked failed: its process ({where}) is gone")
    return lines


def fail_own_runs(instance: DagsterInstance, root: str, token: str, why: str) -> list[str]:
    """Mark this CLI process's unfinished runs (tagged with its lease ``token``) failed, e.g. when interrupted."""
    lines = []
    records = instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED, tags={ROOT_TAG: root, LEASE_TAG: token}))
    for record in records:
        instance.report_run_failed(record.dagster_run, f"corpusfabriek run was {why}: marked failed.")
        lines.append(f"run {record.dagster_run.run_id[:8]} ({record.dagster_run.job_name}) marked failed: {why}")
    return lines


@sensor(
    name="crashed_run_sensor",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Marks runs of a killed `corpusfabriek run` failed, so they do not block the run queue.",
)
def crashed_run_sensor(context: SensorEvaluationContext, storage: StorageResource) -> SkipReason:
    """Fail unfinished CLI runs on this code location's root whose process is gone; never launches runs."""
    store = storage.get()
    lease_record = RootLease(store).read()
    lines = fail_crashed_runs(context.instance, store.url(), lease_record=lease_record)
    for line in lines:
        context.log.warning(line)
    if lines:
        return SkipReason(f"marked {len(lines)} crashed corpusfabriek run(s) failed: {'; '.join(lines)}")
    return SkipReason("no crashed corpusfabriek run")
