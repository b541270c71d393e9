"""Shards through a real single-node Slurm: one job array, retries, failures with their logs, cancelling.

The cluster (munged, slurmctld, slurmd from Debian's packages, see ``tests/slurm.py``) starts once for the
module in a temporary folder and talks only to 127.0.0.1. Without the Slurm programs (or without root) the
tests skip, except under CI (``CI`` set), where ``.ci/run`` installs them and a missing Slurm is a failure.
"""

from __future__ import annotations

import _thread
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.storage import Storage
from stages.executors import ProcessExecutor, ShardFailure, ShardTask, raise_for_failures
from stages.slurm import ShardsCancelled, SlurmCommands, SlurmExecutor, SlurmPendingTimeout, parse_job_records
from tests.slurm import PARTITION, LocalSlurm, missing_programs, start_local_slurm

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSlurm]:
    """A one-node Slurm cluster on 127.0.0.1, up for the whole session."""
    missing = missing_programs()
    reason = f"Slurm programs missing: {', '.join(missing)} (Debian: slurmctld slurmd slurm-client munge)"
    if not missing and os.geteuid() != 0:
        reason = "the local Slurm cluster runs its daemons as root"
    if missing or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; under CI .ci/run installs Slurm and runs as root")
        pytest.skip(reason)
    cluster = start_local_slurm(tmp_path_factory.mktemp("slurm"))
    yield cluster
    cluster.stop()


def executor(slurm: LocalSlurm, folder: Path, **settings) -> SlurmExecutor:
    """A Slurm executor on the test cluster polling often, with its work folder in ``folder``."""
    return SlurmExecutor(
        work_dir=folder / "work",
        partition=PARTITION,
        time_limit="2",
        poll_interval=0.2,
        commands=SlurmCommands(env=slurm.env()),
        **settings,
    )


def echo(root: Path, name: str, *extra: str) -> ShardTask:
    return ShardTask(name, ("echo", "--root", str(root), "--input", f"in/{name}", "--output", f"out/{name}", *extra))


def test_scontrol_records_of_an_array_give_each_task_its_state():
    output = (
        "JobId=12 ArrayJobId=10 ArrayTaskId=2 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0 "
        "NodeList=n1\n"
        "JobId=11 ArrayJobId=10 ArrayTaskId=1 JobState=CANCELLED Reason=None ExitCode=0:15 NodeList=n2\n"
        "JobId=10 ArrayJobId=10 ArrayTaskId=3-4,6%2 JobState=PENDING Reason=Resources ExitCode=0:0 NodeList=(null)\n"
    )
    states = parse_job_records(output)
    assert sorted(states) == [1, 2, 3, 4, 6]
    assert (states[2].returncode, states[2].node, states[2].final) == (1, "n1", True)
    assert (states[1].returncode, states[1].final) == (128 + 15, True)  # killed: never reported as success
    assert not states[6].final and states[6].node == "" and states[6].reason == "Resources"
    assert states[1].reason == ""  # "None": nothing to wait for


def test_shards_run_as_one_job_array_with_the_same_outputs_as_local_processes(slurm, tmp_path):
    roots = {}
    for name in ("local", "slurm"):
        roots[name] = tmp_path / name
        store = Storage(str(roots[name]))
        for i in range(6):
            store.write_bytes(f"in/s{i}", f"shard {i}\n".encode())
    seen = []
    local = ProcessExecutor(workers=2).run([echo(roots["local"], f"s{i}") for i in range(6)])
    results = executor(slurm, tmp_path).run(
        [echo(roots["slurm"], f"s{i}") for i in range(6)], progress=lambda r: seen.append(r.name)
    )
    raise_for_failures(local + results)
    assert [r.name for r in results] == [f"s{i}" for i in range(6)] and sorted(seen) == sorted(r.name for r in results)
    jobs = {r.where.rsplit("_", 1)[0] for r in results}
    assert len(jobs) == 1 and jobs.pop().startswith("slurm job ")  # one array for every shard
    assert [r.where.rsplit("_", 1)[1] for r in results] == [str(i) for i in range(6)]
    assert all("copied in/" in r.log_tail and r.attempts == 1 for r in results)
    outputs = {name: {p.name: p.read_bytes() for p in (root / "out").iterdir()} for name, root in roots.items()}
    assert outputs["slurm"] == outputs["local"] and len(outputs["slurm"]) == 6
    assert slurm.jobs() == []


def test_a_failing_shard_is_resubmitted_then_reported_with_its_log(slurm, tmp_path):
    store = Storage(str(tmp_path))
    store.write_bytes("in/flaky", b"x")
    flaky, missing = executor(slurm, tmp_path, retries=1).run(
        [echo(tmp_path, "flaky", "--fail-unless-exists", "marks/flaky"), echo(tmp_path, "missing")]
    )
    assert flaky.ok and flaky.attempts == 2 and store.read_bytes("out/flaky") == b"x"
    assert not missing.ok and missing.attempts == 2 and missing.details["state"] == "FAILED"
    # each retry is a resubmission: a batch script of its own beside the first array's (one or two more,
    # as the two failures may land in one poll round or in two)
    assert len(list((tmp_path / "work").rglob("*.sh"))) in (2, 3)
    with pytest.raises(ShardFailure, match=r"1 of 2 shard\(s\) failed\nshard missing failed with exit code 1") as error:
        raise_for_failures([flaky, missing])
    assert f"({missing.where})" in str(error.value) and "in/missing" in str(error.value)  # the log's end


@pytest.mark.parametrize("how", ["cancel", "interrupt"])
def test_cancelling_cancels_every_submitted_job_and_raises(slurm, tmp_path, how):
    runner = executor(slurm, tmp_path)
    tasks = [ShardTask(f"sleep{i}", ("sleep", "--seconds", "60")) for i in range(3)]

    def cancel_once_running() -> None:
        deadline = time.monotonic() + 30
        while not any(line.endswith("RUNNING") for line in slurm.jobs()) and time.monotonic() < deadline:
            time.sleep(0.1)
        # the executor's cancel (what the Dagster op calls on run termination), or Ctrl-C in a terminal
        runner.cancel() if how == "cancel" else _thread.interrupt_main()

    threading.Thread(target=cancel_once_running, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(ShardsCancelled if how == "cancel" else KeyboardInterrupt):
        runner.run(tasks)
    assert time.monotonic() - started < 30
    assert slurm.jobs() == []  # nothing pending, running or completing


def test_a_job_that_stays_pending_past_the_timeout_fails_the_run_with_slurms_reason(slurm, tmp_path):
    # --begin holds the job in the queue (Reason=BeginTime) as a down partition or an unmeetable limit would
    runner = executor(slurm, tmp_path, pending_timeout=2, extra_args=("--begin=now+1hour",))
    started = time.monotonic()
    with pytest.raises(SlurmPendingTimeout, match=r"shard held \(slurm job \d+_0\) has been pending .*BeginTime"):
        runner.run([ShardTask("held", ("sleep", "--seconds", "1"))])
    assert time.monotonic() - started < 20
    assert slurm.jobs() == []  # cancelled, not left in the queue


def test_no_environment_value_reaches_the_work_folder(slurm, tmp_path, monkeypatch):
    secret = "s3cr3t-value-that-must-not-be-written"
    monkeypatch.setenv("CORPUSFABRIEK_TEST_SECRET", secret)
    store = Storage(str(tmp_path / "root"))
    store.write_bytes("in/a", b"a")
    runner = executor(slurm, tmp_path)
    raise_for_failures(runner.run([echo(tmp_path / "root", "a")]))
    files = [p for p in (tmp_path / "work").rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".sh", ".tasks", ".out"}
    assert all(secret not in p.read_text() for p in files)
    assert "--export=ALL" in next(p for p in files if p.suffix == ".sh").read_text()


def _run_samples(folder: Path, extra_env: dict[str, str], *args: str) -> tuple[Storage, dict]:
    """`corpusfabriek run` on the bundled samples in ``folder``, anonymisation shards of at most 8 documents."""
    import subprocess

    from catalog.releases import list_versions
    from tests.conftest import BIN, REPO, TEST_ANONYMISATION_KEY

    (folder / "dagster_home").mkdir(parents=True)
    env = {
        **extra_env,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(folder),
        "DAGSTER_HOME": str(folder / "dagster_home"),
        "CORPUSFABRIEK_ROOT": str(folder / "root"),
        "CORPUSFABRIEK_ANONYMISATION_KEY": TEST_ANONYMISATION_KEY,
        "CORPUSFABRIEK_SHARD_DOCUMENTS": "8",
        "PYTHONPATH": str(REPO),  # the shard jobs run this checkout's code
    }
    result = subprocess.run(
        [str(BIN / "corpusfabriek"), "run", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    storage = Storage(str(folder / "root"))
    (entry,) = list_versions(storage)
    return storage, entry["manifest"]


def test_the_samples_sharded_through_slurm_give_the_release_of_a_local_run(slurm, tmp_path):
    import polars as pl

    from catalog.zones import anonymised_report_path, clean_report_path

    local, local_manifest = _run_samples(tmp_path / "local", {})
    work = tmp_path / "slurm-work"
    on_slurm, slurm_manifest = _run_samples(
        tmp_path / "slurm",
        slurm.env({"CORPUSFABRIEK_SLURM_WORK_DIR": str(work), "CORPUSFABRIEK_SLURM_PARTITION": PARTITION}),
        "--executor",
        "slurm",
    )
    report = on_slurm.read_json(anonymised_report_path("sector-meldingen"))
    assert report["shards"] == 2 and "slurm" in report["executor"].lower()  # 15 documents, 8 per shard
    clean = on_slurm.read_json(clean_report_path("sector-meldingen"))  # the quality gate ran as Slurm jobs too
    assert clean["gate_shards"] == 2 and clean["documents_assessed"] == clean["input_documents"] == 15
    assert slurm.jobs() == []  # every job finished

    def documents(storage: Storage, manifest: dict) -> pl.DataFrame:
        folder = storage.url("releases", manifest["corpus"], manifest["version"])
        frame = pl.read_parquet(f"{folder}/part-*.parquet", columns=["doc_id", "content_sha256", "text", "title"])
        return frame.sort("doc_id")

    assert slurm_manifest["total_documents"] == local_manifest["total_documents"] == 34
    # the same documents, the same surrogates: anonymisation is deterministic per key, wherever it runs
    assert documents(on_slurm, slurm_manifest).equals(documents(local, local_manifest))
