"""Offline language identification: Dutch, Frisian and others, on tiny texts."""

from __future__ import annotations

import socket

import pytest

from quality.language import LanguageDetector, LanguageGuess, supported_languages

DUTCH = "De gemeenteraad van Groningen heeft gisteren besloten dat de nieuwe fietsbrug volgend jaar wordt gebouwd."
FRISIAN = "De gemeenteried fan Ljouwert hat juster besletten dat de nije fytsbrêge takom jier boud wurde sil."
ENGLISH = "The city council of Groningen decided yesterday that the new bicycle bridge will be built next year."


@pytest.mark.parametrize(("text", "lang"), [(DUTCH, "nl"), (FRISIAN, "fy"), (ENGLISH, "en")])
def test_detects_dutch_frisian_and_english(text: str, lang: str):
    guess = LanguageDetector().detect(text)
    assert guess.lang == lang
    assert 0.5 < guess.score <= 1.0


def test_text_without_letters_has_no_language():
    assert LanguageDetector().detect("12 345 - 67,89 %") == LanguageGuess("zxx", 0.0)
    assert LanguageDetector().detect("") == LanguageGuess("zxx", 0.0)


def test_reads_only_the_start_of_long_texts():
    text = DUTCH + " " + ENGLISH * 20
    assert LanguageDetector(max_chars=len(DUTCH)).detect(text).lang == "nl"
    assert LanguageDetector().detect(text).lang == "en"


def test_many_texts_in_order_and_offline(monkeypatch: pytest.MonkeyPatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("language identification tried to connect")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    langs, scores = LanguageDetector().detect_many([ENGLISH, DUTCH, FRISIAN])
    assert langs == ["en", "nl", "fy"]
    assert len(scores) == 3


def test_model_knows_frisian_and_dutch():
    assert {"nl", "fy", "en", "de"} <= supported_languages()


def test_max_chars_must_be_positive():
    with pytest.raises(ValueError, match="max_chars"):
        LanguageDetector(max_chars=0)
