"""Combining the model's and the rules' person names, and propagating a found name through a document."""

from __future__ import annotations

import itertools
from typing import NamedTuple

import pytest

from anonymisation.names import NameSpan
from anonymisation.persons import (
    PROPAGATED_SCORE,
    after_place_noun,
    body_names,
    combine,
    configured_model,
    find_persons,
    model_id,
    plausible,
    propagate,
    tidy,
    veto,
)


class Span(NamedTuple):
    start: int
    end: int
    label: str
    score: float


def test_overlapping_spans_of_rules_and_model_merge_into_one_that_covers_both():
    text = "Volgens mevrouw A. de Vries van het RIVM"
    rules = [NameSpan(8, 27, 0.8)]  # mevrouw A. de Vries
    model = [Span(16, 27, "PER", 0.9), Span(36, 40, "ORG", 0.95)]  # de Vries; RIVM is no person
    assert combine(rules, model) == [NameSpan(8, 27, 0.8)]
    assert text[8:27] == "mevrouw A. de Vries"


def test_model_spans_below_the_minimum_score_and_other_labels_are_left_out():
    model = [Span(0, 5, "PER", 0.3), Span(10, 15, "LOC", 0.99), Span(20, 25, "PER", 0.7)]
    assert combine([], model, min_score=0.5) == [NameSpan(20, 25, 0.65)]


def test_spans_of_either_finder_alone_are_kept():
    assert combine([NameSpan(0, 4, 0.8)], [Span(10, 14, "PER", 0.6)]) == [NameSpan(0, 4, 0.8), NameSpan(10, 14, 0.6)]


def test_a_found_full_name_is_found_again_with_its_surname_everywhere():
    text = "Kees Bakker opende de zaak. Later zei Bakker dat Kees Bakker tevreden was, net als Bakkerij Jansen."
    spans = propagate([NameSpan(0, 11, 0.9)], text)
    assert [text[s.start : s.end] for s in spans] == ["Kees Bakker", "Bakker", "Kees Bakker"]
    assert spans[1].score == PROPAGATED_SCORE


def test_a_common_word_surname_is_not_propagated_alone_but_the_full_name_is():
    text = "Anna de Groot won. Het groot onderhoud en Groot nieuws; Anna de Groot lachte."
    spans = propagate([NameSpan(0, 13, 0.9)], text, common=frozenset({"groot"}))
    assert [text[s.start : s.end] for s in spans] == ["Anna de Groot", "Anna de Groot"]


def test_propagation_never_matches_inside_a_word_and_keeps_spans_overlap_free():
    text = "Sluis zei het. De Sluiskade en Ter Sluis-Veld; Sluis."
    spans = propagate([NameSpan(0, 5, 0.8)], text)
    assert [text[s.start : s.end] for s in spans] == ["Sluis", "Sluis"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_nothing_found_nothing_propagated():
    assert propagate([], "Er staat niets in.") == []


def test_the_configured_model_none_means_the_rules_alone():
    assert configured_model("none") is None


def test_a_configured_model_that_does_not_exist_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ontbreekt\.crfsuite"):
        configured_model(str(tmp_path / "ontbreekt.crfsuite"))


def test_a_rule_span_the_model_calls_an_organisation_is_vetoed():
    text = "Directeur Tectrade zei dat het goed ging."
    rules = [NameSpan(10, 18, 0.7)]
    assert veto(rules, [Span(10, 18, "ORG", 0.9)], 0.7) == []
    assert veto(rules, [Span(10, 18, "ORG", 0.5)], 0.7) == rules  # not confident enough
    assert text[10:18] == "Tectrade"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Hendrikkade", False), ("Willem de Zwijgerlaan", False), ("Kees van der Laan", True), ("Fatima El Amrani", True)],
)
def test_model_person_spans_pass_the_rules_vetoes(name, expected):
    assert plausible(name) is expected


def test_find_persons_vetoes_joins_and_propagates():
    text = "Mevrouw Visser van Sabena sprak. Visser bleef."
    rules = [NameSpan(8, 14, 0.8), NameSpan(19, 25, 0.6)]  # Visser, Sabena
    model = [Span(19, 25, "ORG", 0.95), Span(8, 14, "PER", 0.9)]
    spans = find_persons(rules, model, text, frozenset())
    assert [text[s.start : s.end] for s in spans] == ["Visser", "Visser"]


GIVEN = frozenset({"Ariel", "Bert", "Leo", "Patrick", "Kees", "Barak", "Jan"})
COMMON = frozenset({"cultuur", "de", "van"})


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("de Likoed-leider Ariel Sharon sprak", "Likoed-leider Ariel Sharon", "Ariel Sharon"),  # a role
        ("minister van Cultuur Bert Anciaux zei", "Cultuur Bert Anciaux", "Bert Anciaux"),  # a portfolio
        ("volgens Leo Pardon van de NMBS is", "Leo Pardon van de NMBS", "Leo Pardon"),  # an employer
        ("zei Patrick Du Bois van Sabena", "Patrick Du Bois van Sabena", "Patrick Du Bois"),
        ("de Amerikaanse Jan Smit", "Amerikaanse Jan Smit", "Jan Smit"),  # a demonym
        ("premier Ehud Barak sprak", "Ehud Barak", "Ehud Barak"),  # an unknown given name stays
        ("Correspondent Kees Broere schreef", "Kees Broere", "Kees Broere"),  # Kees is no adjective
        ("Koning Lodewijk Napoleon", "Koning Lodewijk Napoleon", "Koning Lodewijk Napoleon"),  # a title stays
        ("Jan van Dijk kwam", "Jan van Dijk", "Jan van Dijk"),  # a surname with tussenvoegsel
    ],
)
def test_tidy_keeps_the_name_and_drops_what_describes_or_employs(text, name, expected):
    start = text.index(name)
    spans = tidy([NameSpan(start, start + len(name), 0.8)], text, GIVEN, COMMON)
    assert [text[s.start : s.end] for s in spans] == [expected]


def test_tidy_splits_a_span_at_a_line_break():
    text = "Ullrich tekent bij Aston Villa\nJan Ullrich voert aan"
    start = text.index("Aston")
    spans = tidy([NameSpan(start, text.index(" voert"), 0.8)], text, GIVEN, COMMON)
    assert [text[s.start : s.end] for s in spans] == ["Aston Villa", "Jan Ullrich"]


def test_a_name_after_a_body_noun_is_that_body_in_the_whole_document():
    text = "Het Brugse IT-bedrijf Tectrade groeit. Volgens de zaakvoerder van Tectrade komt er meer."
    assert body_names(text, ["Tectrade", "Brugse", "Volgens"]) == {"Tectrade"}
    first, second = text.index("Tectrade"), text.rindex("Tectrade")
    rules = [NameSpan(second - 4, second + 8, 0.6)]  # "van Tectrade" read as a surname
    model = [Span(second, second + 8, "PER", 0.95)]
    assert find_persons(rules, model, text, frozenset(), GIVEN) == []
    assert first < second


def test_a_weak_rule_name_stands_only_where_the_model_also_reads_a_person():
    # "Groote Wollen" in an advertisement: two unknown capitalised words, the rules' weakest evidence
    text = "Te koop: Groote Wollen dekens. Ook Anna Visser tekende."
    goods, anna = text.index("Groote"), text.index("Anna")
    rules = [NameSpan(goods, goods + 13, 0.5), NameSpan(anna, anna + 11, 0.8)]
    assert [text[s.start : s.end] for s in find_persons(rules, [], text, frozenset(), GIVEN)] == ["Anna Visser"]
    for label, score, kept in (("PER", 0.3, True), ("LOC", 0.4, True), ("LOC", 0.6, False)):
        # a person at any score, or a place the model is unsure of: the rules' name stands
        model = [Span(goods, goods + 13, label, score)]
        spans = [text[s.start : s.end] for s in find_persons(rules, model, text, frozenset(), GIVEN)]
        assert spans == (["Groote Wollen", "Anna Visser"] if kept else ["Anna Visser"])


def test_a_word_that_never_names_a_person_is_a_surname_after_a_given_name():
    assert plausible("JAN KAMER") is False
    assert plausible("JAN KAMER", frozenset({"Jan"})) is True


def test_a_lone_model_word_needs_a_higher_score_than_a_full_name():
    text = "Er is een akkoord tussen Swissair en Sabena. Ook Anna Visser tekende."
    sabena, anna = text.index("Sabena"), text.index("Anna")
    model = [Span(sabena, sabena + 6, "PER", 0.85), Span(anna, anna + 11, "PER", 0.85)]
    spans = find_persons([], model, text, frozenset(), GIVEN)
    assert [text[s.start : s.end] for s in spans] == ["Anna Visser"]


# The name shapes the anonymiser must replace whole, with the shipped model and the rules together.
SHAPES = [
    ("Het advies van Prof. Dr. Jansen werd gevolgd.", "Jansen"),
    ("Mw. Prof. Dr. A.B. de Vries opende het congres.", "A.B. de Vries"),
    ("Volgens dr. Visser is het veilig.", "Visser"),
    ("DR. Visser sprak de zaal toe.", "Visser"),
    ("De brief was getekend door A. van der Sluis.", "A. van der Sluis"),
    ("Het artikel van J. Th. Bakker verscheen gisteren.", "J. Th. Bakker"),
    ("Notaris A.Th.Chr. Van der Laan tekende de akte.", "A.Th.Chr. Van der Laan"),
    ("Gisteren sprak J. v/d Berg met de pers.", "J. v/d Berg"),
    ("Het voorstel kwam van Jan v.d. Berg uit Tiel.", "Jan v.d. Berg"),
    ("Marieke Visser-de Jong werd tot voorzitter gekozen.", "Marieke Visser-de Jong"),
    ("Daarop antwoordde minister Bruins Slot dat het kabinet wacht.", "Bruins Slot"),
    ("De rapper Mohamed El Ahmadi trad op in Paradiso.", "Mohamed El Ahmadi"),
    ("Volgens Yusuf Al-Khatib is de wijk veranderd.", "Yusuf Al-Khatib"),
    ("Gisteren was de heer Sluis niet aanwezig.", "Sluis"),
    ("Het woord is aan mevrouw Groen.", "Groen"),
    ("Gisteren belde Pieter zijn moeder op.", "Pieter"),
]


@pytest.fixture(scope="module")
def recognizer():
    from anonymisation.recognizers import NlPersonRecognizer

    return NlPersonRecognizer()


@pytest.mark.parametrize(("text", "name"), SHAPES)
def test_name_shapes_are_replaced_whole_by_model_and_rules(recognizer, text, name):
    start = text.index(name)
    found = recognizer.analyze(text, ["PERSON"])
    assert any(r.start <= start and start + len(name) <= r.end for r in found), [text[r.start : r.end] for r in found]


@pytest.mark.parametrize(
    "text",
    [
        "English is de voertaal van het congres in Nederland.",
        "In Den Haag vergaderde de Tweede Kamer op dinsdag 3 maart.",
        "De Nederlandse regering en de Europese Commissie spraken in januari.",
    ],
)
def test_words_that_are_not_names_stay(recognizer, text):
    assert [text[r.start : r.end] for r in recognizer.analyze(text, ["PERSON"])] == []


def test_a_model_name_right_after_a_place_noun_is_a_place():
    text = "Het geld gaat naar de wijk Feijenoord en de gemeente Assen."
    model = [Span(27, 37, "PER", 0.9), Span(53, 58, "PER", 0.85)]
    assert find_persons([], model, text, frozenset()) == []
    assert not after_place_noun("Volgens Jan Smit", 12)


def test_the_model_id_names_the_shipped_file_and_its_digest():
    import hashlib

    from anonymisation.namemodel import DEFAULT_MODEL_PATH

    digest = hashlib.sha256(DEFAULT_MODEL_PATH.read_bytes()).hexdigest()
    assert model_id("") == f"names-nl.crfsuite sha256:{digest[:12]}"
    assert model_id("none") == "none"


def test_the_top_layer_chooses_the_name_model_through_the_configuration(tmp_path):
    from anonymisation.config import configure, current

    before = current()
    try:
        configure(name_model="none")
        assert configured_model() is None and model_id() == "none"
        configure(name_model=str(tmp_path / "ontbreekt.crfsuite"))
        with pytest.raises(FileNotFoundError):
            configured_model()
    finally:
        configure(name_model=before.name_model, cache_dir=before.cache_dir)
    assert configured_model() is not None
