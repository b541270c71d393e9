from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import stages.ingest as ingest_module
from catalog.connectors import Quarantined, RawRecord
from catalog.documents import DOCUMENT_SCHEMA, QUARANTINE_SCHEMA, SCHEMA_VERSION, make_doc_id
from catalog.registry import SourceRegistry
from catalog.sources import SourceSpec
from catalog.storage import Storage, StorageError
from catalog.zones import (
    batch_path,
    clean_excluded_path,
    clean_path,
    committed_cursor_path,
    cursor_path,
    ingest_report_path,
    quarantine_path,
    run_report_path,
)
from quality.normalise import normalise_text
from stages.clean import clean_source
from stages.ingest import SourceSuspendedError, committed_ingests, ingest_source
from tests.catalog.conftest import numbered_records, read_table, write_drop

MakeSpec = Callable[..., SourceSpec]
SOURCE = "test-bron"

RECORDS: list[object] = [
    {
        "id": "a",
        "text": "Cafe\u0301 De Zon\r\n\r\n\r\nopent   weer. ",
        "title": "Heropening",
        "published_at": "2026-03-01",
    },
    {"id": "b", "text": "Tweede bericht.", "url": "https://krant.example/b"},
    {"url": "https://krant.example/c", "text": "Derde, zonder id."},
    ["geen", "object"],
    {"id": "e", "text": "   "},
    b"{kapot",
]


def batch_rows(storage: Storage, report: dict[str, Any]) -> list[dict[str, Any]]:
    return read_table(storage, batch_path(report["source_id"], report["ingest_id"])).to_pylist()


def raw_files(storage: Storage, source_id: str = SOURCE) -> dict[str, list[str]]:
    """Every visible and hidden file of a source's raw and quarantine zones, by folder."""
    found: dict[str, list[str]] = {}
    for zone in (Path(storage.url("raw", source_id)), Path(storage.url("quarantine", source_id))):
        for path in sorted(zone.rglob("*")) if zone.exists() else []:
            if path.is_file():
                found.setdefault(str(path.parent.relative_to(storage.root)), []).append(path.name)
    return found


# -- one run ---------------------------------------------------------------------------------------


def test_ingest_report_accounts_for_every_record(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS)
    report = ingest_source(storage, spec)
    assert report["source_id"] == SOURCE
    assert report["kind"] == "files"
    assert report["records_read"] == report["documents"] + report["quarantined"] == 6
    assert report["documents"] == 3
    assert report["documents_by_fetch_mode"] == {"record": 3}
    assert report["quarantined"] == 3
    assert report["quarantined_by_reason"] == {"empty_text": 1, "malformed_json": 1, "not_an_object": 1}
    assert report["licence"] == "EUPL-1.2"
    assert report["status"] == "approved"
    assert report["locations"] == 1
    assert report["raw_bytes"] == storage.size(batch_path(SOURCE, report["ingest_id"]))
    assert report["text_chars"] == sum(len(r["text"]) for r in RECORDS[:3])  # type: ignore[index]
    assert report["code_version"]
    assert datetime.fromisoformat(report["ingested_at"]).tzinfo is not None
    # the run report commits the batch; the newest report is copied for readers
    assert storage.read_json(run_report_path(SOURCE, report["ingest_id"])) == report
    assert storage.read_json(ingest_report_path(SOURCE)) == report
    assert committed_ingests(storage, SOURCE) == [report]


def test_ingest_writes_batch_quarantine_report_and_cursor(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS)
    report = ingest_source(storage, spec)
    ingest_id = report["ingest_id"]
    assert storage.ls(f"raw/{SOURCE}") == ["batches", "cursor.json", "cursors", "ingest.json", "ingests"]
    assert storage.ls(f"raw/{SOURCE}/batches") == [f"{ingest_id}.parquet"]
    assert storage.read_json(committed_cursor_path(SOURCE, ingest_id)) == storage.read_json(cursor_path(SOURCE))
    assert storage.ls(f"raw/{SOURCE}/ingests") == [f"{ingest_id}.json"]
    assert storage.ls(f"quarantine/{SOURCE}") == [f"{ingest_id}.parquet"]
    assert batch_path(SOURCE, ingest_id) == f"raw/{SOURCE}/batches/{ingest_id}.parquet"
    assert quarantine_path(SOURCE, ingest_id) == f"quarantine/{SOURCE}/{ingest_id}.parquet"

    raw = read_table(storage, batch_path(SOURCE, ingest_id))
    assert raw.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
    assert raw.schema.metadata[b"corpusfabriek.schema_version"] == SCHEMA_VERSION.encode()
    assert raw.num_rows == 3
    rows = raw.to_pylist()
    assert [r["native_id"] for r in rows] == ["a", "b", "https://krant.example/c"]
    first = rows[0]
    assert first["doc_id"] == make_doc_id(SOURCE, "a")
    assert first["source_id"] == SOURCE
    assert first["title"] == "Heropening"
    assert first["licence"] == "EUPL-1.2"
    assert first["lang"] is None
    assert first["published_at"] == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert first["fetched_at"] == datetime.fromisoformat(report["ingested_at"])
    assert first["annotations"]["raw"] == {
        "ingest_id": ingest_id,
        "location": spec.location,
        "record": "line 1",
        "code_version": report["code_version"],
        "fetch_mode": "record",
        "ocr_confidence": None,
        "source_metadata": None,
    }
    assert first["annotations"]["clean"] is None

    quarantine = read_table(storage, quarantine_path(SOURCE, ingest_id))
    assert quarantine.schema.equals(QUARANTINE_SCHEMA, check_metadata=False)
    rows = quarantine.to_pylist()
    assert [(r["record"], r["reason"]) for r in rows] == [
        ("line 4", "not_an_object"),
        ("line 5", "empty_text"),
        ("line 6", "malformed_json"),
    ]
    assert {r["ingest_id"] for r in rows} == {ingest_id}
    assert {r["source_id"] for r in rows} == {SOURCE}
    assert rows[2]["raw_bytes"] == b"{kapot\n"


def test_content_sha256_is_of_the_normalised_text(storage: Storage, make_spec: MakeSpec) -> None:
    report = ingest_source(storage, make_spec(RECORDS))
    rows = batch_rows(storage, report)
    for row in rows:
        expected = hashlib.sha256(normalise_text(row["text"]).encode("utf-8")).hexdigest()
        assert row["content_sha256"] == expected
    # raw keeps the text exactly as fetched; only the hash is of the canonical form
    assert rows[0]["text"] == RECORDS[0]["text"]  # type: ignore[index]
    assert normalise_text(rows[0]["text"]) == "Caf\u00e9 De Zon\n\nopent weer."
    assert rows[0]["content_sha256"] == hashlib.sha256("Caf\u00e9 De Zon\n\nopent weer.".encode()).hexdigest()


def test_equivalent_texts_share_a_content_hash(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(
        [
            {"id": "1", "text": "Cafe\u0301\r\nDe Zon"},
            {"id": "2", "text": "  Caf\u00e9\nDe\u00a0Zon\n"},
            {"id": "3", "text": "Café De Zon"},
        ]
    )
    report = ingest_source(storage, spec)
    hashes = [row["content_sha256"] for row in batch_rows(storage, report)]
    assert hashes[0] == hashes[1] != hashes[2]


def test_suspended_source_raises_and_writes_nothing(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS, status="suspended")
    with pytest.raises(SourceSuspendedError, match=SOURCE):
        ingest_source(storage, spec)
    assert not storage.exists("raw")
    assert not storage.exists("quarantine")


def test_sandbox_source_is_ingested(storage: Storage, make_spec: MakeSpec) -> None:
    report = ingest_source(storage, make_spec(RECORDS, status="sandbox"))
    assert report["status"] == "sandbox"
    assert report["documents"] == 3


def test_only_quarantined_input_gives_an_empty_batch(storage: Storage, make_spec: MakeSpec) -> None:
    report = ingest_source(storage, make_spec([b"{", {"id": "x"}]))
    assert (report["documents"], report["quarantined"]) == (0, 2)
    assert report["documents_by_fetch_mode"] == {}
    table = read_table(storage, batch_path(SOURCE, report["ingest_id"]))
    assert table.num_rows == 0
    assert table.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)


def test_connector_provenance_reaches_the_raw_annotation(
    storage: Storage, make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a connector knows beyond the text (fetch mode, OCR confidence, language, metadata) is kept."""

    class Scanned:
        def __init__(self, spec: SourceSpec, fetcher: object, cursor: dict[str, Any] | None = None, **_: Any) -> None:
            self.cursor = dict(cursor or {})

        def read(self) -> Iterator[RawRecord | Quarantined]:
            yield RawRecord(
                native_id="krant-1897-p1",
                text="Uit de courant van 1897.",
                title=None,
                url=None,
                published_at=None,
                location="scan-1897.xml",
                record="page 1",
                fetch_mode="ocr",
                ocr_confidence=0.87,
                lang="nl",
                metadata={"zeta": "laatste", "alpha": "eerste"},
            )
            yield RawRecord("krant-1897-p2", "\u200b ", None, None, None, "scan-1897.xml", "page 2", fetch_mode="ocr")
            yield RawRecord("art-1", "Een artikel.", None, "https://krant.example/1", None, "feed", "item 1")

        def next_cursor(self) -> dict[str, Any]:
            return {"pages": 2}

    monkeypatch.setattr(ingest_module, "connector_for", Scanned)
    report = ingest_source(storage, make_spec([]))
    assert report["documents_by_fetch_mode"] == {"ocr": 1, "record": 1}
    assert report["quarantined_by_reason"] == {"empty_text": 1}
    assert report["locations"] == 2
    first, second = batch_rows(storage, report)
    assert first["lang"] == "nl"
    raw = first["annotations"]["raw"]
    assert (raw["fetch_mode"], raw["ocr_confidence"], raw["record"]) == ("ocr", 0.87, "page 1")
    assert raw["source_metadata"] == '{"alpha": "eerste", "zeta": "laatste"}'  # a JSON object, sorted keys
    assert second["annotations"]["raw"]["source_metadata"] is None  # no metadata: null, not "{}"
    # a blank record without raw bytes is kept for review as its mapped fields
    (quarantined,) = read_table(storage, quarantine_path(SOURCE, report["ingest_id"])).to_pylist()
    assert quarantined["record"] == "page 2"
    assert json.loads(quarantined["raw_bytes"])["native_id"] == "krant-1897-p2"
    assert storage.read_json(cursor_path(SOURCE)) == {"pages": 2}


# -- incremental runs ------------------------------------------------------------------------------


def test_cursor_remembers_each_file_by_size_and_mtime(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS)
    ingest_source(storage, spec)
    stat = Path(spec.location).stat()
    assert storage.read_json(cursor_path(SOURCE)) == {"files": {spec.location: f"{stat.st_size}:{stat.st_mtime}"}}


def test_reingest_of_an_unchanged_drop_reads_nothing(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS)
    first = ingest_source(storage, spec)
    cursor = storage.read_bytes(cursor_path(SOURCE))
    second = ingest_source(storage, spec)
    assert first["ingest_id"] != second["ingest_id"]
    assert (second["records_read"], second["documents"], second["quarantined"]) == (0, 0, 0)
    assert second["locations"] == 0
    assert second["quarantined_by_reason"] == {}
    assert storage.read_bytes(cursor_path(SOURCE)) == cursor
    # the empty run is still committed, as an empty batch of the document schema
    assert [r["ingest_id"] for r in committed_ingests(storage, SOURCE)] == [first["ingest_id"], second["ingest_id"]]
    empty = read_table(storage, batch_path(SOURCE, second["ingest_id"]))
    assert empty.num_rows == 0 and empty.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
    assert read_table(storage, quarantine_path(SOURCE, second["ingest_id"])).num_rows == 0
    assert storage.read_json(ingest_report_path(SOURCE)) == second
    # the first batch is left as it was
    assert len(batch_rows(storage, first)) == 3
    clean = clean_source(storage, SOURCE)
    assert (clean["ingests"], clean["records_read"], clean["kept"], clean["dropped"]) == (2, 6, 3, 0)


def test_changed_file_is_read_again_and_keeps_its_doc_ids(
    storage: Storage, make_spec: MakeSpec, data_dir: Path
) -> None:
    spec = make_spec(RECORDS)
    first = ingest_source(storage, spec)
    corrected = [{**RECORDS[0], "text": "Café De Zon opent weer, nu ook op zondag."}, *RECORDS[1:]]  # type: ignore[dict-item]
    write_drop(data_dir / "test-bron.jsonl", corrected)
    second = ingest_source(storage, spec)
    assert (second["records_read"], second["documents"], second["quarantined"]) == (6, 3, 3)
    ids_first = [r["doc_id"] for r in batch_rows(storage, first)]
    ids_second = [r["doc_id"] for r in batch_rows(storage, second)]
    assert ids_first == ids_second
    assert len(set(ids_first)) == 3

    # the clean stage keeps the newest delivery of each document
    report = clean_source(storage, SOURCE)
    kept = read_table(storage, clean_path(SOURCE)).to_pylist()
    assert sorted(r["doc_id"] for r in kept) == sorted(ids_first)
    texts = {r["native_id"]: r["text"] for r in kept}
    assert texts["a"] == "Café De Zon opent weer, nu ook op zondag."
    assert {r["annotations"]["raw"]["ingest_id"] for r in kept} == {second["ingest_id"]}
    excluded = read_table(storage, clean_excluded_path(SOURCE)).to_pylist()
    assert {r["excluded_reason"] for r in excluded} == {"superseded_record"}
    assert {r["annotations"]["raw"]["ingest_id"] for r in excluded} == {first["ingest_id"]}
    assert report["dropped_by_reason"] == {"superseded_record": 3, "duplicate_content": 0}
    assert (report["records_read"], report["kept"], report["quarantined"]) == (12, 3, 6)
    assert report["accounting_balanced"] is True


def test_a_new_file_in_the_drop_is_read_alone(storage: Storage, make_spec: MakeSpec, data_dir: Path) -> None:
    write_drop(data_dir / "deel-1.jsonl", numbered_records("een", 4))
    spec = make_spec(location="deel-*.jsonl")
    first = ingest_source(storage, spec)
    assert (first["records_read"], first["locations"]) == (4, 1)

    write_drop(data_dir / "deel-2.jsonl", [*numbered_records("twee", 2), b"{kapot"])
    second = ingest_source(storage, spec)
    assert (second["records_read"], second["documents"], second["quarantined"]) == (3, 2, 1)
    assert second["locations"] == 1
    rows = batch_rows(storage, second)
    assert [r["native_id"] for r in rows] == ["twee-0", "twee-1"]
    assert {Path(r["annotations"]["raw"]["location"]).name for r in rows} == {"deel-2.jsonl"}
    (bad,) = read_table(storage, quarantine_path(SOURCE, second["ingest_id"])).to_pylist()
    assert Path(bad["location"]).name == "deel-2.jsonl"
    assert sorted(storage.read_json(cursor_path(SOURCE))["files"]) == [
        str(data_dir / "deel-1.jsonl"),
        str(data_dir / "deel-2.jsonl"),
    ]

    third = ingest_source(storage, spec)
    assert third["records_read"] == 0
    report = clean_source(storage, SOURCE)
    assert (report["records_read"], report["kept"], report["dropped"], report["quarantined"]) == (7, 6, 0, 1)


def test_cursor_is_written_after_the_run_report(
    storage: Storage, make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[str] = []
    put_file = storage.put_file

    def recording_put_file(local_path: str | Path, rel: str) -> None:
        put_file(local_path, rel)
        published.append(rel)

    monkeypatch.setattr(storage, "put_file", recording_put_file)
    report = ingest_source(storage, make_spec(RECORDS))
    ingest_id = report["ingest_id"]
    assert sorted(published[:2]) == sorted([batch_path(SOURCE, ingest_id), quarantine_path(SOURCE, ingest_id)])
    assert published[2:] == [
        committed_cursor_path(SOURCE, ingest_id),
        run_report_path(SOURCE, ingest_id),
        ingest_report_path(SOURCE),
        cursor_path(SOURCE),
    ]


class Interrupted(RuntimeError):
    pass


def interrupt_after(monkeypatch: pytest.MonkeyPatch, items: int) -> None:
    """Make the next ingest's connector raise after yielding ``items`` items (a crash half-way a run)."""
    real = ingest_module.connector_for

    class Interrupting:
        def __init__(self, spec: SourceSpec, fetcher: object, cursor: dict[str, Any] | None = None, **kw: Any) -> None:
            self.inner = real(spec, fetcher, cursor, **kw)  # type: ignore[arg-type]

        def read(self) -> Iterator[RawRecord | Quarantined]:
            for number, item in enumerate(self.inner.read()):
                if number == items:
                    raise Interrupted("connection lost half-way")
                yield item

        def next_cursor(self) -> dict[str, Any]:
            return self.inner.next_cursor()

    monkeypatch.setattr(ingest_module, "connector_for", Interrupting)


def test_interrupted_run_commits_nothing_and_the_next_run_has_no_duplicates(
    storage: Storage, make_spec: MakeSpec, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_drop(data_dir / "deel-1.jsonl", numbered_records("een", 3))
    spec = make_spec(location="deel-*.jsonl")
    first = ingest_source(storage, spec)
    before = raw_files(storage)
    cursor = storage.read_bytes(cursor_path(SOURCE))

    write_drop(data_dir / "deel-2.jsonl", [*numbered_records("twee", 4), b"{kapot"])
    with monkeypatch.context() as patch:
        interrupt_after(patch, 3)
        with pytest.raises(Interrupted):
            ingest_source(storage, spec)

    # no batch, quarantine or report of the failed run, not even hidden or temporary files; cursor unchanged
    assert raw_files(storage) == before
    assert committed_ingests(storage, SOURCE) == [first]
    assert storage.read_json(ingest_report_path(SOURCE)) == first
    assert storage.read_bytes(cursor_path(SOURCE)) == cursor

    # the next run fetches the interrupted file again, whole
    third = ingest_source(storage, spec)
    assert (third["records_read"], third["documents"], third["quarantined"]) == (5, 4, 1)
    report = clean_source(storage, SOURCE)
    kept = read_table(storage, clean_path(SOURCE)).column("doc_id").to_pylist()
    assert len(kept) == len(set(kept)) == 7
    assert (report["ingests"], report["records_read"], report["kept"], report["dropped"]) == (2, 8, 7, 0)
    assert report["accounting_balanced"] is True


def test_interrupted_first_run_leaves_nothing_to_clean(
    storage: Storage, make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_spec(RECORDS)
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        with pytest.raises(Interrupted):
            ingest_source(storage, spec)
    assert raw_files(storage) == {}
    assert not storage.exists(cursor_path(SOURCE))
    with pytest.raises(StorageError, match=SOURCE):
        clean_source(storage, SOURCE)
    assert ingest_source(storage, spec)["records_read"] == 6


def test_crash_between_report_and_cursor_fetches_nothing_twice(
    storage: Storage, make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is committed but ``cursor.json`` not updated: the next run starts from the committed cursor."""
    spec = make_spec(RECORDS)
    write_json = storage.write_json

    def failing_cursor_write(rel: str, obj: Any) -> None:
        if rel == cursor_path(SOURCE):
            raise Interrupted("crashed before the cursor was saved")
        write_json(rel, obj)

    with monkeypatch.context() as patch:
        patch.setattr(storage, "write_json", failing_cursor_write)
        with pytest.raises(Interrupted):
            ingest_source(storage, spec)
    assert len(committed_ingests(storage, SOURCE)) == 1
    assert not storage.exists(cursor_path(SOURCE))

    again = ingest_source(storage, spec)
    assert again["records_read"] == 0  # each record read, and quarantined, exactly once
    assert storage.exists(cursor_path(SOURCE))
    report = clean_source(storage, SOURCE)
    kept = read_table(storage, clean_path(SOURCE)).column("doc_id").to_pylist()
    assert len(kept) == len(set(kept)) == 3
    assert (report["records_read"], report["quarantined"], report["dropped"]) == (6, 3, 0)
    assert report["accounting_balanced"] is True


def test_failed_ingest_keeps_the_previous_state(storage: Storage, make_spec: MakeSpec, data_dir: Path) -> None:
    spec = make_spec(RECORDS)
    report = ingest_source(storage, spec)
    before = raw_files(storage)
    cursor = storage.read_bytes(cursor_path(SOURCE))
    (data_dir / "test-bron.jsonl").unlink()
    with pytest.raises(FileNotFoundError):
        ingest_source(storage, spec)
    assert raw_files(storage) == before
    assert storage.read_json(ingest_report_path(SOURCE)) == report
    assert committed_ingests(storage, SOURCE) == [report]
    assert storage.read_bytes(cursor_path(SOURCE)) == cursor


# -- records that cannot become documents ------------------------------------------------------------


def test_one_odd_record_does_not_block_the_source(storage: Storage, make_spec: MakeSpec) -> None:
    lines = [
        json.dumps({"id": "a", "text": "Eerste bericht."}).encode(),
        json.dumps({"id": "s", "text": "Kapot \ud800 teken."}).encode(),  # a lone surrogate escape
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than the parser can follow
        json.dumps({"id": "b", "text": "Tweede bericht."}).encode(),
    ]
    spec = make_spec(b"\n".join(lines) + b"\n")
    report = ingest_source(storage, spec)
    assert (report["records_read"], report["documents"]) == (4, 2)
    assert report["quarantined_by_reason"] == {"invalid_text": 1, "malformed_json": 1}
    assert [row["native_id"] for row in batch_rows(storage, report)] == ["a", "b"]
    assert storage.read_json(cursor_path(SOURCE))["files"]  # the cursor advanced
    assert ingest_source(storage, spec)["records_read"] == 0


class OddConnector:
    """Stands in for a connector that lets through fields no document row can hold (no real one should)."""

    def __init__(self, spec: SourceSpec, fetcher: object, cursor: dict[str, Any], **_: object) -> None:
        self.location = spec.location

    def record(self, name: str, **fields: Any) -> RawRecord:
        values: dict[str, Any] = {"native_id": name, "text": f"Tekst {name}.", "title": None, "url": None}
        values.update({"published_at": None, "location": self.location, "record": name})
        return RawRecord(**{**values, **fields})

    def read(self) -> Iterator[RawRecord]:
        yield self.record("goed")
        yield self.record("kop", title="Kop \udc80")
        yield self.record("\ud800-id", record="id")
        yield self.record("meta", metadata={"ecli": "ECLI:\udfff"})
        yield self.record("adres", url="https://krant.example/\ud83d")
        yield self.record("plaats", location="/drop/naam-\udcff.jsonl")
        yield self.record("ver", published_at=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))
        yield self.record("type", ocr_confidence="hoog")  # type: ignore[arg-type]  # pyarrow refuses it
        yield self.record("ook-goed", published_at=datetime(2026, 1, 1, tzinfo=UTC))

    def next_cursor(self) -> dict[str, Any]:
        return {"klaar": True}


def test_records_no_document_row_can_hold_are_quarantined_and_the_run_completes(
    storage: Storage, make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.connectors import CONNECTORS

    monkeypatch.setitem(CONNECTORS, "files", f"{__name__}:OddConnector")
    report = ingest_source(storage, make_spec([]))
    assert (report["records_read"], report["documents"]) == (9, 2)
    assert report["quarantined_by_reason"] == {"invalid_published_at": 1, "invalid_text": 5, "unstorable_record": 1}
    assert [row["native_id"] for row in batch_rows(storage, report)] == ["goed", "ook-goed"]
    rows = read_table(storage, quarantine_path(SOURCE, report["ingest_id"])).to_pylist()
    details = {row["record"]: (row["reason"], row["detail"]) for row in rows}
    assert details["kop"] == ("invalid_text", "'title' holds a lone surrogate (U+DC80) at offset 4")
    assert details["meta"][1] == "'metadata' holds a lone surrogate (U+DFFF) at offset 5"
    assert details["type"] == ("unstorable_record", "the record cannot be stored as a document (ArrowInvalid)")
    (where,) = [row["location"] for row in rows if row["record"] == "plaats"]
    assert where == "/drop/naam-\\udcff.jsonl"  # stored escaped, so the quarantine row itself can be written
    assert all(row["raw_bytes"] for row in rows)  # kept for review, encodable
    assert storage.read_json(cursor_path(SOURCE)) == {"klaar": True}


# -- the bundled sample ----------------------------------------------------------------------------


def test_ingest_bundled_sample_twice(storage: Storage) -> None:
    spec = SourceRegistry.from_env({}).get("sector-meldingen")
    first = ingest_source(storage, spec)
    assert (first["records_read"], first["documents"], first["quarantined"]) == (20, 15, 5)
    assert read_table(storage, quarantine_path("sector-meldingen", first["ingest_id"])).num_rows == 5
    second = ingest_source(storage, spec)
    assert (second["records_read"], second["documents"], second["quarantined"]) == (0, 0, 0)
    assert len(committed_ingests(storage, "sector-meldingen")) == 2


def test_a_source_may_not_read_the_storage_root(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(numbered_records("a", 2))
    ingest_source(storage, spec)
    inside = spec.model_copy(update={"id": "nieuwsgierig", "location": storage.url("raw/test-bron/batches/*")})
    with pytest.raises(ValueError, match="inside the storage root"):
        ingest_source(storage, inside)
    assert not storage.exists("raw/nieuwsgierig")


def test_an_xml_file_larger_than_the_limit_is_quarantined_not_read(storage: Storage, tmp_path: Path) -> None:
    from catalog.sources import parse_spec

    folder = tmp_path / "alto"
    folder.mkdir()
    (folder / "groot.xml").write_bytes(b"<alto>" + b" " * 5000 + b"</alto>")
    spec = parse_spec(
        {
            "id": "alto-groot",
            "name": "ALTO",
            "owner": {"organisation": "Test", "contact": "data@test.example"},
            "kind": "alto",
            "location": f"{folder}/*.xml",
            "licence": "CC0-1.0",
            "legal_basis": "not-applicable",
            "personal_data": "none",
            "sector": "test",
            "politeness": {"max_response_bytes": 1000},
        }
    )
    report = ingest_source(storage, spec)
    assert report["quarantined_by_reason"] == {"response_too_large": 1}
    assert report["records_read"] == 1
