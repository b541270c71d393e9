"""The Dagster webserver serves this code location (workspace.yaml) on 127.0.0.1 and answers GraphQL.

Runs of ``corpusfabriek run`` are runs of that code location: listed under their job, re-executable from the UI.
"""

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

from tests.conftest import BIN, REPO, TEST_ANONYMISATION_KEY, free_port, stop, wait_for_http

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


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
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
    # Runs launched from the UI start at once (the default coordinator queues them for the daemon).
    env = instance_env(
        tmp_path,
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n",
    )
    env["CORPUSFABRIEK_ANONYMISATION_KEY"] = TEST_ANONYMISATION_KEY
    env["PYTHONPATH"] = str(REPO)  # the CLI runs this checkout's code, as the webserver does
    # The server first: it sets up the instance's storage, which the CLI then shares (both at once collide).
    with webserver(tmp_path, env) as port:
        cli = subprocess.run(
            [str(BIN / "corpusfabriek"), "run", "--source", "archief-courant"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert cli.returncode == 0, cli.stderr
        wait_until(lambda: asset_nodes(port), 60, "the assets of the code location")

        runs = {run["runId"]: run for run in graphql(port, RUNS)["data"]["runsOrError"]["results"]}
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
            feed = graphql(port, RUNS_OF_JOB, {"filter": {"pipelineName": job, "tags": [repository]}})
            listed = [entry["id"] for entry in feed["data"]["runsFeedOrError"]["results"]]
            assert listed == [run_id for run_id, run in runs.items() if run["pipelineName"] == job]

        (ingest,) = [run_id for run_id, run in runs.items() if run["pipelineName"] == "ingest_source"]
        launched = graphql(port, REEXECUTE, {"parentRunId": ingest})["data"]["launchPipelineReexecution"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        child = launched["run"]["runId"]

        def finished() -> str | None:
            status = graphql(port, RUN_STATUS, {"runId": child})["data"]["runOrError"]["status"]
            return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

        status = wait_until(finished, 120, "the re-executed run to finish")
        assert status == "SUCCESS", (tmp_path / "webserver.log").read_text()[-3000:]
