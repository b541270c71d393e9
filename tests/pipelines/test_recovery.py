"""Runs left unfinished by a killed `corpusfabriek run` are marked failed; live ones are never touched."""

from __future__ import annotations

import os
import subprocess
import sys

from dagster import DagsterRunStatus, SkipReason, build_sensor_context
from dagster._core.test_utils import create_run_for_test

from assets.resources import StorageResource
from catalog.lease import RootLease
from catalog.processes import hostname, process_start_time
from catalog.storage import Storage
from pipelines.recovery import (
    HOST_TAG,
    LEASE_TAG,
    PID_TAG,
    ROOT_TAG,
    START_TAG,
    crashed_run_sensor,
    fail_crashed_runs,
)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


def cli_run(instance, root: str, *, host: str, pid: int, start: str | None, token: str, partition: str = "bron"):
    tags = {
        ROOT_TAG: root,
        HOST_TAG: host,
        PID_TAG: str(pid),
        START_TAG: start or "",
        LEASE_TAG: token,
        "dagster/partition": partition,
    }
    return create_run_for_test(instance, job_name="ingest_source", status=DagsterRunStatus.STARTED, tags=tags)


def status(instance, run) -> DagsterRunStatus:
    return instance.get_run_by_id(run.run_id).status


def test_sensor_fails_runs_whose_process_is_gone_and_leaves_live_ones(dagster_instance, tmp_path):
    store = Storage(str(tmp_path / "root"))
    root = store.url()
    me = os.getpid()
    gone = dead_pid()
    lease = RootLease(store, {"command": "corpusfabriek run"}, reentrant=False)
    lease.acquire()
    try:
        dead_here = cli_run(dagster_instance, root, host=hostname(), pid=gone, start="1", token="t1")
        live_here = cli_run(dagster_instance, root, host=hostname(), pid=me, start=process_start_time(me), token="t2")
        reused_pid = cli_run(dagster_instance, root, host=hostname(), pid=me, start="12345", token="t3")
        remote_holder = cli_run(dagster_instance, root, host="elders", pid=1, start="1", token=lease.token)
        remote_gone = cli_run(dagster_instance, root, host="elders", pid=1, start="1", token="old-token")
        other_root = cli_run(dagster_instance, "/elsewhere", host=hostname(), pid=gone, start="1", token="t4")

        context = build_sensor_context(
            instance=dagster_instance, resources={"storage": StorageResource(root=str(tmp_path / "root"))}
        )
        result = crashed_run_sensor(context)
    finally:
        lease.release()
    assert isinstance(result, SkipReason)
    assert result.skip_message.startswith("marked 3 crashed corpusfabriek run(s) failed: ")
    assert f"run {dead_here.run_id[:8]} (ingest_source, partition bron) marked failed" in result.skip_message
    for run in (dead_here, reused_pid, remote_gone):
        assert status(dagster_instance, run) == DagsterRunStatus.FAILURE
    for run in (live_here, remote_holder, other_root):
        assert status(dagster_instance, run) == DagsterRunStatus.STARTED
    assert crashed_run_sensor(context).skip_message == "no crashed corpusfabriek run"


def test_the_lease_holder_fails_every_other_unfinished_run_on_its_root(dagster_instance, tmp_path):
    store = Storage(str(tmp_path / "root"))
    with RootLease(store, {"command": "corpusfabriek run"}) as lease:
        remote = cli_run(dagster_instance, store.url(), host="elders", pid=1, start="1", token="old-token")
        ours = cli_run(dagster_instance, store.url(), host=hostname(), pid=os.getpid(), start=None, token=lease.token)
        lines = fail_crashed_runs(dagster_instance, store.url(), holding=lease.token)
    assert lines == [
        f"run {remote.run_id[:8]} (ingest_source, partition bron) marked failed: its process "
        "(pid 1 on host elders) is gone"
    ]
    assert status(dagster_instance, remote) == DagsterRunStatus.FAILURE
    assert status(dagster_instance, ours) == DagsterRunStatus.STARTED


def test_a_re_execution_from_the_ui_of_a_cli_run_is_not_the_cli_process_s(dagster_instance, tmp_path):
    """A re-execution copies the CLI run's tags (its dead pid among them), but runs in a process the UI launched."""
    store = Storage(str(tmp_path / "root"))
    gone = dead_pid()
    parent = cli_run(dagster_instance, store.url(), host=hostname(), pid=gone, start="1", token="t1")
    dagster_instance.report_run_failed(parent, "left by a killed corpusfabriek run")
    tags = {**parent.tags}
    child = create_run_for_test(
        dagster_instance,
        job_name="ingest_source",
        status=DagsterRunStatus.STARTED,
        tags=tags,
        parent_run_id=parent.run_id,
        root_run_id=parent.run_id,
    )
    assert fail_crashed_runs(dagster_instance, store.url()) == []
    assert status(dagster_instance, child) == DagsterRunStatus.STARTED
