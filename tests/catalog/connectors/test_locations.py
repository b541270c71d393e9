"""Input files of the file-based connectors: local globs, fsspec URLs, HTTP files and URL lists, and cursors.

Also home of the small helpers the alto, rechtspraak and warc tests share (``make_spec``, ``conditional``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
import pytest
import s3fs

from catalog.connectors.locations import Input, InputSource, read_xml, to_utc
from catalog.connectors.records import Quarantined
from catalog.fetch import Fetcher
from catalog.sources import SourceSpec, parse_spec
from catalog.xmlsafe import XmlError
from tests.conftest import FixtureServer, Route, S3Server

FAST = {"rate_limit_per_second": 50, "retries": 0, "backoff_seconds": 0, "read_timeout_seconds": 2}

#: Personal data planted in broken inputs: it must never reach a quarantine ``detail``.
FAKE_NAME = "Jozefien Geheimhouder"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>
"""


def make_spec(kind: str, location: str, **politeness: Any) -> SourceSpec:
    """Return a valid spec of a kind for a location, with fast politeness settings for 127.0.0.1."""
    data = {
        "id": f"test-{kind}",
        "name": f"Test {kind}",
        "owner": {"organisation": "Testorganisatie", "contact": "data@testorganisatie.example"},
        "kind": kind,
        "location": location,
        "licence": "EUPL-1.2",
        "legal_basis": "public-task",
        "personal_data": "expected",
        "sector": "test",
        "politeness": {**FAST, **politeness},
    }
    return parse_spec(data, origin="<test>")


def conditional(body: bytes, etag: str, content_type: str = "application/xml") -> Callable[[str, dict], Route]:
    """A route that answers 304 when the client sends the ETag it got before, else the body."""

    def route(path: str, headers: dict[str, str]) -> Route:
        if headers.get("if-none-match") == etag:
            return Route(b"", 304, {"ETag": etag})
        return Route(body, 200, {"ETag": etag, "Content-Type": content_type})

    return route


def content_paths(server: FixtureServer) -> list[str]:
    """Return the requested paths without robots.txt."""
    return [path for path in server.paths() if path != "/robots.txt"]


def conditional_paths(server: FixtureServer) -> list[str]:
    """Return the paths requested with a validator (If-None-Match or If-Modified-Since)."""
    return [path for path, headers in server.requests if "if-none-match" in headers or "if-modified-since" in headers]


def run(source: InputSource) -> list[Input | Quarantined]:
    return list(source)


# -- local files --------------------------------------------------------------------------------------


def test_glob_yields_sorted_files_named_relative_to_the_glob_root(tmp_path: Path) -> None:
    (tmp_path / "drop" / "1921").mkdir(parents=True)
    (tmp_path / "drop" / "1921" / "b.xml").write_bytes(b"<b/>")
    (tmp_path / "drop" / "1921" / "a.xml").write_bytes(b"<a/>")
    (tmp_path / "drop" / "notes.txt").write_bytes(b"niet")
    spec = make_spec("alto", str(tmp_path / "drop" / "**" / "*.xml"))
    items = run(InputSource(spec, Fetcher.for_spec(spec), {}))
    assert [(i.name, i.data) for i in items] == [("1921/a.xml", b"<a/>"), ("1921/b.xml", b"<b/>")]
    assert all(isinstance(i, Input) and i.location.startswith(str(tmp_path)) and i.url is None for i in items)


def test_names_do_not_depend_on_where_the_drop_lives(tmp_path: Path) -> None:
    names = []
    for folder in ("hier", "daar/verhuisd"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "p1.xml").write_bytes(b"<a/>")
        spec = make_spec("alto", str(tmp_path / folder / "*.xml"))
        names.append([i.name for i in InputSource(spec, Fetcher.for_spec(spec), {})])
    assert names == [["p1.xml"], ["p1.xml"]]


def test_a_folder_means_every_file_below_it(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.xml").write_bytes(b"<x/>")
    (tmp_path / "a" / "y.xml").write_bytes(b"<y/>")
    spec = make_spec("alto", str(tmp_path / "a"))
    assert [i.name for i in InputSource(spec, Fetcher.for_spec(spec), {})] == ["b/x.xml", "y.xml"]


def test_no_matching_files_is_a_configuration_error(tmp_path: Path) -> None:
    spec = make_spec("alto", str(tmp_path / "*.xml"))
    with pytest.raises(FileNotFoundError, match="no files match"):
        run(InputSource(spec, Fetcher.for_spec(spec), {}))


def test_unchanged_files_are_skipped_and_changed_ones_read_again(tmp_path: Path) -> None:
    for name in ("a.xml", "b.xml"):
        (tmp_path / name).write_bytes(b"<eerste/>")
    spec = make_spec("alto", str(tmp_path / "*.xml"))
    first = InputSource(spec, Fetcher.for_spec(spec), {})
    assert len(run(first)) == 2
    cursor = first.cursor
    assert set(cursor) == {"a.xml", "b.xml"} and cursor["a.xml"]["size"] == 9

    again = InputSource(spec, Fetcher.for_spec(spec), cursor)
    assert run(again) == []
    assert again.cursor == cursor  # unchanged files stay in the cursor

    (tmp_path / "b.xml").write_bytes(b"<tweede versie/>")
    os.utime(tmp_path / "b.xml", (1_900_000_000, 1_900_000_000))
    changed = InputSource(spec, Fetcher.for_spec(spec), cursor)
    assert [i.name for i in run(changed)] == ["b.xml"]
    assert changed.cursor["b.xml"] != cursor["b.xml"] and changed.cursor["a.xml"] == cursor["a.xml"]


def test_the_cursor_commits_an_input_only_after_it_was_processed(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(b"<a/>")
    (tmp_path / "b.xml").write_bytes(b"<b/>")
    spec = make_spec("alto", str(tmp_path / "*.xml"))
    source = InputSource(spec, Fetcher.for_spec(spec), {})
    iterator = iter(source)
    next(iterator)
    assert source.cursor == {}  # a.xml is being processed
    next(iterator)
    assert set(source.cursor) == {"a.xml"}


@pytest.mark.integration
def test_s3_locations_work_the_same_way_with_the_storage_roots_settings(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_server.env().items():  # the same variables the storage root reads
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    prefix = f"{s3_server.bucket}/alto-{uuid.uuid4().hex[:8]}"
    fs = s3fs.S3FileSystem(
        key=s3_server.access_key_id, secret=s3_server.secret_access_key, endpoint_url=s3_server.endpoint_url
    )
    fs.pipe(f"{prefix}/p1.xml", b"<a/>")
    fs.pipe(f"{prefix}/p2.xml", b"<b/>")
    spec = make_spec("alto", f"s3://{prefix}/*.xml")
    first = InputSource(spec, Fetcher.for_spec(spec), {})
    items = run(first)
    assert [(i.name, i.location) for i in items] == [
        ("p1.xml", f"s3://{prefix}/p1.xml"),
        ("p2.xml", f"s3://{prefix}/p2.xml"),
    ]
    assert run(InputSource(spec, Fetcher.for_spec(spec), first.cursor)) == []
    to_file = run(InputSource(spec, Fetcher.for_spec(spec), {}, to_file=True))
    assert to_file[0].data is None and to_file[0].read() == b"<a/>"  # opened by URL, streamed


def test_other_fsspec_schemes_are_refused_even_past_validation() -> None:
    from catalog.drops import LocationRefusedError

    fs = fsspec.filesystem("memory")
    fs.pipe("/corpusfabriek-test/drop/p1.xml", b"<a/>")
    try:
        # Validation admits only s3:// of the fsspec schemes; a spec changed after validation is refused too.
        valid = make_spec("alto", "s3://corpusfabriek-test/drop/*.xml")
        for location in ("memory://corpusfabriek-test/drop/*.xml", "simplecache::file:///etc/passwd"):
            spec = valid.model_copy(update={"location": location})
            with pytest.raises(LocationRefusedError, match="not a local path"):
                run(InputSource(spec, Fetcher.for_spec(spec), {}))
    finally:
        fs.rm("/corpusfabriek-test", recursive=True)


# -- HTTP -------------------------------------------------------------------------------------------


def test_http_file_is_fetched_conditionally_on_the_next_run(http_server: FixtureServer, allow_loopback: None) -> None:
    http_server.routes["/pagina.xml"] = conditional(b"<alto/>", '"v1"')
    spec = make_spec("alto", http_server.url("/pagina.xml"))
    first = InputSource(spec, Fetcher.for_spec(spec), {})
    (item,) = run(first)
    assert isinstance(item, Input)
    assert (item.name, item.url, item.data, item.content_type) == (
        spec.location,
        spec.location,
        b"<alto/>",
        "application/xml",
    )
    assert first.cursor[spec.location]["etag"] == '"v1"'

    again = InputSource(spec, Fetcher.for_spec(spec), first.cursor)
    assert run(again) == []
    assert conditional_paths(http_server) == ["/pagina.xml"]
    assert again.cursor == first.cursor


def test_url_list_resolves_relative_urls_and_skips_comments(http_server: FixtureServer, allow_loopback: None) -> None:
    listing = (
        b"# pagina's van de krant\n"
        b"p1.xml\n"
        b"\n"
        b"/kranten/p2.xml\n" + http_server.url("/kranten/p1.xml").encode() + b"\n"  # the same URL again: read once
        b"file:///etc/passwd\n"
    )
    http_server.routes["/kranten/lijst.txt"] = Route(listing, 200, {"Content-Type": "text/plain"})
    http_server.routes["/kranten/p1.xml"] = Route(b"<p1/>")
    http_server.routes["/kranten/p2.xml"] = Route(b"<p2/>")
    spec = make_spec("alto", http_server.url("/kranten/lijst.txt"))
    items = run(InputSource(spec, Fetcher.for_spec(spec), {}))
    assert [(type(i).__name__, i.location) for i in items] == [
        ("Quarantined", spec.location),
        ("Input", http_server.url("/kranten/p1.xml")),
        ("Input", http_server.url("/kranten/p2.xml")),
    ]
    assert isinstance(items[0], Quarantined)
    assert (items[0].record, items[0].reason) == ("line 6", "invalid_url")  # never a local file


def test_a_text_plain_answer_is_a_list_whatever_the_url(http_server: FixtureServer, allow_loopback: None) -> None:
    http_server.routes["/export"] = conditional(b"p1.xml\n", '"lijst-1"', "text/plain; charset=utf-8")
    http_server.routes["/p1.xml"] = conditional(b"<p1/>", '"p1"')
    spec = make_spec("alto", http_server.url("/export"))
    first = InputSource(spec, Fetcher.for_spec(spec), {})
    assert [i.name for i in run(first)] == [http_server.url("/p1.xml")]
    assert first.cursor[spec.location]["urls"] == [http_server.url("/p1.xml")]

    # The list is unchanged (304), but its items are still checked, each with its own validator.
    again = InputSource(spec, Fetcher.for_spec(spec), first.cursor)
    assert run(again) == []
    assert conditional_paths(http_server) == ["/export", "/p1.xml"]


def test_a_text_plain_file_that_is_no_list_is_an_input(http_server: FixtureServer, allow_loopback: None) -> None:
    warc = b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 0\r\n\r\n\r\n\r\n"
    http_server.routes["/archief"] = Route(warc, 200, {"Content-Type": "text/plain"})
    spec = make_spec("warc", http_server.url("/archief"))
    contents = [item.read() for item in InputSource(spec, Fetcher.for_spec(spec), {}, to_file=True)]
    assert contents == [warc]
    assert content_paths(http_server) == ["/archief"]  # its lines were not taken for URLs


def test_without_validators_unchanged_content_is_recognised_by_its_hash(
    http_server: FixtureServer, allow_loopback: None
) -> None:
    http_server.routes["/p.xml"] = Route(b"<p/>")
    spec = make_spec("alto", http_server.url("/p.xml"))
    first = InputSource(spec, Fetcher.for_spec(spec), {})
    assert len(run(first)) == 1
    assert run(InputSource(spec, Fetcher.for_spec(spec), first.cursor)) == []
    http_server.routes["/p.xml"] = Route(b"<p>nieuw</p>")
    assert len(run(InputSource(spec, Fetcher.for_spec(spec), first.cursor))) == 1


def test_fetch_errors_are_quarantined_and_retried_next_time(http_server: FixtureServer, allow_loopback: None) -> None:
    http_server.routes["/lijst.txt"] = Route(b"kapot.xml\nweg.xml\ngoed.xml\n")
    http_server.routes["/kapot.xml"] = Route(b"", 500)
    http_server.routes["/goed.xml"] = Route(b"<goed/>")
    spec = make_spec("alto", http_server.url("/lijst.txt"))
    source = InputSource(spec, Fetcher.for_spec(spec), {})
    items = run(source)
    assert [(i.location.rsplit("/", 1)[1], getattr(i, "reason", "input")) for i in items] == [
        ("kapot.xml", "http_error"),
        ("weg.xml", "http_error"),
        ("goed.xml", "input"),
    ]
    assert set(source.cursor) == {spec.location, http_server.url("/goed.xml")}  # failures are tried again


def test_an_unreachable_list_keeps_the_previous_cursor(http_server: FixtureServer, allow_loopback: None) -> None:
    http_server.routes["/lijst.txt"] = Route(b"", 503)
    spec = make_spec("alto", http_server.url("/lijst.txt"))
    previous = {spec.location: {"etag": '"oud"', "urls": []}, "http://elders.example/p.xml": {"etag": '"x"'}}
    source = InputSource(spec, Fetcher.for_spec(spec), previous)
    (item,) = run(source)
    assert isinstance(item, Quarantined) and item.reason == "http_error"
    assert source.cursor == previous


def test_to_file_downloads_to_a_temporary_file_removed_afterwards(
    http_server: FixtureServer, allow_loopback: None, tmp_path: Path
) -> None:
    http_server.routes["/archief.warc.gz"] = Route(b"warc bytes", 200, {"Content-Type": "application/warc"})
    spec = make_spec("warc", http_server.url("/archief.warc.gz"))
    source = InputSource(spec, Fetcher.for_spec(spec), {}, to_file=True, temp_dir=str(tmp_path))
    iterator = iter(source)
    item = next(iterator)
    assert isinstance(item, Input) and item.data is None and item.path is not None
    assert item.path.startswith(str(tmp_path)) and item.read() == b"warc bytes"
    assert list(iterator) == []
    assert not os.path.exists(item.path)
    assert list(tmp_path.iterdir()) == []


# -- shared helpers -----------------------------------------------------------------------------------


def test_read_xml_tells_a_wrong_encoding_from_broken_xml() -> None:
    latin1 = f'<?xml version="1.0" encoding="UTF-8"?><p>{FAKE_NAME} café</p>'.encode("latin-1")
    with pytest.raises(XmlError) as wrong:
        read_xml(latin1)
    assert wrong.value.reason == "encoding_error" and "UTF-8" in wrong.value.detail
    assert read_xml(b'<?xml version="1.0" encoding="ISO-8859-1"?><p>caf\xe9</p>').text == "café"
    with pytest.raises(XmlError) as broken:
        read_xml(f"<p>{FAKE_NAME}</q>".encode())
    assert broken.value.reason == "malformed_xml" and FAKE_NAME not in broken.value.detail
    with pytest.raises(XmlError) as bomb:
        read_xml(BILLION_LAUGHS)
    assert bomb.value.reason == "xml_entities_forbidden"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", datetime(2024, 3, 4, 23, 0, tzinfo=UTC)),  # midnight in Amsterdam (CET)
        ("2024-07-01T12:00:00+02:00", datetime(2024, 7, 1, 10, 0, tzinfo=UTC)),
        ("2024-07-01T12:00:00Z", datetime(2024, 7, 1, 12, 0, tzinfo=UTC)),
        ("onbekend", None),
        ("", None),
        (None, None),
    ],
)
def test_to_utc(value: str | None, expected: datetime | None) -> None:
    assert to_utc(value, "Europe/Amsterdam") == expected
