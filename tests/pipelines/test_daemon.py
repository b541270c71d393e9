"""With the real Dagster daemon running: a source registered with the CLI gets exactly one ingest run."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO, TEST_ANONYMISATION_KEY, stop

pytestmark = pytest.mark.integration

SPEC = """\
id: gemeente-meldingen
name: Meldingen van een gemeente
owner: {organisation: Gemeente Voorbeeld, contact: data@gemeente.example}
kind: files
format: jsonl
location: LOCATION
licence: CC0-1.0
legal_basis: public-task
personal_data: expected
sector: public-sector
status: approved
fields: {native_id: id, text: tekst, title: null, url: null, published_at: null}
quality: {min_doc_words: 5, line_punct_thr: 0, min_language_score: 0.3, top_n_grams: []}
"""


def wait_until(predicate, timeout: float, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited ({process.returncode}): {log.read_text()[-2000:]}")
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; daemon log tail: {log.read_text()[-2000:]}")


def test_a_source_registered_with_the_cli_gets_exactly_one_run_from_the_daemon(tmp_path):
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
    from dagster._core.instance.ref import InstanceRef

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    specs = tmp_path / "specs"  # no folder specs: the only source is the one registered below
    specs.mkdir()
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "meldingen.jsonl").write_text(
        '{"id": "1", "tekst": "De lantaarnpaal bij de brug is kapot en het fietspad is erg donker."}\n'
        '{"id": "2", "tekst": "Er ligt al drie dagen grofvuil naast de container in onze straat."}\n'
    )
    spec = tmp_path / "gemeente.yaml"
    spec.write_text(SPEC.replace("LOCATION", str(drop / "meldingen.jsonl")))
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "CORPUSFABRIEK_ROOT": str(tmp_path / "root"),
        "CORPUSFABRIEK_SOURCES": str(specs),
        "CORPUSFABRIEK_DROP_FOLDERS": str(drop),
        "CORPUSFABRIEK_ANONYMISATION_KEY": TEST_ANONYMISATION_KEY,
        "CORPUSFABRIEK_SENSOR_INTERVAL_S": "3",
    }
    log = tmp_path / "daemon.log"
    with open(log, "wb") as sink:
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    instance = None
    try:
        ticks = lambda: log.read_text().count("Checking for new runs for sensor: source_registry_sensor")  # noqa: E731
        wait_until(lambda: ticks() >= 1, 180, "the first sensor tick", daemon, log)

        # The partner registers the source while the daemon runs; the CLI adds the partition itself.
        registered = subprocess.run(
            [str(BIN / "corpusfabriek"), "sources", "register", str(spec)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert registered.returncode == 0, registered.stderr

        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        runs_filter = RunsFilter(tags={"dagster/partition": "gemeente-meldingen"})
        wait_until(lambda: instance.get_runs(runs_filter), 120, "an ingest run of the new source", daemon, log)
        finished = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
        wait_until(
            lambda: all(run.status in finished for run in instance.get_runs(runs_filter)),
            240,
            "the ingest run to finish",
            daemon,
            log,
        )
        seen = ticks()
        wait_until(lambda: ticks() >= seen + 2, 60, "two more sensor ticks", daemon, log)
        runs = instance.get_runs(runs_filter)
        assert len(runs) == 1  # exactly one run for the registered spec version
        assert runs[0].status == DagsterRunStatus.SUCCESS
        assert runs[0].job_name == "ingest_source"
        assert (tmp_path / "root" / "anonymised" / "gemeente-meldingen" / "anonymised.json").is_file()
    finally:
        stop(daemon)
        if instance is not None:
            instance.dispose()
