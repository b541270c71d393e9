"""The rechtspraak connector: open-data XML from files and from the search API, broken input, cursors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from catalog.connectors.rechtspraak import RechtspraakConnector
from catalog.connectors.records import Quarantined, RawRecord
from catalog.fetch import Fetcher
from tests.catalog.connectors.test_locations import BILLION_LAUGHS, FAKE_NAME, content_paths, make_spec
from tests.conftest import FixtureServer, Route

RDF_NAMESPACES = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:psi="http://psi.rechtspraak.nl/" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"'
)

UITSPRAAK_BODY = """
    <uitspraak.info>
      <para>RECHTBANK GELDERLAND</para>
      <para>Team kanton</para>
      <para/>
      <parablock><para>zaaknummer: 10234567 \\ CV EXPL 24-123</para></parablock>
    </uitspraak.info>
    <section role="procesverloop">
      <title><nr>1</nr>De procedure</title>
      <paragroup>
        <nr>1.1.</nr>
        <para>Het verloop van de procedure blijkt uit de dagvaarding van 4 januari 2024
          en de <emphasis role="italic">conclusie van antwoord</emphasis>.<footnote-ref linkend="fn1"/></para>
      </paragroup>
    </section>
    <section role="beslissing">
      <title><nr>2</nr>De beslissing</title>
      <para>De kantonrechter<?linebreak?> wijst de vordering af.</para>
      <informaltable><tgroup cols="2"><tbody>
        <row><entry><para>griffier</para></entry><entry><para>kantonrechter</para></entry></row>
      </tbody></tgroup></informaltable>
    </section>"""

UITSPRAAK_TEXT = (
    "RECHTBANK GELDERLAND\n\nTeam kanton\n\nzaaknummer: 10234567 \\ CV EXPL 24-123\n\n"
    "1 De procedure\n\n"
    "1.1. Het verloop van de procedure blijkt uit de dagvaarding van 4 januari 2024 en de conclusie van antwoord.\n\n"
    "2 De beslissing\n\nDe kantonrechter wijst de vordering af.\n\ngriffier kantonrechter"
)


def ruling(
    ecli: str | None,
    *,
    element: str | None = "uitspraak",
    date: str = "2024-03-05",
    body: str = UITSPRAAK_BODY,
) -> bytes:
    """An open-rechtspraak document shaped like data.rechtspraak.nl's (two rdf:Descriptions, then the text)."""
    identifier = f"<dcterms:identifier>{ecli}</dcterms:identifier>" if ecli else ""
    deeplink = f"https://uitspraken.rechtspraak.nl/details?id={ecli}"
    text = (
        f'<{element} xmlns="http://www.rechtspraak.nl/schema/rechtspraak-1.0" id="{ecli}:DOC" xml:space="preserve">'
        f"{body}</{element}>"
        if element
        else ""
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<open-rechtspraak>
  <rdf:RDF {RDF_NAMESPACES}>
    <rdf:Description>
      {identifier}
      <dcterms:format>text/xml</dcterms:format>
      <dcterms:modified>2024-03-07T11:02:13</dcterms:modified>
      <dcterms:issued rdfs:label="Publicatiedatum">2024-03-07</dcterms:issued>
      <dcterms:language>nl</dcterms:language>
      <dcterms:creator rdfs:label="Instantie" scheme="overheid.Gerecht"
        resourceIdentifier="http://standaarden.overheid.nl/owms/terms/Rechtbank_Gelderland"
      >Rechtbank Gelderland</dcterms:creator>
      <dcterms:date rdfs:label="Uitspraakdatum">{date}</dcterms:date>
      <psi:zaaknummer rdfs:label="Zaaknr">10234567 \\ CV EXPL 24-123</psi:zaaknummer>
      <dcterms:type rdfs:label="Type" resourceIdentifier="http://psi.rechtspraak.nl/uitspraak">Uitspraak</dcterms:type>
      <psi:procedure rdfs:label="Procedure"
        resourceIdentifier="http://psi.rechtspraak.nl/procedure#eersteAanleg-enkelvoudig"
      >Eerste aanleg - enkelvoudig</psi:procedure>
      <dcterms:subject rdfs:label="Rechtsgebied"
        resourceIdentifier="http://psi.rechtspraak.nl/rechtsgebied#civielRecht">Civiel recht</dcterms:subject>
      <dcterms:subject rdfs:label="Rechtsgebied" resourceIdentifier="http://psi.rechtspraak.nl/rechtsgebied#civielRecht_huurrecht">Huurrecht</dcterms:subject>
    </rdf:Description>
    <rdf:Description rdf:about="{deeplink}">
      <dcterms:identifier>{deeplink}</dcterms:identifier>
      <dcterms:format>text/html</dcterms:format>
      <dcterms:title>{ecli}, Rechtbank Gelderland, 05-03-2024, 10234567 \\ CV EXPL 24-123</dcterms:title>
    </rdf:Description>
  </rdf:RDF>
  <inhoudsindicatie xmlns="http://www.rechtspraak.nl/schema/rechtspraak-1.0" id="{ecli}:INH">
    <para>Huurachterstand; vordering tot ontbinding afgewezen.</para>
  </inhoudsindicatie>
  {text}
</open-rechtspraak>""".encode()


def feed(entries: list[tuple[str | None, str]], updated: str = "2024-06-01T10:00:00+02:00") -> bytes:
    """An Atom search answer like /uitspraken/zoeken's: one entry per (ECLI, updated); ECLI None: no id."""
    items = "".join(
        f"""<entry><id>{ecli}</id><title type="text">{ecli}, Rechtbank Gelderland, 05-03-2024</title>
        <summary type="text">-</summary><updated>{stamp}</updated>
        <link rel="alternate" type="text/html" href="https://uitspraken.rechtspraak.nl/details?id={ecli}"/></entry>"""
        if ecli
        else f"""<entry><title type="text">{FAKE_NAME} tegen Rechtbank Gelderland</title>
        <updated>{stamp}</updated></entry>"""
        for ecli, stamp in entries
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Rechtspraak.nl - Uitspraken</title>
  <subtitle type="text">Aantal gevonden ECLI's: {len(entries)}</subtitle>
  <id>https://data.rechtspraak.nl/uitspraken/zoeken</id>
  <updated>{updated}</updated>{items}
</feed>""".encode()


def run(spec_location: str, cursor: dict | None = None, **politeness: float) -> tuple[list, dict]:
    spec = make_spec("rechtspraak", spec_location, **politeness)
    connector = RechtspraakConnector(spec, Fetcher.for_spec(spec), cursor or {})
    items = list(connector.read())
    next_cursor = connector.next_cursor()
    json.dumps(next_cursor)
    return items, next_cursor


# -- files --------------------------------------------------------------------------------------------


def test_a_ruling_file_becomes_one_document(tmp_path: Path) -> None:
    (tmp_path / "ECLI_NL_RBGEL_2024_1234.xml").write_bytes(ruling("ECLI:NL:RBGEL:2024:1234"))
    (doc,), _ = run(str(tmp_path / "*.xml"))
    assert isinstance(doc, RawRecord)
    assert doc.native_id == "ECLI:NL:RBGEL:2024:1234"
    assert doc.url == "https://uitspraken.rechtspraak.nl/details?id=ECLI:NL:RBGEL:2024:1234"
    assert doc.title == "ECLI:NL:RBGEL:2024:1234, Rechtbank Gelderland, 05-03-2024, 10234567 \\ CV EXPL 24-123"
    assert doc.text == UITSPRAAK_TEXT  # the summary (inhoudsindicatie) is not part of the ruling
    assert doc.published_at == datetime(2024, 3, 4, 23, 0, tzinfo=UTC)  # ruling date, midnight in Amsterdam
    assert doc.lang == "nl"
    assert doc.metadata == {
        "ecli": "ECLI:NL:RBGEL:2024:1234",
        "court": "Rechtbank Gelderland",
        "date": "2024-03-05",
        "issued": "2024-03-07",
        "modified": "2024-03-07T11:02:13",
        "type": "Uitspraak",
        "procedure": "Eerste aanleg - enkelvoudig",
        "subject": "Civiel recht; Huurrecht",
        "case_number": "10234567 \\ CV EXPL 24-123",
        "document": "uitspraak",
    }
    assert (doc.location, doc.record) == (str(tmp_path / "ECLI_NL_RBGEL_2024_1234.xml"), "document")


def test_a_conclusie_is_read_like_a_ruling(tmp_path: Path) -> None:
    body = "<section><title>Conclusie</title><para>Ik concludeer tot verwerping van het beroep.</para></section>"
    (tmp_path / "c.xml").write_bytes(ruling("ECLI:NL:PHR:2024:77", element="conclusie", body=body))
    (doc,), _ = run(str(tmp_path / "c.xml"))
    assert isinstance(doc, RawRecord)
    assert (doc.text, doc.metadata["document"]) == (
        "Conclusie\n\nIk concludeer tot verwerping van het beroep.",
        "conclusie",
    )


def test_an_unparseable_date_leaves_the_ruling_usable(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_bytes(ruling("ECLI:NL:RBGEL:2024:1", date="vijf maart"))
    (doc,), _ = run(str(tmp_path / "r.xml"))
    assert isinstance(doc, RawRecord) and doc.published_at is None and doc.metadata["date"] == "vijf maart"


BROKEN = [
    ("a.xml", ruling(None), "missing_id"),
    ("b.xml", ruling("ECLI:NL:RBGEL:2024:2", element=None), "unexpected_document"),
    ("c.xml", f"<uitspraak><para>{FAKE_NAME}</para></uitspraak>".encode(), "unexpected_document"),
    ("d.xml", ruling("ECLI:NL:RBGEL:2024:3")[:-30], "malformed_xml"),
    ("e.xml", BILLION_LAUGHS, "xml_entities_forbidden"),
    (
        "f.xml",
        ruling("ECLI:NL:RBGEL:2024:4", body=f"<para>{FAKE_NAME} té laat</para>").decode().encode("cp1252"),
        "encoding_error",
    ),
]


def test_broken_documents_are_quarantined_and_the_run_continues(tmp_path: Path) -> None:
    for name, data, _ in BROKEN:
        (tmp_path / name).write_bytes(data)
    (tmp_path / "z.xml").write_bytes(ruling("ECLI:NL:RBGEL:2024:5"))
    items, _ = run(str(tmp_path / "*.xml"))
    assert len(items) == len(BROKEN) + 1
    assert [(Path(i.location).name, getattr(i, "reason", "document")) for i in items] == [
        *((name, reason) for name, _, reason in BROKEN),
        ("z.xml", "document"),
    ]
    for q in items[:-1]:
        assert isinstance(q, Quarantined) and FAKE_NAME not in q.detail and q.raw_bytes


def test_deeply_nested_ruling_is_read_without_recursion(tmp_path: Path) -> None:
    # Far deeper than Python's recursion limit: the text walk is iterative, so the file is read (and the
    # run goes on to the next file) instead of ending the run, on this and every later run.
    depth = 5_000
    body = "<section>" * depth + "<nr>7.</nr><para>Diep genest.</para>" + "</section>" * depth
    (tmp_path / "a.xml").write_bytes(ruling("ECLI:NL:RBGEL:2024:21", body=body))
    (tmp_path / "b.xml").write_bytes(ruling("ECLI:NL:RBGEL:2024:22"))
    items, _ = run(str(tmp_path / "*.xml"))
    assert [(type(i).__name__, i.native_id) for i in items] == [
        ("RawRecord", "ECLI:NL:RBGEL:2024:21"),
        ("RawRecord", "ECLI:NL:RBGEL:2024:22"),
    ]
    assert items[0].text == "7. Diep genest."
    assert items[1].text == UITSPRAAK_TEXT


def test_files_rerun_emits_nothing_new(tmp_path: Path) -> None:
    (tmp_path / "r1.xml").write_bytes(ruling("ECLI:NL:RBGEL:2024:11"))
    first, cursor = run(str(tmp_path / "*.xml"))
    assert len(first) == 1 and set(cursor) == {"files"}
    assert run(str(tmp_path / "*.xml"), cursor) == ([], cursor)


# -- search API ---------------------------------------------------------------------------------------


class FakeRechtspraak:
    """data.rechtspraak.nl on 127.0.0.1: a search feed and per-ECLI content, with failures to order."""

    def __init__(self, server: FixtureServer) -> None:
        self.entries: list[tuple[str | None, str]] = []
        self.content: dict[str, Route] = {}
        self.feed_route: Route | None = None
        server.routes["/uitspraken/zoeken"] = self.search
        server.routes["/uitspraken/content"] = self.document

    def search(self, path: str, headers: dict[str, str]) -> Route:
        if self.feed_route is not None:
            return self.feed_route
        query = parse_qs(urlsplit(path).query)
        start, size = int(query.get("from", ["0"])[0]), int(query.get("max", ["1000"])[0])
        return Route(feed(self.entries[start : start + size]), 200, {"Content-Type": "application/atom+xml"})

    def document(self, path: str, headers: dict[str, str]) -> Route:
        ecli = parse_qs(urlsplit(path).query)["id"][0]
        return self.content.get(ecli) or Route(ruling(ecli), 200, {"Content-Type": "application/xml"})


def searched(server: FixtureServer) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(p).query) for p in content_paths(server) if p.startswith("/uitspraken/zoeken")]


def fetched(server: FixtureServer) -> list[str]:
    return [parse_qs(urlsplit(p).query)["id"][0] for p in content_paths(server) if p.startswith("/uitspraken/content")]


def test_search_api_fetches_each_ruling_then_only_what_changed(
    http_server: FixtureServer, allow_loopback: None
) -> None:
    api = FakeRechtspraak(http_server)
    api.entries = [
        ("ECLI:NL:RBGEL:2024:1", "2024-05-31T09:00:00+02:00"),
        ("ECLI:NL:RBGEL:2024:2", "2024-05-31T09:00:00+02:00"),
        ("ECLI:NL:HR:2024:3", "2024-05-31T09:30:00+02:00"),
    ]
    api.content["ECLI:NL:RBGEL:2024:2"] = Route(b"", 500)
    location = http_server.url("/uitspraken/zoeken?type=Uitspraak&return=DOC")
    items, cursor = run(location)
    assert [(type(i).__name__, getattr(i, "native_id", None) or i.reason) for i in items] == [
        ("RawRecord", "ECLI:NL:RBGEL:2024:1"),
        ("Quarantined", "http_error"),
        ("RawRecord", "ECLI:NL:HR:2024:3"),
    ]
    doc = items[0]
    assert doc.location == http_server.url("/uitspraken/content?id=ECLI:NL:RBGEL:2024:1")
    assert doc.record == "entry 1" and doc.text == UITSPRAAK_TEXT
    assert searched(http_server) == [{"type": ["Uitspraak"], "return": ["DOC"], "max": ["1000"]}]
    assert cursor["modified"] == "2024-06-01T08:00:00"  # the feed's updated, in UTC
    assert set(cursor["eclis"]) == {"ECLI:NL:RBGEL:2024:1", "ECLI:NL:HR:2024:3"}
    assert cursor["failed"] == {"ECLI:NL:RBGEL:2024:2": "2024-05-31T09:00:00+02:00"}

    # Next run: the search asks only for changes; known rulings are not fetched, the failed one is retried.
    http_server.requests.clear()
    del api.content["ECLI:NL:RBGEL:2024:2"]
    items, cursor = run(location, cursor)
    assert [i.native_id for i in items] == ["ECLI:NL:RBGEL:2024:2"]
    assert searched(http_server)[0]["modified"] == ["2024-06-01T08:00:00"]
    assert fetched(http_server) == ["ECLI:NL:RBGEL:2024:2"]
    assert cursor["failed"] == {}

    # Nothing changed: nothing fetched, nothing emitted.
    http_server.requests.clear()
    items, cursor = run(location, cursor)
    assert items == [] and fetched(http_server) == []

    # A ruling modified since (a new entry time) is fetched again, under the same native id.
    http_server.requests.clear()
    api.entries[0] = ("ECLI:NL:RBGEL:2024:1", "2024-06-02T12:00:00+02:00")
    items, _ = run(location, cursor)
    assert [i.native_id for i in items] == ["ECLI:NL:RBGEL:2024:1"]
    assert fetched(http_server) == ["ECLI:NL:RBGEL:2024:1"]


def test_search_pages_through_the_feed(http_server: FixtureServer, allow_loopback: None) -> None:
    api = FakeRechtspraak(http_server)
    api.entries = [(f"ECLI:NL:RBGEL:2024:{n}", "2024-05-31T09:00:00+02:00") for n in range(1, 6)]
    items, _ = run(http_server.url("/uitspraken/zoeken?max=2"))
    assert [i.native_id for i in items] == [f"ECLI:NL:RBGEL:2024:{n}" for n in range(1, 6)]
    assert [q.get("from", ["0"]) for q in searched(http_server)] == [["0"], ["2"], ["4"]]


def test_search_entry_without_id_is_quarantined_and_paging_goes_on(
    http_server: FixtureServer, allow_loopback: None
) -> None:
    api = FakeRechtspraak(http_server)
    stamp = "2024-05-31T09:00:00+02:00"
    api.entries = [("ECLI:NL:RBGEL:2024:1", stamp), (None, stamp), ("ECLI:NL:RBGEL:2024:3", stamp)]
    api.entries.append(("ECLI:NL:RBGEL:2024:4", stamp))
    items, cursor = run(http_server.url("/uitspraken/zoeken?max=2"))
    problem, *rulings = items
    assert isinstance(problem, Quarantined)
    assert (problem.record, problem.reason) == ("feed page 1 entry 2", "missing_id")
    assert problem.location == http_server.url("/uitspraken/zoeken?max=2")
    assert FAKE_NAME not in problem.detail and FAKE_NAME.encode() in problem.raw_bytes
    # The id-less entry still fills page 1, so page 2 is requested (and then page 3, short and empty).
    assert [q.get("from", ["0"]) for q in searched(http_server)] == [["0"], ["2"], ["4"]]
    assert [i.native_id for i in rulings] == [f"ECLI:NL:RBGEL:2024:{n}" for n in (1, 3, 4)]
    assert cursor["modified"] == "2024-06-01T08:00:00"
    assert set(cursor["eclis"]) == {f"ECLI:NL:RBGEL:2024:{n}" for n in (1, 3, 4)}


def test_search_page_of_id_less_entries_ends_paging_when_from_is_ignored(
    http_server: FixtureServer, allow_loopback: None
) -> None:
    # A server that ignores ``from`` answers the same full page again: paging stops after one repeat.
    api = FakeRechtspraak(http_server)
    api.feed_route = Route(
        feed([(None, "2024-05-31T09:00:00+02:00")] * 2), 200, {"Content-Type": "application/atom+xml"}
    )
    items, cursor = run(http_server.url("/uitspraken/zoeken?max=2"))
    assert [(i.record, i.reason) for i in items] == [
        ("feed page 1 entry 1", "missing_id"),
        ("feed page 1 entry 2", "missing_id"),
    ]
    assert len(searched(http_server)) == 2 and "modified" in cursor


def test_a_failing_search_is_quarantined_and_the_window_kept(http_server: FixtureServer, allow_loopback: None) -> None:
    api = FakeRechtspraak(http_server)
    api.feed_route = Route(b"", 503)
    previous = {"eclis": {"ECLI:NL:HR:2020:1": ""}, "failed": {}, "modified": "2024-01-01T00:00:00"}
    items, cursor = run(http_server.url("/uitspraken/zoeken"), previous)
    assert [(i.record, i.reason) for i in items] == [("feed page 1", "http_error")]
    assert cursor == previous  # the next run asks for the same window again


def test_a_search_answer_that_is_no_feed_is_quarantined(http_server: FixtureServer, allow_loopback: None) -> None:
    api = FakeRechtspraak(http_server)
    api.feed_route = Route(b"<html><body>Onderhoud</body></html>", 200, {"Content-Type": "text/html"})
    items, cursor = run(http_server.url("/uitspraken/zoeken"))
    assert [(i.record, i.reason) for i in items] == [("feed page 1", "unexpected_document")]
    assert "modified" not in cursor


def test_content_fetch_failures_and_broken_rulings(http_server: FixtureServer, allow_loopback: None) -> None:
    api = FakeRechtspraak(http_server)
    api.entries = [(f"ECLI:NL:RBGEL:2024:{n}", "2024-05-31T09:00:00+02:00") for n in range(1, 8)]
    api.content.update(
        {
            "ECLI:NL:RBGEL:2024:1": Route(b"", 404),
            "ECLI:NL:RBGEL:2024:2": Route(ruling("ECLI:NL:RBGEL:2024:2"), delay=3.0),
            "ECLI:NL:RBGEL:2024:3": Route(ruling("ECLI:NL:RBGEL:2024:3") * 10),
            "ECLI:NL:RBGEL:2024:4": Route(BILLION_LAUGHS),
            "ECLI:NL:RBGEL:2024:5": Route(ruling("ECLI:NL:RBGEL:2024:5")[:100]),
            "ECLI:NL:RBGEL:2024:6": Route(ruling("ECLI:NL:RBGEL:2024:6", element=None)),
        }
    )
    items, cursor = run(
        http_server.url("/uitspraken/zoeken"), read_timeout_seconds=0.9, max_response_bytes=len(ruling("x")) + 500
    )
    assert [getattr(i, "reason", "document") for i in items] == [
        "http_error",
        "timeout",
        "response_too_large",
        "xml_entities_forbidden",
        "malformed_xml",
        "unexpected_document",
        "document",
    ]
    # Fetch failures are retried next run; documents that arrived broken wait for a new version.
    assert set(cursor["failed"]) == {f"ECLI:NL:RBGEL:2024:{n}" for n in (1, 2, 3)}
    assert set(cursor["eclis"]) == {f"ECLI:NL:RBGEL:2024:{n}" for n in (4, 5, 6, 7)}


@pytest.mark.parametrize("location", ["/uitspraken/lijst.txt", "/uitspraken/r.xml"])
def test_rulings_served_as_files(http_server: FixtureServer, allow_loopback: None, location: str) -> None:
    etag = '"r-1"'

    def document(path: str, headers: dict[str, str]) -> Route:
        if headers.get("if-none-match") == etag:
            return Route(b"", 304)
        return Route(ruling("ECLI:NL:RBGEL:2024:9"), 200, {"ETag": etag})

    http_server.routes["/uitspraken/r.xml"] = document
    http_server.routes["/uitspraken/lijst.txt"] = Route(b"r.xml\n", 200, {"Content-Type": "text/plain"})
    items, cursor = run(http_server.url(location))
    assert [(i.native_id, i.location) for i in items] == [
        ("ECLI:NL:RBGEL:2024:9", http_server.url("/uitspraken/r.xml"))
    ]
    http_server.requests.clear()
    assert run(http_server.url(location), cursor)[0] == []
    assert http_server.requests[-1][1].get("if-none-match") == etag
