"""The RSS/Atom connector against a real HTTP server on 127.0.0.1 (all fixtures written for these tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import pytest

from catalog.connectors.records import Quarantined, RawRecord
from catalog.connectors.rss import RssConnector, SeenIds
from catalog.connectors.web import html_to_text
from catalog.fetch import Fetcher
from catalog.sources import SourceSpec, parse_spec
from tests.conftest import FixtureServer, Route

pytestmark = pytest.mark.usefixtures("allow_loopback")

FAST = {"rate_limit_per_second": 50, "retries": 0, "backoff_seconds": 0, "read_timeout_seconds": 2}
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}

ARTIKELEN = {
    "/nieuws/bibliotheek": (
        "Nieuwe bibliotheek in Zwolle geopend",
        "De gemeente Zwolle heeft vandaag een nieuwe bibliotheek geopend in het centrum van de stad. "
        "Het gebouw biedt ruimte aan meer dan veertigduizend boeken en heeft een leeszaal voor scholieren.",
    ),
    "/nieuws/fietspad": (
        "Fietspad langs de IJssel wordt verbreed",
        "Het fietspad langs de IJssel tussen Deventer en Zutphen wordt volgend voorjaar verbreed. "
        "De provincie trekt daarvoor twee miljoen euro uit en verwacht dat de werkzaamheden drie maanden duren.",
    ),
    "/nieuws/markt": (
        "Weekmarkt verhuist naar het stationsplein",
        "De wekelijkse markt verhuist vanaf juni naar het stationsplein. Marktkooplieden zijn blij met de "
        "nieuwe plek, omdat er meer ruimte is voor kramen en bezoekers er makkelijker kunnen parkeren.",
    ),
}


def article_page(title: str, body: str) -> bytes:
    """An article page with navigation and footer boilerplate around the main text."""
    tweede = "Volgens de betrokkenen is dit een belangrijke stap voor de regio en de inwoners van de omgeving."
    return (
        "<!DOCTYPE html><html lang='nl'><head><title>Regionieuws</title></head><body>"
        "<nav><a href='/'>Voorpagina</a> | <a href='/sport'>Sport</a> | <a href='/contact'>Contact</a></nav>"
        f"<article><h1>{title}</h1><p>{body}</p><p>{tweede}</p></article>"
        "<footer>Alle rechten voorbehouden aan de redactie</footer></body></html>"
    ).encode()


def rss_item(server: FixtureServer, path: str, guid: str | None = None, summary: str | None = None) -> str:
    title = ARTIKELEN.get(path, ("Bericht", ""))[0]
    summary = summary if summary is not None else f"<p>Korte samenvatting van: <b>{title}</b></p>"
    guid_xml = f"<guid isPermaLink='false'>{guid}</guid>" if guid else ""
    return (
        f"<item><title>{escape(title)}</title><link>{server.url(path)}</link>{guid_xml}"
        f"<description>{escape(summary)}</description><pubDate>Wed, 01 May 2024 10:00:00 +0200</pubDate></item>"
    )


def rss_feed(items: list[str]) -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Regionieuws</title>"
        "<link>https://regionieuws.example/</link><description>Nieuws uit de regio</description>"
        f"<language>nl</language>{''.join(items)}</channel></rss>"
    ).encode()


def make_spec(server: FixtureServer, path: str = "/feed.xml", **overrides: Any) -> SourceSpec:
    data: dict[str, Any] = {
        "id": "regionieuws",
        "name": "Regionieuws",
        "owner": {"organisation": "Regionieuws (fictief)", "contact": "redactie@regionieuws.example"},
        "kind": "rss",
        "location": server.url(path),
        "licence": "EUPL-1.2",
        "legal_basis": "legitimate-interests",
        "personal_data": "expected",
        "sector": "news",
        "politeness": dict(FAST),
    }
    data.update(overrides)
    return parse_spec(data)


def read_all(spec: SourceSpec, cursor: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
    connector = RssConnector(spec, Fetcher.for_spec(spec), cursor or {})
    items = list(connector.read())
    return items, connector.next_cursor()


def serve_articles(server: FixtureServer) -> None:
    for path, (title, body) in ARTIKELEN.items():
        server.routes[path] = Route(article_page(title, body), headers=HTML)


# -- articles -----------------------------------------------------------------------------------------


def test_article_pages_are_fetched_and_their_main_text_extracted(http_server: FixtureServer) -> None:
    serve_articles(http_server)
    items = [rss_item(http_server, path, guid=f"regionieuws-{n}") for n, path in enumerate(ARTIKELEN, start=1)]
    http_server.routes["/feed.xml"] = Route(rss_feed(items), headers=RSS_TYPE)

    records, _ = read_all(make_spec(http_server))

    assert [type(r) for r in records] == [RawRecord] * 3
    first = records[0]
    assert first.native_id == "regionieuws-1"
    assert first.fetch_mode == "article"
    assert "veertigduizend boeken" in first.text  # only on the page, not in the feed
    assert "Voorpagina" not in first.text and "rechten voorbehouden" not in first.text  # boilerplate gone
    assert first.title == "Nieuwe bibliotheek in Zwolle geopend"
    assert first.url == http_server.url("/nieuws/bibliotheek")
    assert first.published_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert first.lang == "nl"
    assert first.record == "item 1" and first.location == http_server.url("/feed.xml")
    assert first.metadata == {"feed_url": http_server.url("/feed.xml"), "guid": "regionieuws-1"}
    assert "article_fetch_error" not in records[2].metadata
    assert {"/nieuws/bibliotheek", "/nieuws/fietspad", "/nieuws/markt"} <= set(http_server.paths())


def test_page_with_server_error_falls_back_to_the_feed_text(http_server: FixtureServer) -> None:
    serve_articles(http_server)
    http_server.routes["/nieuws/fietspad"] = Route(b"storing", 500)
    items = [rss_item(http_server, "/nieuws/bibliotheek"), rss_item(http_server, "/nieuws/fietspad")]
    http_server.routes["/feed.xml"] = Route(rss_feed(items), headers=RSS_TYPE)

    records, _ = read_all(make_spec(http_server))

    ok, fallback = records
    assert ok.fetch_mode == "article"
    assert fallback.fetch_mode == "feed-only"
    assert fallback.metadata["article_fetch_error"] == "http_error"
    assert fallback.text == "Korte samenvatting van: Fietspad langs de IJssel wordt verbreed"  # HTML stripped
    assert fallback.native_id == http_server.url("/nieuws/fietspad")  # no guid: the link is the id


def test_page_disallowed_by_robots_txt_is_not_fetched(http_server: FixtureServer) -> None:
    serve_articles(http_server)
    http_server.routes["/robots.txt"] = Route(
        b"User-agent: *\nDisallow: /prive/\n", headers={"Content-Type": "text/plain"}
    )
    http_server.routes["/prive/verslag"] = Route(article_page("Besloten vergadering", "Geheim verslag."), headers=HTML)
    items = [rss_item(http_server, "/prive/verslag", guid="prive-1"), rss_item(http_server, "/nieuws/markt")]
    http_server.routes["/feed.xml"] = Route(rss_feed(items), headers=RSS_TYPE)

    records, _ = read_all(make_spec(http_server))

    assert records[0].fetch_mode == "feed-only"
    assert records[0].metadata["article_fetch_error"] == "robots_disallowed"
    assert records[1].fetch_mode == "article"
    assert "/prive/verslag" not in http_server.paths()


def test_atom_feed(http_server: FixtureServer) -> None:
    serve_articles(http_server)
    http_server.routes["/atom.xml"] = Route(
        b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="nl">
  <title>Regionieuws</title><id>urn:regionieuws:feed</id><updated>2024-05-02T09:00:00Z</updated>
  <entry>
    <id>urn:regionieuws:markt</id><title type="html">Weekmarkt &lt;em&gt;verhuist&lt;/em&gt;</title>
    <link rel="alternate" href="/nieuws/markt"/><updated>2024-05-02T09:00:00Z</updated>
    <content type="html">&lt;p&gt;De markt verhuist.&lt;/p&gt;</content>
  </entry>
</feed>""",
        headers={"Content-Type": "application/atom+xml"},
    )

    (record,) = read_all(make_spec(http_server, "/atom.xml"))[0]

    assert record.native_id == "urn:regionieuws:markt"
    assert record.url == http_server.url("/nieuws/markt")  # relative link resolved against the feed URL
    assert record.title == "Weekmarkt verhuist"
    assert record.published_at == datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
    assert record.fetch_mode == "article" and "stationsplein" in record.text
    assert record.lang == "nl"


def test_rss_1_0_feed_without_article_fetching(http_server: FixtureServer) -> None:
    http_server.routes["/rdf"] = Route(
        b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel rdf:about="https://regionieuws.example/"><title>Regionieuws</title>
    <link>https://regionieuws.example/</link><description>Nieuws</description><dc:language>nl-NL</dc:language>
  </channel>
  <item rdf:about="https://regionieuws.example/brug">
    <title>Brug weer open</title><link>https://regionieuws.example/brug</link>
    <description>Korte tekst.</description>
    <content:encoded>&lt;p&gt;De brug over de Vecht is na de renovatie weer open.&lt;/p&gt;
      &lt;p&gt;Tweede alinea.&lt;/p&gt;</content:encoded>
    <dc:date>2024-04-30T12:00:00+02:00</dc:date>
  </item>
</rdf:RDF>""",
        headers={"Content-Type": "application/rdf+xml"},
    )

    (record,) = read_all(make_spec(http_server, "/rdf", rss={"fetch_articles": False}))[0]

    assert record.native_id == "https://regionieuws.example/brug"
    assert record.text == "De brug over de Vecht is na de renovatie weer open.\nTweede alinea."  # content:encoded wins
    assert record.fetch_mode == "record"
    assert record.published_at == datetime(2024, 4, 30, 10, 0, tzinfo=UTC)
    assert record.lang == "nl-NL"
    assert http_server.paths() == ["/robots.txt", "/rdf"]  # no page fetched (and none outside 127.0.0.1)


def test_entries_without_text_or_id_are_quarantined_not_lost(http_server: FixtureServer) -> None:
    http_server.routes["/nieuws/weg"] = Route(b"weg", 404)
    http_server.routes["/nieuws/traag"] = Route(b"storing", 503)
    items = [
        rss_item(http_server, "/nieuws/weg", guid="weg-1", summary=""),
        rss_item(http_server, "/nieuws/traag", guid="traag-1", summary=""),
        "<item><title>Zonder link of guid</title><description>Tekst</description></item>",
    ]
    http_server.routes["/feed.xml"] = Route(rss_feed(items), headers=RSS_TYPE)

    items_out, cursor = read_all(make_spec(http_server))

    assert [(q.record, q.reason) for q in items_out] == [
        ("item 1", "http_error"),
        ("item 2", "http_error"),
        ("item 3", "missing_id"),
    ]
    assert all(isinstance(q, Quarantined) and q.raw_bytes for q in items_out)
    assert "Zonder link" not in items_out[2].detail  # details never quote content
    # An HTTP error may be transient: those entries are retried when the feed is read again; the entry
    # without an id is remembered by its content and quarantined only once.
    assert "weg-1" not in cursor["seen"] and "traag-1" not in cursor["seen"]
    again, _ = read_all(make_spec(http_server), cursor)
    assert [(q.record, q.reason) for q in again] == [("item 1", "http_error"), ("item 2", "http_error")]


# -- incremental --------------------------------------------------------------------------------------


class ConditionalFeed:
    """A feed route that honours If-None-Match / If-Modified-Since like a real server."""

    def __init__(self, body: bytes, etag: str) -> None:
        self.body, self.etag = body, etag
        self.modified = "Wed, 01 May 2024 10:00:00 GMT"

    def __call__(self, path: str, headers: dict[str, str]) -> Route:
        if headers.get("if-none-match") == self.etag:
            return Route(b"", 304, {"ETag": self.etag})
        return Route(self.body, 200, {**RSS_TYPE, "ETag": self.etag, "Last-Modified": self.modified})


def test_incremental_rerun_is_conditional_and_yields_only_new_items(http_server: FixtureServer) -> None:
    serve_articles(http_server)
    paths = list(ARTIKELEN)
    feed = ConditionalFeed(rss_feed([rss_item(http_server, p, guid=p) for p in paths[:2]]), '"v1"')
    http_server.routes["/feed.xml"] = feed
    spec = make_spec(http_server)

    first, cursor = read_all(spec)
    assert [r.native_id for r in first] == paths[:2]
    assert cursor["etag"] == '"v1"' and cursor["last_modified"] == feed.modified

    http_server.requests.clear()
    second, cursor2 = read_all(spec, cursor)
    assert second == []
    feed_request = next(h for p, h in http_server.requests if p == "/feed.xml")
    assert feed_request["if-none-match"] == '"v1"'
    assert feed_request["if-modified-since"] == feed.modified
    assert cursor2 == cursor

    feed.body = rss_feed([rss_item(http_server, p, guid=p) for p in paths])
    feed.etag = '"v2"'
    http_server.requests.clear()
    third, cursor3 = read_all(spec, cursor2)
    assert [r.native_id for r in third] == [paths[2]]
    assert [p for p in http_server.paths() if p.startswith("/nieuws/")] == [paths[2]]  # only the new page
    assert cursor3["etag"] == '"v2"' and set(cursor3["seen"]) == set(paths)


def test_feed_without_validators_still_skips_seen_items(http_server: FixtureServer) -> None:
    serve_articles(http_server)
    http_server.routes["/feed.xml"] = Route(rss_feed([rss_item(http_server, "/nieuws/markt")]), headers=RSS_TYPE)
    spec = make_spec(http_server)

    first, cursor = read_all(spec)
    again, _ = read_all(spec, cursor)

    assert len(first) == 1 and again == []
    assert cursor["etag"] is None


def test_transient_entry_failure_keeps_the_old_validators_so_the_entry_is_retried(
    http_server: FixtureServer,
) -> None:
    serve_articles(http_server)
    paths = list(ARTIKELEN)
    feed = ConditionalFeed(rss_feed([rss_item(http_server, paths[0], guid="a")]), '"v1"')
    http_server.routes["/feed.xml"] = feed
    spec = make_spec(http_server)
    _, cursor = read_all(spec)
    assert cursor["etag"] == '"v1"'

    # v2 adds an entry without feed text whose article page fails transiently: it is not seen, and the
    # feed's new validators are not stored (else the next run would get 304 and never retry it).
    http_server.routes[paths[1]] = Route(b"storing", 503)
    feed.body = rss_feed(
        [rss_item(http_server, paths[0], guid="a"), rss_item(http_server, paths[1], guid="b", summary="")]
    )
    feed.etag, feed.modified = '"v2"', "Thu, 02 May 2024 10:00:00 GMT"
    (failed,), cursor2 = read_all(spec, cursor)
    assert (failed.record, failed.reason) == ("item 2", "http_error")
    assert (cursor2["etag"], cursor2["last_modified"]) == ('"v1"', "Wed, 01 May 2024 10:00:00 GMT")
    assert "b" not in cursor2["seen"]

    # The page is back: the feed comes again (200, not 304) and the entry is read; now v2 is stored.
    serve_articles(http_server)
    (retried,), cursor3 = read_all(spec, cursor2)
    assert retried.native_id == "b" and retried.fetch_mode == "article"
    assert cursor3["etag"] == '"v2"' and set(cursor3["seen"]) == {"a", "b"}
    assert read_all(spec, cursor3) == ([], cursor3)  # 304: nothing left to retry


def test_duplicate_entry_id_in_the_feed_is_quarantined_once(http_server: FixtureServer) -> None:
    items = [
        rss_item(http_server, "/nieuws/een", guid="dubbel-1", summary="Eerste versie."),
        rss_item(http_server, "/nieuws/twee", guid="dubbel-1", summary="Tweede versie."),
        rss_item(http_server, "/nieuws/drie", guid="uniek-2", summary="Iets anders."),
    ]
    http_server.routes["/feed.xml"] = Route(rss_feed(items), headers=RSS_TYPE)
    spec = make_spec(http_server, rss={"fetch_articles": False})

    (first, duplicate, other), cursor = read_all(spec)

    assert isinstance(first, RawRecord) and (first.native_id, first.text) == ("dubbel-1", "Eerste versie.")
    assert isinstance(duplicate, Quarantined)
    assert (duplicate.record, duplicate.reason, duplicate.detail) == (
        "item 2",
        "unexpected_document",
        "duplicate entry id in the feed",
    )
    assert duplicate.raw_bytes and b"Tweede versie." in duplicate.raw_bytes
    assert isinstance(other, RawRecord) and other.native_id == "uniek-2"
    # The feed is read again (no validators): both entries with that id were handled, neither comes back.
    assert read_all(spec, cursor)[0] == []


def test_seen_ids_are_bounded() -> None:
    seen = SeenIds(["a", "b"], limit=3)
    for native_id in ("c", "d", "b"):
        seen.add(native_id)
    assert seen.to_list() == ["c", "d", "b"]  # "a" is the oldest and forgotten; "b" was seen again


# -- failures of the feed itself ----------------------------------------------------------------------


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "hahahahahahahahahaha">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<rss version='2.0'><channel><title>&c;</title><item><title>&c;</title><link>http://127.0.0.1/x</link>"
    b"</item></channel></rss>"
)


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(ENTITY_BOMB, headers=RSS_TYPE), "xml_entities_forbidden"),
        (Route(b"<rss version='2.0'><channel><title>Kapot</channel>", headers=RSS_TYPE), "malformed_xml"),
        (Route(b"<html><body><p>Geen feed</p></body></html>", headers=HTML), "unexpected_document"),
        (Route(b"niet gevonden", 404), "http_error"),
    ],
    ids=["entity-bomb", "malformed", "not-a-feed", "404"],
)
def test_a_broken_feed_is_one_quarantined_item(http_server: FixtureServer, route: Route, reason: str) -> None:
    http_server.routes["/feed.xml"] = route
    spec = make_spec(http_server)
    connector = RssConnector(spec, Fetcher.for_spec(spec), {"etag": '"oud"'})

    (item,) = list(connector.read())

    assert isinstance(item, Quarantined)
    assert (item.record, item.reason, item.location) == ("feed", reason, http_server.url("/feed.xml"))
    assert connector.next_cursor() == {"etag": '"oud"'}  # nothing committed: the next run tries again
    assert http_server.paths() == ["/robots.txt", "/feed.xml"]  # and no entry of a bad feed was followed


def test_feed_timeout(http_server: FixtureServer) -> None:
    http_server.routes["/feed.xml"] = Route(rss_feed([]), headers=RSS_TYPE, delay=3.0)
    spec = make_spec(http_server, politeness={**FAST, "read_timeout_seconds": 0.9})

    (item,), _ = read_all(spec)

    assert isinstance(item, Quarantined) and item.reason == "timeout"


def test_html_to_text_keeps_blocks_apart_and_drops_scripts() -> None:
    html = (
        "<h2>Kop</h2><p>Eerste &amp; <b>vette</b> zin.</p><script>var x = 1;</script><ul><li>een</li><li>twee</li></ul>"
    )
    assert html_to_text(html) == "Kop\nEerste & vette zin.\neen\ntwee"


def test_without_allow_list_loopback_is_refused(http_server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORPUSFABRIEK_ALLOW_NETWORKS")
    http_server.routes["/feed.xml"] = Route(rss_feed([]), headers=RSS_TYPE)

    (item,), _ = read_all(make_spec(http_server))

    assert isinstance(item, Quarantined) and item.reason == "address_refused"
    assert http_server.requests == []  # refused before any connection


def test_connector_for_builds_the_rss_connector(http_server: FixtureServer) -> None:
    from catalog.connectors import connector_for

    spec = make_spec(http_server)
    connector = connector_for(spec, Fetcher.for_spec(spec), {"seen": ["x"]})

    assert isinstance(connector, RssConnector)
    assert connector.next_cursor() == {"seen": ["x"]}  # before read(): the stored cursor, unchanged
