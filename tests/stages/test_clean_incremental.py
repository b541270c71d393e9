"""Incremental cleaning: the gate's earlier decisions are reused for unchanged documents, and nothing else changes.

Every test compares an incremental run with a clean from scratch of the same raw batches (the decisions
file removed), so "reused" can never mean "different".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.quality_settings import QualitySettings
from catalog.storage import Storage
from catalog.zones import clean_decisions_path, clean_excluded_path, clean_path
from quality.gate import QualityGate
from stages import clean as clean_stage
from stages.clean import CleanReport, ReusedDecisions, clean_source
from tests.texts import DUTCH_ARTICLE as ARTICLE

Ingested = Callable[..., dict[str, Any]]
SOURCE = "test-bron"
CITIES = ["Groningen", "Zwolle", "Assen", "Leeuwarden", "Deventer", "Almere", "Breda", "Tilburg", "Venlo", "Delft"]
#: A subscription prompt below the furniture threshold (5 documents) until one more document carries it.
PROMPT = "Word abonnee voor 1 euro per week en lees onbeperkt verder."
#: Report fields that say what the zone holds (the rest says how the run went).
ZONE_FIELDS = (
    "records_read",
    "input_documents",
    "kept",
    "dropped",
    "dropped_by_reason",
    "dropped_by_filter",
    "languages",
    "quarantined",
    "accounting_balanced",
    "text_changed_by_normalisation",
    "boilerplate_lines_removed",
    "furniture_lines_removed",
    "furniture_documents_affected",
    "furniture_lines_found",
    "furniture",
    "dropped_examples",
)


def article(n: int) -> str:
    """A distinct Dutch article that passes the default gate."""
    city = CITIES[n % len(CITIES)]
    return ARTICLE.replace("Groningen", city).replace("acht miljoen", f"{n + 2} miljoen")


def delivery() -> list[dict[str, Any]]:
    """Twenty-six records: articles (four with the prompt), an exact copy, a short text and an English text."""
    records = [{"id": f"a{n}", "text": article(n) + (f"\n{PROMPT}" if n < 4 else "")} for n in range(24)]
    records.append({"id": "copy", "text": records[5]["text"]})
    records.append({"id": "kort", "text": "Te kort."})
    records.append({"id": "en", "text": "The city council decided on Tuesday to build a new bridge next year. " * 3})
    return records


def zone(storage: Storage) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The kept and the excluded documents, sorted (row order is not what the zone promises)."""

    def rows(rel: str) -> list[dict[str, Any]]:
        with storage.open_input(rel) as handle:
            return pq.read_table(handle).sort_by([("doc_id", "ascending"), ("fetched_at", "ascending")]).to_pylist()

    return rows(clean_path(SOURCE)), rows(clean_excluded_path(SOURCE))


def counts(report: CleanReport) -> dict[str, Any]:
    return {field: report[field] for field in ZONE_FIELDS}  # type: ignore[literal-required]


def from_scratch(storage: Storage, gate: QualityGate) -> CleanReport:
    """Clean again without earlier decisions: every document is judged by the gate."""
    storage.delete(clean_decisions_path(SOURCE))
    report = clean_source(storage, SOURCE, gate=gate)
    assert report["documents_assessed"] == report["input_documents"]
    assert report["reassessed_reason"] == "no earlier decisions"
    return report


def assert_same_as_from_scratch(storage: Storage, gate: QualityGate, incremental: CleanReport) -> None:
    documents = zone(storage)
    scratch = from_scratch(storage, gate)
    assert zone(storage) == documents
    assert counts(scratch) == counts(incremental)


@pytest.fixture
def gate() -> QualityGate:
    return QualityGate(languages=["nl"])


def test_a_rerun_with_nothing_new_assesses_nothing(storage: Storage, ingested: Ingested, gate: QualityGate) -> None:
    ingested(delivery())
    first = clean_source(storage, SOURCE, gate=gate)
    assert first["documents_assessed"] == first["input_documents"] == 27
    assert first["documents_reused"] == 0
    assert first["reassessed_reason"] == "no earlier decisions"
    assert first["dropped_by_reason"]["duplicate_content"] == 1
    assert "unexpected_language" in first["dropped_by_reason"]
    assert first["dropped"] == 3  # the copy, the English text and the short one
    documents = zone(storage)

    again = clean_source(storage, SOURCE, gate=gate)

    assert again["documents_assessed"] == 0
    assert again["documents_reused"] == 27
    assert again["reassessed_reason"] is None
    assert zone(storage) == documents
    assert counts(again) == counts(first)
    assert set(again["seconds_by_step"]) == {*clean_stage.STEPS, "other"}


def test_only_new_and_changed_documents_are_assessed(storage: Storage, ingested: Ingested, gate: QualityGate) -> None:
    records = delivery()
    ingested(records)
    clean_source(storage, SOURCE, gate=gate)

    records[10]["text"] = article(10).replace("dinsdag", "woensdag")  # a correction
    records.append({"id": "nieuw", "text": article(30)})
    ingested(records)  # the whole file again: every earlier record is superseded by its new delivery
    report = clean_source(storage, SOURCE, gate=gate)

    assert report["input_documents"] == 27 + 28
    assert report["documents_assessed"] == 2
    assert report["documents_reused"] == 53
    # the gate judges before deduplication: the short and the English text are dropped in both deliveries
    assert report["dropped_by_reason"]["superseded_record"] == 27 - 2
    assert report["dropped_by_reason"]["duplicate_content"] == 1
    kept, _ = zone(storage)
    assert "woensdag" in next(row["text"] for row in kept if row["native_id"] == "a10")
    assert_same_as_from_scratch(storage, gate, report)


def test_a_new_furniture_line_reassesses_the_documents_it_changes(
    storage: Storage, ingested: Ingested, gate: QualityGate
) -> None:
    records = delivery()
    ingested(records)
    first = clean_source(storage, SOURCE, gate=gate)
    assert first["furniture_lines_found"] == 0  # the prompt is in four documents: not yet furniture

    records.append({"id": "nieuw", "text": f"{article(30)}\n{PROMPT}"})  # the fifth
    ingested(records)
    report = clean_source(storage, SOURCE, gate=gate)

    assert report["furniture_lines_found"] == 1
    # the four earlier documents with the prompt lose it, in both deliveries; and the new one is new
    assert report["documents_assessed"] == 2 * 4 + 1
    kept, _ = zone(storage)
    assert not any(PROMPT in row["text"] for row in kept)
    assert_same_as_from_scratch(storage, gate, report)


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        (QualityGate(QualitySettings(min_language_score=0.5), languages=["nl"]), "quality settings changed"),
        (
            QualityGate(QualitySettings(profile="sector"), languages=["nl"]),
            "quality settings changed (profile web -> sector)",
        ),
        (QualityGate(languages=["nl", "en"]), "expected languages changed (nl -> nl,en)"),
    ],
)
def test_changed_settings_reassess_everything(
    storage: Storage, ingested: Ingested, gate: QualityGate, changed: QualityGate, reason: str
) -> None:
    ingested(delivery())
    clean_source(storage, SOURCE, gate=gate)

    report = clean_source(storage, SOURCE, gate=changed)

    assert report["documents_assessed"] == report["input_documents"]
    assert report["reassessed_reason"] == reason
    assert clean_source(storage, SOURCE, gate=changed)["documents_assessed"] == 0  # and then they are reused
    assert_same_as_from_scratch(storage, changed, report)


def test_changed_gate_code_reassesses_everything(
    storage: Storage, ingested: Ingested, gate: QualityGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingested(delivery())
    clean_source(storage, SOURCE, gate=gate)
    monkeypatch.setattr(clean_stage, "gate_version", lambda: "a-later-gate")

    report = clean_source(storage, SOURCE, gate=gate)

    assert report["documents_assessed"] == 27
    assert report["reassessed_reason"] == "the quality gate's code changed"


def test_reuse_across_batch_boundaries(
    storage: Storage, ingested: Ingested, gate: QualityGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # batches of 4 rows: the earlier decisions are matched across many batches, and in the middle of them
    def small(handle: Any, batch_rows: int = 4, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        yield from pq.ParquetFile(handle).iter_batches(batch_size=4, columns=columns)

    monkeypatch.setattr(clean_stage, "iter_batches", small)
    records = delivery()
    ingested(records)
    clean_source(storage, SOURCE, gate=gate)
    records[6]["text"] = article(6).replace("dinsdag", "maandag")
    records[13]["text"] = article(13).replace("dinsdag", "vrijdag")
    ingested(records)

    report = clean_source(storage, SOURCE, gate=gate)

    assert report["documents_assessed"] == 2
    assert_same_as_from_scratch(storage, gate, report)


def test_an_unreadable_decisions_file_means_a_full_assessment(
    storage: Storage, ingested: Ingested, gate: QualityGate
) -> None:
    ingested(delivery())
    clean_source(storage, SOURCE, gate=gate)
    storage.write_bytes(clean_decisions_path(SOURCE), b"not parquet")

    report = clean_source(storage, SOURCE, gate=gate)

    assert report["documents_assessed"] == 27
    assert report["reassessed_reason"] == "no earlier decisions"


def test_without_a_gate_nothing_is_assessed_and_no_decisions_are_written(storage: Storage, ingested: Ingested) -> None:
    ingested(delivery())
    report = clean_source(storage, SOURCE)
    assert report["documents_assessed"] == report["documents_reused"] == 0
    assert report["gate_key"] is None
    assert not storage.exists(clean_decisions_path(SOURCE))


def test_reused_decisions_are_handed_out_by_row() -> None:
    rows = [0, 2, 3, 7, 8, 11]
    batches = [
        pa.record_batch({"row": rows[:2], "keep": [True] * 2}),
        pa.record_batch({"row": rows[2:], "keep": [True] * 4}),
    ]
    reused = ReusedDecisions(iter(batches))
    assert reused.until(3).column("row").to_pylist() == [0, 2]
    assert reused.until(6).column("row").to_pylist() == [3]
    assert reused.until(7) is None
    assert reused.until(20).column("row").to_pylist() == [7, 8, 11]
    assert reused.until(30) is None
