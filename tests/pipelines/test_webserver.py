"""The Dagster webserver serves this code location (workspace.yaml) on 127.0.0.1 and answers GraphQL."""

import contextlib
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, REPO, free_port, stop, wait_for_http

pytestmark = pytest.mark.integration

QUERY = """
{
  assetNodes {
    assetKey { path }
    isPartitioned
    partitionDefinition { type name }
    hasAssetChecks
  }
}
"""


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def instance_env(tmp_path: Path, dagster_yaml: str = "telemetry:\n  enabled: false\n") -> dict[str, str]:
    """The environment of a webserver (and CLI) on a fresh Dagster home and storage root below ``tmp_path``."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(dagster_yaml)
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "CORPUSFABRIEK_ROOT": str(tmp_path / "root"),
    }


@contextlib.contextmanager
def webserver(tmp_path: Path, env: dict[str, str]) -> Iterator[int]:
    """Serve workspace.yaml with ``dagster-webserver`` on a free port of 127.0.0.1; yield the port once it answers."""
    port = free_port()
    log = open(tmp_path / "webserver.log", "wb")  # closed after the server stops
    process = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/server_info", timeout=180, process=process)
        yield port
    finally:
        stop(process)
        log.close()
    assert process.poll() is not None


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something true and return that, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def asset_nodes(port: int) -> dict[str, dict]:
    """The asset nodes of the workspace by asset key; empty until the code location has loaded."""
    data = graphql(port, QUERY).get("data") or {}
    return {"/".join(node["assetKey"]["path"]): node for node in data.get("assetNodes") or []}


def test_webserver_lists_the_assets_of_the_workspace(tmp_path):
    with webserver(tmp_path, instance_env(tmp_path)) as port:
        # the code location loads in the background after the server answers
        nodes = wait_until(lambda: asset_nodes(port), 60, "the assets of the code location")
        assert set(nodes) == {
            "raw_documents", "clean_documents", "anonymised_documents", "corpus_release", "partner_reports"
        }  # fmt: skip
        for name in ("raw_documents", "clean_documents", "anonymised_documents"):
            assert nodes[name]["isPartitioned"]
            assert nodes[name]["partitionDefinition"]["type"] == "DYNAMIC"
            assert nodes[name]["partitionDefinition"]["name"] == "sources"
        assert not nodes["corpus_release"]["isPartitioned"]
        assert nodes["clean_documents"]["hasAssetChecks"] and nodes["corpus_release"]["hasAssetChecks"]
        assert nodes["anonymised_documents"]["hasAssetChecks"]
