"""Offline language identification: a language code and a score per document.

The model is py3langid's (BSD-3-Clause; a Naive Bayes over byte n-grams trained on 140 languages,
including Frisian ``fy``), shipped inside the package: nothing is downloaded, ever. Scores are
normalised probabilities in ``[0, 1]``.

FineWeb-2 uses GlotLID with a minimum score of 0.689 for Dutch; py3langid's probabilities are calibrated
differently (most clean documents score above 0.99), so the same number is a milder threshold here.

:meth:`LanguageDetector.detect_many` gives exactly py3langid's ``classify`` results (the same label and
the same float32 score, bit for bit) on a whole batch at once, several times faster than one
``classify`` per text. py3langid walks a byte automaton in a Python loop, one byte at a time, and that
loop was most of the cost. The automaton is an Aho-Corasick automaton over n-grams of at most
:attr:`_Model.window` bytes, so the state after any byte depends on the last ``window`` bytes only (the
tests check this for every state of the bundled model): the states of every byte of a batch come from
``window`` array lookups over the whole batch instead of one Python step per byte. The per-document
scoring keeps py3langid's arithmetic in the same order, which is what keeps the scores identical.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

#: Characters of a document the model reads: the start of a long document decides its language as well
#: as the whole, at a fraction of the cost.
DEFAULT_MAX_CHARS = 5_000
#: py3langid's label for text without language (numbers, symbols).
NO_LANGUAGE = "zxx"
#: Bytes of text walked through the automaton at once: bounds the working memory of a batch (~40 bytes
#: of temporaries per byte of text) without giving up the speed of large array operations.
_CHUNK_BYTES = 1 << 20


class LanguageGuess(NamedTuple):
    """The most probable language of a text (ISO 639-1 code, or ``zxx``) and its probability."""

    lang: str
    score: float


@dataclass(frozen=True)
class _Model:
    """py3langid's bundled model, laid out for array operations over many texts."""

    #: log P(feature | class), features x classes; float32 rather than the shipped float16, as py3langid
    #: promotes to float32 before its product anyway (same results, without converting at every call)
    table: np.ndarray
    #: log P(class)
    prior: np.ndarray
    classes: tuple[str, ...]
    #: next state = ``nextmove[row_base[state] | byte]`` (rows of 256 shared between states)
    nextmove: np.ndarray
    row_base: np.ndarray
    #: state after two bytes from the start, by ``first << 8 | second``
    pair_states: np.ndarray
    #: feature counted on entering a state, -1 for none
    output: np.ndarray
    #: bytes that determine the automaton's state: the longest n-gram
    window: int
    #: (first, duplicate) columns of labels listed twice (a language in two scripts)
    alias_pairs: tuple[tuple[int, int], ...]


def _automaton_depth(nextmove: np.ndarray, row_base: np.ndarray) -> int:
    """Return the largest number of bytes needed to reach any state from the start (its longest n-gram)."""
    seen = np.zeros(len(row_base), dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.int32)
    depth = 0
    while len(frontier):
        reached = np.zeros_like(seen)
        reached[nextmove[(row_base[frontier][:, None] | np.arange(256, dtype=np.int32)).ravel()]] = True
        reached &= ~seen
        seen |= reached
        frontier = np.flatnonzero(reached)
        depth += 1
    return depth - 1


@functools.lru_cache(maxsize=1)
def _model() -> _Model:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    classes = tuple(str(label) for label in identifier.nb_classes)
    first: dict[str, int] = {}
    aliases = []
    for index, label in enumerate(classes):
        if label in first:
            aliases.append((first[label], index))
        else:
            first[label] = index
    # NUL leads every state back to the start: the batch walk relies on it to separate texts
    nextmove = np.frombuffer(identifier.tk_nextmove, dtype=f"u{identifier.tk_nextmove.itemsize}").astype(np.int32)
    row_base = np.frombuffer(identifier.tk_row, dtype=f"u{identifier.tk_row.itemsize}").astype(np.int32) << 8
    output = np.asarray(identifier.tk_output, dtype=np.int32)
    if np.any(nextmove[row_base] != 0) or output[0] >= 0:
        raise RuntimeError("py3langid's automaton changed: NUL no longer resets it")
    return _Model(
        table=np.asarray(identifier.nb_ptc, dtype=np.float32),
        prior=np.asarray(identifier.nb_pc, dtype=np.float32),
        classes=classes,
        nextmove=nextmove,
        row_base=row_base,
        pair_states=nextmove[row_base[nextmove[row_base[0] | np.arange(256)]][:, None] | np.arange(256)].ravel(),
        output=output,
        # the byte-pair table takes the first two steps, so two is the least; a longer window is as exact
        window=max(_automaton_depth(nextmove, row_base), 2),
        alias_pairs=tuple(aliases),
    )


def supported_languages() -> frozenset[str]:
    """Return the language codes the bundled model knows."""
    return frozenset(_model().classes)


def _encode(sample: str) -> bytes:
    """Return the bytes py3langid reads for ``sample`` (all-caps lowered, NFC, lone surrogates kept)."""
    if sample.isupper():
        sample = sample.lower()
    return unicodedata.normalize("NFC", sample).encode("utf-8", errors="surrogatepass")


def _states(model: _Model, data: np.ndarray) -> np.ndarray:
    """Return the automaton's state after each byte of ``data``, as py3langid's walk over it reaches it."""
    # the state after byte i is the one reached from the start over bytes i-window+1 .. i alone, so every
    # byte takes `window` lookups, all bytes at once; the first two come from a table of byte pairs
    window = model.window
    padded = np.concatenate([np.zeros(window - 1, dtype=np.uint8), data])
    wide = padded[: len(data) + 1].astype(np.int32)
    state = model.pair_states[(wide[:-1] << 8) | wide[1:]]
    for shift in range(window - 3, -1, -1):
        byte = padded[window - 1 - shift : len(padded) - shift]
        state = model.nextmove.take(model.row_base.take(state) | byte)
    return state


def _features(model: _Model, encoded: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the features of texts and their log-counts, text after text, with where each text's run is.

    Each text's features come in the order py3langid first meets them (the order of its sums); text
    ``i``'s are at ``bounds[i]:bounds[i + 1]``.
    """
    # one NUL before each text resets the automaton, so texts never see their neighbours' bytes
    data = np.frombuffer(b"\0" + b"\0".join(encoded), dtype=np.uint8)
    feature = model.output[_states(model, data)]
    position = np.flatnonzero(feature >= 0)
    ends = np.cumsum(np.fromiter((len(text) + 1 for text in encoded), dtype=np.int64, count=len(encoded)))
    doc = np.searchsorted(ends, position, side="right")
    # one sort of (text, feature, position) keys counts each text's features and finds where each is
    # first met; positions are distinct, so an unstable (fast) sort is enough
    bits = len(data).bit_length()
    keys = ((doc * len(model.table) + feature[position]) << bits) | position
    keys.sort()
    group = keys >> bits
    starts = np.flatnonzero(np.diff(group, prepend=-1))
    counts = np.diff(np.append(starts, len(keys)))
    # mark each feature at its first position: reading the marks in byte order gives py3langid's order
    first_met = np.full(len(data), -1, dtype=np.int64)
    first_met[keys[starts] & ((1 << bits) - 1)] = np.arange(len(starts))
    order = first_met[first_met >= 0]
    doc_of, feature_of = np.divmod(group[starts[order]], len(model.table))
    bounds = np.searchsorted(doc_of, np.arange(len(encoded) + 1))
    return feature_of.astype(np.intp), np.log1p(counts[order].astype(np.float32)), bounds


def _chunks(encoded: Sequence[bytes]) -> Iterable[Sequence[bytes]]:
    """Split texts into runs of about :data:`_CHUNK_BYTES` bytes (a longer text alone)."""
    start, size = 0, 0
    for end, text in enumerate(encoded):
        if size and size + len(text) > _CHUNK_BYTES:
            yield encoded[start:end]
            start, size = end, 0
        size += len(text) + 1
    if start < len(encoded):
        yield encoded[start:]


def _classify(encoded: Sequence[bytes]) -> list[LanguageGuess]:
    """Classify encoded texts as py3langid's ``classify`` does with ``norm_probs=True``."""
    model = _model()
    scores = np.zeros((len(encoded), len(model.classes)), dtype=np.float32)
    row = 0
    for chunk in _chunks(encoded):
        features, weights, bounds = _features(model, chunk)
        for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if end > start:  # as py3langid: no features leaves a row of zeros (a uniform guess)
                scores[row] = weights[start:end] @ model.table[features[start:end]] + model.prior
            row += 1
    # py3langid divides by sqrt(bytes) so the softmax stays calibrated across lengths; a float32 factor
    # per row is what numpy makes of its Python float, so the products are the same
    scale = np.array([1.0 / math.sqrt(len(text) or 1) for text in encoded], dtype=np.float32)
    scores *= scale[:, None]
    np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    for first, duplicate in model.alias_pairs:
        scores[:, first] += scores[:, duplicate]
        scores[:, duplicate] = 0.0
    best = scores.argmax(axis=1)
    confidence = scores[np.arange(len(encoded)), best]
    return [
        LanguageGuess(model.classes[i], round(float(score), 4))
        for i, score in zip(best.tolist(), confidence.tolist(), strict=True)
    ]


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
        return self.detect_all([text])[0]

    def detect_all(self, texts: Iterable[str]) -> list[LanguageGuess]:
        """Return the most probable language of each text, in input order (one pass over the batch)."""
        samples = [text[: self.max_chars] for text in texts]
        # scanning stops at the first letter, so this costs little but on texts that have none
        lettered = [i for i, sample in enumerate(samples) if any(char.isalpha() for char in sample)]
        guesses = [LanguageGuess(NO_LANGUAGE, 0.0)] * len(samples)
        for i, guess in zip(lettered, _classify([_encode(samples[i]) for i in lettered]), strict=True):
            guesses[i] = guess
        return guesses

    def detect_many(self, texts: Iterable[str]) -> tuple[list[str], list[float]]:
        """Return the languages and scores of many texts, as two lists in input order."""
        guesses = self.detect_all(texts)
        return [guess.lang for guess in guesses], [guess.score for guess in guesses]
