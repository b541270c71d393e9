"""Two `corpusfabriek run` on one root, and a run killed with SIGKILL: real processes of the console script.

One source (``nieuws-dagblad``, 14 records) without a release keeps each test short; the bundled sample
sources are the default.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest

from catalog.staging import STAGING_DIR
from tests.conftest import BIN, TEST_ANONYMISATION_KEY
from tests.leases import hold_lease

pytestmark = pytest.mark.integration

SOURCE = "nieuws-dagblad"
RECORDS = 14
RUN = [str(BIN / "corpusfabriek"), "run", "--source", SOURCE, "--no-release"]


@pytest.fixture
def workdir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        "PATH": str(BIN),
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "TMPDIR": str(temp),
        "CORPUSFABRIEK_ANONYMISATION_KEY": TEST_ANONYMISATION_KEY,
    }
    return tmp_path, env


def start(folder: Path, env: dict[str, str], *extra: str) -> subprocess.Popen:
    command = [*RUN, *extra]
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def raw_rows(folder: Path) -> pl.DataFrame:
    batches = sorted((folder / ".corpusfabriek" / "raw" / SOURCE / "batches").glob("*.parquet"))
    return pl.concat([pl.read_parquet(path, columns=["doc_id"]) for path in batches])


def test_two_runs_at_once_one_runs_the_other_names_the_holder(workdir):
    folder, env = workdir
    first, second = start(folder, env), start(folder, env)
    results = [(p, *p.communicate(timeout=300)) for p in (first, second)]
    codes = sorted(p.returncode for p, _out, _err in results)
    assert codes == [0, 1], [err for _p, _out, err in results]
    (winner,) = [p for p, _out, _err in results if p.returncode == 0]
    (err,) = [err for p, _out, err in results if p.returncode == 1]
    assert err.count("\n") == 1, err
    root = folder / ".corpusfabriek"
    assert err.startswith(f"error: storage root {root} is busy: corpusfabriek run (pid {winner.pid} on host ")
    assert socket.gethostname() in err and "last heartbeat" in err
    assert err.rstrip().endswith("wait for it, or use --wait SECONDS")
    rows = raw_rows(folder)
    assert rows.height == RECORDS and rows["doc_id"].n_unique() == RECORDS  # each record ingested once
    assert not (root / "locks" / "root.lease").exists()  # released at the end


def test_a_run_with_wait_runs_after_the_holder(workdir):
    folder, env = workdir
    first = start(folder, env)
    time.sleep(0.5)
    second = start(folder, env, "--wait", "240")
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    news = [line for line in (out1 + out2).splitlines() if SOURCE in line]
    assert sum(f"{RECORDS} new records" in line for line in news) == 1
    assert sum("0 new records" in line for line in news) == 1
    assert raw_rows(folder).height == RECORDS


def _instance(home: Path):
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def test_a_killed_run_is_marked_failed_and_its_leftovers_removed_by_the_next(workdir):
    from dagster import DagsterRunStatus

    folder, env = workdir
    root = folder / ".corpusfabriek"
    victim = start(folder, env)
    deadline = time.monotonic() + 240
    while not list((root / "raw").glob("*/batches/*.parquet")):
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "no raw batch appeared"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)

    # What a crash leaves: a STARTED run, the lease of the dead process, its staging folder.
    home = Path(env["DAGSTER_HOME"])
    instance = _instance(home)
    try:
        (crashed,) = [r for r in instance.get_runs() if r.status == DagsterRunStatus.STARTED]
    finally:
        instance.dispose()
    assert json.loads((root / "locks" / "root.lease").read_text())["pid"] == victim.pid
    staging = Path(env["TMPDIR"]) / STAGING_DIR
    assert [p.name.split("-")[0] for p in staging.iterdir()] == [str(victim.pid)]

    result = subprocess.run(RUN, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(f"took over the lease of pid {victim.pid}" in line for line in lines), lines
    (fixed,) = [line for line in lines if crashed.run_id[:8] in line]
    assert "marked failed" in fixed and str(victim.pid) in fixed
    assert any(line.startswith("removed 1 staging folder") for line in lines), lines
    instance = _instance(home)
    try:
        assert instance.get_run_by_id(crashed.run_id).status == DagsterRunStatus.FAILURE
        assert not [r for r in instance.get_runs() if not r.is_finished]
    finally:
        instance.dispose()
    assert not [p for p in staging.iterdir() if p.name.startswith(f"{victim.pid}-")]
    clean = json.loads((root / "clean" / SOURCE / "clean.json").read_text())
    assert clean["kept"] == RECORDS
    assert not (root / "locks" / "root.lease").exists()


def test_a_terminated_run_releases_the_lease_and_leaves_no_run_unfinished(workdir):
    from dagster import DagsterRunStatus

    folder, env = workdir
    lease = folder / ".corpusfabriek" / "locks" / "root.lease"
    process = start(folder, env)
    assert process.stdout is not None
    seen = ""
    while "[1/1]" not in seen:  # the Dagster run has started
        char = process.stdout.read(1)
        assert char, process.communicate()
        seen += char
    assert lease.exists()
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=120)
    # Inside a step Dagster turns the signal into a failed run (the source fails), or at some points swallows
    # it and the run completes; either way the process ends without leaving its lease or a run behind.
    assert process.returncode in (0, 1), err
    if process.returncode == 1:
        assert err.splitlines()[-1].startswith("error: ")
    assert not lease.exists()
    instance = _instance(Path(env["DAGSTER_HOME"]))
    try:
        assert not [run for run in instance.get_runs() if not run.is_finished]
        assert instance.get_runs()[0].status in (DagsterRunStatus.FAILURE, DagsterRunStatus.SUCCESS)
    finally:
        instance.dispose()


def test_a_run_waiting_for_the_lease_stops_on_sigterm_and_leaves_the_holder_alone(workdir):
    folder, env = workdir
    root = folder / ".corpusfabriek"
    holder = hold_lease(str(root))
    try:
        waiting = start(folder, env, "--wait", "300")
        time.sleep(8)  # imported and polling by now
        waiting.send_signal(signal.SIGTERM)
        _out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 1
        assert err == f"error: interrupted while waiting for the lease of storage root {root}\n"
        assert json.loads((root / "locks" / "root.lease").read_text())["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait(timeout=10)
