from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from catalog.documents import DOCUMENT_SCHEMA, QUARANTINE_SCHEMA, make_doc_id
from catalog.ingest import (
    SourceSuspendedError,
    ingest_report_path,
    ingest_source,
    quarantine_path,
    raw_path,
)
from catalog.sources import SourceRegistry, SourceSpec
from catalog.storage import Storage
from quality.normalise import normalise_text

MakeSpec = Callable[..., SourceSpec]

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


def read_table(storage: Storage, rel: str):
    with storage.open_input(rel) as handle:
        return pq.read_table(handle)


def test_ingest_report_accounts_for_every_record(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS)
    report = ingest_source(storage, spec)
    assert report["source_id"] == "test-bron"
    assert report["records_read"] == report["documents"] + report["quarantined"] == 6
    assert report["documents"] == 3
    assert report["quarantined"] == 3
    assert report["quarantined_by_reason"] == {"empty_text": 1, "malformed_json": 1, "not_an_object": 1}
    assert report["licence"] == "EUPL-1.2"
    assert report["status"] == "approved"
    assert report["locations"] == 1
    assert report["raw_bytes"] == storage.size(raw_path("test-bron"))
    assert report["text_chars"] == sum(len(r["text"]) for r in RECORDS[:3])  # type: ignore[index]
    assert report["code_version"]
    assert datetime.fromisoformat(report["ingested_at"]).tzinfo is not None
    # the report is committed last, as written
    assert storage.read_json(ingest_report_path("test-bron")) == report


def test_ingest_writes_raw_and_quarantine_zones(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS)
    report = ingest_source(storage, spec)
    assert storage.ls("raw/test-bron") == ["documents.parquet", "ingest.json"]
    assert storage.ls("quarantine/test-bron") == ["quarantine.parquet"]

    raw = read_table(storage, raw_path("test-bron"))
    assert raw.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
    assert raw.num_rows == 3
    rows = raw.to_pylist()
    assert [r["native_id"] for r in rows] == ["a", "b", "https://krant.example/c"]
    first = rows[0]
    assert first["doc_id"] == make_doc_id("test-bron", "a")
    assert first["source_id"] == "test-bron"
    assert first["title"] == "Heropening"
    assert first["licence"] == "EUPL-1.2"
    assert first["lang"] is None
    assert first["published_at"] == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert first["fetched_at"] == datetime.fromisoformat(report["ingested_at"])
    assert first["annotations"]["raw"] == {
        "ingest_id": report["ingest_id"],
        "location": spec.location,
        "record": "line 1",
        "code_version": report["code_version"],
    }
    assert first["annotations"]["clean"] is None

    quarantine = read_table(storage, quarantine_path("test-bron"))
    assert quarantine.schema.equals(QUARANTINE_SCHEMA, check_metadata=False)
    rows = quarantine.to_pylist()
    assert [(r["record"], r["reason"]) for r in rows] == [
        ("line 4", "not_an_object"),
        ("line 5", "empty_text"),
        ("line 6", "malformed_json"),
    ]
    assert {r["ingest_id"] for r in rows} == {report["ingest_id"]}
    assert {r["source_id"] for r in rows} == {"test-bron"}
    assert rows[2]["raw_bytes"] == b"{kapot\n"


def test_content_sha256_is_of_the_normalised_text(storage: Storage, make_spec: MakeSpec) -> None:
    ingest_source(storage, make_spec(RECORDS))
    rows = read_table(storage, raw_path("test-bron")).to_pylist()
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
    ingest_source(storage, spec)
    hashes = read_table(storage, raw_path("test-bron")).column("content_sha256").to_pylist()
    assert hashes[0] == hashes[1] != hashes[2]


def test_reingest_gives_the_same_doc_ids(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS)
    first = ingest_source(storage, spec)
    ids_first = read_table(storage, raw_path("test-bron")).column("doc_id").to_pylist()
    second = ingest_source(storage, spec)
    ids_second = read_table(storage, raw_path("test-bron")).column("doc_id").to_pylist()
    assert ids_first == ids_second
    assert len(set(ids_first)) == 3
    assert first["ingest_id"] != second["ingest_id"]
    assert storage.read_json(ingest_report_path("test-bron"))["ingest_id"] == second["ingest_id"]
    # the snapshot is replaced, not appended to
    assert read_table(storage, quarantine_path("test-bron")).num_rows == 3


def test_suspended_source_raises_and_writes_nothing(storage: Storage, make_spec: MakeSpec) -> None:
    spec = make_spec(RECORDS, status="suspended")
    with pytest.raises(SourceSuspendedError, match="test-bron"):
        ingest_source(storage, spec)
    assert not storage.exists("raw")
    assert not storage.exists("quarantine")


def test_sandbox_source_is_ingested(storage: Storage, make_spec: MakeSpec) -> None:
    report = ingest_source(storage, make_spec(RECORDS, status="sandbox"))
    assert report["status"] == "sandbox"
    assert report["documents"] == 3


def test_failed_ingest_keeps_the_previous_snapshot(storage: Storage, make_spec: MakeSpec, data_dir: Path) -> None:
    spec = make_spec(RECORDS)
    report = ingest_source(storage, spec)
    before = storage.read_bytes(raw_path("test-bron"))
    (data_dir / "test-bron.jsonl").unlink()
    with pytest.raises(FileNotFoundError):
        ingest_source(storage, spec)
    assert storage.read_bytes(raw_path("test-bron")) == before
    assert storage.read_json(ingest_report_path("test-bron")) == report
    assert sorted(p.name for p in Path(storage.root, "raw", "test-bron").iterdir()) == [
        "documents.parquet",
        "ingest.json",
    ]


def test_only_quarantined_input_gives_empty_documents(storage: Storage, make_spec: MakeSpec) -> None:
    report = ingest_source(storage, make_spec([b"{", {"id": "x"}]))
    assert (report["documents"], report["quarantined"]) == (0, 2)
    table = read_table(storage, raw_path("test-bron"))
    assert table.num_rows == 0
    assert table.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)


def test_ingest_bundled_sample(storage: Storage) -> None:
    spec = SourceRegistry.from_env({}).get("sector-meldingen")
    report = ingest_source(storage, spec)
    assert (report["records_read"], report["documents"], report["quarantined"]) == (20, 15, 5)
    assert read_table(storage, quarantine_path("sector-meldingen")).num_rows == 5
