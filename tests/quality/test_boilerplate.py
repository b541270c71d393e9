"""News boilerplate lines: whole lines of page furniture go, article sentences that mention them stay."""

from __future__ import annotations

import pytest

from quality.boilerplate import NewsBoilerplateCleaner


@pytest.mark.parametrize(
    "line",
    [
        "Lees ook: Kabinet valt over stikstof",
        "Bekijk ook",
        "Meer nieuws",
        "Deel dit artikel",
        "Delen via WhatsApp",
        "Volg ons op Instagram",
        "ADVERTENTIE",
        "Foto: ANP",
        "Beeld: Hollandse Hoogte",
        "© 2024 DPG Media B.V.",
        "Alle rechten voorbehouden.",
        "Deze website gebruikt cookies om je ervaring te verbeteren.",
        "Reacties (12)",
        "Schrijf je in voor onze nieuwsbrief",
        "Bijgewerkt: 12 maart 2024 14:32",
        "Terug naar boven",
    ],
)
def test_page_furniture_lines_are_removed(line: str):
    text = f"Het kabinet is gevallen.\n{line}\nDe Tweede Kamer debatteert morgen."
    (cleaned,), (removed,) = (s.to_list() for s in NewsBoilerplateCleaner().clean([text]))
    assert cleaned == "Het kabinet is gevallen.\nDe Tweede Kamer debatteert morgen."
    assert removed == 1


@pytest.mark.parametrize(
    "line",
    [
        "De advertentie van de gemeente was onduidelijk.",
        "Lees ook de brief die de minister gisteren stuurde, schrijft de krant, want daarin staat veel meer "
        "dan in de samenvatting die het ministerie zelf naar buiten bracht over de plannen voor volgend jaar.",
        "Hij volgt ons al jaren op de voet.",
        "Foto's van de overstroming gingen de hele wereld over.",
    ],
)
def test_article_sentences_stay(line: str):
    (cleaned,), (removed,) = (s.to_list() for s in NewsBoilerplateCleaner().clean([line]))
    assert (cleaned, removed) == (line, 0)


def test_only_boilerplate_leaves_an_empty_text_and_order_is_kept():
    cleaned, removed = NewsBoilerplateCleaner().clean(["Advertentie\nDeel dit artikel", "", "Gewoon tekst."])
    assert cleaned.to_list() == ["", "", "Gewoon tekst."]
    assert removed.to_list() == [2, 0, 0]


def test_custom_patterns_and_line_length_limit():
    cleaner = NewsBoilerplateCleaner(patterns=[r"dit is ruis"], max_line_chars=12)
    cleaned, removed = cleaner.clean(["Dit is ruis.\nDit is geen ruis.\nDIT IS RUIS"])
    assert cleaned.to_list() == ["Dit is geen ruis."]
    assert removed.to_list() == [2]
    with pytest.raises(ValueError, match="pattern"):
        NewsBoilerplateCleaner(patterns=[])
