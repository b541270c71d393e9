"""``corpusfabriek docs serve``: the command serves the root's Data Docs on 127.0.0.1 until interrupted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from catalog.settings import Settings
from catalog.storage import Storage
from catalog.zones import DATA_DOCS_INDEX, clean_path
from pipelines.cli import main
from pipelines.cli.docs import default_port
from tests.conftest import REPO, stop


def test_the_port_comes_from_the_data_docs_url_or_the_default():
    assert default_port(Settings.read({"CORPUSFABRIEK_DATA_DOCS_URL": "http://127.0.0.1:9123/"})) == 9123
    assert default_port(Settings.read({"CORPUSFABRIEK_DATA_DOCS_URL": "https://docs.example"})) == 8765
    assert default_port(Settings.read({})) == 8765


def test_docs_serve_has_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["docs", "serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: corpusfabriek docs serve" in out and "--port" in out


def test_docs_serve_serves_the_index_and_stops_on_interrupt(isolated_env):
    root = isolated_env / "root"
    storage = Storage(str(root))
    storage.write_bytes(DATA_DOCS_INDEX, b"<!DOCTYPE html><title>Data Docs</title>")
    storage.write_bytes(clean_path("bron"), b"zone data")
    # the code of this checkout, whatever the installed console script points at
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "pipelines.cli", "docs", "serve", "--root", str(root), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)  # fmt: skip
    try:
        first = process.stdout.readline()
        match = re.search(r" at (http://127\.0\.0\.1:\d+)/ ", first)
        assert match, first + process.stderr.read()
        with urllib.request.urlopen(match.group(1) + "/", timeout=10) as answer:
            assert answer.status == 200 and answer.read() == b"<!DOCTYPE html><title>Data Docs</title>"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(match.group(1) + "/../../clean/bron/documents.parquet", timeout=10)
        assert refused.value.code in (400, 404)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=15)
        assert process.returncode == 0 and "stopped" in out
    finally:
        stop(process)
