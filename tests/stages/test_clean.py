from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq
import pytest

from catalog.documents import DOCUMENT_SCHEMA, EXCLUDED_SCHEMA, content_sha256, make_doc_id
from catalog.storage import Storage, StorageError
from catalog.zones import (
    batch_path,
    clean_batches_folder,
    clean_decisions_path,
    clean_excluded_path,
    clean_furniture_path,
    clean_normalised_batch_path,
    clean_path,
    clean_prepared_batch_path,
    clean_report_path,
    ingest_report_path,
    run_report_path,
)
from quality.normalise import normalise_text
from stages.clean import DEDUP_REASONS, clean_source
from stages.ingest import committed_ingests
from tests.texts import DUTCH_ARTICLE as ARTICLE

Ingested = Callable[..., dict[str, Any]]
SOURCE = "test-bron"


def table(storage: Storage, rel: str):
    with storage.open_input(rel) as handle:
        return pq.read_table(handle)


def kept_rows(storage: Storage) -> list[dict[str, Any]]:
    return table(storage, clean_path(SOURCE)).to_pylist()


def excluded_rows(storage: Storage) -> list[dict[str, Any]]:
    return table(storage, clean_excluded_path(SOURCE)).to_pylist()


def test_superseded_record_last_delivery_wins(storage: Storage, ingested: Ingested) -> None:
    ingested(
        [
            {"id": "1", "text": "Eerste versie van het bericht."},
            {"id": "2", "text": "Een ander bericht."},
            {"id": "1", "text": "Gecorrigeerde versie van het bericht."},
        ]
    )
    report = clean_source(storage, SOURCE)
    kept = kept_rows(storage)
    assert [(r["native_id"], r["text"]) for r in kept] == [
        ("2", "Een ander bericht."),
        ("1", "Gecorrigeerde versie van het bericht."),
    ]
    (dropped,) = excluded_rows(storage)
    assert dropped["native_id"] == "1"
    assert dropped["text"] == "Eerste versie van het bericht."
    assert dropped["excluded_stage"] == "clean"
    assert dropped["excluded_reason"] == "superseded_record"
    assert dropped["duplicate_of"] == make_doc_id(SOURCE, "1")
    assert dropped["annotations"]["raw"]["record"] == "line 1"
    assert report["dropped_by_reason"] == {"superseded_record": 1, "duplicate_content": 0}
    assert report["kept"] == 2


def test_duplicate_content_within_a_source(storage: Storage, ingested: Ingested) -> None:
    ingested(
        [
            {"id": "a", "text": "Cafe\u0301 De Zon\r\nopent weer."},  # NFD + CRLF
            {"id": "b", "text": "Ander nieuws."},
            {"id": "c", "text": "  Caf\u00e9 De Zon\nopent\u00a0weer.\n"},  # NFC + LF: the same text
            {"id": "d", "text": "Caf\u00e9 De Zon opent weer."},  # one line: a different text
        ]
    )
    report = clean_source(storage, SOURCE)
    assert [r["native_id"] for r in kept_rows(storage)] == ["a", "b", "d"]
    (dropped,) = excluded_rows(storage)
    assert dropped["native_id"] == "c"
    assert dropped["excluded_reason"] == "duplicate_content"
    assert dropped["duplicate_of"] == make_doc_id(SOURCE, "a")
    assert dropped["text"] == "Caf\u00e9 De Zon\nopent weer."  # excluded documents are normalised too
    assert dropped["content_sha256"] == content_sha256("Caf\u00e9 De Zon\nopent weer.")
    assert report["dropped_by_reason"] == {"superseded_record": 0, "duplicate_content": 1}


def test_duplicate_content_keeps_the_earliest_published(storage: Storage, ingested: Ingested) -> None:
    ingested(
        [
            {"id": "laat", "text": "Zelfde tekst.", "published_at": "2026-06-01"},
            {"id": "zonder-datum", "text": "Zelfde tekst."},
            {"id": "vroeg", "text": "Zelfde tekst.", "published_at": "2026-01-01"},
        ]
    )
    clean_source(storage, SOURCE)
    assert [r["native_id"] for r in kept_rows(storage)] == ["vroeg"]
    excluded = {r["native_id"]: r["duplicate_of"] for r in excluded_rows(storage)}
    assert excluded == {"laat": make_doc_id(SOURCE, "vroeg"), "zonder-datum": make_doc_id(SOURCE, "vroeg")}


def test_superseded_and_duplicate_together(storage: Storage, ingested: Ingested) -> None:
    ingested(
        [
            {"id": "1", "text": "Oud."},
            {"id": "2", "text": "Nieuw."},
            {"id": "1", "text": "Nieuw."},  # replaces id 1 and then duplicates id 2's text
        ]
    )
    report = clean_source(storage, SOURCE)
    assert [r["native_id"] for r in kept_rows(storage)] == ["2"]
    reasons = sorted((r["text"], r["excluded_reason"]) for r in excluded_rows(storage))
    assert reasons == [("Nieuw.", "duplicate_content"), ("Oud.", "superseded_record")]
    assert report["dropped"] == 2
    assert report["accounting_balanced"] is True


def test_excluded_file_schema(storage: Storage, ingested: Ingested) -> None:
    ingested([{"id": "1", "text": "x"}, {"id": "1", "text": "y"}, {"id": "2", "text": "y"}])
    clean_source(storage, SOURCE)
    excluded = table(storage, clean_excluded_path(SOURCE))
    assert excluded.schema.equals(EXCLUDED_SCHEMA, check_metadata=False)
    assert excluded.schema.names[-3:] == ["excluded_stage", "excluded_reason", "duplicate_of"]
    rows = excluded.to_pylist()
    assert {r["excluded_reason"] for r in rows} <= set(DEDUP_REASONS)
    assert all(r["excluded_stage"] == "clean" and r["duplicate_of"] for r in rows)


def test_report_accounting_and_zone_files(storage: Storage, ingested: Ingested) -> None:
    ingest = ingested(
        [
            {"id": "1", "text": "Tekst  een.\r\n"},
            {"id": "2", "text": "Tekst twee."},
            {"id": "1", "text": "Tekst een, herzien."},
            {"id": "3", "text": "Tekst twee."},
            b"{kapot",
            {"id": "4"},
        ]
    )
    report = clean_source(storage, SOURCE)
    assert report["source_id"] == SOURCE
    assert report["ingest_id"] == ingest["ingest_id"]
    assert report["ingested_at"] == ingest["ingested_at"]
    assert report["licence"] == "CC-BY-4.0"
    assert report["records_read"] == 6
    assert report["input_documents"] == 4
    assert report["kept"] == 2
    assert report["dropped"] == 2
    assert report["quarantined"] == 2
    assert report["quarantined_by_reason"] == {"malformed_json": 1, "missing_text": 1}
    assert report["kept"] + report["dropped"] + report["quarantined"] == report["records_read"]
    assert report["accounting_balanced"] is True
    assert report["text_changed_by_normalisation"] == 1
    assert report["clean_bytes"] == storage.size(clean_path(SOURCE))
    assert storage.read_json(clean_report_path(SOURCE)) == report
    # the drops are not anonymised yet: they stay in the restricted clean zone, never in excluded/; so does the
    # cache of the normalised batches (text)
    assert storage.ls(f"clean/{SOURCE}") == [
        "batches", "clean.json", "documents.parquet", "excluded.parquet", "furniture.parquet"
    ]  # fmt: skip
    assert storage.ls(clean_batches_folder(SOURCE)) == [
        f"{ingest['ingest_id']}.normalised.parquet", f"{ingest['ingest_id']}.prepared.parquet"
    ]  # fmt: skip
    assert storage.ls("excluded") == []


def test_clean_documents_are_normalised_and_annotated(storage: Storage, ingested: Ingested) -> None:
    ingest = ingested(
        [
            {"id": "1", "text": "  Cafe\u0301\r\n\r\n\r\nDe Zon  ", "published_at": "2026-07-01T12:00:00"},
            {"id": "2", "text": "Al schoon."},
        ]
    )
    report = clean_source(storage, SOURCE)
    clean = table(storage, clean_path(SOURCE))
    assert clean.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
    first, second = clean.to_pylist()
    assert first["text"] == "Caf\u00e9\n\nDe Zon"
    assert first["content_sha256"] == content_sha256(first["text"])
    assert first["published_at"] == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert first["annotations"]["clean"] == {
        "code_version": report["code_version"],
        "text_changed": True,
        "chars_before": len("  Cafe\u0301\r\n\r\n\r\nDe Zon  "),
        "chars_after": len("Caf\u00e9\n\nDe Zon"),
        "lang_score": None,  # no quality gate in this run
        "quality": None,
    }
    assert first["annotations"]["raw"]["ingest_id"] == ingest["ingest_id"]
    assert second["annotations"]["clean"]["text_changed"] is False
    raw = {r["doc_id"]: r for r in table(storage, batch_path(SOURCE, ingest["ingest_id"])).to_pylist()}
    for row in (first, second):
        before = raw[row["doc_id"]]
        for column in ("source_id", "native_id", "url", "title", "published_at", "fetched_at", "licence"):
            assert row[column] == before[column], column
        assert row["content_sha256"] == before["content_sha256"]  # ingest already hashed the normalised text
        assert normalise_text(row["text"]) == row["text"]


def test_clean_with_no_documents(storage: Storage, ingested: Ingested) -> None:
    ingested([b"[1, 2]", {"id": "x", "text": " "}])
    report = clean_source(storage, SOURCE)
    assert (report["kept"], report["dropped"], report["quarantined"]) == (0, 0, 2)
    assert report["accounting_balanced"] is True
    assert table(storage, clean_path(SOURCE)).num_rows == 0
    assert table(storage, clean_excluded_path(SOURCE)).num_rows == 0


def test_recleaning_is_deterministic(storage: Storage, ingested: Ingested) -> None:
    ingested([{"id": str(n % 4), "text": f"tekst {n % 3}"} for n in range(12)])
    clean_source(storage, SOURCE)
    first = (kept_rows(storage), excluded_rows(storage))
    clean_source(storage, SOURCE)
    second = (kept_rows(storage), excluded_rows(storage))

    def strip(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(r["doc_id"], r["text"], r.get("excluded_reason"), r.get("duplicate_of")) for r in rows]

    assert strip(first[0]) == strip(second[0])
    assert strip(first[1]) == strip(second[1])


def test_decisions_apply_across_many_batches(storage: Storage, ingested: Ingested) -> None:
    # More rows than one Parquet batch (2,000), so the drop decisions are routed across batch boundaries.
    records = []
    for n in range(4_500):
        native_id = f"id-{n % 4_000}"  # ids 0..499 are delivered twice: the second delivery wins
        text = f"Bericht {n % 3_001}" + ("\r\n" if n % 2 else "")  # equal after normalisation
        records.append({"id": native_id, "text": text})
    ingested(records)
    report = clean_source(storage, SOURCE)

    latest = {}
    for row, record in enumerate(records):
        latest[record["id"]] = row
    expected_kept, seen = [], set()
    for row in sorted(latest.values()):
        key = normalise_text(records[row]["text"])
        if key not in seen:
            seen.add(key)
            expected_kept.append(records[row]["id"])

    assert [r["native_id"] for r in kept_rows(storage)] == expected_kept
    excluded = excluded_rows(storage)
    superseded = len(records) - len(latest)
    assert report["dropped_by_reason"] == {
        "superseded_record": superseded,
        "duplicate_content": len(latest) - len(expected_kept),
    }
    assert len(excluded) == report["dropped"] == len(records) - len(expected_kept)
    assert report["accounting_balanced"] is True
    kept_by_hash = {r["content_sha256"]: r["doc_id"] for r in kept_rows(storage)}
    for row in excluded:
        if row["excluded_reason"] == "duplicate_content":
            assert row["duplicate_of"] == kept_by_hash[row["content_sha256"]]
        else:
            assert row["duplicate_of"] == row["doc_id"]


def test_missing_raw_batch_raises(storage: Storage) -> None:
    with pytest.raises(StorageError, match="onbekende-bron has no committed raw batch"):
        clean_source(storage, "onbekende-bron")
    assert not storage.exists("clean")


def test_raw_batch_without_its_run_report_is_not_trusted(storage: Storage, ingested: Ingested) -> None:
    ingest = ingested([{"id": "1", "text": "x"}])
    storage.delete(run_report_path(SOURCE, ingest["ingest_id"]))
    assert storage.exists(batch_path(SOURCE, ingest["ingest_id"]))
    assert storage.exists(ingest_report_path(SOURCE))  # the copy of the newest report is not a commit
    with pytest.raises(StorageError, match=SOURCE):
        clean_source(storage, SOURCE)
    assert not storage.exists(clean_report_path(SOURCE))


def test_uncommitted_batch_next_to_committed_ones_is_ignored(storage: Storage, ingested: Ingested) -> None:
    ingest = ingested([{"id": "1", "text": "Gecommitteerd."}])
    # a batch left behind by a run that crashed before its report (e.g. copied by hand, or an S3 leftover)
    storage.write_bytes(
        batch_path(SOURCE, "29991231T235959000000Z-kapot"), storage.read_bytes(batch_path(SOURCE, ingest["ingest_id"]))
    )
    report = clean_source(storage, SOURCE)
    assert (report["ingests"], report["input_documents"], report["kept"], report["dropped"]) == (1, 1, 1, 0)
    assert report["ingest_id"] == ingest["ingest_id"]


# -- several ingest runs ---------------------------------------------------------------------------


def test_clean_reads_every_committed_batch_cumulatively(storage: Storage, ingested: Ingested) -> None:
    first = ingested(
        [
            {"id": "1", "text": "Eerste versie."},
            {"id": "2", "text": "Blijft staan."},
            b"{kapot",
        ]
    )
    second = ingested(
        [
            {"id": "1", "text": "Tweede versie."},
            {"id": "2", "text": "Blijft staan."},
            {"id": "3", "text": "Blijft staan."},
            {"id": "4"},
        ]
    )
    assert [i["ingest_id"] for i in committed_ingests(storage, SOURCE)] == [first["ingest_id"], second["ingest_id"]]
    report = clean_source(storage, SOURCE)
    assert report["ingests"] == 2
    assert report["ingest_id"] == second["ingest_id"]
    assert report["ingested_at"] == second["ingested_at"]
    assert report["records_read"] == first["records_read"] + second["records_read"] == 7
    assert report["input_documents"] == first["documents"] + second["documents"] == 5
    assert report["quarantined_by_reason"] == {"malformed_json": 1, "missing_text": 1}
    assert report["dropped_by_reason"] == {"superseded_record": 2, "duplicate_content": 1}
    assert report["kept"] == 2
    assert report["kept"] + report["dropped"] + report["quarantined"] == report["records_read"]
    assert report["accounting_balanced"] is True
    kept = kept_rows(storage)
    assert [(r["native_id"], r["text"]) for r in kept] == [("1", "Tweede versie."), ("2", "Blijft staan.")]
    assert {r["annotations"]["raw"]["ingest_id"] for r in kept} == {second["ingest_id"]}
    reasons = sorted(
        (r["native_id"], r["excluded_reason"], r["annotations"]["raw"]["ingest_id"]) for r in excluded_rows(storage)
    )
    assert reasons == [
        ("1", "superseded_record", first["ingest_id"]),
        ("2", "superseded_record", first["ingest_id"]),
        ("3", "duplicate_content", second["ingest_id"]),
    ]


def test_quality_gate_drops_with_reasons_and_annotates_what_it_keeps(storage: Storage, ingested: Ingested) -> None:
    from quality.gate import QualityGate

    english = "The city council decided that the new bridge over the canal will be built next year, he said."
    ingested(
        [
            {"id": "nl", "text": ARTICLE},
            {"id": "en", "text": english},
            # real sentences, but as lines without a full stop: a list or a menu, not running text
            {"id": "junk", "text": ARTICLE.replace("Groningen", "Assen").replace(". ", "\n").rstrip(".")},
            {"id": "copy", "text": ARTICLE + "\n"},  # passes the gate, then is an exact duplicate
        ]
    )
    report = clean_source(storage, SOURCE, gate=QualityGate(languages=["nl"]))

    (kept,) = kept_rows(storage)
    assert kept["native_id"] == "nl" and kept["lang"] == "nl"
    clean = kept["annotations"]["clean"]
    assert clean["lang_score"] > 0.9
    stats = dict(clean["quality"])
    assert stats["words"] > 50 and 0 < stats["avg_word_length"] < 10 and stats["stop_words"] >= 2

    excluded = {row["native_id"]: row for row in excluded_rows(storage)}
    assert {k: (v["excluded_reason"], v["lang"]) for k, v in excluded.items()} == {
        "en": ("unexpected_language", "en"),
        "junk": ("line_punct_ratio", "nl"),
        "copy": ("duplicate_content", "nl"),
    }
    assert excluded["junk"]["annotations"]["clean"]["quality"] is not None  # reviewable: why it was dropped
    assert report["dropped_by_reason"] == {
        "superseded_record": 0, "duplicate_content": 1, "line_punct_ratio": 1, "unexpected_language": 1
    }  # fmt: skip
    assert report["dropped_by_filter"] == {"deduplication": 1, "fineweb_quality": 1, "language": 1}
    assert report["languages"] == {"nl": 3, "en": 1}
    assert report["quality_gate"] is True
    assert report["quality_profile"] == "web"  # the partner report names the profile that decided
    assert report["accounting_balanced"] and report["kept"] + report["dropped"] == 4


def test_news_boilerplate_lines_are_stripped_before_hashing_and_judging(storage: Storage, ingested: Ingested) -> None:
    from catalog.quality_settings import QualitySettings
    from quality.gate import QualityGate

    furniture = "Lees ook: Nieuwe brug over het Reitdiep\n\nDeel dit artikel\nFoto: ANP"
    ingested(
        [{"id": "1", "text": f"{ARTICLE}\n{furniture}"}, {"id": "2", "text": ARTICLE.replace("Groningen", "Zwolle")}]
    )
    report = clean_source(storage, SOURCE, gate=QualityGate(languages=["nl"]))
    first, second = kept_rows(storage)
    assert first["text"] == ARTICLE
    assert first["content_sha256"] == content_sha256(ARTICLE)
    assert first["annotations"]["clean"]["text_changed"] is True
    assert dict(first["annotations"]["clean"]["quality"])["boilerplate_lines"] == 3
    assert dict(second["annotations"]["clean"]["quality"])["boilerplate_lines"] == 0
    assert report["boilerplate_lines_removed"] == 3

    # a source can keep its lines as delivered
    clean_source(storage, SOURCE, gate=QualityGate(QualitySettings(strip_boilerplate=False), languages=["nl"]))
    assert kept_rows(storage)[0]["text"].endswith("Foto: ANP")


BYLINE = "Door onze verslaggever"
PROMPT = "Word abonnee voor € 1 en lees onbeperkt verder."
ONCE = "Deze regel staat maar in één bericht."


def test_furniture_lines_of_the_source_are_removed_before_judging(storage: Storage, ingested: Ingested) -> None:
    from catalog.quality_settings import QualitySettings
    from catalog.zones import clean_furniture_path
    from quality.furniture import line_sha256
    from quality.gate import QualityGate

    def body(n: int) -> str:
        return f"Bericht {n}: de gemeente opent in week {n} een nieuwe brug over het kanaal."

    records = [{"id": str(n), "text": f"{BYLINE}\n\n{body(n)}\n\n{PROMPT}"} for n in range(30)]
    records[7]["text"] += f"\n{ONCE}"
    ingested(records)
    gate = QualityGate(QualitySettings(enabled=False), languages=["nl"])  # keep all: only the lines matter here
    report = clean_source(storage, SOURCE, gate=gate)

    kept = kept_rows(storage)
    assert [row["text"] for row in kept] == [body(n) + (f"\n\n{ONCE}" if n == 7 else "") for n in range(30)]
    first = kept[0]
    assert first["content_sha256"] == content_sha256(first["text"])
    assert first["annotations"]["clean"]["text_changed"] is True
    assert first["annotations"]["clean"]["chars_after"] == len(first["text"])
    assert dict(first["annotations"]["clean"]["quality"])["furniture_lines"] == 2
    assert report["furniture_lines_removed"] == 60
    assert report["furniture_documents_affected"] == 30
    assert report["furniture_lines_found"] == 2
    assert report["furniture_min_documents"] == 5
    assert report["furniture"] == sorted(
        [
            {"line_sha256": line_sha256(BYLINE), "documents": 30, "chars": len(BYLINE)},
            {"line_sha256": line_sha256(PROMPT), "documents": 30, "chars": len(PROMPT)},
        ],
        key=lambda line: line["line_sha256"],
    )
    assert report["text_changed_by_normalisation"] == 30
    # the lines' text (a byline can name a journalist) only in the restricted review file, never in the report
    assert BYLINE not in json.dumps(report, ensure_ascii=False) and "abonnee" not in json.dumps(report)
    review = table(storage, clean_furniture_path(SOURCE)).to_pylist()
    assert sorted(row["text"] for row in review) == sorted([BYLINE, PROMPT])

    # a source can keep its lines as delivered
    settings = QualitySettings(enabled=False, strip_furniture=False)
    report = clean_source(storage, SOURCE, gate=QualityGate(settings, languages=["nl"]))
    assert kept_rows(storage)[0]["text"].startswith(BYLINE)
    assert report["furniture_lines_removed"] == report["furniture_lines_found"] == 0
    assert table(storage, clean_furniture_path(SOURCE)).num_rows == 0


def test_lines_below_the_thresholds_stay(storage: Storage, ingested: Ingested) -> None:
    from catalog.quality_settings import QualitySettings
    from quality.gate import QualityGate

    # the byline is in 4 of 30 documents (under 5), the prompt in 20 (over 5 but under a 70% share)
    records = [
        {"id": str(n), "text": "\n".join([BYLINE] * (n < 4) + [f"Bericht nummer {n}."] + [PROMPT] * (n < 20))}
        for n in range(30)
    ]
    ingested(records)
    settings = QualitySettings(enabled=False, furniture_min_share=0.7)
    report = clean_source(storage, SOURCE, gate=QualityGate(settings, languages=["nl"]))
    assert report["furniture_lines_removed"] == 0 and report["furniture_min_documents"] == 21  # 70% of 30
    assert [row["text"] for row in kept_rows(storage)] == [normalise_text(r["text"]) for r in records]


def test_the_report_names_three_example_ids_per_drop_reason(storage: Storage, ingested: Ingested) -> None:
    ingested([{"id": str(n), "text": "Hetzelfde bericht."} for n in range(5)] + [{"id": "6", "text": "Ander."}])
    report = clean_source(storage, SOURCE)
    reasons = {row["doc_id"]: row["excluded_reason"] for row in excluded_rows(storage)}
    assert report["dropped_by_reason"]["duplicate_content"] == 4
    (examples,) = report["dropped_examples"].values()
    assert len(examples) == 3 and all(reasons[doc_id] == "duplicate_content" for doc_id in examples)


def test_clean_with_a_gate_and_no_documents(storage: Storage, ingested: Ingested) -> None:
    from quality.gate import QualityGate

    ingested([b"[1, 2]", {"id": "x", "text": " "}])
    report = clean_source(storage, SOURCE, gate=QualityGate(languages=["nl"]))
    assert (report["kept"], report["dropped"], report["quarantined"]) == (0, 0, 2)
    assert report["documents_normalised"] == report["documents_assessed"] == 0
    assert table(storage, clean_path(SOURCE)).num_rows == 0


# -- cached batches: normalised, stripped and digested once per raw batch ----------------------------------

#: Report fields that say how a run went, not what the zone holds.
HOW_IT_WENT = (
    "seconds_by_step", "duration_s", "documents_assessed", "documents_reused", "reassessed_reason",
    "documents_normalised", "documents_normalised_reused", "normalised_reasons",
    "documents_stripped", "documents_stripped_reused", "stripped_reasons",
)  # fmt: skip


def clean_zone(storage: Storage) -> dict[str, Any]:
    """Every file of the source's clean zone row for row, and what its report says the zone holds."""
    files = {
        name: table(storage, f"clean/{SOURCE}/{name}.parquet").to_pylist()
        for name in ("documents", "excluded", "furniture")
    }
    # one row per distinct gate input; DuckDB writes them in no particular order
    files["decisions"] = table(storage, clean_decisions_path(SOURCE)).sort_by("gate_input").to_pylist()
    report = storage.read_json(clean_report_path(SOURCE))
    return {**files, "report": {name: value for name, value in report.items() if name not in HOW_IT_WENT}}


def assert_same_from_scratch(storage: Storage, gate: Any) -> None:
    """Clean again with no cache and no earlier decisions: every file must be the same, row for row."""
    cached = clean_zone(storage)
    storage.delete(clean_batches_folder(SOURCE), recursive=True)
    storage.delete(clean_decisions_path(SOURCE))
    scratch = clean_source(storage, SOURCE, gate=gate)
    assert scratch["documents_normalised_reused"] == scratch["documents_reused"] == 0
    assert clean_zone(storage) == cached


@pytest.fixture
def gate() -> Any:
    from quality.gate import QualityGate

    return QualityGate(languages=["nl"])


def test_a_rerun_normalises_only_the_new_batch(storage: Storage, ingested: Ingested, gate: Any) -> None:
    from tests.stages.test_clean_incremental import article, delivery

    records = delivery()
    first = ingested(records)
    report = clean_source(storage, SOURCE, gate=gate)
    assert (report["documents_normalised"], report["documents_normalised_reused"]) == (27, 0)
    assert (report["documents_stripped"], report["documents_stripped_reused"]) == (27, 0)
    assert report["normalised_reasons"] == report["stripped_reasons"] == {"not cached": 1}

    second = ingested([{"id": "nieuw", "text": article(40)}, {"id": "a3", "text": article(3) + "\nGecorrigeerd."}])
    report = clean_source(storage, SOURCE, gate=gate)

    assert (report["documents_normalised"], report["documents_normalised_reused"]) == (2, 27)
    assert (report["documents_stripped"], report["documents_stripped_reused"]) == (2, 27)
    assert report["normalised_reasons"] == report["stripped_reasons"] == {"not cached": 1}
    assert report["documents_assessed"] == 2
    assert report["input_documents"] == 29 and report["dropped_by_reason"]["superseded_record"] == 1
    assert storage.ls(clean_batches_folder(SOURCE)) == sorted(
        f"{ingest['ingest_id']}.{kind}.parquet" for ingest in (first, second) for kind in ("normalised", "prepared")
    )
    # the cached batches carry no code version: the documents get this run's
    assert {row["annotations"]["clean"]["code_version"] for row in kept_rows(storage)} == {report["code_version"]}

    again = clean_source(storage, SOURCE, gate=gate)
    assert (again["documents_normalised"], again["documents_normalised_reused"]) == (0, 29)
    assert (again["documents_stripped"], again["documents_stripped_reused"]) == (0, 29)
    assert again["normalised_reasons"] == again["stripped_reasons"] == {}
    assert_same_from_scratch(storage, gate)


def test_a_batch_no_longer_committed_leaves_the_cache(storage: Storage, ingested: Ingested, gate: Any) -> None:
    from tests.stages.test_clean_incremental import article

    first = ingested([{"id": "1", "text": article(1)}])
    second = ingested([{"id": "2", "text": article(2)}])
    clean_source(storage, SOURCE, gate=gate)
    storage.delete(run_report_path(SOURCE, second["ingest_id"]))  # as if that run had never committed

    report = clean_source(storage, SOURCE, gate=gate)

    assert report["input_documents"] == 1 and report["documents_normalised"] == 0
    assert storage.ls(clean_batches_folder(SOURCE)) == [
        f"{first['ingest_id']}.normalised.parquet", f"{first['ingest_id']}.prepared.parquet"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"strip_boilerplate": False}, "boilerplate settings changed"),
        ({"furniture_max_line_chars": 100}, "furniture line length changed"),
        (None, "the normaliser's code changed"),
    ],
)
def test_changed_cleaner_settings_or_code_normalise_again(
    storage: Storage,
    ingested: Ingested,
    gate: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, Any] | None,
    reason: str,
) -> None:
    from catalog.quality_settings import QualitySettings
    from quality.gate import QualityGate
    from stages import clean as clean_stage
    from tests.stages.test_clean_incremental import delivery

    ingested(delivery())
    clean_source(storage, SOURCE, gate=gate)
    changed = gate
    if settings is None:
        monkeypatch.setattr(clean_stage, "normaliser_version", lambda: "a-later-normaliser")
    else:
        changed = QualityGate(QualitySettings(**settings), languages=["nl"])

    report = clean_source(storage, SOURCE, gate=changed)

    assert report["documents_normalised"] == 27 and report["normalised_reasons"] == {reason: 1}
    assert report["stripped_reasons"] == {reason: 1}
    if settings is None:
        assert report["documents_assessed"] == 0  # the same texts: the gate's decisions still hold
    assert clean_source(storage, SOURCE, gate=changed)["documents_normalised"] == 0  # and then it is reused
    assert_same_from_scratch(storage, changed)


def test_furniture_found_with_a_new_batch_leaves_the_old_documents_too(
    storage: Storage, ingested: Ingested, gate: Any
) -> None:
    from tests.stages.test_clean_incremental import PROMPT, article, delivery

    ingested(delivery())  # four documents carry the prompt: under the threshold of five
    first = clean_source(storage, SOURCE, gate=gate)
    assert first["furniture_lines_found"] == 0

    ingested([{"id": "nieuw", "text": f"{article(30)}\n{PROMPT}"}])  # a new batch with the fifth
    report = clean_source(storage, SOURCE, gate=gate)

    assert report["furniture_lines_found"] == 1 and report["furniture_documents_affected"] == 5
    # the old batch is not normalised again, only stripped again: its own furniture lines changed
    assert (report["documents_normalised"], report["documents_normalised_reused"]) == (1, 27)
    assert report["stripped_reasons"] == {"not cached": 1, "the batch's furniture lines changed": 1}
    assert report["documents_assessed"] == 4 + 1  # the four old ones lost a line: a new gate input
    assert not any(PROMPT in row["text"] for row in kept_rows(storage))
    assert [row["text"] for row in table(storage, clean_furniture_path(SOURCE)).to_pylist()] == [PROMPT]
    assert_same_from_scratch(storage, gate)


def test_a_corrupted_or_foreign_cached_batch_is_made_again(storage: Storage, ingested: Ingested, gate: Any) -> None:
    from tests.stages.test_clean_incremental import article, delivery

    first = ingested(delivery())
    second = ingested([{"id": "nieuw", "text": article(40)}])
    clean_source(storage, SOURCE, gate=gate)
    expected = clean_zone(storage)
    old, new = first["ingest_id"], second["ingest_id"]
    normalised = storage.read_bytes(clean_normalised_batch_path(SOURCE, old))
    storage.write_bytes(clean_normalised_batch_path(SOURCE, old), normalised[: len(normalised) // 2])  # truncated
    # another batch's prepared file under this batch's name: its footer names the other raw batch
    storage.write_bytes(
        clean_prepared_batch_path(SOURCE, new), storage.read_bytes(clean_prepared_batch_path(SOURCE, old))
    )

    report = clean_source(storage, SOURCE, gate=gate)

    assert report["normalised_reasons"] == {"unreadable": 1}
    assert report["stripped_reasons"] == {"cached from another raw batch": 1}
    assert (report["documents_normalised"], report["documents_stripped"]) == (27, 1)
    assert clean_zone(storage) == expected
    assert_same_from_scratch(storage, gate)
