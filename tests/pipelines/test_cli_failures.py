"""A failing source: one line on stderr with a trace file, held back while the healthy sources are released."""

import subprocess
from pathlib import Path

import pytest

from catalog.releases import read_manifest
from catalog.sources import bundled_sources_dir
from catalog.storage import Storage
from tests.conftest import BIN, TEST_ANONYMISATION_KEY

SAMPLES = ["archief-courant", "nieuws-dagblad", "sector-meldingen"]


def write_specs(folder: Path, broken_location: str) -> Path:
    specs = folder / "specs"
    specs.mkdir()
    data = bundled_sources_dir().parent / "data"
    for path in bundled_sources_dir().glob("*.yaml"):
        (specs / path.name).write_text(path.read_text().replace("../data/", f"{data}/"))
    broken = (specs / "sector-meldingen.yaml").read_text().replace("id: sector-meldingen", "id: kapotte-bron")
    (specs / "kapotte-bron.yaml").write_text(
        "\n".join(
            f"location: {broken_location}" if line.startswith("location:") else line for line in broken.splitlines()
        )
        + "\n"
    )
    return specs


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    """`corpusfabriek run` with the samples plus one source whose drop file is missing."""
    folder = tmp_path_factory.mktemp("cli-failing")
    home = folder / "dagster_home"
    home.mkdir()
    env = {
        "PATH": str(BIN),
        "HOME": str(folder),
        "DAGSTER_HOME": str(home),
        "CORPUSFABRIEK_ANONYMISATION_KEY": TEST_ANONYMISATION_KEY,
        "CORPUSFABRIEK_SOURCES": str(write_specs(folder, str(folder / "drop" / "missing.jsonl"))),
    }
    result = subprocess.run(
        [str(BIN / "corpusfabriek"), "run"], cwd=folder, capture_output=True, text=True, timeout=600, env=env
    )
    return folder, env, result


def test_a_failing_source_is_one_line_on_stderr_with_its_trace_in_a_log_file(failing_run):
    folder, _env, result = failing_run
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # no Dagster traces on the terminal
    assert lines[0].startswith("error: source kapotte-bron failed: raw_documents: FileNotFoundError: ")
    log = Path(lines[0].rsplit("(trace: ", 1)[1].rstrip(")"))
    assert log.parent == folder / "dagster_home" / "logs"
    trace = log.read_text()
    assert "== source kapotte-bron: run " in trace
    assert "Stack Trace:" in trace and "FileNotFoundError" in trace
    assert "[2/5] kapotte-bron: ingest, clean, anonymise ... FAILED" in result.stdout


def test_the_healthy_sources_are_released_and_the_failing_one_is_held_back_with_its_reason(failing_run):
    folder, _env, result = failing_run
    assert "  held back kapotte-bron: raw_documents failed: FileNotFoundError: " in result.stdout
    assert result.stdout.splitlines()[-1].startswith("release nl-main/")
    storage = Storage(str(folder / ".corpusfabriek"))
    manifest = read_manifest(storage, "latest")
    assert [source["source_id"] for source in manifest["sources"]] == SAMPLES
    assert manifest["total_documents"] == 34


def test_a_source_that_recovers_is_released_again(failing_run):
    folder, env, _result = failing_run
    drop = folder / "drop"
    drop.mkdir(exist_ok=True)
    (drop / "missing.jsonl").write_text(
        '{"melding_id": "k1", "omschrijving": "De lantaarnpaal bij de brug is al een week kapot en het is erg '
        'donker op het fietspad.", "onderwerp": "Verlichting", "datum": "2026-11-02"}\n'
    )
    result = subprocess.run(
        [str(BIN / "corpusfabriek"), "run"], cwd=folder, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    manifest = read_manifest(Storage(str(folder / ".corpusfabriek")), "latest")
    assert "kapotte-bron" in [source["source_id"] for source in manifest["sources"]]


def test_a_reader_that_goes_away_gets_no_broken_pipe_error(isolated_env):
    env = {"PATH": str(BIN), "HOME": str(isolated_env), "CORPUSFABRIEK_ROOT": str(isolated_env / "root")}
    process = subprocess.Popen(
        [str(BIN / "corpusfabriek"), "sources", "list"],
        cwd=isolated_env,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # like `| head -0`: nobody reads
    _out, err = process.communicate(timeout=120)
    assert b"BrokenPipe" not in err and b"Traceback" not in err
    assert err == b""
    assert process.returncode == 141
