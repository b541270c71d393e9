"""Every string field of a document: ids, URLs, locations, records and source metadata next to title and text."""

import json
import re

import pytest

from anonymisation.anonymiser import Anonymiser
from anonymisation.document import DocumentAnonymiser, DocumentFields
from anonymisation.operators import AnonymisationKeyError
from anonymisation.pseudonyms import IdPseudonymiser

KEY = b"test-key-0123456789abcdef"
OAI_ID = "oai:kb.nl:ddd:krant-1897-042"  # holds a domain name, which is not personal
PSEUDONYM = re.compile(r"id-[0-9a-f]{32}")


def _documents(**options) -> DocumentAnonymiser:
    return DocumentAnonymiser(Anonymiser(key=KEY, **options))


def test_metadata_values_are_anonymised_with_keys_kept_and_names_consistent_with_the_text():
    metadata = {
        "creator": "Jansen, J.; Koninklijke Bibliotheek",
        "rights": "Vragen: redactie.jansen@example.nl of 06-12345678",
        "publisher": "Provinciale Courant",
        "datestamp": "2026-01-01",
        "oai_identifier": OAI_ID,
        "feed_url": "https://krant.example/rss?token=geheim",
        "warc_file": "crawl/111222333.warc.gz",
    }
    done = _documents().anonymise(
        DocumentFields(
            native_id=OAI_ID,
            text="Burgemeester Piet Jansen opende de brug. Jansen was tevreden.",
            record=f"record {OAI_ID}",
            source_metadata=json.dumps(metadata),
        )
    )
    new = json.loads(done.fields.source_metadata)
    assert sorted(new) == sorted(metadata)
    surname = re.search(r"Burgemeester \S+ (\S+) opende", done.fields.text).group(1)
    assert new["creator"].startswith(surname + ", ")  # the text's surrogate for Jansen
    assert new["creator"].endswith("; Koninklijke Bibliotheek")  # an institution is no person
    assert "jansen" not in new["rights"].lower() and "12345678" not in new["rights"]
    assert new["rights"].startswith("Vragen: <EMAIL:x")  # tokens: no offsets are kept for metadata
    assert (new["publisher"], new["datestamp"]) == ("Provinciale Courant", "2026-01-01")
    assert new["oai_identifier"] == done.fields.native_id and PSEUDONYM.fullmatch(done.fields.native_id)
    assert done.fields.record == f"record {done.fields.native_id}"
    assert new["feed_url"].startswith("https://krant.example/rss?token=x") and "geheim" not in new["feed_url"]
    assert new["warc_file"].startswith("crawl/x") and new["warc_file"].endswith(".gz")
    assert done.pseudonymised["native_id"] == 1 and done.pseudonymised["record"] == 1
    assert done.pseudonymised["source_metadata"] >= 6
    assert done.field_entities["EMAIL_ADDRESS"] == 1 and done.field_entities["PHONE_NUMBER"] == 1


def test_metadata_that_is_not_a_json_object_is_still_anonymised_and_becomes_valid_json():
    done = _documents().anonymise(
        DocumentFields(native_id="1", text="Tekst.", source_metadata="mail jan.jansen@example.nl")
    )
    assert "jan.jansen" not in done.fields.source_metadata
    assert isinstance(json.loads(done.fields.source_metadata), dict)
    nested = json.dumps({"subjects": ["weer", "bel 06-12345678"], "n": 3, "leeg": None})
    done = _documents().anonymise(DocumentFields("1", "Tekst.", source_metadata=nested))
    new = json.loads(done.fields.source_metadata)
    assert new["subjects"][0] == "weer" and "12345678" not in new["subjects"][1] and new["n"] == 3


def test_every_id_is_pseudonymised_by_default_the_same_id_the_same_pseudonym():
    documents = _documents()
    first = documents.anonymise(DocumentFields("ECLI:NL:HR:2020:1", "Tekst."))
    again = documents.anonymise(DocumentFields("ECLI:NL:HR:2020:1", "Andere tekst."))
    assert first.fields.native_id == again.fields.native_id == IdPseudonymiser(KEY).pseudonymise("ECLI:NL:HR:2020:1")


@pytest.mark.parametrize(
    ("native_id", "kept"),
    [
        ("ECLI:NL:HR:2020:1234", True),
        (OAI_ID, True),
        ("jan.jansen@example.nl", False),
        ("https://krant.example/artikel/1", False),  # a URL id: its url column carries the pseudonymised form
        ("artikel-pieter-de-vries", False),  # names the person replaced in the text
    ],
)
def test_keep_if_clean_keeps_only_ids_in_which_nothing_identifying_is_found(native_id, kept):
    done = _documents(native_id="keep-if-clean").anonymise(
        DocumentFields(native_id, "De jury koos Pieter de Vries uit Assen.", url=f"https://r.example/d?id={native_id}")
    )
    assert (done.fields.native_id == native_id) is kept
    if kept:  # the public id stays in the URL too
        assert done.fields.url == f"https://r.example/d?id={native_id}"
    else:
        assert PSEUDONYM.fullmatch(done.fields.native_id)


def test_title_and_text_are_one_document_with_offsets_per_field():
    done = _documents().anonymise(
        DocumentFields("1", "De jury koos Pieter de Vries uit Assen.", title="De Vries wint prijs")
    )
    title, text = done.fields.title, done.fields.text
    assert "Vries" not in title and "Vries" not in text
    (span,) = done.title.replacements
    surrogate = title[span[1] : span[2]]
    assert surrogate.casefold() in text.casefold()
    assert next(text[s:e] for _, s, e in done.text.replacements).endswith(surrogate.split()[-1])


def test_a_record_or_location_that_is_a_url_is_pseudonymised_as_a_url():
    done = _documents().anonymise(
        DocumentFields(
            "1",
            "Tekst.",
            location="https://archief.example/oai?verb=GetRecord&identifier=jan.jansen%40example.nl",
            record="https://archief.example/item/111222333",
        )
    )
    assert "jansen" not in done.fields.location and done.fields.location.startswith(
        "https://archief.example/oai?verb=x"
    )
    assert done.fields.record.startswith("https://archief.example/item/x") and "111222333" not in done.fields.record


def test_the_document_anonymiser_needs_the_key():
    with pytest.raises(AnonymisationKeyError, match="CORPUSFABRIEK_ANONYMISATION_KEY"):
        DocumentAnonymiser(Anonymiser(operator="placeholder"))
