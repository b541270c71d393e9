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
