"""The OAI-PMH connector against a fake repository on 127.0.0.1 (all fixtures written for these tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest

from catalog.connectors.oaipmh import HarvestCursor, OaiPmhConnector, parse_date
from catalog.connectors.records import Quarantined, RawRecord
from catalog.fetch import Fetcher
from catalog.sources import Credentials, SourceSpec, parse_spec
from tests.conftest import FixtureServer, Route

pytestmark = pytest.mark.usefixtures("allow_loopback")

FAST = {"rate_limit_per_second": 50, "retries": 0, "backoff_seconds": 0, "read_timeout_seconds": 2}
XML = {"Content-Type": "text/xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
PREFIX = "oai:archief.example:"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def no_requests_library(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any use of sickle's default transport (``requests``): all HTTP must go through the fetcher."""
    import requests

    calls: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        calls.append(str(args[:2]))
        raise AssertionError("the requests library was used instead of the fetcher")

    for name in ("get", "post", "request"):
        monkeypatch.setattr(requests, name, refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)
    return calls


# -- a fake OAI-PMH repository ------------------------------------------------------------------------


@dataclass
class Item:
    """One record of the fake repository."""

    number: int
    datestamp: str
    deleted: bool = False
    description: str | None = None
    link: bool = True

    @property
    def identifier(self) -> str:
        return f"{PREFIX}{self.number}"


@dataclass
class Repository:
    """ListRecords with ``from`` filtering (inclusive), pages of ``page_size`` linked by resumption tokens."""

    base_url: str
    items: list[Item]
    page_size: int = 2
    broken_pages: set[int] = field(default_factory=set)
    error: str | None = None
    body_override: bytes | None = None
    #: The server's clock: the ``responseDate`` of every answer.
    response_date: str = "2024-06-01T00:00:00Z"

    def __call__(self, path: str, headers: dict[str, str]) -> Route:
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        if self.body_override is not None:
            return Route(self.body_override, headers=XML)
        if self.error is not None:
            return self._page(query, f'<error code="{self.error}">Foutmelding van de testbron</error>')
        if "resumptionToken" in query:
            position, _, since_text = query["resumptionToken"].partition("|")
            start, since = int(position.removeprefix("vanaf-")), since_text or None
        else:
            start, since = 0, query.get("from")
        selected = [i for i in self.items if since is None or i.datestamp >= since]
        if not selected:
            return self._page(query, '<error code="noRecordsMatch">Geen records gevonden</error>')
        page_number = start // self.page_size + 1
        if page_number in self.broken_pages:
            return Route(b"<?xml version='1.0'?><OAI-PMH><ListRecords><record><header>", headers=XML)
        chunk = selected[start : start + self.page_size]
        following = start + self.page_size
        token = ""
        if following < len(selected):
            token = f"vanaf-{following}" + (f"|{since}" if since else "")
        records = "".join(self._record(item) for item in chunk)
        size = f' completeListSize="{len(selected)}" cursor="{start}"'
        return self._page(
            query, f"<ListRecords>{records}<resumptionToken{size}>{token}</resumptionToken></ListRecords>"
        )

    def _record(self, item: Item) -> str:
        status = ' status="deleted"' if item.deleted else ""
        header = (
            f"<header{status}><identifier>{item.identifier}</identifier><datestamp>{item.datestamp}</datestamp>"
            "<setSpec>kranten</setSpec></header>"
        )
        if item.deleted:
            return f"<record>{header}</record>"
        link = f"<dc:identifier>{escape(self.base_url)}/publicaties/{item.number}</dc:identifier>" if item.link else ""
        description = f"<dc:description>{escape(item.description)}</dc:description>" if item.description else ""
        return (
            f"<record>{header}<metadata>"
            '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>Verslag nummer {item.number}</dc:title>"
            "<dc:creator>Jansen, Anna</dc:creator><dc:creator>Bakker, Piet</dc:creator>"
            "<dc:publisher>Streekarchief (fictief)</dc:publisher><dc:type>Text</dc:type>"
            "<dc:rights>CC BY 4.0</dc:rights><dc:language>nl</dc:language>"
            f"<dc:date>onbekend</dc:date><dc:date>1923-06-{item.number:02d}</dc:date>"
            f"<dc:identifier>urn:nbn:nl:archief:{item.number}</dc:identifier>{link}{description}"
            "</oai_dc:dc></metadata></record>"
        )

    def _page(self, query: dict[str, str], content: str) -> Route:
        attributes = " ".join(f'{k}="{escape(v)}"' for k, v in query.items() if k != "resumptionToken")
        body = (
            "<?xml version='1.0' encoding='UTF-8'?>"
            '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            f"<responseDate>{self.response_date}</responseDate>"
            f"<request {attributes}>http://archief.example/oai</request>{content}</OAI-PMH>"
        )
        return Route(body.encode(), headers=XML)


def publication_page(number: int) -> bytes:
    return (
        "<html lang='nl'><head><title>Streekarchief</title></head><body><nav><a href='/'>Zoeken</a></nav>"
        f"<main><h1>Verslag nummer {number}</h1><p>Verslag van de vergadering van de gemeenteraad, gehouden op "
        f"de {number}e juni 1923. De raad besprak de aanleg van een nieuwe waterleiding en de verbouwing van "
        "de openbare lagere school aan de Kerkstraat.</p><p>Na een korte discussie werd het voorstel van "
        "burgemeester en wethouders met algemene stemmen aangenomen.</p></main></body></html>"
    ).encode()


def make_spec(server: FixtureServer, **oai: Any) -> SourceSpec:
    return parse_spec(
        {
            "id": "streekarchief",
            "name": "Streekarchief",
            "owner": {"organisation": "Streekarchief (fictief)", "contact": "archief@streekarchief.example"},
            "kind": "oai-pmh",
            "location": server.url("/oai"),
            "licence": "CC-BY-4.0",
            "legal_basis": "public-task",
            "personal_data": "expected",
            "sector": "archives",
            "politeness": dict(FAST),
            "oai_pmh": oai,
        }
    )


@pytest.fixture
def repository(http_server: FixtureServer) -> Iterator[Repository]:
    """Five live records and one deleted, over three pages; each record's publication page is served."""
    items = [Item(n, f"2024-03-0{n}T10:00:00Z", description=f"Samenvatting {n}.") for n in range(1, 7)]
    items[3].deleted = True
    repo = Repository(http_server.base_url, items)
    http_server.routes["/oai"] = repo
    for n in range(1, 10):
        http_server.routes[f"/publicaties/{n}"] = Route(publication_page(n), headers=HTML)
    yield repo


def harvest(spec: SourceSpec, cursor: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
    connector = OaiPmhConnector(spec, Fetcher.for_spec(spec), cursor or {})
    items = list(connector.read())
    return items, connector.next_cursor()


def oai_requests(server: FixtureServer) -> list[dict[str, str]]:
    return [
        {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        for path in server.paths()
        if path.startswith("/oai")
    ]


# -- harvesting ---------------------------------------------------------------------------------------


def test_harvest_follows_resumption_tokens_and_maps_dublin_core(
    http_server: FixtureServer, repository: Repository, no_requests_library: list[str]
) -> None:
    records, cursor = harvest(make_spec(http_server))

    assert [r.native_id for r in records] == [f"{PREFIX}{n}" for n in (1, 2, 3, 5, 6)]  # 4 is deleted
    assert all(isinstance(r, RawRecord) for r in records)
    assert oai_requests(http_server) == [
        {"metadataPrefix": "oai_dc", "verb": "ListRecords"},
        {"resumptionToken": "vanaf-2", "verb": "ListRecords"},
        {"resumptionToken": "vanaf-4", "verb": "ListRecords"},
    ]
    first = records[0]
    assert first.title == "Verslag nummer 1"
    assert first.url == http_server.url("/publicaties/1")  # the first http(s) dc:identifier, not the URN
    # The first parsable dc:date, read in the spec's time zone (Amsterdam Mean Time in 1923: +00:19:32).
    assert first.published_at == datetime(1923, 6, 1, tzinfo=AMSTERDAM)
    assert first.published_at.tzinfo == UTC
    assert first.lang == "nl"
    assert first.fetch_mode == "article"
    assert "nieuwe waterleiding" in first.text and "Zoeken" not in first.text  # from the linked page
    assert first.record == f"record {PREFIX}1"
    assert first.location == http_server.url(
        "/oai?verb=GetRecord&identifier=oai%3Aarchief.example%3A1&metadataPrefix=oai_dc"
    )
    assert first.metadata == {
        "oai_identifier": f"{PREFIX}1",
        "datestamp": "2024-03-01T10:00:00Z",
        "set": "kranten",
        "creator": "Jansen, Anna; Bakker, Piet",
        "publisher": "Streekarchief (fictief)",
        "type": "Text",
        "rights": "CC BY 4.0",
    }
    assert cursor["from"] == "2024-06-01T00:00:00Z"  # the server's responseDate, not the largest datestamp
    assert cursor["deleted"] == [f"{PREFIX}4"]
    assert cursor["seen"] == []  # only pairs at or after the inclusive ``from`` are kept
    assert no_requests_library == []


def test_fulltext_record_mode_uses_the_description(http_server: FixtureServer, repository: Repository) -> None:
    repository.items = [Item(1, "2024-03-01", description="Eerste alinea."), Item(2, "2024-03-02")]

    items, _ = harvest(make_spec(http_server, fulltext="record", set="kranten"))

    assert isinstance(items[0], RawRecord)
    assert (items[0].text, items[0].fetch_mode) == ("Eerste alinea.", "record")
    assert items[0].published_at == datetime(1923, 6, 1, tzinfo=AMSTERDAM)
    assert isinstance(items[1], Quarantined) and items[1].reason == "missing_text"
    assert b"Verslag nummer 2" in items[1].raw_bytes  # the record XML is kept for review
    assert oai_requests(http_server)[0]["set"] == "kranten"
    assert not any(p.startswith("/publicaties/") for p in http_server.paths())


def test_failing_link_falls_back_to_the_description(http_server: FixtureServer, repository: Repository) -> None:
    repository.items = [
        Item(7, "2024-03-07", description="Alleen de samenvatting."),
        Item(8, "2024-03-08"),
        Item(9, "2024-03-09", link=False),
    ]
    http_server.routes["/publicaties/7"] = Route(b"kapot", 500)
    http_server.routes["/publicaties/8"] = Route(
        b"Platte tekst van het verslag.", headers={"Content-Type": "text/plain"}
    )

    fallback, plain, without = harvest(make_spec(http_server))[0]

    assert (fallback.text, fallback.fetch_mode) == ("Alleen de samenvatting.", "record")
    assert fallback.metadata["fulltext_error"] == "http_error"
    assert (plain.text, plain.fetch_mode) == ("Platte tekst van het verslag.", "article")
    assert isinstance(without, Quarantined) and without.reason == "missing_text"


def test_incremental_harvest_passes_from_and_skips_what_was_seen(
    http_server: FixtureServer, repository: Repository
) -> None:
    spec = make_spec(http_server)
    repository.response_date = "2024-03-06T10:00:00Z"  # harvested in the second record 6 was stamped
    _, cursor = harvest(spec)
    assert cursor["seen"] == [[f"{PREFIX}6", "2024-03-06T10:00:00Z"]]

    http_server.requests.clear()
    again, cursor2 = harvest(spec, cursor)
    assert again == []  # the record at ``from`` is listed again (inclusive) but was already emitted
    assert oai_requests(http_server)[0]["from"] == "2024-03-06T10:00:00Z"
    assert cursor2 == cursor

    repository.error = "noRecordsMatch"
    nothing, cursor3 = harvest(spec, cursor2)
    assert nothing == [] and cursor3 == cursor  # "nothing new", not an error

    repository.error = None
    repository.items.append(Item(7, "2024-03-06T10:00:00Z", description="Zelfde seconde."))
    repository.items.append(Item(8, "2024-03-08T10:00:00Z", description="Later."))
    repository.items[1].datestamp = "2024-03-09T10:00:00Z"  # record 2 was changed: listed and emitted again
    repository.response_date = "2024-03-10T00:00:00Z"
    new, cursor4 = harvest(spec, cursor3)
    assert sorted(r.native_id for r in new) == [f"{PREFIX}2", f"{PREFIX}7", f"{PREFIX}8"]
    assert cursor4["from"] == "2024-03-10T00:00:00Z"


def test_from_is_the_response_date_not_a_datestamp_ahead_of_it(
    http_server: FixtureServer, repository: Repository
) -> None:
    # Record 2 is stamped ahead of the server's responseDate (its clock and its datestamps disagree).
    repository.items = [
        Item(1, "2024-03-10T09:00:00Z", description="Een."),
        Item(2, "2024-03-10T15:00:00Z", description="Vooruit gedateerd."),
    ]
    repository.response_date = "2024-03-10T12:00:00Z"
    spec = make_spec(http_server, fulltext="record")
    first, cursor = harvest(spec)
    assert [r.native_id for r in first] == [f"{PREFIX}1", f"{PREFIX}2"]
    assert cursor["from"] == "2024-03-10T12:00:00Z"
    assert cursor["seen"] == [[f"{PREFIX}2", "2024-03-10T15:00:00Z"]]

    # Record 3 changes after that responseDate but before record 2's stamp: the next harvest must see it,
    # and record 2 (listed again by the inclusive ``from``) is not emitted twice.
    repository.items.append(Item(3, "2024-03-10T13:00:00Z", description="Later gewijzigd."))
    repository.response_date = "2024-03-10T16:00:00Z"
    http_server.requests.clear()
    second, cursor2 = harvest(spec, cursor)
    assert oai_requests(http_server)[0]["from"] == "2024-03-10T12:00:00Z"
    assert [r.native_id for r in second] == [f"{PREFIX}3"]
    assert cursor2["from"] == "2024-03-10T16:00:00Z" and cursor2["seen"] == []


def test_from_uses_the_repository_day_granularity(http_server: FixtureServer, repository: Repository) -> None:
    repository.items = [Item(1, "2024-03-01", description="Een."), Item(2, "2024-03-02", description="Twee.")]
    repository.response_date = "2024-03-02T18:00:00Z"
    _, cursor = harvest(make_spec(http_server, fulltext="record"))
    assert cursor == {"from": "2024-03-02", "seen": [[f"{PREFIX}2", "2024-03-02"]], "deleted": []}


def test_a_deleted_record_that_comes_back_leaves_the_deleted_list(
    http_server: FixtureServer, repository: Repository
) -> None:
    spec = make_spec(http_server)
    _, cursor = harvest(spec)
    repository.items[3] = Item(4, "2024-06-02T10:00:00Z", description="Hersteld.")
    repository.response_date = "2024-06-03T00:00:00Z"

    (restored,), cursor2 = harvest(spec, cursor)

    assert restored.native_id == f"{PREFIX}4"
    assert cursor2["deleted"] == []


# -- failures -----------------------------------------------------------------------------------------


def test_broken_page_stops_the_harvest_without_gaps_or_duplicates_on_rerun(
    http_server: FixtureServer, repository: Repository
) -> None:
    spec = make_spec(http_server)
    repository.broken_pages = {2}

    items, cursor = harvest(spec)

    assert [r.native_id for r in items[:2]] == [f"{PREFIX}1", f"{PREFIX}2"]
    (broken,) = items[2:]
    assert isinstance(broken, Quarantined)
    assert (broken.reason, broken.record) == ("malformed_xml", "page 2")
    assert broken.raw_bytes and broken.raw_bytes.startswith(b"<?xml")
    assert "from" not in cursor  # ``from`` never advances past a broken harvest
    assert len(oai_requests(http_server)) == 2  # no page after the broken one

    repository.broken_pages = set()
    rest, cursor2 = harvest(spec, cursor)
    assert [r.native_id for r in rest] == [f"{PREFIX}{n}" for n in (3, 5, 6)]
    assert cursor2["from"] == "2024-06-01T00:00:00Z"


def test_broken_incremental_harvest_keeps_its_from(http_server: FixtureServer, repository: Repository) -> None:
    cursor = {"from": "2024-03-02T10:00:00Z", "seen": [[f"{PREFIX}2", "2024-03-02T10:00:00Z"]], "deleted": []}
    repository.broken_pages = {2}

    items, cursor2 = harvest(make_spec(http_server), cursor)

    # Page 1 lists 2 (seen at ``from``: skipped) and 3; page 2 (the deletion of 4, and 5) is broken.
    assert [getattr(i, "native_id", None) for i in items] == [f"{PREFIX}3", None]
    assert cursor2["from"] == "2024-03-02T10:00:00Z"
    assert cursor2["seen"] == [[f"{PREFIX}2", "2024-03-02T10:00:00Z"], [f"{PREFIX}3", "2024-03-03T10:00:00Z"]]


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE OAI-PMH [<!ENTITY a "hahahahahahahahahaha">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>&c;</responseDate></OAI-PMH>'
)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"body_override": ENTITY_BOMB}, "xml_entities_forbidden"),
        ({"error": "badArgument"}, "unexpected_document"),
        ({"error": "cannotDisseminateFormat"}, "unexpected_document"),
        ({"body_override": b"<html><body><p>Onderhoud</p></body></html>"}, "unexpected_document"),
    ],
    ids=["entity-bomb", "badArgument", "cannotDisseminateFormat", "not-oai"],
)
def test_an_unusable_first_response_is_quarantined(
    http_server: FixtureServer, repository: Repository, setup: dict[str, Any], reason: str
) -> None:
    for name, value in setup.items():
        setattr(repository, name, value)
    cursor = {"from": "2024-01-01", "seen": [], "deleted": []}

    (item,), cursor2 = harvest(make_spec(http_server), cursor)

    assert isinstance(item, Quarantined)
    assert (item.reason, item.record, item.location) == (reason, "page 1", http_server.url("/oai"))
    assert "Foutmelding" not in item.detail
    assert cursor2["from"] == "2024-01-01"


@pytest.mark.parametrize("code", ["badArgument", "eigenFoutcode"])
def test_oai_error_detail_names_the_code(http_server: FixtureServer, repository: Repository, code: str) -> None:
    repository.error = code
    (item,), _ = harvest(make_spec(http_server))
    assert item.detail == f"OAI-PMH error {code}"


@pytest.mark.parametrize("code", ["", "__class__"], ids=["empty-code", "attribute-code"])
def test_an_error_sickle_cannot_read_is_quarantined(
    http_server: FixtureServer, repository: Repository, code: str
) -> None:
    # sickle raises IndexError on an empty code (and TypeError on this one) instead of an OAI error.
    cursor = {"from": "2024-01-01", "seen": [["oai:x:9", "2024-01-01"]], "deleted": []}
    repository.error = code
    (item,), cursor2 = harvest(make_spec(http_server), cursor)
    assert isinstance(item, Quarantined)
    assert (item.reason, item.record) == ("unexpected_document", "page 1")
    assert item.detail.startswith("sickle cannot read the page (") and "Foutmelding" not in item.detail
    assert item.raw_bytes and b"<error" in item.raw_bytes
    assert cursor2 == cursor  # as for a broken page: ``from`` does not move


def test_an_error_sickle_cannot_read_on_a_later_page_keeps_what_came_before(
    http_server: FixtureServer, repository: Repository
) -> None:
    real = repository.__call__

    def second_page_broken(path: str, headers: dict[str, str]) -> Route:
        if "vanaf-2" in path:
            return repository._page({"verb": "ListRecords"}, '<error code="">Foutmelding van de testbron</error>')
        return real(path, headers)

    http_server.routes["/oai"] = second_page_broken
    items, cursor = harvest(make_spec(http_server, fulltext="record"))
    assert [getattr(i, "native_id", None) or (i.record, i.reason) for i in items] == [
        f"{PREFIX}1",
        f"{PREFIX}2",
        ("page 2", "unexpected_document"),
    ]
    assert "from" not in cursor and len(cursor["seen"]) == 2


def test_a_missing_credential_is_raised_not_quarantined(
    http_server: FixtureServer, repository: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.fetch import CredentialError

    monkeypatch.delenv("SOURCE_ARCHIEF_TOKEN", raising=False)
    spec = make_spec(http_server).model_copy(update={"credentials": Credentials(token_env="SOURCE_ARCHIEF_TOKEN")})
    connector = OaiPmhConnector(spec, Fetcher.for_spec(spec), {})
    with pytest.raises(CredentialError):
        list(connector.read())


def test_http_error_of_the_endpoint(http_server: FixtureServer) -> None:
    http_server.routes["/oai"] = Route(b"storing", 503)
    (item,), cursor = harvest(make_spec(http_server))
    assert isinstance(item, Quarantined) and item.reason == "http_error"
    assert cursor == {"seen": [], "deleted": []}


def test_unreadable_record_is_quarantined_and_the_page_goes_on(http_server: FixtureServer) -> None:
    page = (
        b"<?xml version='1.0'?><OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'><ListRecords>"
        b"<record><header><identifier>oai:x:1</identifier><datestamp>2024-01-01</datestamp></header></record>"
        b"<record><header><identifier>oai:x:2</identifier><datestamp>2024-01-02</datestamp></header><metadata>"
        b"<dc xmlns='http://purl.org/dc/elements/1.1/'><description>Tekst twee.</description></dc></metadata></record>"
        b"</ListRecords></OAI-PMH>"
    )
    http_server.routes["/oai"] = Route(page, headers=XML)

    unreadable, ok = harvest(make_spec(http_server, fulltext="record"))[0]

    assert isinstance(unreadable, Quarantined) and unreadable.reason == "unexpected_document"
    assert isinstance(ok, RawRecord) and ok.text == "Tekst twee." and ok.title is None


def test_a_repeated_resumption_token_does_not_loop_forever(http_server: FixtureServer, repository: Repository) -> None:
    real = repository.__call__

    def stuck(path: str, headers: dict[str, str]) -> Route:
        route = real(path.replace("vanaf-4", "vanaf-2"), headers)
        route.body = route.body.replace(b">vanaf-4<", b">vanaf-2<")
        return route

    http_server.routes["/oai"] = stuck
    items, cursor = harvest(make_spec(http_server))

    assert [type(i).__name__ for i in items] == ["RawRecord"] * 3 + ["Quarantined"]  # pages 1 and 2, then stop
    assert items[-1].reason == "unexpected_document" and items[-1].record == "page 3"
    assert "from" not in cursor


# -- pieces -------------------------------------------------------------------------------------------


def test_parse_date_accepts_partial_iso_dates() -> None:
    assert parse_date("2024", UTC) == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_date("2024-05-01T10:00:00Z", UTC) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_date("mei 2024", UTC) is None
    assert parse_date("2024-13-01", UTC) is None


def test_cursor_from_advances_only_after_a_complete_harvest() -> None:
    state = HarvestCursor.load({"from": "2024-01-02", "seen": [["a", "2024-01-02"]]})
    assert not state.is_new("a", "2024-01-02") and not state.is_new("b", "2024-01-01")
    state.mark("c", "2024-01-05", deleted=False)
    state.mark("d", "2024-01-03", deleted=False)
    response_date = "2024-01-04T09:30:00Z"
    assert state.to_dict(complete=False, response_date=response_date)["from"] == "2024-01-02"
    # Day granularity (as the stored ``from`` shows); "c" is stamped ahead of the response date: still seen.
    assert state.to_dict(complete=True, response_date=response_date) == {
        "from": "2024-01-04",
        "seen": [["c", "2024-01-05"]],
        "deleted": [],
    }
    # Never backwards, never past our own clock, and no usable responseDate keeps ``from``.
    assert state.to_dict(complete=True, response_date="2023-12-31T00:00:00Z")["from"] == "2024-01-02"
    assert state.next_from("2999-01-01T00:00:00Z", now=datetime(2024, 2, 1, 12, tzinfo=UTC)) == "2024-02-01"
    assert state.to_dict(complete=True, response_date=None)["from"] == "2024-01-02"
    assert state.to_dict(complete=True, response_date="gisteren")["from"] == "2024-01-02"
    seconds = HarvestCursor.load({"from": "2024-01-02T10:00:00Z"})
    assert seconds.next_from("2024-01-04T09:30:00+01:00") == "2024-01-04T08:30:00Z"


def test_connector_for_builds_the_oai_pmh_connector(http_server: FixtureServer) -> None:
    from catalog.connectors import connector_for

    spec = make_spec(http_server)
    assert isinstance(connector_for(spec, Fetcher.for_spec(spec)), OaiPmhConnector)
