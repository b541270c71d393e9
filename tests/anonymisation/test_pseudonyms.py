"""Keyed pseudonyms for ids, URLs and metadata values: deterministic, shape-keeping, never identifier-like."""

import re

import pytest

from anonymisation.engine import analyse
from anonymisation.pseudonyms import (
    IdPseudonymiser,
    KeyedToken,
    ReplacedValues,
    TokenOperator,
    UrlPseudonymiser,
    slug,
    spaced,
)
from stages.anonymise import RESIDUAL_ENTITIES, residual_analyzer

KEY = b"test-key-0123456789abcdef"
OTHER_KEY = b"another-key-0123456789"
BSN = "111222333"  # passes the 11-proef
IBAN = "NL91ABNA0417164300"


@pytest.fixture(scope="module")
def urls() -> UrlPseudonymiser:
    return UrlPseudonymiser(KEY)


def test_tokens_and_ids_are_deterministic_for_the_key_and_differ_per_key_and_use():
    token = KeyedToken(KEY, namespace="a")
    assert token.token("waarde") == KeyedToken(KEY, namespace="a").token("waarde")
    assert token.token("waarde") != KeyedToken(OTHER_KEY, namespace="a").token("waarde")
    assert token.token("waarde") != KeyedToken(KEY, namespace="b").token("waarde")
    assert re.fullmatch(r"x[0-9a-f]{16}", token.token("waarde"))
    pseudonym = IdPseudonymiser(KEY).pseudonymise("jan.jansen@example.nl")
    assert re.fullmatch(r"id-[0-9a-f]{32}", pseudonym)
    assert pseudonym == IdPseudonymiser(KEY).pseudonymise("jan.jansen@example.nl")
    assert "key" not in repr(IdPseudonymiser(KEY)).replace("key=<hidden>", "")


def test_no_token_or_pseudonym_reads_as_an_identifier_to_the_residual_scan():
    # Hex digits could form a BSN, phone or card number; the leading letter and the hex letters around
    # every digit run keep them apart. Checked on many tokens at once, in the places where they stand.
    tokens, ids = KeyedToken(KEY, namespace="t"), IdPseudonymiser(KEY)
    operator = TokenOperator(KEY)
    values = [str(n) for n in range(1500)]
    text = "https://k.example/p?" + "&".join(f"q={tokens.token(v)}" for v in values)
    text += "\n" + " ".join(ids.pseudonymise(v) for v in values)
    text += "\n" + " ".join(operator.replace("NL_BSN", v) for v in values)
    engine = residual_analyzer()
    for variant in (text, spaced(text)):
        assert engine.analyze(text=variant, language="nl", entities=list(RESIDUAL_ENTITIES)) == []


def test_token_operator_labels_values_and_normalises_notation():
    operator = TokenOperator(KEY)
    assert operator.replace("EMAIL_ADDRESS", "a@b.nl").startswith("<EMAIL:x")
    assert operator.replace("IBAN_CODE", "NL91 ABNA 0417 1643 00") == operator.replace("IBAN_CODE", IBAN)


def test_url_keeps_scheme_host_port_and_replaces_every_query_value_under_its_name(urls):
    done = urls.pseudonymise(f"https://jan:geheim@Krant.Example:8443/artikel/123?bsn={BSN}&iban={IBAN}&leeg=#reactie")
    token = KeyedToken(KEY, namespace="url-query").token
    assert done.text == f"https://krant.example:8443/artikel/123?bsn={token(BSN)}&iban={token(IBAN)}&leeg="
    assert done.replaced == 4  # user info, fragment, two values
    assert urls.pseudonymise("https://k.example/a?12345").text == f"https://k.example/a?{token('12345')}"


def test_path_segments_holding_an_identifier_are_replaced_and_the_shape_kept(urls):
    url = f"https://k.example/klant/{BSN}/mail/jan.jansen%40example.nl/bel-06-12345678.html/overzicht/"
    done = urls.pseudonymise(url)
    segments = done.text.removeprefix("https://k.example").split("/")
    assert len(segments) == len(url.removeprefix("https://k.example").split("/"))
    assert segments[1] == "klant" and segments[3] == "mail" and segments[6] == "overzicht" and segments[7] == ""
    assert re.fullmatch(r"x[0-9a-f]{16}", segments[2])
    assert re.fullmatch(r"x[0-9a-f]{16}\.nl", segments[4])
    assert re.fullmatch(r"x[0-9a-f]{16}\.html", segments[5])  # found with separators read as spaces
    assert done.replaced == 3
    for original in (BSN, "jansen", "12345678"):
        assert original not in done.text


def test_path_segments_naming_a_value_replaced_in_the_text_are_replaced(urls):
    values = ReplacedValues([("PERSON", "Pieter de Vries"), ("EMAIL_ADDRESS", "p.devries@example.nl")])
    done = urls.pseudonymise("https://k.example/nieuws/pieter-de-vries-wint/De_Vries/brug-open", values)
    segments = done.text.split("/")
    assert segments[3] == "nieuws" and segments[6] == "brug-open"
    assert "vries" not in done.text.lower() and done.replaced == 2
    assert urls.pseudonymise("https://k.example/nieuws/brug-open", values).replaced == 0


def test_a_path_without_scheme_is_read_as_a_path_and_kept_values_stay(urls):
    done = urls.pseudonymise(f"/data/drop/{BSN}.jsonl")
    assert done.text.startswith("/data/drop/x") and done.text.endswith(".jsonl") and BSN not in done.text
    kept = urls.pseudonymise("https://r.example/details?id=ECLI:NL:HR:2020:1", keep={"ECLI:NL:HR:2020:1"})
    assert kept.text == "https://r.example/details?id=ECLI:NL:HR:2020:1" and kept.replaced == 0


def test_url_pseudonyms_are_deterministic_for_the_key(urls):
    url = f"https://k.example/{BSN}?bsn={BSN}"
    assert urls.pseudonymise(url) == UrlPseudonymiser(KEY).pseudonymise(url)
    assert urls.pseudonymise(url).text != UrlPseudonymiser(OTHER_KEY).pseudonymise(url).text


def test_replaced_values_match_across_notations_without_handing_values_out():
    values = ReplacedValues([("PERSON", "José de Vries"), ("PHONE_NUMBER", "06-12345678")])
    assert values.occurs_in("jose-de-vries") and values.occurs_in("De_Vries")
    assert not values.occurs_in("bel 0612345678")  # a different notation of the digits is another value
    assert values.occurs_in("bel-06-12345678")
    assert not values.occurs_in("devriesland")  # whole words only
    text = "Auteur: DE VRIES; zie ook de vriesland"
    assert [(e, text[s:t]) for e, s, t in values.spans(text)] == [("PERSON", "DE VRIES")]
    assert "Vries" not in repr(values)
    assert slug("Ångström-Straat_12") == "angstrom straat 12"


def test_url_findings_cost_no_name_engine_and_match_the_full_analyzer_on_structured_values(urls):
    # the URL pseudonymiser uses only the structured recognizers; whatever the full analyzer finds of
    # those types in a slug, it finds too
    slug_text = "contact/jan.jansen@example.nl/111222333"
    structured = {f.entity for f in analyse(slug_text) if f.entity != "URL"}
    assert structured and urls.pseudonymise("https://k.example/" + slug_text).replaced == 2
