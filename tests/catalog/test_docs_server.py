"""The Data Docs server: a real server on 127.0.0.1 over a real storage root (local, and S3 on SeaweedFS)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from catalog.docs_server import BadRequestPath, DocsServer, content_type, docs_relative_path
from catalog.storage import Storage
from catalog.zones import DATA_DOCS, DATA_DOCS_INDEX, clean_path, validation_path

PAGE = f"{DATA_DOCS}/clean/bron/20261201T120000000000Z/index.html"
SECRET = b"Anneke Verhoeven-Dijkstra woont aan de Eemskanaal 7"  # zone data: must never be served


def fill(storage: Storage) -> None:
    """Write a small Data Docs folder beside zone data and secrets that must stay unreachable."""
    storage.write_bytes(DATA_DOCS_INDEX, b"<!DOCTYPE html><title>index</title>")
    storage.write_bytes(f"{DATA_DOCS}/static/data-docs.css", b"body { color: #000; }")
    storage.write_bytes(f"{DATA_DOCS}/static/favicon.ico", b"\x00\x00\x01\x00")
    storage.write_bytes(PAGE, b"<!DOCTYPE html><title>page</title>")
    storage.write_bytes(f"{DATA_DOCS}/.index.html.tmp-1-2-0123456789ab", SECRET)  # a write in progress
    storage.write_bytes(clean_path("bron"), SECRET)
    storage.write_json(validation_path("clean", "bron"), {"secret": SECRET.decode()})
    storage.write_bytes("secrets/anonymisation.key", SECRET)


@pytest.fixture
def server(storage: Storage) -> Iterator[DocsServer]:
    fill(storage)
    running = DocsServer(storage, "127.0.0.1", 0)
    running.start()
    yield running
    running.stop()


def request(server: DocsServer, method: str, target: str) -> tuple[int, dict[str, str], bytes]:
    """Send one request exactly as written (no client-side normalisation of the path)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def test_pages_and_static_files_are_served_with_their_types(server: DocsServer):
    status, headers, body = request(server, "GET", "/")
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert body == b"<!DOCTYPE html><title>index</title>"
    assert "default-src 'none'" in headers["content-security-policy"] and headers["x-content-type-options"] == "nosniff"
    assert request(server, "GET", "/index.html?x=1#top")[0] == 200
    assert request(server, "GET", "/static/data-docs.css")[1]["content-type"] == "text/css; charset=utf-8"
    assert request(server, "GET", "/static/favicon.ico")[1]["content-type"] == "image/x-icon"
    page = PAGE.removeprefix(DATA_DOCS)
    assert request(server, "GET", page)[2] == b"<!DOCTYPE html><title>page</title>"
    assert request(server, "GET", page.removesuffix("index.html"))[0] == 200
    status, headers, _ = request(server, "GET", page.removesuffix("/index.html"))
    assert (status, headers["location"]) == (301, page.removesuffix("index.html"))  # so relative links resolve
    status, headers, body = request(server, "HEAD", page)
    assert (status, int(headers["content-length"]), body) == (200, len(b"<!DOCTYPE html><title>page</title>"), b"")


def test_missing_files_are_404(server: DocsServer):
    assert request(server, "GET", "/clean/bron/20990101T000000000000Z/index.html")[0] == 404
    assert request(server, "HEAD", "/nothing.html")[0] == 404
    assert request(server, "GET", "/static/")[0] == 404  # a folder without a page is not listed


@pytest.mark.parametrize(
    "target",
    [
        "/../../clean/bron/documents.parquet",
        "/clean/../../../secrets/anonymisation.key",
        "/%2e%2e/%2e%2e/clean/bron/documents.parquet",
        "/%2E%2E%2F%2E%2E%2Fclean%2Fbron%2Fdocuments.parquet",
        "/..%2f..%2fsecrets%2fanonymisation.key",
        "/%252e%252e/%252e%252e/clean/bron/documents.parquet",
        "/static/..%5c..%5c..%5cclean/bron/documents.parquet",
        "/static\\..\\..\\..\\clean\\bron\\documents.parquet",
        "//clean/bron/documents.parquet",
        "/.index.html.tmp-1-2-0123456789ab",
        "/%2eindex.html.tmp-1-2-0123456789ab",
        "/index.html%00.parquet",
        "/%ff%fe",
        "http://127.0.0.1/../../clean/bron/documents.parquet",
        "../../clean/bron/documents.parquet",
    ],
)
def test_traversal_is_refused(server: DocsServer, target: str):
    status, _, body = request(server, "GET", target)
    assert status in (400, 404)
    assert SECRET not in body


@pytest.mark.parametrize(
    "target", ["/clean/bron/documents.parquet", "/validations/clean/bron/validation.json", "/secrets/anonymisation.key"]
)
def test_nothing_outside_the_docs_folder_is_reachable(server: DocsServer, target: str):
    status, _, body = request(server, "GET", target)
    assert status == 404 and SECRET not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_only_get_and_head_are_answered(server: DocsServer, storage: Storage, method: str):
    status, headers, _ = request(server, method, "/index.html")
    assert status in (405, 501)
    if status == 405:
        assert headers["allow"] == "GET, HEAD"
    assert storage.read_bytes(DATA_DOCS_INDEX) == b"<!DOCTYPE html><title>index</title>"


def test_request_paths_map_into_the_docs_folder_or_are_refused():
    assert docs_relative_path("/") == "index.html"
    assert docs_relative_path("/clean/bron/") == "clean/bron/index.html"
    assert docs_relative_path("/static/data-docs.css?v=1") == "static/data-docs.css"
    assert docs_relative_path("/clean/bron%20x/a.html") == "clean/bron x/a.html"
    for target in ("/a/../b", "/./a", "/a//b", "/%2e%2e/x", "/%252e", "/a\\b", "/.hidden", "relative", "/\x01"):
        with pytest.raises(BadRequestPath):
            docs_relative_path(target)


def test_content_types():
    assert content_type("a/index.html") == "text/html; charset=utf-8"
    assert content_type("pages.json") == "application/json"
    assert content_type("logo.PNG") == "image/png"
    assert content_type("whatever.bin") == "application/octet-stream"


@pytest.mark.integration
def test_docs_on_s3_are_served_and_nothing_else(s3_server):
    storage = Storage(
        f"s3://{s3_server.bucket}/docs-server",
        endpoint_url=s3_server.endpoint_url,
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
    )
    fill(storage)
    running = DocsServer(storage, "127.0.0.1", 0)
    running.start()
    try:
        assert request(running, "GET", "/")[0] == 200
        assert request(running, "GET", PAGE.removeprefix(DATA_DOCS))[2] == b"<!DOCTYPE html><title>page</title>"
        assert request(running, "GET", PAGE.removeprefix(DATA_DOCS).removesuffix("/index.html"))[0] == 301
        assert request(running, "GET", "/static/favicon.ico")[1]["content-type"] == "image/x-icon"
        for target in ("/clean/bron/documents.parquet", "/../clean/bron/documents.parquet", "/missing.html"):
            status, _, body = request(running, "GET", target)
            assert status in (400, 404) and SECRET not in body
    finally:
        running.stop()
        storage.delete("", recursive=True)
