"""The Dagster webserver serves this code location (workspace.yaml) on 127.0.0.1 and answers GraphQL."""

import json
import os
import subprocess
import time
import urllib.request

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


def test_webserver_lists_the_assets_of_the_workspace(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "CORPUSFABRIEK_ROOT": str(tmp_path / "root"),
    }
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
        nodes = {}
        for _ in range(60):  # the code location loads in the background after the server answers
            data = graphql(port, QUERY).get("data") or {}
            nodes = {"/".join(node["assetKey"]["path"]): node for node in data.get("assetNodes") or []}
            if nodes:
                break
            time.sleep(1)
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
    finally:
        stop(process)
        log.close()
    assert process.poll() is not None
