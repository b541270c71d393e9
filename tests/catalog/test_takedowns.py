"""The takedown list: requests recorded once each, never changed, listed in order, matched to documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.storage import Storage
from catalog.takedowns import TAKEDOWNS, TakedownError, list_takedowns, matched_documents, record_takedown
from catalog.zones import clean_path


def _at(day: int) -> datetime:
    return datetime(2026, 12, day, 12, 0, tzinfo=UTC)


def test_each_request_is_its_own_file_with_who_when_why_and_for_whom(storage: Storage) -> None:
    first = record_takedown(storage, "doc_id", " abc ", "court order", "ticket-7", now=_at(1))
    second = record_takedown(storage, "source", "bron-b", "partner opt-out", now=_at(3))
    files = storage.glob(f"{TAKEDOWNS}/*.json")
    assert len(files) == 2 and files[0].startswith(f"{TAKEDOWNS}/20261201T120000000000Z-{first.id}")
    assert storage.read_json(files[0]) == {
        "id": first.id, "recorded_at": "2026-12-01T12:00:00.000000+00:00", "kind": "doc_id", "value": "abc",
        "reason": "court order", "requester": "ticket-7", "recorded_by": first.recorded_by,
    }  # fmt: skip
    assert "@" in first.recorded_by and second.requester is None
    assert list_takedowns(storage) == [first, second]
    assert list_takedowns(storage, before=_at(2).isoformat()) == [first]
    assert list_takedowns(storage, after=_at(2).isoformat()) == [second]


@pytest.mark.parametrize(
    ("kind", "value", "reason", "message"),
    [
        ("title", "x", "why", "unknown takedown kind"),
        ("doc_id", "  ", "why", "needs a value"),
        ("doc_id", "abc", " ", "needs a reason"),
        ("url", "krant.example/a", "why", "http"),
        ("url_prefix", "ftp://krant.example/", "why", "http"),
    ],
)
def test_a_malformed_request_is_refused_and_nothing_is_recorded(storage, kind, value, reason, message) -> None:
    with pytest.raises(TakedownError, match=message):
        record_takedown(storage, kind, value, reason)
    assert list_takedowns(storage) == []


def test_a_stored_file_that_is_not_a_request_stops_the_list(storage: Storage) -> None:
    storage.write_json(f"{TAKEDOWNS}/20261201T000000000000Z-broken.json", {"id": "x"})
    with pytest.raises(TakedownError, match="not a takedown request"):
        list_takedowns(storage)


def test_requests_match_documents_by_id_original_url_prefix_and_source(storage: Storage) -> None:
    rows = [
        {"doc_id": "d1", "source_id": "krant", "url": "https://krant.example/a"},
        {"doc_id": "d2", "source_id": "krant", "url": "https://krant.example/dossier/b"},
        {"doc_id": "d3", "source_id": "krant", "url": "https://krant.example/dossier/c"},
        {"doc_id": "d4", "source_id": "krant", "url": None},
    ]
    with storage.staged_file(clean_path("krant")) as local:
        pq.write_table(pa.Table.from_pylist(rows), local)
    with storage.staged_file(clean_path("archief")) as local:
        pq.write_table(pa.Table.from_pylist([{"doc_id": "e1", "source_id": "archief", "url": None}]), local)
    by_url = record_takedown(storage, "url", "https://krant.example/a", "r", now=_at(1))
    by_prefix = record_takedown(storage, "url_prefix", "https://krant.example/dossier/", "r", now=_at(2))
    by_id = record_takedown(storage, "doc_id", "d3", "r", now=_at(3))  # d3 is named twice: the oldest wins
    by_source = record_takedown(storage, "source", "archief", "r", now=_at(4))
    requests = list_takedowns(storage)
    with storage.duckdb() as con:
        matched = matched_documents(storage, con, requests, ["krant", "archief"])
        only_krant = matched_documents(storage, con, requests, ["krant"])
    assert matched == {"d1": by_url.id, "d2": by_prefix.id, "d3": by_prefix.id, "e1": by_source.id}
    assert only_krant == {"d1": by_url.id, "d2": by_prefix.id, "d3": by_prefix.id}
    assert by_id.id not in matched.values()
