from __future__ import annotations

import random
import unicodedata

import pytest

from quality.normalise import normalise_text

TRICKY = [
    "",
    "   ",
    "\n\n\n",
    "Cafe\u0301",
    "e\u200b\u0301",
    "\ufeffBOM aan het begin",
    "a\r\n\r\n\r\n\r\nb",
    "a\r\rb",
    "regel\u2028regel\u2029alinea\x85eind",
    "tab\tscheiding\u00a0en\u202fsmalle\u3000spaties",
    "  meerdere   spaties  \n  rond  \n  regels  ",
    "lan\u00adtaarn\u00adpaal",
    "zero\u200bwidth\u200cnon\u200djoiner\u2060word",
    "\u202aLTR\u202c en \u200fRTL\u200e",
    "controle\x00\x07\x1b\x7f\x9ftekens",
    "\u1e9b\u0323 en \u0071\u0307\u0323 en A\u030a vs \u212b",
    "\u1100\u1161\u11a8 hangul",
    " \u0301 losse combinerende tekens",
    "a \n\u0301",
    "\t\n\t\n\t\n\t",
    "x\u00a0\n\u00a0\n\u00a0\n\u00a0y",
    "\u2000\u2001\u2002\u200a\u205f\u1680",
    "zin.\u00a0\u00a0Nieuwe zin.",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cafe\u0301", "Caf\u00e9"),  # NFD → NFC
        ("A\u030angstro\u0308m", "\u00c5ngstr\u00f6m"),
        ("\u212b", "\u00c5"),  # singleton canonical equivalent
        ("een\r\ntwee", "een\ntwee"),
        ("een\rtwee", "een\ntwee"),
        ("een\u2028twee\u2029drie\x85vier", "een\ntwee\ndrie\nvier"),
        ("een\r\n\r\ntwee", "een\n\ntwee"),
    ],
)
def test_nfc_and_line_endings(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zero\u200bwidth", "zerowidth"),
        ("\ufeffbegin", "begin"),
        ("lan\u00adtaarn", "lantaarn"),  # soft hyphen
        ("woord\u2060joiner", "woordjoiner"),
        ("\u202bbidi\u202c", "bidi"),
        ("null\x00byte\x1fen\x7fC1\x9f", "nullbyteenC1"),
    ],
)
def test_invisible_characters_are_removed(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


def test_invisible_between_letter_and_accent_then_composes() -> None:
    result = normalise_text("Caf" + "e\u200b\u0301")
    assert result == "Caf\u00e9"
    assert len(result) == 4
    assert normalise_text("e\u00ad\u0301\ufeff") == "\u00e9"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("een\u00a0twee", "een twee"),
        ("een\ttwee", "een twee"),
        ("een \t \u00a0 twee", "een twee"),
        ("10\u202f000 euro", "10 000 euro"),
        ("a\u2003b\u3000c\u1680d", "a b c d"),
        ("veel      spaties", "veel spaties"),
    ],
)
def test_blanks_become_one_space(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


def test_many_newlines_become_one_empty_line() -> None:
    assert normalise_text("a\n\n\nb") == "a\n\nb"
    assert normalise_text("a\n\n\n\n\n\nb\n\nc\nd") == "a\n\nb\n\nc\nd"
    assert normalise_text("a\n \n\t\n\u00a0\nb") == "a\n\nb"  # lines of blanks are empty lines


def test_trailing_and_leading_spaces_per_line() -> None:
    assert normalise_text("regel een   \n   regel twee\t\nregel drie ") == "regel een\nregel twee\nregel drie"


def test_strip() -> None:
    assert normalise_text("\n\n  \t tekst \u00a0\n\n") == "tekst"
    assert normalise_text(" \u200b \n ") == ""
    assert normalise_text("") == ""


@pytest.mark.parametrize("text", TRICKY)
def test_idempotent_on_tricky_strings(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once


def test_idempotent_on_random_strings() -> None:
    alphabet = [*"ae A.-\t\n\r", "\u0301", "\u0323", "\u0308", "\u00a0", "\u200b", "\u200d", "\u00ad", "\ufeff"]
    alphabet += ["\u2028", "\x85", "\u2001", "\u3000", "\x0c", "\u1100", "\u1161", "\u212b", "\u00e9", "\x00"]
    rng = random.Random(20261123)  # noqa: S311 - reproducible test input, not crypto
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        once = normalise_text(text)
        assert normalise_text(once) == once, repr(text)


def test_output_is_in_canonical_form() -> None:
    for text in TRICKY:
        result = normalise_text(text)
        assert unicodedata.is_normalized("NFC", result)
        assert "\r" not in result and "\t" not in result and "\u00a0" not in result
        assert "\n\n\n" not in result
        assert result == result.strip()
        assert all(line == line.strip(" ") for line in result.split("\n"))


WORDY = [
    "De gemeente Groningen past vanaf 2 november de ophaaldagen aan.",
    "Co\u00f6peratie 's-Hertogenbosch: ‘aanhalingstekens’, „Nederlandse” — en ƒ 1250,- (ca. 8%)!",
    "e-mail: piet@voorbeeld.nl; https://krant.example/pad?x=1&y=2#anker",
    "IJsselmeer, ij en IJ, na\u00efef, caf\u00e9, r\u00e9sum\u00e9, \u00e9\u00e9n, \u00fc\u00df",
    "Tabel:\tkolom1\tkolom2\r\nwaarde1\u00a0\u00a0waarde2\r\n\r\n\r\n\r\nSlot.",
    "  Regel met   veel\u2003ruimte  \u2028nieuwe regel\u2029  ",
    "1.234,56 − 7×8 ÷ 2 ≠ 3 → ✓ 😀 👍🏽",
]


@pytest.mark.parametrize("text", WORDY)
def test_words_are_never_changed(text: str) -> None:
    assert normalise_text(text).split() == unicodedata.normalize("NFC", text).split()


def test_punctuation_and_case_are_kept() -> None:
    text = "Zeg 'ns: \"Wát?!\" — O.K., dat's 100% ‘echt’..."
    assert normalise_text(text) == text


@pytest.mark.parametrize("separator", ["\x0c", "\x0b"])
def test_form_feed_and_vertical_tab_separate_words(separator: str) -> None:
    text = f"einde pagina{separator}begin volgende"
    assert normalise_text(text).split() == ["einde", "pagina", "begin", "volgende"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cafÃ© in ZÃ¼rich", "café in Zürich"),  # UTF-8 read as Windows-1252
        ("Het is â€˜mooiâ€™ weer â€“ zegt hij", "Het is ‘mooi’ weer – zegt hij"),
        ("Ã‰Ã©n keer, â‚¬ 5", "Één keer, € 5"),
    ],
)
def test_mojibake_is_repaired(text: str, expected: str) -> None:
    assert normalise_text(text) == expected
    assert normalise_text(expected) == expected


@pytest.mark.parametrize(
    "text",
    ["Het château van Mâcon", "Â is een letter, Ã ook", "Zürich, Ærø en Ångström", "naïeve coöperatie ‘zegt’ hij"],
)
def test_correct_text_with_the_same_letters_is_not_repaired(text: str) -> None:
    assert normalise_text(text) == text
