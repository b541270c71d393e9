"""Offline language identification: Dutch, Frisian and others, on tiny texts."""

from __future__ import annotations

import socket

import numpy as np
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


# --- the batch path gives py3langid's own results, text for text --------------------------------------------

MIXED = [
    DUTCH,
    FRISIAN,
    ENGLISH,
    "Der Gemeinderat hat gestern beschlossen, dass die neue Fahrradbrücke nächstes Jahr gebaut wird.",
    "Le conseil municipal a décidé hier que le nouveau pont cyclable sera construit l'année prochaine.",
    "Городской совет вчера решил, что новый велосипедный мост построят в следующем году.",
    "市议会昨天决定明年修建新的自行车桥。",
    "قرر المجلس البلدي أمس بناء جسر الدراجات الجديد العام المقبل.",
    "Το δημοτικό συμβούλιο αποφάσισε χθες ότι η νέα γέφυρα θα κατασκευαστεί του χρόνου.",
    "DE GEMEENTERAAD HEEFT GISTEREN BESLOTEN DAT DE NIEUWE FIETSBRUG WORDT GEBOUWD.",  # all caps: lowered
    "Kom je morgen ook?",
    "a",
    "x" * 3,
    DUTCH + " " + ENGLISH + " " + FRISIAN,
    "Uitslag: Ajax - PSV 2-1 (1-0), 45' Tadić, 67' 🎉⚽ Brobbey; 𝔊𝔬𝔱𝔥𝔦𝔠 en 𝟙𝟚𝟛 tekens buiten het BMP.",
    "Een losse surrogaat \ud800 midden in de tekst, en nog een aan het eind \udfff",
    "Tekst met een NUL\x00-teken en\tandere\x01stuurtekens\r\n erin.",
    "12 345 - 67,89 %",
    "",
    "\ud83d",  # a lone high surrogate, no letters
    " \n\t ",
]


def reference(texts: list[str], max_chars: int = 5_000) -> list[LanguageGuess]:
    """The per-document path: py3langid's own ``classify``, one call per text."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    guesses = []
    for text in texts:
        sample = text[:max_chars]
        if not any(char.isalpha() for char in sample):
            guesses.append(LanguageGuess("zxx", 0.0))
            continue
        lang, score = identifier.classify(sample)
        guesses.append(LanguageGuess(str(lang), round(float(score), 4)))
    return guesses


def test_batch_gives_py3langids_results_on_mixed_languages():
    random = __import__("random").Random(7)
    noise = ["".join(chr(random.randrange(1, 0x3000)) for _ in range(random.randrange(1, 400))) for _ in range(60)]
    texts = MIXED + noise + [text[:n] for text in MIXED[:9] for n in (1, 2, 5, 6, 7, 20)]
    detector = LanguageDetector()
    assert detector.detect_all(texts) == reference(texts)
    assert [detector.detect(text) for text in texts] == reference(texts)
    langs, scores = detector.detect_many(texts)
    assert list(zip(langs, scores, strict=True)) == [tuple(guess) for guess in reference(texts)]


def test_texts_without_letters_in_a_batch_keep_their_places():
    texts = ["", DUTCH, "12 345", "\ud800\udfff", "…", ENGLISH, "🎉🎉"]
    guesses = LanguageDetector().detect_all(texts)
    assert [guess.lang for guess in guesses] == ["zxx", "nl", "zxx", "zxx", "zxx", "en", "zxx"]
    assert [guess.score for i, guess in enumerate(guesses) if i not in (1, 5)] == [0.0] * 5
    assert LanguageDetector().detect_many([]) == ([], [])


def test_very_long_texts_and_batches_larger_than_a_chunk(monkeypatch: pytest.MonkeyPatch):
    import quality.language

    monkeypatch.setattr(quality.language, "_CHUNK_BYTES", 2_000)  # many chunks, and texts longer than one
    long_text = (DUTCH + " " + FRISIAN + " ") * 200 + ENGLISH * 300
    texts = [long_text, *MIXED, long_text[:3_000], *MIXED]
    for max_chars in (5_000, 60_000, 1):
        assert LanguageDetector(max_chars).detect_all(texts) == reference(texts, max_chars)


def test_any_window_of_bytes_decides_the_automaton_state():
    """The batch walk's premise: after ``window`` bytes the state no longer depends on where the walk began.

    Checked for every state at once: pairs of (walk from that state, walk from the start) are followed
    byte by byte, all 256 bytes at each step, until no pair differs.
    """
    from quality.language import _model

    model = _model()
    ways = len(model.row_base)
    other = np.arange(ways, dtype=np.int64)
    start = np.zeros(ways, dtype=np.int64)
    steps = 0
    while len(other):
        steps += 1
        assert steps <= model.window
        byte_values = np.arange(256)
        after_other = model.nextmove[(model.row_base[other][:, None] | byte_values).ravel()].astype(np.int64)
        after_start = model.nextmove[(model.row_base[start][:, None] | byte_values).ravel()].astype(np.int64)
        differ = np.unique((after_other * ways + after_start)[after_other != after_start])
        other, start = np.divmod(differ, ways)
