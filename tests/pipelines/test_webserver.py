"""The Dagster webserver serves this code location (workspace.yaml) on 127.0.0.1 and answers GraphQL.

Runs of ``corpusfabriek run`` are runs of that code location: listed under their job, re-executable from the UI.
"""

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, REPO, TEST_ANONYMISATION_KEY
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


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something true and return that, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# What the job's Runs tab asks for: the runs of the job in its repository (by the hidden repository tag).
RUNS_OF_JOB = """
query RunsOfJob($filter: RunsFilter) {
  runsFeedOrError(limit: 50, filter: $filter, view: RUNS) {
    __typename
    ... on RunsFeedConnection { results { id } }
  }
}
"""

# What the timeline asks for: it places a run under the repository and job of its origin.
RUNS = """
{
  runsOrError {
    ... on Runs {
      results {
        runId
        pipelineName
        status
        tags { key value }
        repositoryOrigin { repositoryLocationName repositoryName repositoryLocationMetadata { key value } }
      }
    }
  }
}
"""

REEXECUTE = """
mutation Reexecute($parentRunId: String!) {
  launchPipelineReexecution(reexecutionParams: {parentRunId: $parentRunId, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { status } }
}
"""


def test_cli_runs_are_listed_under_their_job_and_can_be_re_executed_from_the_ui(tmp_path):
    """The CLI's runs appear as the job's Runs tab and the timeline query them; one is re-executed to SUCCESS."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    # Runs launched from the UI start at once (the default coordinator queues them for the daemon).
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
    )
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "CORPUSFABRIEK_ROOT": str(tmp_path / "root"),
        "CORPUSFABRIEK_ANONYMISATION_KEY": TEST_ANONYMISATION_KEY,
        "PYTHONPATH": str(REPO),  # the CLI runs this checkout's code, as the webserver does
    }
    # The server first: it sets up the instance's storage, which the CLI then shares (both at once collide).
    with dagster_webserver(env, tmp_path / "webserver.log") as base_url:
        cli = subprocess.run(
            [str(BIN / "corpusfabriek"), "run", "--source", "archief-courant"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert cli.returncode == 0, cli.stderr

        runs = {run["runId"]: run for run in graphql(base_url, RUNS)["data"]["runsOrError"]["results"]}
        assert sorted(run["pipelineName"] for run in runs.values()) == ["build_release", "ingest_source"]
        for run in runs.values():
            assert run["status"] == "SUCCESS"
            assert "corpusfabriek/root" in {tag["key"] for tag in run["tags"]}  # started by the CLI
            origin = run["repositoryOrigin"]
            assert origin, f"run {run['runId']} has no origin: the UI can neither place nor re-execute it"
            assert (origin["repositoryLocationName"], origin["repositoryName"]) == ("corpusfabriek", "__repository__")
            metadata = {entry["key"]: entry["value"] for entry in origin["repositoryLocationMetadata"]}
            assert metadata["module_name"] == "pipelines.definitions" and metadata["attribute"] == "defs"
            assert Path(metadata["working_directory"]) == REPO

        for job in ("ingest_source", "build_release"):
            repository = {"key": ".dagster/repository", "value": "__repository__@corpusfabriek"}
            feed = graphql(base_url, RUNS_OF_JOB, {"filter": {"pipelineName": job, "tags": [repository]}})
            listed = [entry["id"] for entry in feed["data"]["runsFeedOrError"]["results"]]
            assert listed == [run_id for run_id, run in runs.items() if run["pipelineName"] == job]

        (ingest,) = [run_id for run_id, run in runs.items() if run["pipelineName"] == "ingest_source"]
        tags = {tag["key"]: tag["value"] for tag in runs[ingest]["tags"]}
        assert tags["corpusfabriek/source_status"] == "approved"  # the partition's source status
        launched = graphql(base_url, REEXECUTE, {"parentRunId": ingest})["data"]["launchPipelineReexecution"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        child = launched["run"]["runId"]

        def finished() -> str | None:
            status = graphql(base_url, RUN_STATUS, {"runId": child})["data"]["runOrError"]["status"]
            return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

        status = wait_until(finished, 120, "the re-executed run to finish")
        assert status == "SUCCESS", (tmp_path / "webserver.log").read_text()[-3000:]
