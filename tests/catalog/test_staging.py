"""Staging folders are per process and what dead processes leave behind is removed, never a live one's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from catalog.processes import process_start_time
from catalog.staging import STAGING_DIR, process_staging_dir, remove_dead_staging
from catalog.storage import Storage
from tests.conftest import REPO

STAGING_SCRIPT = textwrap.dedent(
    """
    import time
    from catalog.staging import process_staging_dir
    folder = process_staging_dir()
    (folder / "half-written.parquet").write_bytes(b"PAR1")
    print(folder, flush=True)
    time.sleep(600)
    """
)

# A writer killed between copying into its hidden temporary file and renaming it into place.
WRITER_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from catalog.storage import Storage
    os.fsync = lambda fd: (print("copied", flush=True), time.sleep(600))
    Storage(sys.argv[1]).write_bytes("clean/bron/documents.parquet", b"x" * 1000)
    """
)


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def _start(script: str, *args: str, wait_for: str | None = None) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if wait_for is not None:
        assert line == wait_for
    return process, line


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_staging_folder_names_this_process(temp_dir):
    folder = process_staging_dir()
    assert folder.parent == temp_dir / STAGING_DIR
    assert folder.name == f"{os.getpid()}-{process_start_time(os.getpid())}"
    assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700


def test_storage_stages_inside_the_process_folder(temp_dir, tmp_path):
    storage = Storage(str(tmp_path / "root"))
    with storage.staged_file("raw/bron/batch.parquet") as local:
        assert Path(local).is_relative_to(process_staging_dir())
        Path(local).write_bytes(b"data")
    assert storage.read_bytes("raw/bron/batch.parquet") == b"data"


def test_staging_of_dead_processes_is_removed_and_of_live_ones_kept(temp_dir):
    dead, dead_folder = _start(STAGING_SCRIPT)
    _kill(dead)
    live, live_folder = _start(STAGING_SCRIPT)
    try:
        own = process_staging_dir()
        assert Path(dead_folder).is_dir() and Path(live_folder).is_dir()
        assert remove_dead_staging() == 1
        assert not Path(dead_folder).exists()
        assert Path(live_folder).is_dir() and own.is_dir()
        assert remove_dead_staging() == 0
    finally:
        _kill(live)


def test_hidden_temp_files_of_dead_writers_are_removed(temp_dir, tmp_path):
    root = tmp_path / "root"
    storage = Storage(str(root))
    dead, _ = _start(WRITER_SCRIPT, str(root), wait_for="copied")
    _kill(dead)
    live, _ = _start(WRITER_SCRIPT, str(root), wait_for="copied")
    try:
        leftovers = sorted(p.name for p in (root / "clean" / "bron").iterdir())
        assert len(leftovers) == 2 and all(name.startswith(".documents.parquet.tmp-") for name in leftovers)
        assert storage.remove_dead_temp_files() == 1
        remaining = sorted(p.name for p in (root / "clean" / "bron").iterdir())
        assert len(remaining) == 1 and str(live.pid) in remaining[0]  # the live writer's file is untouched
    finally:
        _kill(live)
    assert storage.remove_dead_temp_files() == 1
    assert list((root / "clean" / "bron").iterdir()) == []
