"""The Dagster webserver serves this code location (workspace.yaml) on 127.0.0.1 and answers GraphQL."""

import os

import pytest

from tests.conftest import BIN
from tests.ui import dagster_webserver, graphql

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


def test_webserver_lists_the_assets_of_the_workspace(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "CORPUSFABRIEK_ROOT": str(tmp_path / "root"),
    }
    with dagster_webserver(env, tmp_path / "webserver.log") as base_url:
        data = graphql(base_url, QUERY).get("data") or {}
    nodes = {"/".join(node["assetKey"]["path"]): node for node in data.get("assetNodes") or []}
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
