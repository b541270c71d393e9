"""Great Expectations suites of the zones: real GX 1.x runs on tiny zones, Data Docs in storage, no text leaks."""

from __future__ import annotations

import http.client
import re
import socket
import urllib.parse
from pathlib import Path

import pytest

from catalog.docs_server import DocsServer
from catalog.storage import Storage
from catalog.zones import (
    DATA_DOCS,
    DATA_DOCS_INDEX,
    DATA_DOCS_STATIC,
    clean_path,
    clean_report_path,
    docs_partition_folder,
    legacy_docs_folder,
    validation_path,
)
from quality.gate import QualityGate
from stages.clean import clean_source
from stages.data_docs import external_resources
from stages.validate import failed_expectations_markdown, validate_zone, validation_matches
from tests.texts import DUTCH_ARTICLE

SOURCE = "test-bron"
SECRET = "Anneke Verhoeven-Dijkstra"  # a fake name that must not reach results or Data Docs


def validate(storage: Storage, **kwargs: object) -> dict:
    return validate_zone(storage, "clean", SOURCE, clean_path(SOURCE), clean_report_path(SOURCE), ["nl"], **kwargs)


def test_a_clean_zone_passes_and_its_data_docs_hold_no_text(storage: Storage, ingested, tmp_path: Path, monkeypatch):
    attempts: list[object] = []
    monkeypatch.setattr(
        socket.socket, "connect", lambda *a, **k: attempts.append(a) or (_ for _ in ()).throw(OSError())
    )
    ingested([{"id": "1", "text": DUTCH_ARTICLE + f" Woordvoerder {SECRET} bevestigde dat."},
              {"id": "2", "text": DUTCH_ARTICLE.replace("Groningen", "Assen")}])  # fmt: skip
    clean_source(storage, SOURCE, gate=QualityGate(languages=["nl"]))

    summary = validate(storage)
    assert summary["success"], summary["failed_expectations"]
    assert (summary["documents"], summary["chunks"]) == (2, 1)
    assert summary["evaluated_expectations"] == summary["successful_expectations"] >= 15
    assert summary["results"]["expect_column_values_to_be_in_set(lang)"]["element_count"] == 2
    assert storage.read_json(validation_path("clean", SOURCE)) == summary
    assert failed_expectations_markdown(summary) == f"All {summary['evaluated_expectations']} expectations passed."
    root = Path(storage.url(""))
    pages = list((root / DATA_DOCS).rglob("*.html"))
    assert len(pages) >= 4  # the index; the validation's page, GX's validation result and suite
    for page in pages:
        assert SECRET not in page.read_text(encoding="utf-8")
        assert "Eemskanaal" not in page.read_text(encoding="utf-8")
    assert attempts == []  # GX ran fully offline


def test_a_zone_with_problems_fails_with_counts(storage: Storage, ingested):
    ingested([{"id": "1", "text": DUTCH_ARTICLE}, {"id": "2", "text": "Nog een tekst."}])
    clean_source(storage, SOURCE)  # no quality gate: no language detected, so the suite must fail on lang

    summary = validate(storage)
    assert not summary["success"]
    assert "expect_column_values_to_not_be_null(lang)" in summary["failed_expectations"]
    assert summary["results"]["expect_column_values_to_not_be_null(lang)"]["unexpected_count"] == 2
    table = failed_expectations_markdown(summary).splitlines()
    assert table[:2] == ["| Expectation | Column | Unexpected | Expected |", "|---|---|---|---|"]
    assert "| `expect_column_values_to_not_be_null` | `lang` | 2 of 2 (100%) | - |" in table
    assert len(table) == 2 + len(summary["failed_expectations"])
    page = storage.read_bytes(summary["data_docs"]).decode()
    assert "✘ failed" in page and "expect_column_values_to_not_be_null" in page
    ok, why = validation_matches(storage, "clean", SOURCE, clean_report_path(SOURCE))
    assert (ok, why) == (False, "expectations_failed")


def test_validation_is_tied_to_the_snapshot_it_checked(storage: Storage, ingested):
    assert validation_matches(storage, "clean", SOURCE, clean_report_path(SOURCE)) == (False, "not_validated")
    ingested([{"id": "1", "text": DUTCH_ARTICLE}])
    clean_source(storage, SOURCE, gate=QualityGate())
    validate(storage)
    assert validation_matches(storage, "clean", SOURCE, clean_report_path(SOURCE)) == (True, "passed")
    ingested([{"id": "1", "text": DUTCH_ARTICLE}, {"id": "2", "text": DUTCH_ARTICLE.replace("dinsdag", "woensdag")}])
    clean_source(storage, SOURCE, gate=QualityGate())  # a new snapshot, not validated yet
    assert validation_matches(storage, "clean", SOURCE, clean_report_path(SOURCE)) == (
        False,
        "validated_an_older_snapshot",
    )


def test_results_of_chunks_add_up():
    from stages.validate import _merge

    total: dict = {}
    _merge(total, {"x": {"success": True, "element_count": 3, "unexpected_count": 0}})
    _merge(total, {"x": {"success": False, "element_count": 2, "unexpected_count": 1}})
    assert total == {"x": {"success": False, "element_count": 5, "unexpected_count": 1}}


def test_unknown_zone_is_refused(storage: Storage):
    with pytest.raises(ValueError, match="unknown zone"):
        validate_zone(storage, "raw", SOURCE, "x", "y", ["nl"])


def stored_pages(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.html"))}


def loads_from_other_hosts(page: str) -> list[str]:
    """Scripts, and stylesheets, icons or images from another host: what a browser would fetch on opening."""
    found = re.findall(r"<script\b[^>]*>", page, re.IGNORECASE)
    for tag in re.findall(r"<(?:link|img|iframe|source|embed|object)\b[^>]*>", page, re.IGNORECASE):
        found += re.findall(r"""(?:href|src|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", tag, re.IGNORECASE)
    found += re.findall(r"""url\(\s*["']?\s*((?:https?:)?//[^"')]+)""", page, re.IGNORECASE)
    return found + external_resources(page)


def test_data_docs_open_offline_share_static_files_once_and_keep_the_newest_pages(
    storage: Storage, ingested, monkeypatch
):
    monkeypatch.setenv("CORPUSFABRIEK_DATA_DOCS_KEEP", "1")
    monkeypatch.delenv("CORPUSFABRIEK_DATA_DOCS_URL", raising=False)
    ingested([{"id": "1", "text": DUTCH_ARTICLE}])
    clean_source(storage, SOURCE, gate=QualityGate(languages=["nl"]))
    storage.write_bytes(f"{legacy_docs_folder('clean', SOURCE)}/20250101T000000000000Z/index.html", b"<html>")
    root = Path(storage.url(""))

    summaries = [validate(storage)]
    static = {p.name: p.stat().st_mtime_ns for p in (root / DATA_DOCS_STATIC).iterdir()}
    assert set(static) == {"data-docs.css", "favicon.ico"}
    summaries += [validate(storage), validate(storage)]

    everything = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    # the static files once per root, not rewritten by later validations; no GX site copies
    assert [f for f in everything if f.endswith(("favicon.ico", ".css", ".otf", ".png"))] == [
        f"{DATA_DOCS_STATIC}/data-docs.css",
        f"{DATA_DOCS_STATIC}/favicon.ico",
    ]
    assert {p.name: p.stat().st_mtime_ns for p in (root / DATA_DOCS_STATIC).iterdir()} == static
    assert not storage.exists(legacy_docs_folder("clean", SOURCE))  # the old per-validation sites are gone
    # keep=1: only the newest validation's page is left, and the index links it alone
    latest = summaries[-1]
    assert storage.ls(docs_partition_folder("clean", SOURCE), dirs_only=True) == [latest["validation_id"]]
    assert latest["data_docs"] == f"{docs_partition_folder('clean', SOURCE)}/{latest['validation_id']}/index.html"
    assert latest["data_docs_url"] is None
    assert all(not storage.exists(s["data_docs"]) for s in summaries[:-1])
    index = storage.read_bytes(DATA_DOCS_INDEX).decode()
    links = re.findall(r'href="([^"]+/index\.html)"', index)
    assert links == [f"clean/{SOURCE}/{latest['validation_id']}/index.html"]
    # every stored page opens offline: no script, nothing from another host, the shared stylesheet
    pages = stored_pages(root / DATA_DOCS)
    assert len(pages) == 4  # the index, the validation's page, GX's validation result and suite
    assert {name: loads_from_other_hosts(page) for name, page in pages.items()} == {name: [] for name in pages}
    for name, page in pages.items():
        folder = root / DATA_DOCS / Path(name).parent
        (stylesheet,) = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert (folder / stylesheet).resolve() == root / DATA_DOCS_STATIC / "data-docs.css"
        for link in re.findall(r'(?:href|src)="([^"#:]+)(?:#[^"]*)?"', page):  # GX's "Home" is the validation's page
            assert (folder / link).resolve().is_file(), (name, link)
    assert not list(root.glob("validations/*/*/docs"))


def test_served_data_docs_link_the_validation_page(storage: Storage, ingested):
    ingested([{"id": "1", "text": DUTCH_ARTICLE}, {"id": "2", "text": "Nog een tekst."}])
    clean_source(storage, SOURCE)  # no language detected: fails on lang
    server = DocsServer(storage, "127.0.0.1", 0)
    server.start()
    try:
        summary = validate(storage, data_docs_url=server.url + "/", data_docs_keep=3)
        page = summary["data_docs_url"]
        assert page == f"{server.url}/clean/{SOURCE}/{summary['validation_id']}/index.html"
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request("GET", "/")
        index = connection.getresponse()
        body = index.read().decode()
        assert index.status == 200 and index.getheader("Content-Type") == "text/html; charset=utf-8"
        assert f'href="clean/{SOURCE}/{summary["validation_id"]}/index.html"' in body
        connection.request("GET", page.removeprefix(server.url))
        answer = connection.getresponse()
        text = answer.read().decode()
        assert answer.status == 200
        assert "expect_column_values_to_not_be_null" in text and "✘ failed" in text
        for link in re.findall(r'href="([^"]+)"', text):  # the shared static files and GX's pages resolve
            url = urllib.parse.urlsplit(urllib.parse.urljoin(page, link)).path  # as a browser resolves it
            connection.request("GET", url)
            linked = connection.getresponse()
            assert (linked.status, len(linked.read()) > 0) == (200, True), url
        connection.close()
    finally:
        server.stop()


def test_failed_expectations_markdown_lists_each_failure_without_breaking_the_table():
    summary = {
        "evaluated_expectations": 3,
        "documents": 4,
        "duplicate_doc_ids_across_zone": 2,
        "results": {
            "expect_column_values_to_match_regex(licence)": {
                "expectation_type": "expect_column_values_to_match_regex",
                "column": "licence",
                "expected": {"regex": "^(CC-BY|EUPL)$"},
                "success": False,
                "element_count": 4,
                "unexpected_count": 1,
            },
            "expect_column_values_to_not_be_null(lang)": {"success": True, "element_count": 4, "unexpected_count": 0},
        },
    }
    assert failed_expectations_markdown(summary).splitlines()[2:] == [
        "| `doc_id unique across the zone` | `doc_id` | 2 of 4 (50%) | every doc_id once in the whole zone "
        "(all chunks) |",
        "| `expect_column_values_to_match_regex` | `licence` | 1 of 4 (25%) | regex: ^(CC-BY\\|EUPL)$ |",
    ]
    # an older summary (counts only, no parameters) still gives a table
    old = {"results": {"expect_column_values_to_not_be_null(lang)": {"success": False, "unexpected_count": 2}}}
    assert "| `expect_column_values_to_not_be_null` | `lang` | 2 of 0 | - |" in failed_expectations_markdown(old)
    assert failed_expectations_markdown({"evaluated_expectations": 16, "results": {}}) == (
        "All 16 expectations passed."
    )
