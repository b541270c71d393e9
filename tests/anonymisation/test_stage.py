"""The anonymisation stage over a real storage zone, and the residual scan that guards it."""

import pyarrow.parquet as pq

from anonymisation.anonymiser import Anonymiser
from anonymisation.checksums import bsn_valid
from anonymisation.stage import anonymise_source, anonymised_path, residual_scan
from catalog.ingest import ingest_source
from catalog.storage import Storage
from quality.clean import clean_source
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
    rows = {r["native_id"]: r for r in pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()}
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


def test_placeholder_policy_needs_no_key_and_is_counted(storage, make_spec):
    spec = make_spec(RECORDS, source_id="bron-a", anonymisation={"operator": "placeholder"})
    ingest_source(storage, spec)
    clean = clean_source(storage, "bron-a")
    report = anonymise_source(
        storage, "bron-a", Anonymiser.from_policy(spec.anonymisation, None), operator="placeholder", clean_report=clean
    )
    texts = [r["text"] for r in pq.read_table(storage.url(anonymised_path("bron-a"))).to_pylist()]
    assert "<BSN>" in texts[0] and "<PERSOON>" in texts[0]
    assert report["operator"] == "placeholder" and report["replacements"] == 5
