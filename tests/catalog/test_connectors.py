from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_args

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.connectors import (
    CONNECTORS,
    QUARANTINE_REASONS,
    Quarantined,
    RawRecord,
    connector_for,
)
from catalog.connectors.files import FilesConnector
from catalog.connectors.records import MAX_QUARANTINE_BYTES
from catalog.fetch import Fetcher
from catalog.registry import SourceRegistry
from catalog.sources import Kind, SourceSpec
from catalog.storage import Storage
from catalog.zones import quarantine_path
from stages.ingest import ingest_source

from .conftest import write_drop

MakeSpec = Callable[..., SourceSpec]

#: Personal data planted in broken records: it must never reach a quarantine ``detail``.
FAKE_EMAIL = "jozefien.geheimhouder@voorbeeld-lek.invalid"


def ingest_with_quarantine(storage: Storage, spec: SourceSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    report = ingest_source(storage, spec)
    with storage.open_input(quarantine_path(spec.id, report["ingest_id"])) as handle:
        return report, pq.read_table(handle).to_pylist()


def read_all(spec: SourceSpec) -> list[RawRecord | Quarantined]:
    """Read a whole drop from scratch (no cursor)."""
    return list(FilesConnector(spec).read())


def split(items: list[RawRecord | Quarantined]) -> tuple[list[RawRecord], list[Quarantined]]:
    docs = [i for i in items if isinstance(i, RawRecord)]
    quarantined = [i for i in items if isinstance(i, Quarantined)]
    assert len(docs) + len(quarantined) == len(items)
    return docs, quarantined


def test_connector_registry() -> None:
    # every kind a spec may declare has a connector, named by import path (imported only when used)
    assert set(CONNECTORS) == set(get_args(Kind))
    assert CONNECTORS["files"] == "catalog.connectors.files:FilesConnector"
    assert set(QUARANTINE_REASONS) >= {
        "invalid_utf8",
        "malformed_json",
        "not_an_object",
        "missing_text",
        "empty_text",
        "invalid_field_type",
        "missing_id",
        "invalid_published_at",
        "unreadable_file",
    }


def test_connector_for_a_files_spec_starts_from_the_cursor(make_spec: MakeSpec) -> None:
    spec = make_spec([{"id": "1", "text": "Een."}])
    connector = connector_for(spec, Fetcher.for_spec(spec))
    assert isinstance(connector, FilesConnector)
    assert [item.native_id for item in connector.read()] == ["1"]  # type: ignore[union-attr]
    cursor = connector.next_cursor()
    again = connector_for(spec, Fetcher.for_spec(spec), cursor)
    assert list(again.read()) == []
    assert again.next_cursor() == cursor
    assert list(connector_for(spec, Fetcher.for_spec(spec), None).read())  # no cursor: read from scratch


def test_quarantined_rejects_unknown_reason() -> None:
    with pytest.raises(ValueError, match="unknown quarantine reason"):
        Quarantined("f", "line 1", "it_broke", "detail")


# -- JSONL -----------------------------------------------------------------------------------------

BAD_LINES: list[tuple[bytes, str]] = [
    (f'{{"id": "1", "text": "Mail {FAKE_EMAIL} caf\xe9"}}'.encode("latin-1"), "invalid_utf8"),
    (f'{{"id": "2", "text": "Mail {FAKE_EMAIL}"'.encode(), "malformed_json"),
    (json.dumps(["3", f"Mail {FAKE_EMAIL}"]).encode(), "not_an_object"),
    (json.dumps({"id": "4", "title": f"Mail {FAKE_EMAIL}"}).encode(), "missing_text"),
    (json.dumps({"id": "6", "text": {"body": FAKE_EMAIL}}).encode(), "invalid_field_type"),
    (json.dumps({"id": ["7"], "text": f"Mail {FAKE_EMAIL}"}).encode(), "invalid_field_type"),
    (json.dumps({"text": f"Mail {FAKE_EMAIL}", "title": "zonder id"}).encode(), "missing_id"),
    (
        json.dumps({"id": "9", "text": f"Mail {FAKE_EMAIL}", "published_at": f"gisteren {FAKE_EMAIL}"}).encode(),
        "invalid_published_at",
    ),
    (json.dumps({"id": "10", "text": f"Mail {FAKE_EMAIL}", "published_at": 20260101}).encode(), "invalid_published_at"),
    (b'"' + FAKE_EMAIL.encode() + b'"', "not_an_object"),
]


def test_jsonl_quarantine_reasons(make_spec: MakeSpec) -> None:
    good = json.dumps({"id": "ok", "text": "Een goed bericht."}).encode()
    spec = make_spec(b"\n".join([good] + [line for line, _ in BAD_LINES]) + b"\n")
    docs, quarantined = split(read_all(spec))
    assert [d.native_id for d in docs] == ["ok"]
    assert [(q.record, q.reason) for q in quarantined] == [
        (f"line {n}", reason) for n, (_, reason) in enumerate(BAD_LINES, start=2)
    ]
    for q, (line, _) in zip(quarantined, BAD_LINES, strict=True):
        assert q.reason in QUARANTINE_REASONS
        assert q.location == spec.location
        assert q.raw_bytes == line + b"\n"  # the raw line is kept for review
        assert q.detail


def test_quarantine_detail_never_quotes_content(make_spec: MakeSpec) -> None:
    spec = make_spec(b"\n".join(line for line, _ in BAD_LINES) + b"\n")
    quarantined = read_all(spec)
    assert len(quarantined) == len(BAD_LINES)
    for q in quarantined:
        assert isinstance(q, Quarantined)
        assert FAKE_EMAIL not in q.detail
        assert "geheimhouder" not in q.detail
        assert "gisteren" not in q.detail
        assert FAKE_EMAIL.encode() in (q.raw_bytes or b"")


def test_quarantine_details_describe_the_problem(make_spec: MakeSpec) -> None:
    spec = make_spec(b"\n".join(line for line, _ in BAD_LINES) + b"\n")
    details = {q.record: q.detail for q in read_all(spec)}  # type: ignore[union-attr]
    assert details["line 1"].startswith("invalid byte at offset ")
    assert "at column" in details["line 2"]
    assert details["line 3"] == "got list"
    assert details["line 4"] == "no field 'text'"
    assert details["line 5"] == "'text' is dict"
    assert details["line 6"] == "'id' is list"
    assert details["line 7"] == "no native id and no URL"
    assert details["line 8"] == "'published_at' is not an ISO date"


def test_blank_text_is_quarantined_as_empty_text_by_ingest(make_spec: MakeSpec, storage: Storage) -> None:
    spec = make_spec(
        [
            {"id": "1", "title": FAKE_EMAIL, "text": " \u200b\n\t\u00a0 "},
            {"id": "2", "text": "Wel tekst."},
            {"id": "3", "text": ""},
        ]
    )
    report, quarantine = ingest_with_quarantine(storage, spec)
    assert report["documents"] == 1
    assert [(q["record"], q["reason"]) for q in quarantine] == [("line 1", "empty_text"), ("line 3", "empty_text")]
    for q in quarantine:
        assert FAKE_EMAIL not in (q["detail"] or "")


def test_empty_text_quarantine_keeps_the_raw_record(make_spec: MakeSpec, storage: Storage) -> None:
    spec = make_spec([{"id": "KC-1", "onderwerp": "Terugbelverzoek", "text": "   "}])
    _, (row,) = ingest_with_quarantine(storage, spec)
    assert row["reason"] == "empty_text"
    assert row["raw_bytes"] is not None and b"KC-1" in row["raw_bytes"]


def test_quarantined_raw_bytes_are_capped(make_spec: MakeSpec) -> None:
    huge = b'{"id": "x", "text": "' + b"a" * (MAX_QUARANTINE_BYTES * 2)  # never closed: malformed
    spec = make_spec(huge + b"\n")
    (q,) = read_all(spec)
    assert isinstance(q, Quarantined)
    assert q.reason == "malformed_json"
    assert q.raw_bytes is not None and len(q.raw_bytes) == MAX_QUARANTINE_BYTES


def test_blank_lines_are_not_records(make_spec: MakeSpec) -> None:
    content = (
        b"\n"
        + json.dumps({"id": "a", "text": "Eerste."}).encode()
        + b"\n   \n\t\r\n\n"
        + json.dumps({"id": "b", "text": "Tweede."}).encode()
        + b"\r\n\n"
    )
    items = read_all(make_spec(content))
    assert [(i.native_id, i.record) for i in items] == [("a", "line 2"), ("b", "line 6")]  # type: ignore[union-attr]


def test_field_mapping(make_spec: MakeSpec) -> None:
    record = {
        "artikel": "ND-1",
        "inhoud": "Tekst\r\nmet  CRLF",
        "kop": "Een kop",
        "link": "https://krant.example/nd-1",
        "verschenen": "2026-10-01T19:45:00+02:00",
        "text": "niet deze",
        "id": "ook niet deze",
    }
    spec = make_spec(
        [record],
        fields={"native_id": "artikel", "text": "inhoud", "title": "kop", "url": "link", "published_at": "verschenen"},
    )
    (doc,) = read_all(spec)
    assert doc == RawRecord(
        native_id="ND-1",
        text="Tekst\r\nmet  CRLF",  # the connector does not normalise; ingest keeps the text as fetched
        title="Een kop",
        url="https://krant.example/nd-1",
        published_at=datetime(2026, 10, 1, 17, 45, tzinfo=UTC),
        location=spec.location,
        record="line 1",
    )
    assert (doc.fetch_mode, doc.ocr_confidence, doc.lang, doc.metadata) == ("record", None, None, {})


def test_unmapped_fields_are_none(make_spec: MakeSpec) -> None:
    spec = make_spec(
        [{"id": 1, "text": "x", "title": "genegeerd", "url": "https://genegeerd.example"}],
        fields={"title": None, "url": None, "published_at": None},
    )
    (doc,) = read_all(spec)
    assert isinstance(doc, RawRecord)
    assert (doc.native_id, doc.title, doc.url, doc.published_at) == ("1", None, None, None)


def test_url_is_native_id_when_id_absent(make_spec: MakeSpec) -> None:
    spec = make_spec(
        [
            {"url": "https://krant.example/a", "text": "A"},
            {"id": "", "url": "https://krant.example/b", "text": "B"},
            {"id": None, "url": "https://krant.example/c", "text": "C"},
            {"id": "eigen-id", "url": "https://krant.example/d", "text": "D"},
        ]
    )
    docs = read_all(spec)
    assert [d.native_id for d in docs] == [  # type: ignore[union-attr]
        "https://krant.example/a",
        "https://krant.example/b",
        "https://krant.example/c",
        "eigen-id",
    ]
    assert all(d.url for d in docs)  # type: ignore[union-attr]


def test_url_is_native_id_when_spec_maps_no_id(make_spec: MakeSpec) -> None:
    spec = make_spec([{"id": "genegeerd", "url": "https://krant.example/a", "text": "A"}], fields={"native_id": None})
    (doc,) = read_all(spec)
    assert doc.native_id == "https://krant.example/a"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-15T12:00:00", datetime(2026, 1, 15, 11, 0, tzinfo=UTC)),  # CET, +01:00
        ("2026-07-15T12:00:00", datetime(2026, 7, 15, 10, 0, tzinfo=UTC)),  # CEST, +02:00
        ("2026-07-15", datetime(2026, 7, 14, 22, 0, tzinfo=UTC)),  # local midnight
        ("2026-07-15 08:30", datetime(2026, 7, 15, 6, 30, tzinfo=UTC)),
        ("2026-07-15T12:00:00Z", datetime(2026, 7, 15, 12, 0, tzinfo=UTC)),
        ("2026-07-15T12:00:00+05:00", datetime(2026, 7, 15, 7, 0, tzinfo=UTC)),
        ("  2026-07-15T12:00:00+00:00 ", datetime(2026, 7, 15, 12, 0, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_published_at_gets_spec_timezone_and_becomes_utc(make_spec: MakeSpec, value: Any, expected: Any) -> None:
    (doc,) = read_all(make_spec([{"id": "1", "text": "x", "published_at": value}]))
    assert isinstance(doc, RawRecord)
    assert doc.published_at == expected
    if expected is not None:
        assert doc.published_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_published_at_uses_the_timezone_of_the_spec(make_spec: MakeSpec) -> None:
    spec = make_spec([{"id": "1", "text": "x", "published_at": "2026-07-15T12:00:00"}], timezone="America/New_York")
    (doc,) = read_all(spec)
    assert doc.published_at == datetime(2026, 7, 15, 16, 0, tzinfo=UTC)  # type: ignore[union-attr]


def test_out_of_range_published_at_is_quarantined_not_fatal(make_spec: MakeSpec) -> None:
    spec = make_spec(
        [
            {"id": "1", "text": "Onbekende datum.", "published_at": "0001-01-01"},
            {"id": "2", "text": "Gewoon bericht.", "published_at": "2026-01-01"},
        ]
    )
    docs, quarantined = split(read_all(spec))
    assert [q.reason for q in quarantined] == ["invalid_published_at"]
    assert [d.native_id for d in docs] == ["2"]


def test_int_ids_become_strings(make_spec: MakeSpec) -> None:
    (doc,) = read_all(make_spec([{"id": 0, "text": "nul"}]))
    assert doc.native_id == "0"  # type: ignore[union-attr]


#: A JSON value nested 100,000 levels deep: deeper than the parser's recursion can follow.
DEEP = b"[" * 100_000 + b"]" * 100_000


def test_json_nested_too_deep_is_malformed_json_and_the_rest_is_read(make_spec: MakeSpec) -> None:
    deep_in_a_record = b'{"id": "d", "text": "Tekst.", "extra": ' + DEEP + b"}"
    good = [json.dumps({"id": name, "text": "Gewoon bericht."}).encode() for name in ("a", "b")]
    spec = make_spec(b"\n".join([good[0], DEEP, deep_in_a_record, good[1]]) + b"\n")
    docs, quarantined = split(read_all(spec))
    assert [d.native_id for d in docs] == ["a", "b"]
    assert [(q.record, q.reason) for q in quarantined] == [("line 2", "malformed_json"), ("line 3", "malformed_json")]
    assert [q.detail for q in quarantined] == ["nested 100000 levels deep", "nested 100001 levels deep"]
    assert quarantined[0].raw_bytes == DEEP[:MAX_QUARANTINE_BYTES]


@pytest.mark.parametrize("field", ["text", "title", "id", "url"])
def test_a_lone_surrogate_is_quarantined_as_invalid_text(make_spec: MakeSpec, field: str) -> None:
    record = {"id": "s1", "text": "Een bericht.", "title": "Kop", "url": "https://krant.example/s1"}
    record[field] = "ab\ud800cd"
    line = json.dumps(record).encode()  # the lone surrogate written as the escape \ud800, as JSON allows
    assert b"\\ud800" in line
    spec = make_spec(b"\n".join([line, json.dumps({"id": "ok", "text": "Goed \U0001f600."}).encode()]) + b"\n")
    docs, (q,) = split(read_all(spec))
    assert [d.native_id for d in docs] == ["ok"] and docs[0].text == "Goed \U0001f600."  # a surrogate pair is fine
    assert (q.record, q.reason) == ("line 1", "invalid_text")
    assert q.detail == f"{field!r} holds a lone surrogate (U+D800) at offset 2"
    assert q.raw_bytes == line + b"\n"


def test_parquet_values_python_cannot_hold_are_quarantined_per_row(make_spec: MakeSpec, data_dir: Path) -> None:
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "text": ["Eerste.", "Tweede.", "Derde."],
            "published_at": pa.array([0, 10**16, 0], pa.timestamp("ms")),  # b: far beyond the year 9999
            "unused": pa.array([10**16, 0, 10**16], pa.timestamp("ms")),  # not mapped: never looked at
        }
    )
    pq.write_table(table, data_dir / "vreemd.parquet")
    docs, quarantined = split(read_all(make_spec(format="parquet", location="vreemd.parquet")))
    assert [d.native_id for d in docs] == ["a", "c"]
    assert [(q.record, q.reason) for q in quarantined] == [("row 2", "invalid_published_at")]


# -- CSV -------------------------------------------------------------------------------------------


def test_csv_quoted_multiline_and_invalid_utf8_row(make_spec: MakeSpec) -> None:
    content = (
        b"identifier,titel,datum,tekst\r\n"
        b'A-1,Eerste,2026-02-01,"Regel een,\r\nregel twee\r\nen ""drie"""\r\n'
        b"A-2,Kapot,2026-02-02,caf\xe9 " + FAKE_EMAIL.encode() + b"\r\n"
        b'A-3,"Derde, met komma",,"Gewoon."\r\n'
    )
    spec = make_spec(
        content,
        format="csv",
        location="drop.csv",
        fields={"native_id": "identifier", "text": "tekst", "title": "titel", "url": None, "published_at": "datum"},
    )
    docs, quarantined = split(read_all(spec))
    assert [d.native_id for d in docs] == ["A-1", "A-3"]
    assert docs[0].text == 'Regel een,\r\nregel twee\r\nen "drie"'
    assert docs[0].published_at == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert docs[0].record == "row 1 (line 4)"
    assert docs[1].title == "Derde, met komma"
    assert docs[1].published_at is None
    assert docs[1].record == "row 3 (line 6)"
    (bad,) = quarantined
    assert (bad.reason, bad.record) == ("invalid_utf8", "row 2 (line 5)")
    assert bad.raw_bytes is not None and b"caf\xe9" in bad.raw_bytes
    assert FAKE_EMAIL not in bad.detail


def test_csv_missing_text_column_quarantines_rows(make_spec: MakeSpec) -> None:
    spec = make_spec(b"id,body\r\n1,hallo\r\n2,\r\n", format="csv", location="x.csv")
    items = read_all(spec)
    assert [(i.record, i.reason) for i in items] == [  # type: ignore[union-attr]
        ("row 1 (line 2)", "missing_text"),
        ("row 2 (line 3)", "missing_text"),
    ]


def test_csv_empty_text_cell_is_quarantined_by_ingest(make_spec: MakeSpec, storage: Storage) -> None:
    spec = make_spec(b"id,text\r\n1,hallo\r\n2,\r\n3,   \r\n", format="csv", location="x.csv")
    # the connector maps every row; blank text is detected once, where ingest normalises anyway
    assert [(i.native_id, i.text) for i in read_all(spec)] == [("1", "hallo"), ("2", ""), ("3", "   ")]  # type: ignore[union-attr]
    report, quarantine = ingest_with_quarantine(storage, spec)
    assert report["documents"] == 1
    assert [(q["record"], q["reason"]) for q in quarantine] == [
        ("row 2 (line 3)", "empty_text"),
        ("row 3 (line 4)", "empty_text"),
    ]


# -- Parquet ---------------------------------------------------------------------------------------


def test_parquet_drop(make_spec: MakeSpec, data_dir: Path) -> None:
    table = pa.table(
        {
            "nr": pa.array([1, 2, 3, 4], pa.int64()),
            "body": ["Eerste tekst.", "Tweede tekst.", None, "  "],
            "kop": ["A", None, "C", "D"],
            "ts": pa.array(
                [datetime(2026, 1, 15, 12, 0), None, None, None], pa.timestamp("us")
            ),  # naive: spec timezone applies
            "dag": pa.array([None, date(2026, 7, 15), None, None], pa.date32()),
        }
    )
    pq.write_table(table, data_dir / "drop.parquet")
    spec = make_spec(
        format="parquet",
        location="drop.parquet",
        fields={"native_id": "nr", "text": "body", "title": "kop", "url": None, "published_at": "ts"},
    )
    docs, quarantined = split(read_all(spec))
    assert [(d.native_id, d.title, d.record) for d in docs] == [
        ("1", "A", "row 1"),
        ("2", None, "row 2"),
        ("4", "D", "row 4"),  # blank text: quarantined by ingest, not here
    ]
    assert docs[0].published_at == datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
    assert docs[1].published_at is None
    assert [(q.record, q.reason) for q in quarantined] == [("row 3", "missing_text")]
    assert json.loads(quarantined[0].raw_bytes or b"")["kop"] == "C"

    date_spec = spec.model_copy(update={"fields": spec.fields.model_copy(update={"published_at": "dag"})})
    dated = [d for d in read_all(date_spec) if isinstance(d, RawRecord)]
    assert dated[1].published_at == datetime(2026, 7, 14, 22, 0, tzinfo=UTC)


def test_parquet_aware_timestamps_are_kept(make_spec: MakeSpec, data_dir: Path) -> None:
    table = pa.table(
        {
            "id": ["x"],
            "text": ["t"],
            "published_at": pa.array([datetime(2026, 7, 15, 12, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, data_dir / "aware.parquet")
    (doc,) = read_all(make_spec(format="parquet", location="aware.parquet"))
    assert doc.published_at == datetime(2026, 7, 15, 12, tzinfo=UTC)  # type: ignore[union-attr]


def test_corrupt_parquet_is_quarantined_as_unreadable(make_spec: MakeSpec) -> None:
    (q,) = read_all(
        make_spec(b"PAR1 but not really " + FAKE_EMAIL.encode(), format="parquet", location="kapot.parquet")
    )
    assert isinstance(q, Quarantined)
    assert (q.reason, q.record) == ("unreadable_file", "file")
    assert FAKE_EMAIL not in q.detail


# -- locations -------------------------------------------------------------------------------------


def test_glob_location_reads_every_file_in_order(make_spec: MakeSpec, data_dir: Path) -> None:
    for name, ids in [("deel-b.jsonl", ["b1", "b2"]), ("deel-a.jsonl", ["a1"]), ("deel-c.jsonl", ["c1"])]:
        (data_dir / name).write_text("".join(json.dumps({"id": i, "text": i}) + "\n" for i in ids), encoding="utf-8")
    (data_dir / "andere.csv").write_text("id,text\r\nx,y\r\n", encoding="utf-8")
    spec = make_spec(location="deel-*.jsonl")
    connector = FilesConnector(spec)
    assert connector.locations() == [str(data_dir / f"deel-{x}.jsonl") for x in "abc"]
    docs = read_all(spec)
    assert [d.native_id for d in docs] == ["a1", "b1", "b2", "c1"]  # type: ignore[union-attr]
    assert Counter(Path(d.location).name for d in docs) == {"deel-a.jsonl": 1, "deel-b.jsonl": 2, "deel-c.jsonl": 1}
    assert [d.record for d in docs] == ["line 1", "line 1", "line 2", "line 1"]  # type: ignore[union-attr]


def test_no_matching_files_raises(make_spec: MakeSpec) -> None:
    spec = make_spec(location="niets-*.jsonl")
    with pytest.raises(FileNotFoundError, match="test-bron"):
        read_all(spec)


def test_missing_single_file_raises(make_spec: MakeSpec) -> None:
    with pytest.raises(FileNotFoundError):
        read_all(make_spec(location="bestaat-niet.jsonl"))


# -- the cursor: only new or changed files are read -------------------------------------------------


def fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime}"


def test_next_cursor_lists_every_file_read_with_size_and_mtime(make_spec: MakeSpec, data_dir: Path) -> None:
    a = write_drop(data_dir / "deel-a.jsonl", [{"id": "a1", "text": "A."}])
    b = write_drop(data_dir / "deel-b.jsonl", [b"{kapot"])  # a file with only quarantined input is read too
    connector = FilesConnector(make_spec(location="deel-*.jsonl"), None, {})
    assert connector.next_cursor() == {"files": {}}
    assert len(list(connector.read())) == 2
    assert connector.next_cursor() == {"files": {str(a): fingerprint(a), str(b): fingerprint(b)}}


def test_unchanged_files_are_skipped_and_changed_files_read_again(make_spec: MakeSpec, data_dir: Path) -> None:
    a = write_drop(data_dir / "deel-a.jsonl", [{"id": "a1", "text": "A."}])
    b = write_drop(data_dir / "deel-b.jsonl", [{"id": "b1", "text": "B."}])
    spec = make_spec(location="deel-*.jsonl")
    first = FilesConnector(spec)
    list(first.read())
    cursor = first.next_cursor()

    unchanged = FilesConnector(spec, None, cursor)
    assert list(unchanged.read()) == []
    assert unchanged.next_cursor() == cursor

    write_drop(b, [{"id": "b1", "text": "B, herzien."}, {"id": "b2", "text": "Nieuw."}])  # other size and mtime
    c = write_drop(data_dir / "deel-c.jsonl", [{"id": "c1", "text": "C."}])
    changed = FilesConnector(spec, None, cursor)
    assert [d.native_id for d in changed.read()] == ["b1", "b2", "c1"]  # type: ignore[union-attr]
    assert changed.next_cursor() == {"files": {str(p): fingerprint(p) for p in (a, b, c)}}

    touched = FilesConnector(spec, None, changed.next_cursor())
    write_drop(c, [{"id": "c1", "text": "C."}])  # same bytes, new modification time: delivered again
    assert [d.native_id for d in touched.read()] == ["c1"]  # type: ignore[union-attr]


def test_a_file_enters_the_cursor_only_after_it_was_read_to_the_end(make_spec: MakeSpec, data_dir: Path) -> None:
    a = write_drop(data_dir / "deel-a.jsonl", [{"id": "a1", "text": "A."}, {"id": "a2", "text": "A."}])
    write_drop(data_dir / "deel-b.jsonl", [{"id": "b1", "text": "B."}])
    connector = FilesConnector(make_spec(location="deel-*.jsonl"))
    items = connector.read()
    next(items), next(items)  # every record of deel-a handed out, but the consumer has not moved on yet
    assert connector.next_cursor() == {"files": {}}
    assert next(items).native_id == "b1"  # type: ignore[union-attr]
    assert connector.next_cursor() == {"files": {str(a): fingerprint(a)}}


# -- the bundled sample ----------------------------------------------------------------------------


def test_sample_sector_meldingen_counts(storage: Storage) -> None:
    spec = SourceRegistry.from_env({}).get("sector-meldingen")
    items = read_all(spec)
    docs, quarantined = split(items)
    # The connector itself quarantines the four structural problems; the blank text (line 20) becomes
    # a record that ingest quarantines as empty_text.
    assert Counter(q.reason for q in quarantined) == {
        "invalid_utf8": 1,
        "malformed_json": 1,
        "missing_text": 1,
        "not_an_object": 1,
    }
    assert [d.record for d in docs if not d.text.strip()] == ["line 20"]
    for q in quarantined:
        assert q.raw_bytes
        # the detail is about structure; it never repeats the reporter's words
        assert not any(word in q.detail for word in ("Geachte", "melding", 'omschrijving":'))

    report, quarantine = ingest_with_quarantine(storage, spec)
    assert report["documents"] == 15
    assert report["quarantined"] == 5
    assert report["quarantined_by_reason"] == {
        "empty_text": 1,
        "invalid_utf8": 1,
        "malformed_json": 1,
        "missing_text": 1,
        "not_an_object": 1,
    }
    assert Counter(q["reason"] for q in quarantine) == Counter(report["quarantined_by_reason"])
    assert len({d.native_id for d in docs if d.text.strip()}) == 15
    assert all(d.url is None and d.published_at is not None for d in docs)
