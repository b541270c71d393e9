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


# --- name shapes (titles are context: a span covers the whole name and leaves the title out) -----------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Prof. Dr. Jansen opende het congres.", ["Jansen"]),
        ("Het woord is aan Mw. Prof. Dr. A.B. de Vries vandaag.", ["A.B. de Vries"]),
        ("Daarna sprak dr. Visser de zaal toe.", ["Visser"]),
        ("Daarna sprak DR. Visser de zaal toe.", ["Visser"]),
        ("Ook prof Bakker en ir. Smit waren er.", ["Bakker", "Smit"]),
    ],
)
def test_titles_with_and_without_periods_stacked_or_in_capitals(finder, text, expected):
    assert names(finder, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("De brief kwam van A. van der Sluis uit Delft.", ["A. van der Sluis"]),
        ("Getekend door J. Th. Bakker.", ["J. Th. Bakker"]),
        ("Getekend door A.Th.Chr. Van der Laan.", ["A.Th.Chr. Van der Laan"]),
        ("Getekend door J. v/d Berg.", ["J. v/d Berg"]),
        ("Het boek van Jan v.d. Berg is uit.", ["Jan v.d. Berg"]),
    ],
)
def test_initials_with_tussenvoegsels_and_abbreviated_particles(finder, text, expected):
    assert names(finder, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Het plan van minister Bruins Slot viel goed.", ["Bruins Slot"]),
        ("Gisteren gaf Hanke Bruins Slot geen reactie.", ["Hanke Bruins Slot"]),
        ("Ook Marieke Visser-de Jong kwam.", ["Marieke Visser-de Jong"]),
        ("Gisteren sprak mevrouw Visser-de Jong.", ["Visser-de Jong"]),
    ],
)
def test_double_and_hyphenated_surnames(finder, text, expected):
    assert names(finder, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ik sprak met El Ahmadi over het plan.", ["El Ahmadi"]),
        ("Volgens El Ahmadi klopt het.", ["El Ahmadi"]),
        ("Ik sprak met Al-Khatib over het plan.", ["Al-Khatib"]),
        ("Ik sprak met Ahmed el Khatib over het plan.", ["Ahmed el Khatib"]),
        ("Ik sprak met Abou Jahjah over het plan.", ["Abou Jahjah"]),
        ("Ik sprak met Ben Ali over het plan.", ["Ben Ali"]),
        ("Ik sprak met Mohamed ould Abdallah.", ["Mohamed ould Abdallah"]),
        ("Ik sprak met Omar Bin Laden.", ["Omar Bin Laden"]),
        ("Het rapport van Ter Horst kwam laat.", ["Ter Horst"]),
        ("Het rapport van Ten Brink kwam laat.", ["Ten Brink"]),
        ("Het rapport van Ten Napel kwam laat.", ["Ten Napel"]),
        ("Ik sprak met Anne Op den Brouw.", ["Anne Op den Brouw"]),
        ("Ik sprak met Kees Van 't Hek.", ["Kees Van 't Hek"]),
        ("Ik sprak met Jan d'Hondt.", ["Jan d'Hondt"]),
    ],
)
def test_arabic_and_other_particles(finder, text, expected):
    assert names(finder, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ik sprak met de heer Sluis.", ["Sluis"]),
        ("Ik sprak met mevrouw Groen.", ["Groen"]),
        ("Ik sprak met meneer Bakker.", ["Bakker"]),
        ("Het voorstel van burgemeester Halsema.", ["Halsema"]),
        ("Ik sprak met dhr. Visser.", ["Visser"]),
        ("Ik sprak met mw. Van Dam.", ["Van Dam"]),
    ],
)
def test_surnames_that_are_words_or_places_after_a_cue(finder, text, expected):
    assert names(finder, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gisteren belde Pieter zijn moeder.", ["Pieter"]),
        ("Fatima en haar broer kwamen.", ["Fatima"]),
        ("Jan kwam gisteren langs.", ["Jan"]),
        ("Gisteren kwam Jan langs.", ["Jan"]),
        ("Gisteren kwam Kees langs.", ["Kees"]),
    ],
)
def test_a_lone_given_name_in_running_text(finder, text, expected):
    assert names(finder, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Op 3 jan. 2020 kwam hij.",
        "Sinds Jan. 2021 woont hij hier.",
        "Vanaf jan 2021 woont hij hier.",
        "Het contract loopt tot 31 Jan 2022.",
        "Hij spreekt English en Spanish.",
        "In Nederland is het koud.",
        "Ik woon in Den Haag.",
        "Het kabinet zit in Den Haag en niet in Den Bosch.",
        "Den Haag besloot het anders.",
        "De Kamer stemde.",
        "Op Maandag 3 Januari.",
        "Gisteren stond het in De Telegraaf.",
    ],
)
def test_dates_languages_places_and_institutions_stay_unmasked(finder, text):
    assert names(finder, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Het beeld dateert uit 300 v. Chr. Aan de voet staat een tekst.",
        "Hij reisde naar het zuiden, d.w.z. Alexandrië en verder.",
        "Ze woont aan de Van Iseghemlaan in Oostende.",
    ],
)
def test_abbreviations_and_streets_around_the_new_shapes_are_not_names(finder, text):
    assert names(finder, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "auteur\nZeventien kinderen werden gisteren ziek.",  # a role word on the line above
        "Algemeen ( 1 & 3 )\nDe trein rijdt weer.",  # a section heading, not an age
        "Hij werkt voor de Marine Inlichtingendienst in Den Haag.",  # a body by its compound ending
        "Het aandeel van Omega Pharma steeg gisteren.",  # a company word inside the run
        "In het Oost-Duitse Eisenach werden jongeren opgepakt.",  # an adjective compound before a place
    ],
)
def test_cues_across_lines_brackets_headings_and_bodies_make_no_name(finder, text):
    assert names(finder, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Het nieuws kwam laat.\n( RG )\nDe volgende dag", ["RG"]),  # an author's initials on their own line
        ("Gisteren overleed Jan Peeters ( 54 ) in Gent.", ["Jan Peeters"]),  # an age in brackets
        ("Minister Otto Schily ( SPD ) riep alle Duitsers op.", ["Otto Schily"]),  # a party, not a byline
    ],
)
def test_bylines_and_ages_still_make_names(finder, text, expected):
    assert names(finder, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a title of nobility between the initials and the surname is inside the name
        ("Het woord was aan de heer J. W. C. baron van Ittersum.", ["J. W. C. baron van Ittersum"]),
        ("Benoemd werd Mr. W. L. baron van Heeckeren.", ["W. L. baron van Heeckeren"]),
        # noble titles and their abbreviations are forms of address: a lowercase tussenvoegsel opens the name
        ("Adres van Jhr. van der Wijck te Bathmen.", ["van der Wijck"]),
        ("Het verzoek kwam van baron van Voorst tot Voorst.", ["van Voorst"]),
        # a form of address inside a run of capitalised words starts the name after it
        ("Het land aan de Vecht van den Heer Mr J. A. Sandberg wordt verkocht.", ["J. A. Sandberg"]),
        # a compound role before the name
        ("Ideeën kunnen naar wijkcoördinator Roelie Smit-Dijkstra.", ["Roelie Smit-Dijkstra"]),
        # a regnal number after a given name belongs to the name
        ("Koning Willem II opende de zitting.", ["Willem II"]),
    ],
)
def test_nobility_forms_of_address_and_regnal_numbers(finder, text, expected):
    assert names(finder, text) == expected
