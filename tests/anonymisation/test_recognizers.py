"""Dutch recognizers, run through a real Presidio AnalyzerEngine that is built and used offline."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest
import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import SpacyNlpEngine

from anonymisation.checksums import bsn_valid, iban_valid
from anonymisation.engine import default_entities
from anonymisation.recognizers import (
    DutchPatternRecognizer,
    NlAddressRecognizer,
    NlBsnRecognizer,
    NlDateOfBirthRecognizer,
    NlKvkRecognizer,
    dutch_recognizers,
    offline_tld_extractor,
)

ENTITIES = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "IP_ADDRESS", "URL", "CREDIT_CARD", "NL_BSN", "NL_POSTCODE",
    "NL_ADDRESS", "NL_LICENSE_PLATE", "NL_KVK", "NL_BTW", "DATE_OF_BIRTH", "PERSON",
}  # fmt: skip


def _refuse_network(*_args, **_kwargs):
    raise AssertionError("network access attempted")


@pytest.fixture(scope="session")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnalyzerEngine]:
    """An AnalyzerEngine with only the Dutch recognizers and a blank Dutch spaCy pipeline from disk.

    Built with every socket connect refused: a download attempt (spaCy model, public suffix list)
    fails the tests instead of hanging or silently succeeding.
    """
    model_dir = tmp_path_factory.mktemp("spacy_blank_nl")
    spacy.blank("nl").to_disk(model_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse_network)
        registry = RecognizerRegistry(supported_languages=["nl"])
        for recognizer in dutch_recognizers():
            registry.add_recognizer(recognizer)
        nlp_engine = SpacyNlpEngine(models=[{"lang_code": "nl", "model_name": str(model_dir)}])
        engine = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["nl"])
        engine.analyze("warm-up: j.devries@voorbeeld.nl", language="nl")  # loads the bundled suffix list
    # Yielded after the patch is undone: a session fixture must not leave sockets blocked for other tests.
    yield engine


def found(analyzer: AnalyzerEngine, text: str, entity: str | None = None) -> list[str]:
    """Return the matched substrings (of one entity type, if given) in text order."""
    results = analyzer.analyze(text, language="nl", entities=[entity] if entity else default_entities(analyzer))
    return [text[r.start : r.end] for r in sorted(results, key=lambda r: r.start)]


def scored(analyzer: AnalyzerEngine, text: str, entity: str) -> dict[str, float]:
    """Return matched substring -> score for one entity type."""
    return {text[r.start : r.end]: r.score for r in analyzer.analyze(text, language="nl", entities=[entity])}


def test_one_recognizer_per_entity_all_for_dutch():
    recognizers = dutch_recognizers()
    names = [entity for r in recognizers for entity in r.supported_entities]
    assert sorted(names) == sorted(ENTITIES | {"LOCATION", "ORGANIZATION"})  # those two only when asked
    assert {r.supported_language for r in recognizers} == {"nl"}


def test_email_lookup_is_offline(analyzer: AnalyzerEngine, monkeypatch: pytest.MonkeyPatch):
    offline_tld_extractor.cache_clear()
    monkeypatch.setattr(socket.socket, "connect", _refuse_network)
    assert found(analyzer, "Mail naar j.devries@voorbeeld.nl.", "EMAIL_ADDRESS") == ["j.devries@voorbeeld.nl"]


# --- e-mail, URL, IP ---------------------------------------------------------------------------------


def test_email(analyzer):
    text = (
        "Contact: j.de-vries+nieuwsbrief@voorbeeld.nl of (info@bedrijf.co.uk), t.deboer@gemeente-groningen.example; "
        "niet: jan@localhost, x@y.qqqq, @twitteraccount."
    )
    assert found(analyzer, text, "EMAIL_ADDRESS") == [
        "j.de-vries+nieuwsbrief@voorbeeld.nl",
        "info@bedrijf.co.uk",
        "t.deboer@gemeente-groningen.example",  # reserved suffix, as in the sample data
    ]


def test_url_positive(analyzer):
    text = "Zie https://www.voorbeeld.nl/pad?x=1, www.gemeente.nl en nu.nl. Of ftp://files.example.org/a."
    assert found(analyzer, text, "URL") == [
        "https://www.voorbeeld.nl/pad?x=1",
        "www.gemeente.nl",
        "nu.nl",
        "ftp://files.example.org/a",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "j.devries@voorbeeld.nl",
        "Mail j.devries@voorbeeld.nl of info@www.bedrijf.nl.",
        "Stuur het naar info.nl@bedrijf.nl",
        "Het rapport.pdf staat o.a. in map 3.1, bijv. hier.",
    ],
)
def test_url_silent_inside_email_addresses_and_on_file_names(analyzer, text):
    assert found(analyzer, text, "URL") == []


def test_ip_addresses(analyzer):
    text = "Server 192.168.1.10 en 2001:db8::8a2e:370:7334 en ::1; niet 999.1.1.1, 12:30:45 of 00:1a:2b:3c:4d:5e."
    assert found(analyzer, text, "IP_ADDRESS") == ["192.168.1.10", "2001:db8::8a2e:370:7334", "::1"]


# --- phone -------------------------------------------------------------------------------------------

PHONES = [
    "+31 6 12345678",
    "0031 6 12345678",
    "+31 (0)20 123 4567",
    "+31612345678",
    "06-12345678",
    "06 1234 5678",
    "06 - 12 34 56 78",
    "0612345678",
    "050-1234567",
    "020 123 4567",
    "(020) 1234567",
    "0513-123456",
    "0800-1234",
    "0900 1234567",
]


@pytest.mark.parametrize("phone", PHONES)
def test_dutch_phone_formats(analyzer, phone):
    assert found(analyzer, f"Bereikbaar op {phone}, ook 's avonds.", "PHONE_NUMBER") == [phone]


@pytest.mark.parametrize(
    "text",
    [
        "Maak over naar NL91 ABNA 0417 1643 00 of NL91ABNA0417164300.",
        "De verbouwing kostte 1.234.567 euro.",
        "Zijn nummer is 123456782.",  # nine digits without phone shape
        "Geboren 01-03-1985, vergadering 06-12-2024.",
        "Postcode 1234 AB, huisnummer 12.",
        "Bestelnummer 020123456789 en factuur 2024-0612345.",
    ],
)
def test_phone_silent_on_ibans_amounts_bsns_dates_and_longer_numbers(analyzer, text):
    assert found(analyzer, text, "PHONE_NUMBER") == []


@pytest.mark.parametrize(
    "phone",
    [
        "06 12 34 56 78",
        "06-1234 5678",
        "+31(0)6-12345678",
        "+31 (0)6 12 34 56 78",
        "(020) 123 45 67",
        "0031 20 123 4567",
        "088-1234567",
        "085 123 4567",
        "0909-1234",
        "+44 20 7946 0958",
    ],
)
def test_more_phone_notations(analyzer, phone):
    assert found(analyzer, f"Bel mij op {phone} als het kan.", "PHONE_NUMBER") == [phone]


@pytest.mark.parametrize(
    "phone",
    ["06-91234567", "06 71 23 45 67", "+31 6 01234567", "012-3456789", "0123456789", "0800-9999999"],
)
def test_well_formed_phone_numbers_count_whether_or_not_the_range_is_allocated(analyzer, phone):
    # a number written like a phone number is personal data to a reader, allocated or not
    assert found(analyzer, f"Bel mij op {phone} als het kan.", "PHONE_NUMBER") == [phone]


@pytest.mark.parametrize(
    "text",
    [
        "Het kenmerk is 06-1234567.",  # seven digits after 06: too short for a mobile number
        "Het kenmerk is 06-123456789.",  # nine digits after 06: too long
        "Om 10.30 uur en om 12:30 begint het.",
        "Op 06-12-2024 om 09.00 uur.",
        "Het kostte € 0612345678 en 1.234.567,89 euro.",
        "BSN 012345672 en 123456782.",
        "Dossier 1234-0612345678-99.",
    ],
)
def test_phone_format_rules_stay_silent_on_other_numbers(analyzer, text):
    assert found(analyzer, text, "PHONE_NUMBER") == []


def test_phone_context_raises_score(analyzer):
    assert (
        scored(analyzer, "Tel: 020 123 4567", "PHONE_NUMBER")["020 123 4567"]
        > scored(analyzer, "Het getal 020 123 4567", "PHONE_NUMBER")["020 123 4567"]
    )


# --- IBAN, credit card -------------------------------------------------------------------------------


def test_iban_with_and_without_spaces(analyzer):
    text = "Rekening NL91 ABNA 0417 1643 00, NL91ABNA0417164300 en BE68 5390 0754 7034 EN DE89370400440532013000."
    assert found(analyzer, text, "IBAN_CODE") == [
        "NL91 ABNA 0417 1643 00",
        "NL91ABNA0417164300",
        "BE68 5390 0754 7034",
        "DE89370400440532013000",
    ]


def test_iban_wrong_check_digit_not_reported(analyzer):
    assert not iban_valid("NL92ABNA0417164300")
    assert found(analyzer, "Rekening NL92 ABNA 0417 1643 00 en NL92ABNA0417164300.", "IBAN_CODE") == []


def test_credit_cards(analyzer):
    text = "Visa 4111 1111 1111 1111, MC 5500-0000-0000-0004, Amex 3782 822463 10005; fout: 4111 1111 1111 1112."
    assert found(analyzer, text, "CREDIT_CARD") == ["4111 1111 1111 1111", "5500-0000-0000-0004", "3782 822463 10005"]


def test_credit_card_silent_inside_iban(analyzer):
    # The digits of this German IBAN are 18 long and pass Luhn: they must not be read as a card.
    iban = "DE89 3704 0044 0532 0130 00"
    assert found(analyzer, f"IBAN {iban}", "CREDIT_CARD") == []
    assert found(analyzer, f"IBAN {iban}", "IBAN_CODE") == [iban]


# --- BSN ---------------------------------------------------------------------------------------------


def test_bsn_only_valid_numbers(analyzer):
    assert bsn_valid("123456782") and not bsn_valid("123456789")
    text = "Nummers: 123456782, 123456789, 123.456.782 en 1234 56 782."
    assert found(analyzer, text, "NL_BSN") == ["123456782", "123.456.782", "1234 56 782"]


def test_bsn_invalid_number_not_reported_even_with_context(analyzer):
    assert found(analyzer, "BSN: 123456789", "NL_BSN") == []


def test_bsn_context_raises_score(analyzer):
    with_context = scored(analyzer, "Burgerservicenummer 123456782.", "NL_BSN")["123456782"]
    without = scored(analyzer, "Ordernummer 123456782.", "NL_BSN")["123456782"]
    assert with_context > without >= 0.4
    assert scored(analyzer, "sofinummer: 123456782", "NL_BSN")["123456782"] == with_context


def test_bsn_eight_digits_only_with_context(analyzer):
    assert found(analyzer, "Mijn bsn is 12345672.", "NL_BSN") == ["12345672"]
    assert found(analyzer, "Ordernummer 12345672.", "NL_BSN") == []


def test_bsn_silent_on_amounts_and_longer_numbers(analyzer):
    text = "Een bedrag van 123.456.782 euro, € 123.456.782 en het nummer 1123456782."
    assert found(analyzer, text, "NL_BSN") == []


# --- postcode, address -------------------------------------------------------------------------------


def test_postcodes(analyzer):
    text = "Post naar 1012 AB of 3511LX. Niet: 0123 AB, 1234 SS, 1234 SA, 12345 AB, 1234 ABC, A1234 AB, 1234 ab."
    assert found(analyzer, text, "NL_POSTCODE") == ["1012 AB", "3511LX"]


@pytest.mark.parametrize(
    "address",
    [
        "Kalverstraat 12",
        "Herengracht 12a",
        "Prins Hendrikkade 12-II",
        "Jan van Galenstraat 12 bis",
        "Sint Jansstraat 12 A-3",
        "Burgemeester de Withstraat 7hs",
        "Oude Gracht 4",
        "Laan van Meerdervoort 55",
        "Grote Markt 1",
        "Coolsingel 40",
        "Amsteldijk 120-3",
        "Burg. de Withstraat 2",
    ],
)
def test_street_addresses(analyzer, address):
    assert found(analyzer, f"Zij woont aan de {address} sinds vorig jaar.", "NL_ADDRESS") == [address]


def test_address_does_not_take_words_from_the_previous_sentence(analyzer):
    text = "Postbus 12345, 2500 GA Den Haag. Kerkstraat 3 is verkocht. Wij wonen Oude Gracht 4."
    assert found(analyzer, text, "NL_ADDRESS") == ["Kerkstraat 3", "Oude Gracht 4"]


def test_address_span_includes_postcode_and_city_when_they_follow(analyzer):
    text = "Adres: Kalverstraat 12-II, 1012 AB Amsterdam. Ook Oudegracht 7 3511 AB Utrecht."
    assert found(analyzer, text, "NL_ADDRESS") == [
        "Kalverstraat 12-II, 1012 AB Amsterdam",
        "Oudegracht 7 3511 AB Utrecht",
    ]
    high = scored(analyzer, text, "NL_ADDRESS")["Kalverstraat 12-II, 1012 AB Amsterdam"]
    assert high > scored(analyzer, "Zie Kalverstraat 12.", "NL_ADDRESS")["Kalverstraat 12"]


@pytest.mark.parametrize(
    "text",
    [
        "De weg was 12 km lang.",
        "Het Vondelpark trok 3 miljoen bezoekers.",
        "In de Kalverstraat 12 procent meer winkels.",
        "De Hoofdstraat is 3 kilometer lang.",
        "De Coolsingel 4 maart open.",
        "In Amsterdam 12 nieuwe scholen.",
        "Verf 3 lagen en Gracht 4 keer.",
    ],
)
def test_address_silent_on_quantities_and_streets_without_numbers(analyzer, text):
    assert found(analyzer, text, "NL_ADDRESS") == []


# --- kenteken ----------------------------------------------------------------------------------------

PLATES = [
    "AB-12-34",  # 1 XX-99-99
    "12-34-AB",  # 2 99-99-XX
    "12-AB-34",  # 3 99-XX-99
    "BD-12-FG",  # 4 XX-99-XX
    "BD-FG-12",  # 5 XX-XX-99
    "12-BD-FG",  # 6 99-XX-XX
    "12-BDF-3",  # 7 99-XXX-9
    "1-BDF-23",  # 8 9-XXX-99
    "BD-123-F",  # 9 XX-999-X
    "B-123-DF",  # 10 X-999-XX
    "BDF-12-G",  # 11 XXX-99-X
    "B-12-DFG",  # 12 X-99-XXX
    "1-BD-234",  # 13 9-XX-999
    "123-BD-4",  # 14 999-XX-9
]


@pytest.mark.parametrize("plate", PLATES)
def test_license_plate_side_codes_with_dashes(analyzer, plate):
    assert found(analyzer, f"De wagen met {plate} reed door rood.", "NL_LICENSE_PLATE") == [plate]


def test_license_plate_without_dashes_needs_context(analyzer):
    assert found(analyzer, "Kenteken: 12BDF3.", "NL_LICENSE_PLATE") == ["12BDF3"]
    assert found(analyzer, "kenteken 12 BDF 3", "NL_LICENSE_PLATE") == ["12 BDF 3"]
    assert found(analyzer, "Artikelcode 12BDF3.", "NL_LICENSE_PLATE") == []


def test_license_plate_with_vowels_only_with_context(analyzer):
    # Side code 7 plates have no vowels; after "kenteken" the letters are not checked.
    assert found(analyzer, "Een bestelbus met kenteken 31-EKO-9 stond er.", "NL_LICENSE_PLATE") == ["31-EKO-9"]
    assert found(analyzer, "Productcode 31-EKO-9 is uitverkocht.", "NL_LICENSE_PLATE") == []


@pytest.mark.parametrize(
    "text", ["Model HP-123-A", "Code AE-12-CD (klinkers)", "Datum 12-03-85", "Type 1-2-3", "ISO-9001"]
)
def test_license_plate_silent_on_non_plates(analyzer, text):
    assert found(analyzer, text, "NL_LICENSE_PLATE") == []


# --- KvK, BTW ----------------------------------------------------------------------------------------


def test_kvk_needs_context(analyzer):
    text = "Ingeschreven bij de Kamer van Koophandel onder nummer 69123456. KvK-nummer: 12345678."
    assert found(analyzer, text, "NL_KVK") == ["69123456", "12345678"]
    assert found(analyzer, "Er kwamen 12345678 bezoekers.", "NL_KVK") == []


def test_kvk_and_bsn_recognizers_set_their_context_in_the_constructor():
    narrow = NlKvkRecognizer(context=["handelsregister"], context_window=20)
    assert narrow.analyze("Handelsregister 12345678", ["NL_KVK"])
    assert not narrow.analyze("KvK 12345678", ["NL_KVK"])
    strict = NlBsnRecognizer(context_required=["bsn", "bsn_grouped"])
    assert not strict.analyze("Nummer 123456782", ["NL_BSN"])
    assert strict.analyze("BSN 123456782", ["NL_BSN"])


def test_btw_numbers(analyzer):
    text = "Btw-nummer NL004495445B01, ook NL002455799B11 en NL 0044.95.445.B01; fout: NL123456789B90."
    assert found(analyzer, text, "NL_BTW") == ["NL004495445B01", "NL002455799B11", "NL 0044.95.445.B01"]


def test_btw_without_prefix_needs_context(analyzer):
    assert found(analyzer, "Omzetbelastingnummer 004495445B01", "NL_BTW") == ["004495445B01"]
    assert found(analyzer, "Referentie 004495445B01", "NL_BTW") == []


# --- date of birth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Jan (geboren op 12-03-1985) kwam.", "12-03-1985"),
        ("Geboortedatum: 12/03/1985", "12/03/1985"),
        ("Piet, geb. 12 maart 1985, woont hier.", "12 maart 1985"),
        ("geboren te Utrecht op 1985-03-12", "1985-03-12"),
        ("d.d. geboorte 3 okt. 1950", "3 okt. 1950"),
        ("dhr. Piet-Hein ter Veld, geboren 1961.", "1961"),
    ],
)
def test_date_of_birth_with_birth_context(analyzer, text, date):
    assert found(analyzer, text, "DATE_OF_BIRTH") == [date]


def test_year_of_birth_scores_lower_than_a_full_date(analyzer):
    year = scored(analyzer, "geboren 1961", "DATE_OF_BIRTH")["1961"]
    assert year < scored(analyzer, "geboren 12-03-1961", "DATE_OF_BIRTH")["12-03-1961"]


@pytest.mark.parametrize(
    "text",
    [
        "De vergadering is op 12-03-1985 gehouden.",
        "Op 12 maart 1985 werd het besluit genomen.",
        "Geboren in Utrecht, verhuisd naar Delft in 1990; op 12-03-1995 getrouwd.",  # too far from the context
        "Geboren op 31-02-1985.",  # no such date
        "Er werden 1961 kinderen geboren.",  # a count, not a year after the context
    ],
)
def test_date_without_birth_context_not_reported(analyzer, text):
    assert found(analyzer, text, "DATE_OF_BIRTH") == []


# --- whole paragraphs --------------------------------------------------------------------------------


def _make_bsn(rng: random.Random) -> str:
    while True:
        head = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(w * d for w, d in zip(range(9, 1, -1), head, strict=True)) % 11
        if check <= 9:
            return "".join(map(str, head)) + str(check)


def _make_nl_iban(rng: random.Random) -> str:
    bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + "".join(
        rng.choice("0123456789") for _ in range(10)
    )
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "NL00")) % 97
    iban = f"NL{check:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _planted_paragraph(seed: int) -> tuple[str, dict[str, str]]:
    """A Dutch paragraph with one planted value of every entity type; returns (text, entity -> value)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not cryptography
    planted = {
        "NL_BSN": _make_bsn(rng),
        "IBAN_CODE": _make_nl_iban(rng),
        "EMAIL_ADDRESS": f"{rng.choice(['j.jansen', 'p.bakker', 'info'])}{rng.randint(1, 99)}@voorbeeld.nl",
        "PHONE_NUMBER": f"06-{rng.randint(10_000_000, 59_999_999)}",  # 06-6x/7x are not in use
        "NL_POSTCODE": f"{rng.randint(1000, 9999)} {rng.choice('BDFGHJKLNPRTVXZ')}{rng.choice('BDFGHJKLNPRTVXZ')}",
        "DATE_OF_BIRTH": f"{rng.randint(1, 28)}-{rng.randint(1, 12):02d}-{rng.randint(1940, 2005)}",
        "NL_LICENSE_PLATE": f"{rng.randint(10, 99)}-{''.join(rng.choice('BDFGHJKLNPRSTVXZ') for _ in range(3))}-"
        f"{rng.randint(1, 9)}",
        "NL_KVK": str(rng.randint(10_000_000, 99_999_999)),
        "URL": f"https://www.voorbeeld.nl/profiel/{rng.randint(1, 999)}",
        "IP_ADDRESS": f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "NL_ADDRESS": f"{rng.choice(['Kerkstraat', 'Stationsweg', 'Prins Hendrikkade'])} {rng.randint(1, 200)}",
        "PERSON": "De Groot",
    }
    text = (
        f"Betreft: dossier van mevrouw De Groot, geboren op {planted['DATE_OF_BIRTH']}. "
        f"Zij woont aan de {planted['NL_ADDRESS']} ({planted['NL_POSTCODE']}) en heeft "
        f"burgerservicenummer {planted['NL_BSN']}. Betalingen gaan naar {planted['IBAN_CODE']}. "
        f"U kunt haar bellen op {planted['PHONE_NUMBER']} of mailen naar {planted['EMAIL_ADDRESS']}.\n"
        f"Haar auto met kenteken {planted['NL_LICENSE_PLATE']} staat op naam van haar bedrijf "
        f"(KvK {planted['NL_KVK']}). Het profiel {planted['URL']} werd bezocht vanaf {planted['IP_ADDRESS']}."
    )
    return text, planted


@pytest.mark.parametrize("seed", range(5))
def test_planted_values_in_a_dutch_paragraph_are_all_found(analyzer, seed):
    text, planted = _planted_paragraph(seed)
    results = analyzer.analyze(text, language="nl", entities=default_entities(analyzer))
    got = {(r.entity_type, text[r.start : r.end]) for r in results}
    missing = {(entity, value) for entity, value in planted.items()} - got
    assert not missing, missing
    # Nothing else than the planted values (an address may include the postcode right after it).
    extra = {(e, v) for e, v in got if (e, v) not in set(planted.items())}
    assert not extra, extra


NEWS = """\
DEN HAAG - Het kabinet trekt de komende vier jaar 2,5 miljard euro uit voor de bouw van 100.000 betaalbare
woningen, maakte minister Keijzer dinsdag bekend. Volgens het Centraal Bureau voor de Statistiek stegen de
huizenprijzen in 2023 met 4,7 procent. In Utrecht, Eindhoven en Groningen is de woningnood het grootst.
De Tweede Kamer debatteert op 14 maart om 13.30 uur over het plan. Wethouder Van der Berg noemde het bedrag
van 1.234.567 euro voor de wijk Feijenoord 'een druppel op een gloeiende plaat'. Op de A12 bij Woerden stond
dinsdagochtend een file van 12 kilometer na een ongeluk met drie auto's. De NS meldt dat de treinen tussen
Leiden en Den Haag Centraal weer volgens de dienstregeling van 2024-2025 rijden. Het Rijksmuseum trok vorig
jaar 2,7 miljoen bezoekers; de tentoonstelling over Rembrandt loopt tot 1 juni 2025. De werkzaamheden aan de
Coolsingel zijn in het derde kwartaal van 2026 klaar, zo staat in artikel 12 van de Woningwet en in hoofdstuk 3
van het rapport (p. 45-48). Bij de verkiezingen van 22-11-2023 kreeg de grootste partij 37 van de 150 zetels;
de opkomst was 77,7%. Ajax won zondag met 3-1 van PSV, dat nu 8 punten achterstaat. Het KNMI verwacht
temperaturen tot 25 graden. Meer dan 1.500 agenten waren in 2022 en 2023 betrokken bij het onderzoek.
"""


def test_news_paragraph_reports_only_the_people_in_it(analyzer):
    # Amounts, dates, times, scores, road numbers, articles and place/organisation names are not
    # personal data; the minister, the alderman and the painter are people.
    results = analyzer.analyze(NEWS, language="nl", entities=default_entities(analyzer))
    assert sorted((r.entity_type, NEWS[r.start : r.end]) for r in results) == [
        ("PERSON", "Keijzer"),
        ("PERSON", "Rembrandt"),
        ("PERSON", "Van der Berg"),
    ]


# --- gates: the cheap pre-checks must never change what is found -------------------------------------

EDGE_CASES = [
    "Laan van Meerdervoort 5a, 2517 AB Den Haag",
    "Zij woont op de Oude Gracht 4 bis.",
    "geb: 12-03-1985",
    "Geboortedatum 1 mei 1970, d.d. geboorte onbekend.",
    "Bel +31 (0)20 123 4567 of 0031 6 12345678, of (020) 1234567.",
    "Server 2001:db8::1 en 10.0.0.1, zie www.voorbeeld.nl en https://voorbeeld.nl/a?b=c.",
    "KvK-nummer 12345678, btw NL123456782B01 of btw-nummer 123456782B01.",
    "De auto met kenteken 12BDF3 en 12-BDF-3.",
    "Creditcard 4111 1111 1111 1111, sofinummer 12345672, BSN 111.222.333.",
]


def test_gates_do_not_change_findings(monkeypatch: pytest.MonkeyPatch):
    texts = [NEWS, *EDGE_CASES, *(_planted_paragraph(seed)[0] for seed in range(20))]
    recognizers = [r for r in dutch_recognizers() if isinstance(r, DutchPatternRecognizer)]

    def findings() -> list[tuple[str, int, int, float]]:
        return [
            (result.entity_type, result.start, result.end, result.score)
            for text in texts
            for recognizer in recognizers
            for result in recognizer.analyze(text, recognizer.supported_entities)
        ]

    gated = findings()
    for recognizer in recognizers:
        monkeypatch.setattr(type(recognizer), "may_match", lambda self, text: True)
        monkeypatch.setattr(type(recognizer), "may_have_context", lambda self, text: True)
    ungated = findings()

    assert gated == ungated
    assert len({entity for entity, *_ in gated}) == 13  # every structured type was exercised


def test_address_gate_looks_for_a_street_word_before_a_number():
    recognizer = NlAddressRecognizer()
    assert recognizer.may_match("Ze woont aan de Kalverstraat 12.")
    assert recognizer.may_match("Laan van Meerdervoort 5a")
    assert recognizer.may_match("OUDEGRACHT 4")
    assert not recognizer.may_match("In 2008 woonden er 12 mensen in de straat, op nummer 4 niemand.")
    assert recognizer.analyze("In 2008 woonden er 12 mensen in de straat.", ["NL_ADDRESS"]) == []


def test_date_of_birth_gate_ignores_words_that_merely_start_with_geb():
    recognizer = NlDateOfBirthRecognizer()
    assert not recognizer.may_match("Het gebied werd op 12-03-1985 gebouwd en gebruikt.")
    assert recognizer.may_match("geb : 12-03-1985")
    assert recognizer.may_match("GEBOREN 12-03-1985")
    found = recognizer.analyze("Naam: P. Bakker, geb: 12-03-1985", ["DATE_OF_BIRTH"])
    assert [(r.start, r.end) for r in found] == [(22, 32)]


def test_places_and_organisations_come_from_the_model_only_when_asked():
    from anonymisation.recognizers import OPTIONAL_ENTITIES, NlPlaceOrganisationRecognizer

    text = "Jan Jansen werkt bij Philips in Eindhoven."
    recognizer = NlPlaceOrganisationRecognizer()
    assert recognizer.analyze(text, ["PERSON"]) == []
    found = {(r.entity_type, text[r.start : r.end]) for r in recognizer.analyze(text, list(OPTIONAL_ENTITIES))}
    assert found == {("ORGANIZATION", "Philips"), ("LOCATION", "Eindhoven")}
    assert {text[r.start : r.end] for r in recognizer.analyze(text, ["LOCATION"])} == {"Eindhoven"}
    assert NlPlaceOrganisationRecognizer(model=False).analyze(text, list(OPTIONAL_ENTITIES)) == []
    # below every other recognizer: a person or an address wins an overlap
    assert all(r.score < 0.5 for r in recognizer.analyze(text, list(OPTIONAL_ENTITIES)))
