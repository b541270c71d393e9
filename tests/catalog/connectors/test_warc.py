"""The warc connector: record types, HTML extraction, ARC, truncated archives, HTTP downloads, cursors."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from catalog.connectors.records import Quarantined, RawRecord
from catalog.connectors.warc import WarcConnector
from catalog.fetch import Fetcher
from tests.catalog.connectors.test_locations import content_paths, make_spec
from tests.conftest import FixtureServer, Route

ARTICLE = """<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">
<title>Nieuwe fietsbrug over de IJssel geopend</title>
<meta property="article:published_time" content="2024-05-17T09:30:00+02:00"></head>
<body><nav>Home | Nieuws | Sport</nav>
<article><h1>Nieuwe fietsbrug over de IJssel geopend</h1>
<p>De nieuwe fietsbrug over de IJssel bij Zutphen is vrijdag officieel geopend door de wethouder.</p>
<p>Fietsers besparen voortaan een kwartier op hun route tussen de binnenstad en het station.</p>
</article><footer>Contact | Privacy</footer></body></html>"""

ARTICLE_TEXT = (
    "Nieuwe fietsbrug over de IJssel geopend\n"
    "De nieuwe fietsbrug over de IJssel bij Zutphen is vrijdag officieel geopend door de wethouder.\n"
    "Fietsers besparen voortaan een kwartier op hun route tussen de binnenstad en het station."
)

NOTICE = """<html><head><title>Gemeenteberichten</title></head><body><main>
<p>Het gemeentehuis is op Koningsdag gesloten. Voor spoedeisende zaken kunt u de noodlijn bellen.</p>
<p>De afvalinzameling schuift in die week een dag op; zet de container een dag later aan de straat.</p>
</main></body></html>"""


def article(n: int) -> str:
    return ARTICLE.replace("IJssel", f"IJssel ({n})")


class Archive:
    """Builds a small WARC with warcio, record by record."""

    def __init__(self, *, gzip: bool = True) -> None:
        self.buffer = io.BytesIO()
        self.writer = WARCWriter(self.buffer, gzip=gzip)

    def response(
        self, url: str, body: bytes | str, content_type: str | None = "text/html; charset=utf-8", status: str = "200 OK"
    ) -> Archive:
        headers = [("Content-Type", content_type)] if content_type else []
        http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        payload = body.encode() if isinstance(body, str) else body
        self.writer.write_record(
            self.writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=http)
        )
        return self

    def record(self, url: str, kind: str, body: bytes = b"", **kwargs: object) -> Archive:
        self.writer.write_record(self.writer.create_warc_record(url, kind, payload=io.BytesIO(body), **kwargs))
        return self

    def warcinfo(self) -> Archive:
        self.writer.write_record(self.writer.create_warcinfo_record("test.warc.gz", {"software": "tests"}))
        return self

    def bytes(self) -> bytes:
        return self.buffer.getvalue()


def three_articles(gzip: bool = True) -> bytes:
    archive = Archive(gzip=gzip)
    for n in range(1, 4):
        archive.response(f"https://krant.example/artikel/{n}", article(n))
    return archive.bytes()


def run(location: str, cursor: dict | None = None, **politeness: float) -> tuple[list, dict]:
    spec = make_spec("warc", location, **politeness)
    connector = WarcConnector(spec, Fetcher.for_spec(spec), cursor or {})
    items = list(connector.read())
    next_cursor = connector.next_cursor()
    json.dumps(next_cursor)
    return items, next_cursor


def kinds(items: list) -> list[tuple[str, str]]:
    return [(i.record, getattr(i, "reason", None) or "document") for i in items]


def test_record_types_and_extraction(tmp_path: Path) -> None:
    request = StatusAndHeaders("GET /artikel/brug HTTP/1.1", [("Host", "krant.example")], is_http_request=True)
    archive = (
        Archive()
        .warcinfo()  # record 1
        .record("https://krant.example/artikel/brug", "request", http_headers=request)  # 2
        .response("https://krant.example/artikel/brug", ARTICLE)  # 3
        .record(
            "https://krant.example/artikel/brug", "metadata", b"via: x\r\n", warc_content_type="application/warc-fields"
        )  # 4
        .response("https://krant.example/krant.pdf", b"%PDF-1.7 ...", "application/pdf")  # 5
        .response("https://krant.example/oud", b"", "text/html", status="301 Moved Permanently")  # 6
        .response("https://krant.example/weg", "<html><body>Niet gevonden</body></html>", status="404 Not Found")  # 7
        .record("https://gemeente.example/berichten", "resource", NOTICE.encode(), warc_content_type="text/html")  # 8
        .response("https://krant.example/leeg", "<html><body></body></html>")  # 9
        .response("https://krant.example/zonder-type", ARTICLE.replace("IJssel", "Berkel"), content_type=None)  # 10
    )
    revisit = archive.writer.create_revisit_record(
        "https://krant.example/artikel/brug", "sha1:AAAA", "https://krant.example/artikel/brug", "2024-05-17T10:00:00Z"
    )
    archive.writer.write_record(revisit)  # 11
    (tmp_path / "crawl.warc.gz").write_bytes(archive.bytes())

    items, _ = run(str(tmp_path / "*.warc.gz"))
    assert kinds(items) == [
        ("record 3", "document"),
        ("record 5", "not_html"),
        ("record 7", "http_error"),
        ("record 8", "document"),
        ("record 9", "document"),
        ("record 10", "document"),
    ]
    brug, pdf, missing, notice, empty, sniffed = items
    assert isinstance(brug, RawRecord)
    assert brug.native_id == brug.url == "https://krant.example/artikel/brug"
    assert brug.text == ARTICLE_TEXT  # navigation and footer left out
    assert brug.title == "Nieuwe fietsbrug over de IJssel geopend"
    assert brug.published_at == datetime(2024, 5, 16, 22, 0, tzinfo=UTC)  # 17 May, midnight in Amsterdam
    assert (brug.fetch_mode, brug.location) == ("archive", str(tmp_path / "crawl.warc.gz"))
    assert set(brug.metadata) == {"warc_record_id", "warc_date", "warc_file"}
    assert brug.metadata["warc_file"] == "crawl.warc.gz" and brug.metadata["warc_record_id"].startswith("<urn:uuid:")
    assert isinstance(pdf, Quarantined) and pdf.detail == "media type application/pdf" and pdf.raw_bytes is None
    assert isinstance(missing, Quarantined) and missing.detail == "archived HTTP 404" and missing.raw_bytes is None
    assert isinstance(notice, RawRecord) and notice.text.startswith("Het gemeentehuis is op Koningsdag gesloten.")
    assert isinstance(empty, RawRecord) and empty.text == ""  # ingest quarantines it as empty_text
    assert isinstance(sniffed, RawRecord) and "Berkel" in sniffed.text


def test_arc_files_are_read_as_warc(tmp_path: Path) -> None:
    def arc_record(url: str, content_type: str, block: bytes) -> bytes:
        return f"{url} 192.0.2.1 20240517093000 {content_type} {len(block)}\n".encode() + block + b"\n"

    version = b"1 0 Testarchief\nURL IP-address Archive-date Content-type Archive-length\n"
    http = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + ARTICLE.encode()
    data = arc_record("filedesc://test.arc", "text/plain", version) + arc_record(
        "http://krant.example/brug", "text/html", http
    )
    (tmp_path / "oud.arc").write_bytes(data)
    (doc,), _ = run(str(tmp_path / "oud.arc"))
    assert isinstance(doc, RawRecord)
    assert (doc.native_id, doc.text, doc.record) == ("http://krant.example/brug", ARTICLE_TEXT, "record 2")


def test_truncated_warc_keeps_what_came_before_and_continues(tmp_path: Path) -> None:
    whole = three_articles()
    (tmp_path / "a-afgebroken.warc.gz").write_bytes(whole[:-60])  # cut inside the third record
    (tmp_path / "b-heel.warc.gz").write_bytes(three_articles())
    (tmp_path / "c-afgebroken.warc").write_bytes(three_articles(gzip=False)[:-300])
    (tmp_path / "d-rommel.warc.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 40)
    items, cursor = run(str(tmp_path / "*.warc*"))
    assert [(Path(i.location).name, *kinds([i])[0]) for i in items] == [
        ("a-afgebroken.warc.gz", "record 1", "document"),
        ("a-afgebroken.warc.gz", "record 2", "document"),
        ("a-afgebroken.warc.gz", "record 3 onwards", "truncated_warc"),
        ("b-heel.warc.gz", "record 1", "document"),
        ("b-heel.warc.gz", "record 2", "document"),
        ("b-heel.warc.gz", "record 3", "document"),
        ("c-afgebroken.warc", "record 1", "document"),
        ("c-afgebroken.warc", "record 2", "document"),
        ("c-afgebroken.warc", "record 3 onwards", "truncated_warc"),
        ("d-rommel.warc.gz", "record 1 onwards", "truncated_warc"),
    ]
    assert "IJssel (1)" in items[0].text and "IJssel (2)" in items[1].text  # complete records are kept whole
    assert len(cursor["files"]) == 4


def test_every_cut_of_an_archive_is_noticed(tmp_path: Path) -> None:
    """Cut a WARC at many places: records before the cut are complete, the rest is one truncated_warc."""
    for gzip in (True, False):
        whole = three_articles(gzip)
        for cut in range(40, len(whole) - 8, 97):
            path = tmp_path / f"cut-{gzip}-{cut}.warc"
            path.write_bytes(whole[:cut])
            items, _ = run(str(path))
            *documents, last = items
            assert isinstance(last, Quarantined) and last.reason == "truncated_warc", (gzip, cut)
            assert [d.native_id for d in documents] == [
                f"https://krant.example/artikel/{n + 1}" for n in range(len(documents))
            ]
            assert all(f"IJssel ({n + 1})" in d.text for n, d in enumerate(documents))


def test_oversized_payload_is_quarantined(tmp_path: Path) -> None:
    big = "<html><body>" + "<p>Een hele lange alinea over de gemeenteraad.</p>" * 200 + "</body></html>"
    (tmp_path / "a.warc.gz").write_bytes(
        Archive().response("https://krant.example/groot", big).response("https://krant.example/klein", ARTICLE).bytes()
    )
    items, _ = run(str(tmp_path / "a.warc.gz"), max_response_bytes=5_000)
    assert kinds(items) == [("record 1", "response_too_large"), ("record 2", "document")]


def test_local_rerun_emits_nothing_new(tmp_path: Path) -> None:
    (tmp_path / "a.warc.gz").write_bytes(three_articles())
    first, cursor = run(str(tmp_path / "*.warc.gz"))
    assert len(first) == 3
    assert run(str(tmp_path / "*.warc.gz"), cursor) == ([], cursor)


# -- HTTP ---------------------------------------------------------------------------------------------


def test_served_archives_with_fetch_errors_and_a_rerun(http_server: FixtureServer, allow_loopback: None) -> None:
    archive = three_articles()
    http_server.routes.update(
        {
            "/crawl/a.warc.gz": Route(archive, 200, {"Content-Type": "application/warc", "ETag": '"a-1"'}),
            "/crawl/b.warc.gz": Route(b"", 500),
            "/crawl/d.warc.gz": Route(archive, delay=3.0),
            "/crawl/e.warc.gz": Route(archive * 30),
            "/crawl/lijst.txt": Route(b"a.warc.gz\nb.warc.gz\nc.warc.gz\nd.warc.gz\ne.warc.gz\n"),
        }
    )
    location = http_server.url("/crawl/lijst.txt")
    items, cursor = run(location, read_timeout_seconds=0.9, max_response_bytes=len(archive) * 10)
    assert [(i.location.rsplit("/", 1)[1], getattr(i, "reason", None) or "document") for i in items] == [
        ("a.warc.gz", "document"),
        ("a.warc.gz", "document"),
        ("a.warc.gz", "document"),
        ("b.warc.gz", "http_error"),
        ("c.warc.gz", "http_error"),
        ("d.warc.gz", "timeout"),
        ("e.warc.gz", "response_too_large"),
    ]
    assert items[0].metadata["warc_file"] == http_server.url("/crawl/a.warc.gz")
    assert cursor["files"][http_server.url("/crawl/a.warc.gz")]["etag"] == '"a-1"'

    # Re-run: the unchanged archive yields nothing again (Fetcher.download sends no validators, so it is
    # recognised by its SHA-256); the failed ones are tried again.
    http_server.requests.clear()
    items, _ = run(location, cursor, read_timeout_seconds=0.9, max_response_bytes=len(archive) * 10)
    assert [i.location.rsplit("/", 1)[1] for i in items] == ["b.warc.gz", "c.warc.gz", "d.warc.gz", "e.warc.gz"]
    assert content_paths(http_server).count("/crawl/a.warc.gz") == 1
