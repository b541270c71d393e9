"""What an engineer sees in the Dagster UI, in a real headless Chromium that may only reach 127.0.0.1.

One materialisation of the bundled samples and one webserver serve every view; each view is saved as a
PNG (the same views ``docs/screenshots.py`` saves for the README).

Without a Chromium the tests skip on a developer's machine, but fail under CI (``CI`` set), where
``.ci/run`` installs Debian's ``chromium``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui import (
    GRAPH_VIEWPORT,
    PAGE_VIEWPORT,
    LocalOnlyBrowser,
    chromium_executable,
    dagster_webserver,
    data_docs_server,
    latest_check,
    local_only_browser,
    materialise_samples,
    save_screenshot,
    show_asset_graph,
    show_asset_page,
    show_data_docs,
)

pytestmark = pytest.mark.integration


def require_browser() -> str:
    """Return the Chromium to drive; skip without one, except under CI, where a missing browser is a failure."""
    executable = chromium_executable()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium executable under CI: .ci/run installs Debian's chromium")
        pytest.skip("no Chromium executable (Debian: apt-get install chromium); the UI tests need a real browser")
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is not installed: pip install -c constraints.txt -e '.[dev]'")
    return executable


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str, Path]]:
    """The samples materialised once, a webserver over them, and the folder screenshots go to."""
    require_browser()
    folder = tmp_path_factory.mktemp("browser")
    env = materialise_samples(folder)
    with dagster_webserver(env, folder / "webserver.log") as base_url:
        yield env, base_url, folder


@pytest.fixture(scope="module")
def browser() -> Iterator[LocalOnlyBrowser]:
    """One headless Chromium for every view of this module."""
    with local_only_browser(require_browser()) as session:
        yield session


@pytest.fixture
def session(browser: LocalOnlyBrowser) -> LocalOnlyBrowser:
    """The shared browser with an empty record of blocked requests."""
    browser.blocked.clear()
    return browser


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_the_browser_reaches_127_0_0_1_only(session):
    # .invalid never resolves (RFC 2606): nothing could leave the machine even if the guard failed
    session.page.goto("about:blank")
    session.page.evaluate(
        """async () => {
            new WebSocket("ws://blocked.invalid/probe");
            await fetch("http://blocked.invalid/probe").catch(() => null);
        }"""
    )
    session.page.wait_for_timeout(500)
    assert sorted(session.blocked) == ["http://blocked.invalid/probe", "ws://blocked.invalid/probe"]


def test_asset_graph_shows_the_pipeline(ui, session):
    _, base_url, folder = ui
    show_asset_graph(session.page, base_url)
    shot = save_screenshot(session.page, folder / "asset-graph.png")
    assert png_size(shot) == (GRAPH_VIEWPORT["width"], GRAPH_VIEWPORT["height"])
    # Dagster's UI serves its own fonts and scripts and, with telemetry off, calls nothing outside.
    assert session.blocked == []


def test_asset_page_shows_description_schema_owner_and_metadata(ui, session):
    from playwright.sync_api import expect

    _, base_url, folder = ui
    show_asset_page(session.page, base_url)
    view = session.page
    for text in (
        "corpusfabriek",  # the group
        "data-engineering",  # the owner
        "privacy: shareable",
        "zone: releases",
        "build_release",  # the job
        "doc_id",  # the column schema
        "stable id: hash of source id and native id (or URL)",
        "sources",  # metadata: the table of documents per source
        "total_documents",
        "near_duplicates_dropped",
    ):
        # visible to Playwright also when further down the page (the screenshot shows the top)
        expect(view.get_by_text(text, exact=True).first).to_be_visible()
    expect(view.get_by_text("Row count", exact=True)).to_be_visible()
    shot = save_screenshot(view, folder / "asset-page.png")
    assert png_size(shot) == (PAGE_VIEWPORT["width"], PAGE_VIEWPORT["height"])
    assert session.blocked == []


def test_the_data_docs_page_of_a_check_opens_offline(ui, session):
    env, base_url, folder = ui
    # what the check's page in the UI shows: it runs alone ("Execute"), its failures as a table, its link
    check = latest_check(base_url, "anonymised_documents", "anonymised_zone_expectations")
    assert check["can_execute"] == "CAN_EXECUTE"
    assert check["success"] and check["metadata"]["failed"].startswith("All ")
    page_url = check["metadata"]["data_docs_page"]
    assert page_url.startswith(env["CORPUSFABRIEK_DATA_DOCS_URL"] + "/anonymised/" + check["partition"] + "/")
    with data_docs_server(env, folder / "data-docs.log"):
        show_data_docs(session.page, page_url)
        save_screenshot(session.page, folder / "data-docs.png")
    assert session.blocked == []  # no CDN, no script host: the page renders from the docs server alone
