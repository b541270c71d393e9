"""Person names without a model: shape, context, word lists and the document itself."""

import pytest

from anonymisation.names import NameLexicon, PersonNameFinder, default_lexicon


@pytest.fixture(scope="module")
def finder() -> PersonNameFinder:
    return PersonNameFinder()


def names(finder: PersonNameFinder, text: str) -> list[str]:
    return [text[s.start : s.end] for s in finder.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gisteren sprak Jan-Willem van 't Hof met de pers.", ["Jan-Willem van 't Hof"]),
        ("De brief was getekend door J.P. de Vries-Bakker.", ["J.P. de Vries-Bakker"]),
        ("Daarna sprak mevrouw De Groot de raad toe.", ["De Groot"]),
        ("Ook dhr. Öztürk was aanwezig.", ["Öztürk"]),
        ("Wethouder Van der Berg opende het park.", ["Van der Berg"]),
        ("Het voorstel van burgemeester Halsema kreeg steun.", ["Halsema"]),
        ("Volgens Peeters was de wedstrijd te snel gespeeld.", ["Peeters"]),
        ("De heer van Aken vroeg het woord.", ["van Aken"]),
        ("Getrouwd: J. van ANKUM en G. DIJK.", ["J. van ANKUM", "G. DIJK"]),
    ],
)
def test_dutch_name_shapes_in_context(finder, text, expected):
    assert names(finder, text) == expected


def test_a_surname_seen_in_a_full_name_is_a_name_later_in_the_same_text(finder):
    text = "Trainer Foday Sankoh stelde het team op. Daarna kreeg Sankoh applaus."
    assert names(finder, text) == ["Foday Sankoh", "Sankoh"]
    # without propagation only the first mention is found
    assert names(PersonNameFinder(propagate=False), text) == ["Foday Sankoh"]


def test_a_later_mention_of_a_surname_keeps_its_tussenvoegsel(finder):
    # "Vries" is also a village, and "De" opens the sentence: alone, neither would make "De Vries" a name
    text = "De jury koos Pieter de Vries uit Assen.\n\nDe Vries wint prijs. Ook de Vries-fans juichten."
    assert names(finder, text)[:2] == ["Pieter de Vries", "De Vries"]
    assert names(finder, "De Vries wint prijs.") == []


@pytest.mark.parametrize(
    "text",
    [
        "In Utrecht, Eindhoven en Groningen is de woningnood het grootst.",
        "De Nederlandse en Belgische ministers spraken in Brussel.",
        "De minister van Buitenlandse Zaken reisde naar Egypte.",
        "Op maandag 3 januari opent de Prins Hendrikkade weer.",
        "De Tweede Kamer debatteert over het plan van het kabinet.",
        "Z. M. de Koning heeft het besluit getekend.",
        "Dat is verder opgelaaid door windsnelheden die oplopen tot 35 kilometer per uur.",
    ],
)
def test_places_institutions_adjectives_and_royal_references_are_not_names(finder, text):
    assert names(finder, text) == []


def test_a_custom_lexicon_is_used_as_given():
    lexicon = NameLexicon.from_words(given_names=["Aukje"], surnames=["Zwart"], places=["Dokkum"])
    finder = PersonNameFinder(lexicon, unknown_words=0.0)
    assert names(finder, "Gisteren kwam Aukje Zwart uit Dokkum langs.") == ["Aukje Zwart"]
    assert names(finder, "Gisteren kwam Zwart uit Dokkum langs.") == ["Zwart"]


def test_the_bundled_lexicon_is_built_from_installed_open_source_lists():
    lexicon = default_lexicon()
    assert {"Jan", "Anne", "Mohamed", "Sophie"} <= lexicon.given_names
    assert {"Jansen", "Peeters"} <= lexicon.surnames
    assert {"Amsterdam", "Brussel", "Utrecht"} <= lexicon.places
    assert {"de", "het", "maar"} <= lexicon.function_words
    assert "huis" in lexicon.common_words and "jansen" not in lexicon.common_words


def test_spans_are_sorted_scored_and_within_the_text(finder):
    text = "Minister Keijzer en Anna de Wit spraken met Els Flies van de VBBB."
    spans = finder.find(text)
    assert [text[s.start : s.end] for s in spans] == ["Keijzer", "Anna de Wit", "Els Flies"]
    assert all(0.5 <= s.score <= 1.0 for s in spans)
    assert spans == sorted(spans)
