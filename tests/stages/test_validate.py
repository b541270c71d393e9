"""Great Expectations suites of the zones: real GX 1.x runs on tiny zones, Data Docs in storage, no text leaks."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from catalog.storage import Storage
from catalog.zones import clean_path, clean_report_path, validation_path
from quality.gate import QualityGate
from stages.clean import clean_source
from stages.validate import validate_zone, validation_matches
from tests.texts import DUTCH_ARTICLE

SOURCE = "test-bron"
SECRET = "Anneke Verhoeven-Dijkstra"  # a fake name that must not reach results or Data Docs


def validate(storage: Storage, **kwargs: object) -> dict:
    return validate_zone(storage, "clean", SOURCE, clean_path(SOURCE), clean_report_path(SOURCE), ["nl"], **kwargs)


def test_a_clean_zone_passes_and_its_data_docs_hold_no_text(storage: Storage, ingested, tmp_path: Path, monkeypatch):
    attempts: list[object] = []
    monkeypatch.setattr(
        socket.socket, "connect", lambda *a, **k: attempts.append(a) or (_ for _ in ()).throw(OSError())
    )
    ingested([{"id": "1", "text": DUTCH_ARTICLE + f" Woordvoerder {SECRET} bevestigde dat."},
              {"id": "2", "text": DUTCH_ARTICLE.replace("Groningen", "Assen")}])  # fmt: skip
    clean_source(storage, SOURCE, gate=QualityGate(languages=["nl"]))

    summary = validate(storage)
    assert summary["success"], summary["failed_expectations"]
    assert (summary["documents"], summary["chunks"]) == (2, 1)
    assert summary["evaluated_expectations"] == summary["successful_expectations"] >= 15
    assert summary["results"]["expect_column_values_to_be_in_set(lang)"]["element_count"] == 2
    assert storage.read_json(validation_path("clean", SOURCE)) == summary
    root = Path(storage.url(""))
    pages = list((root / Path(summary["data_docs"]).parent).rglob("*.html"))
    assert len(pages) >= 3  # index, suite, validation results
    for page in pages:
        assert SECRET not in page.read_text(encoding="utf-8")
        assert "Eemskanaal" not in page.read_text(encoding="utf-8")
    assert attempts == []  # GX ran fully offline


def test_a_zone_with_problems_fails_with_counts(storage: Storage, ingested):
    ingested([{"id": "1", "text": DUTCH_ARTICLE}, {"id": "2", "text": "Nog een tekst."}])
    clean_source(storage, SOURCE)  # no quality gate: no language detected, so the suite must fail on lang

    summary = validate(storage)
    assert not summary["success"]
    assert "expect_column_values_to_not_be_null(lang)" in summary["failed_expectations"]
    assert summary["results"]["expect_column_values_to_not_be_null(lang)"]["unexpected_count"] == 2
    ok, why = validation_matches(storage, "clean", SOURCE, clean_report_path(SOURCE))
    assert (ok, why) == (False, "expectations_failed")


def test_validation_is_tied_to_the_snapshot_it_checked(storage: Storage, ingested):
    assert validation_matches(storage, "clean", SOURCE, clean_report_path(SOURCE)) == (False, "not_validated")
    ingested([{"id": "1", "text": DUTCH_ARTICLE}])
    clean_source(storage, SOURCE, gate=QualityGate())
    validate(storage)
    assert validation_matches(storage, "clean", SOURCE, clean_report_path(SOURCE)) == (True, "passed")
    ingested([{"id": "1", "text": DUTCH_ARTICLE}, {"id": "2", "text": DUTCH_ARTICLE.replace("dinsdag", "woensdag")}])
    clean_source(storage, SOURCE, gate=QualityGate())  # a new snapshot, not validated yet
    assert validation_matches(storage, "clean", SOURCE, clean_report_path(SOURCE)) == (
        False,
        "validated_an_older_snapshot",
    )


def test_results_of_chunks_add_up():
    from stages.validate import _merge

    total: dict = {}
    _merge(total, {"x": {"success": True, "element_count": 3, "unexpected_count": 0}})
    _merge(total, {"x": {"success": False, "element_count": 2, "unexpected_count": 1}})
    assert total == {"x": {"success": False, "element_count": 5, "unexpected_count": 1}}


def test_unknown_zone_is_refused(storage: Storage):
    with pytest.raises(ValueError, match="unknown zone"):
        validate_zone(storage, "raw", SOURCE, "x", "y", ["nl"])
