"""The Dagster UI on 127.0.0.1: a materialised sample root, a webserver, and its views in a headless Chromium.

Shared by ``tests/pipelines/test_browser.py`` (which asserts what each view shows) and
``docs/screenshots.py`` (which saves the same views as the README's screenshots), so the pictures in the
README are of exactly what the test checks. Playwright is imported only where a browser is driven, so the
webserver helpers work without it.

The browser talks only to 127.0.0.1: every request and websocket to another host is aborted and
recorded, so a test can assert that the UI needs nothing from outside.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.conftest import BIN, REPO, free_port, stop, wait_for_http

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route, WebSocketRoute

#: Debian's package puts the browser here; other systems name it differently on PATH.
CHROMIUM_PATHS = ("/usr/bin/chromium", "chromium", "chromium-browser")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
ASSETS = ("raw_documents", "clean_documents", "anonymised_documents", "corpus_release", "partner_reports")
#: A ``Definitions`` object is served as Dagster's implicit repository ``__repository__``.
ASSET_GRAPH_PATH = "/locations/__repository__@corpusfabriek/asset-groups/corpusfabriek"
ASSET_PAGE_PATH = "/assets/corpus_release"
#: Wide enough that the five assets of the group fit in a row drawn in full (name, checks, partitions).
GRAPH_VIEWPORT = {"width": 1400, "height": 600}
PAGE_VIEWPORT = {"width": 1400, "height": 900}
#: Generous: the first render compiles the UI's bundles and the code location may still be loading.
UI_TIMEOUT_MS = 60_000


def chromium_executable() -> str | None:
    """Return the path of an installed Chromium, or None when there is none."""
    for candidate in CHROMIUM_PATHS:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def dagster_home(folder: Path) -> Path:
    """Create a DAGSTER_HOME in ``folder`` with the project's instance settings.

    The community sign-up dialog, which Dagster shows once on 127.0.0.1, is turned off: it would cover
    every view.
    """
    home = folder / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    # the project's instance settings, as an operator copies them (they also turn the sign-up dialog off)
    shutil.copyfile(REPO / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    return home


def materialise_samples(folder: Path, timeout: float = 600) -> dict[str, str]:
    """Run ``corpusfabriek run`` on the bundled sample sources with a fresh root and DAGSTER_HOME in ``folder``.

    Returns the environment of that run, which a webserver needs to show it (same root, same Dagster
    instance). The environment is built from scratch so no variable of the caller's shell leaks in; the
    local root generates its own anonymisation key on this first run.
    """
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(folder),
        "TMPDIR": str(folder / "tmp"),
        # the checkout this module lives in, also when the environment's editable install is of another one
        "PYTHONPATH": str(REPO),
        "DAGSTER_HOME": str(dagster_home(folder)),
        "CORPUSFABRIEK_ROOT": str(folder / "root"),
        # where `corpusfabriek docs serve` will answer: the checks link their Data Docs pages there
        "CORPUSFABRIEK_DATA_DOCS_URL": f"http://127.0.0.1:{free_port()}",
    }
    result = subprocess.run(
        [str(BIN / "corpusfabriek"), "run"], cwd=folder, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"corpusfabriek run failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return env


def graphql(base_url: str, query: str, variables: dict | None = None) -> dict:
    """Answer a GraphQL query (with its variables) of the webserver at ``base_url``."""
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


LOCATIONS_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def wait_for_code_location(base_url: str, name: str = "corpusfabriek", timeout: float = 120) -> None:
    """Wait until the webserver has loaded a code location (it loads in the background after start-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workspace = (graphql(base_url, LOCATIONS_QUERY).get("data") or {}).get("workspaceOrError") or {}
        status = {entry["name"]: entry["loadStatus"] for entry in workspace.get("locationEntries") or []}
        if status.get(name) == "LOADED":
            return
        time.sleep(0.5)
    raise TimeoutError(f"code location {name} did not load within {timeout} s")


@contextmanager
def local_server(
    command: list[str], env: dict[str, str], log_path: Path, ready: str, timeout: float, port: int | None = None
) -> Iterator[str]:
    """Run a server on 127.0.0.1 (a free port unless ``port``) until it is stopped; yield its URL once it answers.

    ``{port}`` in ``command`` becomes the port; ``ready`` is the path polled until it answers. The server
    runs in its own process group, so stopping it also stops its children (Dagster's code servers).
    """
    port = port or free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [part.format(port=port) for part in command],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_for_http(base_url + ready, timeout=timeout, process=process)
            yield base_url
        finally:
            stop(process)


@contextmanager
def dagster_webserver(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Serve ``workspace.yaml`` with ``dagster-webserver``; yield its base URL once the code location loaded."""
    command = [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", "{port}"]
    with local_server(command, env, log_path, "/server_info", timeout=180) as base_url:
        wait_for_code_location(base_url)
        yield base_url


@dataclass
class LocalOnlyBrowser:
    """A headless Chromium whose pages reach 127.0.0.1 only; ``blocked`` lists every URL it refused."""

    page: Page
    blocked: list[str] = field(default_factory=list)

    def _route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    def _route_websocket(self, websocket: WebSocketRoute) -> None:
        if urlsplit(websocket.url).hostname in LOCAL_HOSTS:
            websocket.connect_to_server()
        else:
            self.blocked.append(websocket.url)
            websocket.close()


@contextmanager
def local_only_browser(executable: str) -> Iterator[LocalOnlyBrowser]:
    """Launch ``executable`` headless (never a browser build of Playwright's own) with one local-only page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            context = browser.new_context(viewport=PAGE_VIEWPORT, locale="en-US", timezone_id="Europe/Amsterdam")
            # Dagster keeps UI preferences in localStorage: a collapsed side navigation leaves the asset graph
            # room to draw every node in full instead of as a bare name.
            context.add_init_script("localStorage.setItem('dagster-nav-collapsed', 'true');")
            context.set_default_timeout(UI_TIMEOUT_MS)
            session = LocalOnlyBrowser(context.new_page())
            context.route("**/*", session._route)
            context.route_web_socket(re.compile(".*"), session._route_websocket)
            yield session
        finally:
            browser.close()


def _in_view(page: Page, name: str) -> bool:
    """Whether the graph node named exactly ``name`` is drawn in full inside the viewport."""
    label = page.locator("svg foreignObject").get_by_text(name, exact=True)
    box = label.bounding_box() if label.count() == 1 else None
    size = page.viewport_size or {"width": 0, "height": 0}
    if box is None:
        return False
    return 0 <= box["x"] <= box["x"] + box["width"] <= size["width"] and 0 <= box["y"] <= size["height"]


def show_asset_graph(page: Page, base_url: str) -> None:
    """Open the lineage of the ``corpusfabriek`` group and wait until every asset is drawn in full, in view."""
    from playwright.sync_api import expect

    page.set_viewport_size(GRAPH_VIEWPORT)
    page.goto(base_url + ASSET_GRAPH_PATH)
    expect(page.locator("svg foreignObject")).to_have_count(len(ASSETS))
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    zoomed = 0
    while not all(_in_view(page, name) for name in ASSETS):
        if time.monotonic() > deadline:
            raise AssertionError(f"the asset graph at {page.url} does not show all of {ASSETS} in full")
        # Zoomed out, the graph draws bare, shortened names ("anonymi…_documents"): zoom in (a few steps at
        # most, beyond that nodes leave the view) once the first fit has settled.
        page.wait_for_timeout(500)
        if zoomed < 3 and not page.locator("svg foreignObject").get_by_text("Asset checks").count():
            page.get_by_role("img", name="zoom_in").click()
            zoomed += 1
    # the nodes fill in their latest events and check results after they are drawn
    expect(page.locator("svg foreignObject").get_by_text(re.compile(r"^Loading"))).to_have_count(0)
    expect(page.locator("svg foreignObject").get_by_text("Materialized", exact=True).first).to_be_visible()


def show_asset_page(page: Page, base_url: str) -> None:
    """Open the overview of ``corpus_release`` and wait until its status, schema and definition are shown."""
    from playwright.sync_api import expect

    page.set_viewport_size(PAGE_VIEWPORT)
    page.goto(base_url + ASSET_PAGE_PATH)
    expect(page.get_by_text("An immutable, versioned corpus release")).to_be_visible()
    expect(page.get_by_text("Latest materialization")).to_be_visible()
    expect(page.get_by_text("data-engineering", exact=True)).to_be_visible()
    expect(page.get_by_text("total_documents", exact=True)).to_be_visible()


def save_screenshot(page: Page, path: Path) -> Path:
    """Save what the page shows now as a PNG, with animations stopped and no hover effects."""
    page.mouse.move(0, 0)
    page.screenshot(path=str(path), animations="disabled")
    return path


def data_docs_server(env: dict[str, str], log_path: Path) -> AbstractContextManager[str]:
    """Serve the root's Data Docs with ``corpusfabriek docs serve`` where the checks link them; yield that URL."""
    port = urlsplit(env["CORPUSFABRIEK_DATA_DOCS_URL"]).port
    command = [str(BIN / "corpusfabriek"), "docs", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    return local_server(command, env, log_path, "/", timeout=60, port=port)


CHECK_QUERY = """
{ assetNodes(assetKeys: [{path: ["%s"]}]) { assetChecksOrError { ... on AssetChecks { checks {
    name canExecuteIndividually } } } }
  assetCheckExecutions(assetKey: {path: ["%s"]}, checkName: "%s", limit: 1) {
    partition evaluation { success metadataEntries { label ... on UrlMetadataEntry { url }
      ... on MarkdownMetadataEntry { mdStr } } } } }
"""


def latest_check(base_url: str, asset: str, check: str) -> dict:
    """Return what the UI shows of a check: whether it can run alone, and its latest evaluation's metadata."""
    data = graphql(base_url, CHECK_QUERY % (asset, asset, check))["data"]
    (node,) = data["assetNodes"]
    checks = {c["name"]: c["canExecuteIndividually"] for c in node["assetChecksOrError"]["checks"]}
    (execution,) = data["assetCheckExecutions"]
    entries = {e["label"]: e.get("url") or e.get("mdStr") for e in execution["evaluation"]["metadataEntries"]}
    return {
        "can_execute": checks[check],
        "partition": execution["partition"],
        "success": execution["evaluation"]["success"],
        "metadata": entries,
    }


def show_data_docs(page: Page, url: str) -> None:
    """Open a validation's Data Docs page and wait until its expectations are listed."""
    from playwright.sync_api import expect

    page.set_viewport_size(PAGE_VIEWPORT)
    page.goto(url)
    expect(page.get_by_text("anonymised_zone").first).to_be_visible()
    expect(page.get_by_text("residual_identifiers").first).to_be_visible()
