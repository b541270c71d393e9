"""The partner report: numbers about a source's data, runs and registration, never its content."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.registry import SourceRegistry, UnknownSourceError
from catalog.sources import bundled_sources_dir
from catalog.storage import Storage
from stages.clean import clean_source
from stages.ingest import ingest_source
from stages.report import format_report, next_run, partner_report
from tests.catalog.conftest import read_table

SAMPLE = "sector-meldingen"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
#: Personal data written into the bundled sample's records (all fictional): never in a report.
SAMPLE_PERSONAL_DATA = [
    "jm.vandenakker@voorbeeldmail.example",
    "t.deboer@gemeente-groningen.example",
    "k.mulder@webpost.example",
    "sven.lindqvist@postvak.example",
    "Sven Lindqvist",
    "NL86 RABO 0352 8167 04",
    "Ganzenbloemstraat 41",
    "31-EKO-9",
]
QUARANTINED_BY_REASON = {
    "empty_text": 1,
    "invalid_utf8": 1,
    "malformed_json": 1,
    "missing_text": 1,
    "not_an_object": 1,
}


APPROVAL = "Overeenkomst met de partner getekend"


@pytest.fixture
def registry(storage: Storage) -> SourceRegistry:
    """The storage catalog alone, with the bundled sample registered in it and then approved."""
    registry = SourceRegistry([], storage)
    spec, outcome = registry.register(bundled_sources_dir() / f"{SAMPLE}.yaml", actor="beheerder")
    assert (outcome, spec.status) == ("created", "sandbox")  # a registration never approves by itself
    registry.set_status(SAMPLE, "approved", reason=APPROVAL, actor="beheerder")
    return registry


@pytest.fixture
def processed(storage: Storage, registry: SourceRegistry) -> dict[str, Any]:
    """Two ingest runs of the sample (the second finds nothing new) and a clean; return their reports."""
    spec = registry.get(SAMPLE)
    first = ingest_source(storage, spec)
    second = ingest_source(storage, spec)
    clean = clean_source(storage, SAMPLE)
    return {"first": first, "second": second, "clean": clean}


def test_partner_report_numbers(storage: Storage, registry: SourceRegistry, processed: dict[str, Any]) -> None:
    report = partner_report(storage, registry, SAMPLE, now=NOW)
    second = processed["second"]
    assert (report["source_id"], report["kind"], report["status"]) == (SAMPLE, "files", "approved")
    assert report["name"] == "Meldingen openbare ruimte en klantcontact"
    assert report["owner"] == "Gemeente Noorderstad en woningcorporatie Thuis in het Noorden (fictief)"
    assert report["licence"] == "EUPL-1.2"
    assert report["in_releases"] is True
    assert report["runs"] == 2
    assert report["fetched"] == 20
    assert report["quarantined"] == 5
    assert report["quarantined_by_reason"] == QUARANTINED_BY_REASON
    assert report["documents_by_fetch_mode"] == {"record": 15}
    assert report["kept"] == 15
    assert report["dropped"] == 0
    assert report["dropped_by_reason"] == {"superseded_record": 0, "duplicate_content": 0}
    assert report["fetched"] == report["kept"] + report["dropped"] + report["quarantined"]
    assert report["cleaned_at_ingest"] == second["ingest_id"]
    assert report["last_successful_run"] == second["ingested_at"]
    assert report["last_run"] == {
        "ingest_id": second["ingest_id"],
        "records_read": 0,
        "documents": 0,
        "quarantined": 0,
    }
    assert report["schedule"] == "0 3 * * *"
    assert report["next_scheduled_run"] == "2026-11-24T03:00:00+00:00"
    assert [(e["action"], e["actor"], e["status"], e["reason"]) for e in report["registration"]] == [
        ("created", "beheerder", "sandbox", None),
        ("status:approved", "beheerder", "approved", APPROVAL),
    ]
    json.dumps(report)  # plain JSON: fit for the CLI's --json and for mailing to the partner


def test_format_report_shows_the_numbers(storage: Storage, registry: SourceRegistry, processed: dict[str, Any]) -> None:
    text = format_report(partner_report(storage, registry, SAMPLE, now=NOW))
    second = processed["second"]
    lines = text.splitlines()

    def matching(label: str) -> list[str]:
        return [re.sub(r"\s+", " ", entry) for entry in lines if entry.startswith(label)]

    def line(label: str) -> str:
        (found,) = matching(label)
        return found

    assert line("source") == f"source {SAMPLE} — Meldingen openbare ruimte en klantcontact"
    assert line("kind / status") == "kind / status files / approved"
    assert line("runs") == f"runs 2, last successful {second['ingested_at']}"
    assert line("next run") == "next run 2026-11-24T03:00:00+00:00 (cron 0 3 * * *)"
    assert line("fetched") == "fetched 20 record(s)"
    assert line("documents") == "documents by how their text was obtained: (record 15)"
    assert line("quarantined") == (
        "quarantined 5 (empty_text 1, invalid_utf8 1, malformed_json 1, missing_text 1, not_an_object 1)"
    )
    assert line("kept") == "kept 15"
    assert line("dropped") == "dropped 0"
    assert line("last run") == f"last run {second['ingest_id']}: 0 read, 0 documents, 0 quarantined"
    created, approved = matching("registry")
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
    assert re.fullmatch(rf"registry {stamp} created by beheerder", created)
    assert re.fullmatch(rf"registry {stamp} status:approved by beheerder — {APPROVAL}", approved)


def test_report_never_contains_document_text_or_personal_data(
    storage: Storage, registry: SourceRegistry, processed: dict[str, Any]
) -> None:
    report = partner_report(storage, registry, SAMPLE, now=NOW)
    outputs = [json.dumps(report, ensure_ascii=False), format_report(report)]
    # the sample really holds the personal data looked for (so its absence below means something)
    sample_text = Path(registry.get(SAMPLE).location).read_text(encoding="utf-8", errors="replace")
    assert all(item in sample_text for item in SAMPLE_PERSONAL_DATA)
    documents = read_table(storage, f"clean/{SAMPLE}/documents.parquet").to_pylist()
    assert len(documents) == 15
    for output in outputs:
        for item in SAMPLE_PERSONAL_DATA:
            assert item not in output
        for document in documents:
            assert document["text"][:40] not in output
            assert document["native_id"] not in output
        assert "@" not in output  # no e-mail address at all, not even the partner contact's


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 23, 2, 59, tzinfo=UTC), "2026-11-23T03:00:00+00:00"),
        (datetime(2026, 11, 23, 3, 0, tzinfo=UTC), "2026-11-24T03:00:00+00:00"),  # strictly after now
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "2027-01-01T03:00:00+00:00"),
    ],
)
def test_next_scheduled_run_follows_the_cron_in_utc(
    storage: Storage, registry: SourceRegistry, now: datetime, expected: str
) -> None:
    assert partner_report(storage, registry, SAMPLE, now=now)["next_scheduled_run"] == expected


def test_next_run_helper() -> None:
    assert next_run(None, NOW) is None
    assert next_run("", NOW) is None
    assert next_run("*/15 * * * *", NOW) == datetime(2026, 11, 23, 12, 15, tzinfo=UTC)


def test_report_before_any_run(storage: Storage, registry: SourceRegistry) -> None:
    report = partner_report(storage, registry, SAMPLE, now=NOW)
    assert (report["runs"], report["fetched"], report["quarantined"]) == (0, 0, 0)
    assert report["last_successful_run"] is None and report["last_run"] is None
    assert (report["kept"], report["dropped"], report["dropped_by_reason"]) == (None, None, None)
    assert report["next_scheduled_run"] == "2026-11-24T03:00:00+00:00"
    text = format_report(report)
    assert re.search(r"runs\s+0, last successful never", text)
    assert re.search(r"kept\s+not cleaned yet", text)
    assert "dropped" not in text and "last run" not in text


def test_report_after_ingest_before_clean(storage: Storage, registry: SourceRegistry) -> None:
    ingest_source(storage, registry.get(SAMPLE))
    report = partner_report(storage, registry, SAMPLE, now=NOW)
    assert (report["runs"], report["fetched"], report["quarantined"], report["kept"]) == (1, 20, 5, None)
    assert report["last_run"]["documents"] == 15


def test_suspended_source_has_no_next_run_and_shows_why(
    storage: Storage, registry: SourceRegistry, processed: dict[str, Any]
) -> None:
    registry.set_status(SAMPLE, "suspended", reason="Partner onderzoekt een datalek", actor="dpo")
    report = partner_report(storage, registry, SAMPLE, now=NOW)
    assert report["status"] == "suspended"
    assert report["in_releases"] is False
    assert report["next_scheduled_run"] is None
    assert report["runs"] == 2 and report["kept"] == 15  # what happened before stays reported
    assert [e["action"] for e in report["registration"]] == ["created", "status:approved", "status:suspended"]
    text = format_report(report)
    assert re.search(r"next run\s+not scheduled\s+\(cron 0 3 \* \* \*\)", text)
    assert "(not released until approved)" in text
    assert "status:suspended by dpo — Partner onderzoekt een datalek" in text


def test_unscheduled_source(storage: Storage, tmp_path: Path) -> None:
    data = yaml.safe_load((bundled_sources_dir() / f"{SAMPLE}.yaml").read_text(encoding="utf-8"))
    data["schedule"] = None  # fetched by hand only
    data["location"] = SourceRegistry.from_env({}).get(SAMPLE).location
    spec_file = tmp_path / "bron.yaml"
    spec_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    registry = SourceRegistry([], storage)
    assert registry.register(spec_file)[0].schedule is None
    report = partner_report(storage, registry, SAMPLE, now=NOW)
    assert (report["schedule"], report["next_scheduled_run"]) == (None, None)
    assert re.search(r"next run\s+not scheduled$", format_report(report), re.MULTILINE)


def test_report_of_an_unknown_source(storage: Storage, registry: SourceRegistry) -> None:
    with pytest.raises(UnknownSourceError, match="onbekende-bron"):
        partner_report(storage, registry, "onbekende-bron", now=NOW)


def test_the_markdown_report_has_the_text_reports_lines_as_a_table():
    from stages.report import format_report, format_report_markdown

    report = {
        "source_id": "krant", "name": "De Krant", "owner": "Uitgever", "kind": "rss", "status": "approved",
        "in_releases": True, "licence": "CC-BY-4.0", "runs": 2, "last_successful_run": None,
        "next_scheduled_run": None, "schedule": None, "fetched": 3, "documents_by_fetch_mode": {"record": 3},
        "quarantined": 0, "quarantined_by_reason": {}, "kept": 3, "dropped": 0, "dropped_by_reason": {},
        "languages": {"nl": 3}, "excluded_documents": "clean/krant/excluded.parquet", "in_latest_releases": [],
        "last_run": None, "registration": [],
    }  # fmt: skip
    markdown = format_report_markdown(report).splitlines()
    assert markdown[:2] == ["| | |", "|---|---|"]
    assert len(markdown) == 2 + len(format_report(report).splitlines())
    assert "| **source** | krant — De Krant |" in markdown and "| **kept** | 3 |" in markdown


def test_drops_and_quarantine_have_three_example_references_each_and_no_text(
    storage: Storage, registry: SourceRegistry, processed: dict[str, Any]
) -> None:
    from catalog.quality_settings import QualitySettings
    from catalog.zones import clean_excluded_path, clean_report_path, quarantine_path
    from quality.gate import QualityGate

    # every sample document is too short for this gate: one reason with 15 drops
    gate = QualityGate(QualitySettings(min_doc_words=5_000), languages=["nl", "en"])
    clean = clean_source(storage, SAMPLE, gate=gate)
    report = partner_report(storage, registry, SAMPLE, now=NOW)
    excluded = {row["doc_id"]: row for row in read_table(storage, clean_excluded_path(SAMPLE)).to_pylist()}
    dropped = {reason: n for reason, n in report["dropped_by_reason"].items() if n}
    assert sum(dropped.values()) == 15 and max(dropped.values()) >= 4
    assert set(report["dropped_examples"]) == set(dropped)
    for reason, ids in report["dropped_examples"].items():
        assert len(ids) == min(3, dropped[reason])
        assert all(excluded[doc_id]["excluded_reason"] == reason for doc_id in ids)

    # quarantined input has no document id: the run and the row of its quarantine file
    assert set(report["quarantined_examples"]) == set(QUARANTINED_BY_REASON)
    for reason, refs in report["quarantined_examples"].items():
        (ref,) = refs  # one record per reason in the sample
        ingest_id, row = ref.rsplit(":", 1)
        assert read_table(storage, quarantine_path(SAMPLE, ingest_id)).to_pylist()[int(row)]["reason"] == reason

    text = format_report(report)
    for reason, ids in report["dropped_examples"].items():
        assert f"drop ids        {reason}: {', '.join(ids)}" in text.splitlines()
    assert any(line.startswith("quarantine ids  empty_text: ") for line in text.splitlines())
    for row in excluded.values():
        for output in (text, json.dumps(report, ensure_ascii=False)):
            assert row["text"][:40] not in output and row["native_id"] not in output

    # a clean report from before the examples were recorded: the same ids, read from the excluded file
    storage.write_json(clean_report_path(SAMPLE), {k: v for k, v in clean.items() if k != "dropped_examples"})
    assert partner_report(storage, registry, SAMPLE, now=NOW)["dropped_examples"] == report["dropped_examples"]
