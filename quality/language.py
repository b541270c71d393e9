"""Offline language identification: a language code and a score per document.

The model is py3langid's (BSD-3-Clause; a Naive Bayes over byte n-grams trained on 97 languages,
including Frisian ``fy``), shipped inside the package: nothing is downloaded, ever. Scores are
normalised probabilities in ``[0, 1]``.

FineWeb-2 uses GlotLID with a minimum score of 0.689 for Dutch; py3langid's probabilities are calibrated
differently (most clean documents score above 0.99), so the same number is a milder threshold here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

#: Characters of a document the model reads: the start of a long document decides its language as well
#: as the whole, at a fraction of the cost.
DEFAULT_MAX_CHARS = 5_000
#: py3langid's label for text without language (numbers, symbols).
NO_LANGUAGE = "zxx"


class LanguageGuess(NamedTuple):
    """The most probable language of a text (ISO 639-1 code, or ``zxx``) and its probability."""

    lang: str
    score: float


@functools.lru_cache(maxsize=1)
def _identifier():  # py3langid has no type hints
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def supported_languages() -> frozenset[str]:
    """Return the language codes the bundled model knows."""
    return frozenset(_identifier().nb_classes)


class LanguageDetector:
    """Identify the language of Dutch-archive text offline.

    :param max_chars: characters read from the start of each text.
    """

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if max_chars <= 0:
            raise ValueError("max_chars must be positive")
        self.max_chars = max_chars

    def detect(self, text: str) -> LanguageGuess:
        """Return the most probable language of ``text``; text without letters is ``zxx`` with score 0."""
        sample = text[: self.max_chars]
        if not any(char.isalpha() for char in sample):
            return LanguageGuess(NO_LANGUAGE, 0.0)
        lang, score = _identifier().classify(sample)
        return LanguageGuess(str(lang), round(float(score), 4))

    def detect_many(self, texts: Iterable[str]) -> tuple[list[str], list[float]]:
        """Return the languages and scores of many texts, as two lists in input order."""
        langs: list[str] = []
        scores: list[float] = []
        for text in texts:
            guess = self.detect(text)
            langs.append(guess.lang)
            scores.append(guess.score)
        return langs, scores
