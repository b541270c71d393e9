"""The policy-driven anonymiser: operators per entity, names kept, counts, offsets into the original."""

import pytest

from anonymisation.anonymiser import Anonymiser, make_operator
from anonymisation.engine import Finding
from catalog.sources import AnonymisationPolicy

KEY = b"test-key-0123456789abcdef"
TEXT = "Bel 06-12345678 of maak over naar NL08 ABNA 0417 2639 58, BSN 264183757."


def test_surrogates_replace_every_structured_value_and_report_offsets_into_the_original():
    result = Anonymiser(key=KEY).anonymise(TEXT)
    for original in ("06-12345678", "NL08 ABNA 0417 2639 58", "264183757"):
        assert original not in result.text
    spans = {(f.entity, TEXT[f.start : f.end]) for f in result.findings}
    assert ("PHONE_NUMBER", "06-12345678") in spans
    assert ("IBAN_CODE", "NL08 ABNA 0417 2639 58") in spans
    assert ("NL_BSN", "264183757") in spans
    assert result.replaced == {"PHONE_NUMBER": 1, "IBAN_CODE": 1, "NL_BSN": 1}


def test_deterministic_for_a_key_and_different_for_another():
    assert Anonymiser(key=KEY).anonymise(TEXT).text == Anonymiser(key=KEY).anonymise(TEXT).text
    assert Anonymiser(key=KEY).anonymise(TEXT).text != Anonymiser(key=b"another-key-0123456789").anonymise(TEXT).text


def test_per_entity_operators_and_entity_selection():
    policy = AnonymisationPolicy(
        operator="surrogate", operators={"NL_BSN": "placeholder"}, entities=["NL_BSN", "PHONE_NUMBER"]
    )
    result = Anonymiser.from_policy(policy, KEY).anonymise(TEXT)
    assert "<BSN>" in result.text
    assert "NL08 ABNA 0417 2639 58" in result.text  # IBAN is not in this policy's entities
    assert "06-12345678" not in result.text


def test_placeholder_needs_no_key_but_surrogate_and_hash_do():
    assert Anonymiser(operator="placeholder").anonymise("Bel 06-12345678.").text == "Bel <TELEFOONNUMMER>."
    for name in ("surrogate", "hash"):
        with pytest.raises(ValueError, match="secret key"):
            make_operator(name, None)


def test_kept_names_are_left_and_counted(monkeypatch):
    import anonymisation.anonymiser as module

    text = "Minister Mark Rutte sprak met Jan de Vries."

    def fake_analyse(text, analyzer=None, *, entities=None):
        return [Finding("PERSON", 9, 19, 0.9), Finding("PERSON", 30, 42, 0.9)]

    monkeypatch.setattr(module, "analyse", fake_analyse)
    result = Anonymiser(operator="placeholder", keep_names=["mark  rutte"]).anonymise(text)
    assert result.text == "Minister Mark Rutte sprak met <PERSOON>."
    assert result.kept == {"PERSON": 1} and result.replaced == {"PERSON": 1}


def test_parts_of_one_document_share_context_and_surrogates():
    anonymiser = Anonymiser(key=KEY)
    title, text = anonymiser.anonymise_parts(
        ["De Vries wint prijs", "De jury koos Pieter de Vries uit Assen. Mail p.devries@example.nl."]
    ).parts
    assert title.replaced == {"PERSON": 1}  # found only through the text's full name
    (_entity, start, end) = title.replacements[0]
    assert title.text[start:end].casefold() in text.text.casefold()
    # offsets are per part: into each part's original and anonymised text
    assert all(0 <= f.start < f.end <= len("De Vries wint prijs") for f in title.findings)
    assert text.text[text.replacements[-1][1] : text.replacements[-1][2]].count("@") == 1


def test_field_parts_get_tokens_for_identifiers_and_echo_values_replaced_elsewhere():
    anonymiser = Anonymiser(key=KEY)
    result = anonymiser.anonymise_parts(
        ["", "Mail p.devries@example.nl of bel Pieter de Vries.", "contact: p.devries@example.nl", "pieter-de-vries"],
        fields=[2, 3],
    )
    body, field, slug_part = result.parts[1], result.parts[2], result.parts[3]
    assert "@" in body.text  # a surrogate address in the text, with its offsets recorded
    assert field.text.startswith("contact: <EMAIL:x") and field.replacements == [("EMAIL_ADDRESS", 9, len(field.text))]
    assert "vries" not in slug_part.text.lower()  # echoed: replaced in the text, so replaced here too
    assert result.values.occurs_in("/nieuws/pieter-de-vries-wint")


def test_forced_findings_count_only_for_entities_the_policy_replaces():
    forced = [(0, Finding("PERSON", 0, 6, 1.0))]
    assert Anonymiser(key=KEY).anonymise_parts(["Jansen, J."], forced=forced).parts[0].replaced == {"PERSON": 1}
    only_bsn = Anonymiser(key=KEY, entities=["NL_BSN"])
    assert only_bsn.anonymise_parts(["Jansen, J."], forced=forced).parts[0].text == "Jansen, J."


def test_native_id_policy_is_validated():
    assert Anonymiser.from_policy(AnonymisationPolicy(native_id="keep-if-clean"), KEY).native_id == "keep-if-clean"
    with pytest.raises(ValueError, match="native_id"):
        Anonymiser(key=KEY, native_id="keep")
