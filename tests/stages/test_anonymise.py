"""The anonymisation stage over a real storage zone, and the residual scan that guards it."""

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anonymisation.anonymiser import Anonymiser
from anonymisation.checksums import bsn_valid
from anonymisation.operators import AnonymisationKeyError
from catalog.documents import DOCUMENT_SCHEMA, make_doc_id
from catalog.sources import AnonymisationPolicy
from catalog.storage import Storage
from catalog.zones import anonymised_path, anonymised_report_path, clean_path
from stages.anonymise import anonymise_source, residual_scan
from stages.clean import clean_source
from stages.ingest import ingest_source
from tests.catalog.conftest import TEST_KEY

RECORDS = [
    {"id": "1", "text": "Mevrouw Jansen (BSN 111222333) mailt naar jansen@example.nl of belt 06-12345678."},
    {"id": "2", "text": "Het weer blijft de hele week zonnig en droog."},
    {"id": "3", "text": "Stort het bedrag op NL91 ABNA 0417 1643 00 onder vermelding van uw naam."},
]
ORIGINALS = ["111222333", "jansen@example.nl", "06-12345678", "NL91 ABNA 0417 1643 00", "Jansen"]


def _run(storage: Storage, make_spec, **policy):
    spec = make_spec(RECORDS, source_id="bron-a", **({"anonymisation": policy} if policy else {}))
    ingest_source(storage, spec)
    clean = clean_source(storage, "bron-a")
    anonymiser = Anonymiser.from_policy(spec.anonymisation, TEST_KEY)
    return anonymise_source(storage, "bron-a", anonymiser, operator=spec.anonymisation.operator, clean_report=clean)


def test_every_document_comes_out_with_counts_and_offsets_and_no_original_values(storage, make_spec):
    report = _run(storage, make_spec)
    assert report["documents_in"] == report["documents_out"] == 3
    assert report["documents_with_personal_data"] == 2
    assert report["replacements_by_entity"] == {
        "EMAIL_ADDRESS": 1, "IBAN_CODE": 1, "NL_BSN": 1, "PERSON": 1, "PHONE_NUMBER": 1,
    }  # fmt: skip
    native_ids = {make_doc_id("bron-a", r["id"]): r["id"] for r in RECORDS}  # native ids are pseudonymised
    table = pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()
    rows = {native_ids[r["doc_id"]]: r for r in table}
    for row in rows.values():
        assert not any(original in row["text"] for original in ORIGINALS)
    first = rows["1"]
    annotation = first["annotations"]["anonymised"]
    assert annotation["operator"] == "surrogate"
    assert dict(annotation["entities"]) == {"PERSON": 1, "NL_BSN": 1, "EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
    # offsets point at the surrogates in the new text; a surrogate BSN passes the 11-proef
    spans = {r["entity"]: first["text"][r["start"] : r["end"]] for r in annotation["replacements"]}
    assert bsn_valid(spans["NL_BSN"]) and "@" in spans["EMAIL_ADDRESS"]
    assert rows["2"]["annotations"]["anonymised"]["replacements"] == []
    assert rows["1"]["annotations"]["raw"]["ingest_id"] == report["ingest_id"]
    # surrogates look valid on purpose, and the scan knows them by their recorded offsets
    scan = residual_scan(storage, "bron-a")
    assert scan["residuals"] == 0 and scan["documents"] == 3


def test_the_residual_scan_reports_identifiers_a_policy_left_in_without_their_values(storage, make_spec):
    _run(storage, make_spec, entities=["PERSON", "EMAIL_ADDRESS"])  # BSN, phone and IBAN left in
    scan = residual_scan(storage, "bron-a")
    assert scan["by_entity"] == {
        "EMAIL_ADDRESS": 0, "IBAN_CODE": 1, "NL_BSN": 1, "PHONE_NUMBER": 1, "CREDIT_CARD": 0,
    }  # fmt: skip
    assert scan["residuals"] == 3
    assert {e["entity"] for e in scan["examples"]} == {"IBAN_CODE", "NL_BSN", "PHONE_NUMBER"}
    assert not any(original in repr(scan) for original in ORIGINALS)


def test_placeholder_policy_is_applied_and_counted(storage, make_spec):
    spec = make_spec(RECORDS, source_id="bron-a", anonymisation={"operator": "placeholder"})
    ingest_source(storage, spec)
    clean = clean_source(storage, "bron-a")
    # the key is needed all the same: ids, URLs and metadata get keyed pseudonyms
    report = anonymise_source(
        storage,
        "bron-a",
        Anonymiser.from_policy(spec.anonymisation, TEST_KEY),
        operator="placeholder",
        clean_report=clean,
    )
    texts = [r["text"] for r in pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()]
    assert "<BSN>" in texts[0] and "<PERSOON>" in texts[0]
    assert report["operator"] == "placeholder" and report["replacements"] == 5


# --- every string column that reaches a release (issue 11, item 1) ---------------------------------------

EMAIL_ID = "jan.jansen@example.nl"
BSN = "111222333"  # passes the 11-proef
IBAN = "NL91ABNA0417164300"
URL_WITH_IDS = f"https://krant.example/artikel/123?bsn={BSN}&iban={IBAN}"
FIELD_RECORDS = [
    {"id": EMAIL_ID, "url": URL_WITH_IDS, "text": "Het weer blijft de hele week zonnig en droog."},
    {"id": "2", "title": "De Vries wint prijs", "text": "De jury koos Pieter de Vries uit Assen als winnaar."},
]


def _zone_as_text(storage: Storage) -> str:
    """Every column of the anonymised zone, annotations included, as one text."""
    rows = pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()
    return json.dumps(rows, default=str, ensure_ascii=False)


def _field_run(storage: Storage, make_spec, records=FIELD_RECORDS):
    # short test texts: the quality gate would drop them
    spec = make_spec(records, source_id="bron-a", quality={"enabled": False})
    ingest_source(storage, spec)
    clean = clean_source(storage, "bron-a")
    anonymiser = Anonymiser.from_policy(spec.anonymisation, TEST_KEY)
    return anonymise_source(storage, "bron-a", anonymiser, operator=spec.anonymisation.operator, clean_report=clean)


def test_identifiers_in_native_id_and_url_never_reach_the_anonymised_zone(storage, make_spec):
    report = _field_run(storage, make_spec)
    zone = _zone_as_text(storage)
    for original in (EMAIL_ID, BSN, IBAN, "jan.jansen"):
        assert original not in zone
    rows = {r["doc_id"]: r for r in pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()}
    row = rows[make_doc_id("bron-a", EMAIL_ID)]  # doc_id is the identity computed at ingest: unchanged
    assert row["native_id"].startswith("id-") and len(row["native_id"]) == 3 + 32
    # scheme, host and path kept; every query value a keyed token under its own name
    assert row["url"].startswith("https://krant.example/artikel/123?bsn=")
    assert "&iban=" in row["url"]
    fields = dict(row["annotations"]["anonymised"]["fields_pseudonymised"])
    assert fields["native_id"] == 1 and fields["url"] == 2
    assert report["fields_pseudonymised"]["native_id"] == 2  # every document, by default
    assert report["fields_pseudonymised"]["url"] == 1


def test_pseudonyms_are_deterministic_for_the_key(storage, make_spec, tmp_path):
    _field_run(storage, make_spec)
    first = pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()
    other = Storage(str(tmp_path / "other-store"))
    _field_run(other, make_spec)
    second = pq.read_table(other.url(anonymised_path("bron-a"))).to_pylist()
    assert [(r["native_id"], r["url"]) for r in first] == [(r["native_id"], r["url"]) for r in second]


def test_a_name_in_the_title_is_replaced_consistently_with_the_text(storage, make_spec):
    # The title alone says only "De Vries": a name only from the text's context (a surname seen in a
    # full name is a name in later mentions), so title and text must be one document.
    _field_run(storage, make_spec)
    rows = {r["doc_id"]: r for r in pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()}
    row = rows[make_doc_id("bron-a", "2")]
    assert "Vries" not in row["title"] and "Vries" not in row["text"]
    annotation = row["annotations"]["anonymised"]
    (title_span,) = annotation["title_replacements"]
    surrogate = row["title"][title_span["start"] : title_span["end"]]
    assert surrogate.casefold() in row["text"].casefold()  # the same surrogate surname as in the text


def _old_stage_zone(storage: Storage) -> None:
    """What the old stage wrote for these records: native_id, url and metadata copied unchanged."""
    with storage.open_input(clean_path("bron-a")) as handle:
        table = pq.read_table(handle)
    storage.write_bytes(anonymised_path("bron-a"), _parquet_bytes(table))


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def test_the_residual_scan_reads_every_released_string_field_and_names_it(storage, make_spec):
    records = [{"id": EMAIL_ID, "url": URL_WITH_IDS, "text": "Het weer blijft de hele week zonnig en droog."}]
    spec = make_spec(records, source_id="bron-a", quality={"enabled": False})
    ingest_source(storage, spec)
    clean = clean_source(storage, "bron-a")
    _old_stage_zone(storage)
    scan = residual_scan(storage, "bron-a")
    found = {(e["field"], e["entity"]) for e in scan["examples"]}
    assert {("native_id", "EMAIL_ADDRESS"), ("url", "NL_BSN"), ("url", "IBAN_CODE")} <= found
    assert scan["residuals"] >= 3 and scan["by_field"]["url"] >= 2
    assert not any(original in repr(scan) for original in (EMAIL_ID, BSN, IBAN))
    # the new stage leaves nothing for it to find
    anonymiser = Anonymiser.from_policy(spec.anonymisation, TEST_KEY)
    anonymise_source(storage, "bron-a", anonymiser, operator="surrogate", clean_report=clean)
    assert residual_scan(storage, "bron-a")["residuals"] == 0


CLEAN_REPORT = {
    "ingest_id": "20260101T000000Z-test",
    "ingested_at": "2026-01-01T00:00:00+00:00",
    "licence": "EUPL-1.2",
    "code_version": "test",
}


def _clean_zone(storage: Storage, rows: list[dict]) -> None:
    """Write a clean zone directly: connectors with source metadata need servers; the stage needs only rows."""
    full = []
    for n, row in enumerate(rows):
        native_id = row.get("native_id", f"doc-{n}")
        raw = {"ingest_id": CLEAN_REPORT["ingest_id"], "location": "https://archief.example/oai", "record": "item 1"}
        raw |= row.get("raw", {})
        full.append(
            {
                "doc_id": make_doc_id("bron-a", native_id),
                "source_id": "bron-a",
                "native_id": native_id,
                "url": row.get("url"),
                "title": row.get("title"),
                "text": row["text"],
                "lang": "nl",
                "published_at": None,
                "fetched_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                "licence": "EUPL-1.2",
                "content_sha256": "0" * 64,
                "annotations": {"raw": raw, "clean": None, "anonymised": None},
            }
        )
    storage.write_bytes(clean_path("bron-a"), _parquet_bytes(pa.Table.from_pylist(full, schema=DOCUMENT_SCHEMA)))


def _anonymise_clean_zone(storage: Storage, **policy) -> list[dict]:
    anonymiser = Anonymiser.from_policy(AnonymisationPolicy(**policy), TEST_KEY)
    anonymise_source(storage, "bron-a", anonymiser, operator="surrogate", clean_report=CLEAN_REPORT)
    return pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()


OAI_ID = "oai:archief.example:krant-1897-042"
METADATA = {
    "oai_identifier": OAI_ID,
    "datestamp": "2026-01-01",
    "creator": "Jansen, J.",
    "rights": "Vragen: redactie.jansen@example.nl",
    "publisher": "Provinciale Courant",
}


def test_source_metadata_and_record_are_anonymised_with_keys_kept_and_valid_json(storage):
    _clean_zone(
        storage,
        [
            {
                "native_id": OAI_ID,
                "text": "Een verslag van de gemeenteraad over de nieuwe brug.",
                "raw": {"record": f"record {OAI_ID}", "source_metadata": json.dumps(METADATA, sort_keys=True)},
            }
        ],
    )
    (row,) = _anonymise_clean_zone(storage)
    raw = row["annotations"]["raw"]
    metadata = json.loads(raw["source_metadata"])
    assert sorted(metadata) == sorted(METADATA)
    zone = _zone_as_text(storage)
    for original in ("Jansen", "redactie.jansen@example.nl", OAI_ID):
        assert original not in zone
    assert metadata["datestamp"] == "2026-01-01" and metadata["publisher"] == "Provinciale Courant"
    assert metadata["oai_identifier"] == row["native_id"]  # the same id, the same pseudonym
    assert raw["record"] == f"record {row['native_id']}"
    assert dict(row["annotations"]["anonymised"]["fields_pseudonymised"])["source_metadata"] >= 3
    assert residual_scan(storage, "bron-a")["residuals"] == 0


def test_keep_if_clean_keeps_public_identifiers_and_still_pseudonymises_others(storage):
    metadata = json.dumps({"oai_identifier": OAI_ID}, sort_keys=True)
    _clean_zone(
        storage,
        [
            {"native_id": OAI_ID, "text": "Een verslag over de brug.", "raw": {"source_metadata": metadata}},
            {"native_id": EMAIL_ID, "text": "Een verslag over de sluis."},
        ],
    )
    rows = _anonymise_clean_zone(storage, native_id="keep-if-clean")
    assert rows[0]["native_id"] == OAI_ID
    assert json.loads(rows[0]["annotations"]["raw"]["source_metadata"])["oai_identifier"] == OAI_ID
    assert rows[1]["native_id"].startswith("id-")
    assert EMAIL_ID not in _zone_as_text(storage)
    assert residual_scan(storage, "bron-a")["residuals"] == 0


def test_url_path_segments_naming_a_replaced_person_are_replaced_and_the_shape_kept(storage):
    _clean_zone(
        storage,
        [
            {
                "native_id": "artikel-7",
                "url": "https://user:pw@Krant.Example:8443/nieuws/pieter-de-vries-wint.html?utm_source=rss#reacties",
                "text": "De jury koos Pieter de Vries uit Assen als winnaar van de prijs.",
            }
        ],
    )
    (row,) = _anonymise_clean_zone(storage)
    url = row["url"]
    assert url.startswith("https://krant.example:8443/nieuws/") and url.endswith(".html?utm_source=" + url[-17:])
    assert "vries" not in url and "user" not in url and "#" not in url
    assert url.split("?")[0].count("/") == "https://k/nieuws/x".count("/")


def test_the_stage_fails_clearly_without_the_key(storage, make_spec):
    spec = make_spec(RECORDS, source_id="bron-a", anonymisation={"operator": "placeholder"})
    ingest_source(storage, spec)
    clean = clean_source(storage, "bron-a")
    with pytest.raises(AnonymisationKeyError, match="CORPUSFABRIEK_ANONYMISATION_KEY"):
        anonymise_source(
            storage, "bron-a", Anonymiser(operator="placeholder"), operator="placeholder", clean_report=clean
        )


def test_places_and_organisations_are_replaced_only_where_the_policy_lists_them(storage):
    text = "Jan Jansen werkt bij Philips in Eindhoven en woont in Utrecht."
    _clean_zone(storage, [{"text": text}])
    (default,) = _anonymise_clean_zone(storage)
    assert "Philips" in default["text"] and "Eindhoven" in default["text"] and "Jansen" not in default["text"]
    (asked,) = _anonymise_clean_zone(storage, entities=["PERSON", "LOCATION", "ORGANIZATION"], operator="placeholder")
    assert asked["text"] == "<PERSOON> werkt bij <ORGANISATIE> in <LOCATIE> en woont in <LOCATIE>."
    report = storage.read_json(anonymised_report_path("bron-a"))
    assert report["replacements_by_entity"] == {"LOCATION": 2, "ORGANIZATION": 1, "PERSON": 1}


def test_the_residual_scan_on_shard_workers_finds_what_one_process_finds(storage, make_spec, monkeypatch):
    from stages import anonymise
    from stages.executors import ProcessExecutor
    from tests.stages.test_clean_shards import worker_env

    _run(storage, make_spec, entities=["PERSON", "EMAIL_ADDRESS"])  # BSN, phone and IBAN left in
    # 60 documents in 12 row groups: the three of the run, each 20 times under another id
    table = pq.read_table(storage.url(anonymised_path("bron-a")))
    ids = table["doc_id"].to_pylist()
    copies = [table.set_column(0, "doc_id", pa.array([f"{d}-{n}" for d in ids])) for n in range(20)]
    with storage.staged_file(anonymised_path("bron-a")) as local:
        pq.write_table(pa.concat_tables(copies), local, row_group_size=5)
    monkeypatch.setattr(anonymise, "RESIDUAL_SHARD_MIN_DOCUMENTS", 10)
    one = residual_scan(storage, "bron-a")
    sharded = residual_scan(storage, "bron-a", executor=ProcessExecutor(workers=2, env=worker_env()))
    assert one["residuals"] == 60 and one["documents"] == 60
    assert sharded == one
    assert storage.ls(anonymise.anonymise_shards_folder("bron-a")) == []  # the shards' results are removed
