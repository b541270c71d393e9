"""The shipped Dutch person-name model: a linear-chain CRF (CRFsuite) over cheap word features.

The rule-based :class:`anonymisation.names.PersonNameFinder` decides from word lists and context; this
model learns from annotated text (see ``anonymisation/models/names-nl.md``) which combinations of shape,
word lists and neighbouring words make a name. It is meant to be combined (union) with the rules.

Speed matters more than the last point of recall (the anonymiser must run at >= 1 MB/s per core), so
:meth:`NameModel.find` tags only *windows*: a few tokens around capitalised words that are not plain
sentence-initial common words, initials and title cues (``heer``, ``mevrouw``, ``dr.``, ``minister``).
Lowercase-only stretches are never tagged: a Dutch name always has a capitalised part or an initial.
Features of a word are computed once and cached; a token's features are its own plus the cached
features its neighbours contribute at each offset.

Training (``python -m anonymisation.training``) uses the very same tokenizer, windows and features, so
what the model saw in training is what it sees at run time.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import pycrfsuite

# The model's own word lists, frozen with the shipped model (see anonymisation.vocabulary)
from anonymisation.vocabulary import MODEL_CALENDAR as CALENDAR
from anonymisation.vocabulary import MODEL_ORG_PLACE_WORDS as ORG_PLACE_WORDS
from anonymisation.vocabulary import MODEL_PARTICLES as PARTICLES
from anonymisation.vocabulary import MODEL_SPEECH as SPEECH
from anonymisation.vocabulary import MODEL_TITLE_CUES as TITLE_CUES

#: Bumped whenever tokenizer, windows or features change: a model is only valid with the same version.
FEATURES_VERSION = "names-nl-features-1"

#: The packaged model (``python -m anonymisation.training`` writes it).
DEFAULT_MODEL_PATH = Path(__file__).parent / "models" / "names-nl.crfsuite"

#: Entity labels the model emits.
LABELS = ("PER", "LOC", "ORG")

#: Tokens around a trigger that are tagged too. None: runs of triggers (joined across tussenvoegsels) are
#: tagged as one sequence and the features still read +-2 tokens of context. Against +-2 tokens this tags
#: 1.9x faster with the same figures on the news dev set (model and rules together, benchmarks/eval_pii.py:
#: recall 0.932 against 0.928, precision 0.711 against 0.724) and less over-masking on OCR; training uses
#: the same windows.
WINDOW = 0

# A token: initials (J. / A.B. / Th. / A.Th.Chr.), "v/d" and "v.d.", elided articles ('t, 's, d'Ancona is
# one word), words with inner hyphens or apostrophes (Visser-de, O'Neill), numbers, or one other character.
_INITIAL_PART = r"(?:Th|Chr|Ph|Joh|Jac|Fr|Wm|Ch|Ij|IJ|[^\W\d_])\."
_TOKEN = re.compile(
    rf"(?:{_INITIAL_PART}){{1,5}}(?![^\W\d_])"
    r"|[vV]/[dD]\b|[vV]\.[dD]\."
    r"|['’][stn]\b"
    r"|[^\W\d_]+(?:[-'’][^\W\d_]+)*"
    r"|\d+(?:[.,]\d+)*"
    r"|\S",
    re.UNICODE,
)
_INITIALS = re.compile(rf"^(?:{_INITIAL_PART})+$")
_SENTENCE_END = frozenset(".!?:;\"'“”«»")


class ModelSpan(NamedTuple):
    """An entity the model found: character offsets, label (PER/LOC/ORG) and mean marginal probability."""

    start: int
    end: int
    label: str
    score: float


class Token(NamedTuple):
    """A token of the model's tokenizer with its character offsets."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split text into tokens with character offsets (initials, tussenvoegsels and elisions kept whole)."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


class _Lists(NamedTuple):
    given: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[str]
    common: frozenset[str]
    function: frozenset[str]


@functools.cache
def _lists() -> _Lists:
    """Return the word lists of the bundled name lexicon (read-only; built once, ~1 s)."""
    from anonymisation.lexicon import default_lexicon

    lexicon = default_lexicon()
    return _Lists(
        frozenset(lexicon.given_names),
        frozenset(lexicon.surnames),
        frozenset(lexicon.places),
        frozenset(lexicon.common_words),
        frozenset(lexicon.function_words),
    )


def lexicon_fingerprint() -> str:
    """Return a short hash of the word lists the features use (recorded with a model; a change means retrain)."""
    import hashlib

    digest = hashlib.sha256()
    for words in _lists():
        digest.update("\n".join(sorted(words)).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _shape(word: str) -> str:
    """Compressed word shape: runs of upper (X), lower (x), digits (d) and other characters."""
    out = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)[:6]


def _is_cap(word: str) -> bool:
    return word[:1].isupper()


class _WordInfo(NamedTuple):
    """Everything about one word string that does not depend on its position (cached per word)."""

    own: tuple[str, ...]  # its own features
    ctx: tuple[tuple[str, ...], ...]  # the features it gives a token at offsets -2, -1, +1, +2
    cap: bool
    trigger: bool  # can start a window anywhere
    weak: bool  # capitalised but a common word (a trigger only when not sentence-initial)
    sentence_end: bool


@functools.lru_cache(maxsize=200_000)
def _word_info(word: str) -> _WordInfo:
    lists = _lists()
    lower = word.lower()
    shape = _shape(word)
    cap = _is_cap(word)
    initials = bool(_INITIALS.match(word))
    flags = []
    if initials:
        flags.append("init")
    if word in lists.given or word.capitalize() in lists.given:
        flags.append("gn")
    if word in lists.surnames or word.capitalize() in lists.surnames:
        flags.append("sn")
    if word in lists.places:
        flags.append("pl")
    if lower in lists.common:
        flags.append("cw")
    if lower in lists.function:
        flags.append("fw")
    bare = lower.rstrip(".")
    if bare in TITLE_CUES:
        flags.append("ti")
    if lower in PARTICLES:
        flags.append("pa")
    if lower in SPEECH:
        flags.append("sp")
    if lower in ORG_PLACE_WORDS or lower.endswith(("straat", "laan", "plein", "gracht", "weg", "bank")):
        flags.append("op")
    if lower in CALENDAR:
        flags.append("cal")
    if "-" in word:
        flags.append("hy")
    if word.isupper() and len(word) > 1 and not initials:
        flags.append("up")
    own = [
        "b",
        "w=" + lower,
        "sh=" + shape,
        "s2=" + lower[-2:],
        "s3=" + lower[-3:],
        "s4=" + lower[-4:],
        "p3=" + lower[:3],
    ]
    own.extend("f=" + f for f in flags)
    if cap:
        own.append("cap")
        own.extend("capf=" + f for f in flags)
    # neighbours contribute their lowercase form, shape and the flags that matter for a name next to them
    key_flags = [f for f in flags if f in ("gn", "sn", "ti", "pa", "sp", "init", "op", "pl", "cal")]
    ctx = []
    for offset in ("-2", "-1", "+1", "+2"):
        items = ["w" + offset + "=" + lower, "sh" + offset + "=" + shape]
        if offset in ("-1", "+1"):
            items.extend("f" + offset + "=" + f for f in key_flags)
            if cap:
                items.append("cap" + offset)
        ctx.append(tuple(items))
    common = lower in lists.common or lower in lists.function or lower in CALENDAR
    trigger = initials or bare in TITLE_CUES or (cap and word[0].isalpha() and not common)
    weak = cap and word[0].isalpha() and common and not initials
    return _WordInfo(tuple(own), tuple(ctx), cap, trigger, weak, word in _SENTENCE_END)


class Scan(NamedTuple):
    """A text split by the tokenizer: the token strings and their regex matches (offsets on demand)."""

    text: str
    words: list[str]
    matches: list[re.Match[str]]


def scan(text: str) -> Scan:
    """Tokenize ``text`` cheaply (no per-token objects beyond the regex matches)."""
    matches = list(_TOKEN.finditer(text))
    return Scan(text, [m.group() for m in matches], matches)


def _sentence_initial(doc: Scan, i: int) -> bool:
    if i == 0:
        return True
    if doc.words[i - 1] in _SENTENCE_END:
        return True
    return doc.text.find("\n", doc.matches[i - 1].end(), doc.matches[i].start()) != -1


def windows(doc: Scan) -> list[tuple[int, int]]:
    """Token index ranges ``[start, end)`` where a name can be: around triggers, merged.

    A trigger is an initial, a title cue, or a capitalised word that is not a common Dutch word; a
    capitalised common word counts too unless it is sentence-initial (``Het``, ``Maar``).
    """
    out: list[tuple[int, int]] = []
    n = len(doc.words)
    info = _word_info
    last = -1
    for i, word in enumerate(doc.words):
        if not word[0].isupper():  # cheap exit: most tokens are lowercase words or punctuation
            if word not in TITLE_CUES:  # the only lowercase triggers: heer, mevrouw, dhr, prof, minister ...
                continue
        else:
            w = info(word)
            if not w.trigger and (not w.weak or _sentence_initial(doc, i)):
                continue
        lo, hi = (i - WINDOW if i > WINDOW else 0), (i + WINDOW + 1 if i + WINDOW + 1 < n else n)
        # tussenvoegsels between two triggers join their windows: "Hugo de Jonge" is one sequence
        if out and lo > last and all(w.lower() in PARTICLES for w in doc.words[last:lo]):
            lo = last
        if out and lo <= last:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
        last = hi
    return out


def features(doc: Scan, lo: int, hi: int) -> list[list[str]]:
    """Return the CRF feature lists of tokens ``lo..hi`` (context is read from the whole token list)."""
    words = doc.words
    n = len(words)
    base = lo - 2 if lo >= 2 else 0
    infos = [_word_info(w) for w in words[base : hi + 2]]
    seq = []
    for i in range(lo, hi):
        info = infos[i - base]
        feats = list(info.own)
        if _sentence_initial(doc, i):
            feats.append("si")
            if info.cap:
                feats.append("si_cap")
        for slot, j in enumerate((i - 2, i - 1, i + 1, i + 2)):
            if 0 <= j < n:
                feats.extend(infos[j - base].ctx[slot])
            else:
                feats.append("edge-" if j < i else "edge+")
        seq.append(feats)
    return seq


class NameModel:
    """A trained CRF that finds person (and place and organisation) names in Dutch text.

    :param path: the ``.crfsuite`` model file; default the packaged ``anonymisation/models/names-nl.crfsuite``.
    :raises FileNotFoundError: when the model file does not exist.
    :raises ValueError: when the file is not a CRFsuite model.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        if not self.path.is_file():
            raise FileNotFoundError(
                f"person-name model not found: {self.path} (train one with `python -m anonymisation.training`)"
            )
        self._tagger = pycrfsuite.Tagger()
        try:
            self._tagger.open(str(self.path))
        except Exception as error:  # crfsuite raises a bare ValueError/IOError with no path in it
            raise ValueError(f"not a valid CRFsuite person-name model: {self.path} ({error})") from error
        labels = set(self._tagger.labels())
        if not labels or not labels <= {"O"} | {f"{p}-{x}" for p in "BI" for x in LABELS}:
            raise ValueError(f"unexpected labels in person-name model {self.path}: {sorted(labels)}")
        _lists()  # build the word lists now, not inside the first document's timing
        self._last: tuple[str | None, tuple[ModelSpan, ...]] = (None, ())

    def find(self, text: str) -> list[ModelSpan]:
        """Return the entities in ``text``, sorted by start and non-overlapping.

        The last text's result is kept: the person and the place/organisation recognizers ask for the same
        text one after the other, and tagging is the expensive part.
        """
        if text == self._last[0]:
            return list(self._last[1])
        spans = self._find(text)
        self._last = (text, tuple(spans))
        return spans

    def _find(self, text: str) -> list[ModelSpan]:
        doc = scan(text)
        spans: list[ModelSpan] = []
        tagger = self._tagger
        for lo, hi in windows(doc):
            tagger.set(features(doc, lo, hi))
            tags = tagger.tag()
            if any(t != "O" for t in tags):
                spans.extend(_spans(doc.matches, tags, lo, tagger))
        return spans

    def find_many(self, texts: Iterable[str]) -> list[list[ModelSpan]]:
        """Run :meth:`find` over several texts."""
        return [self.find(text) for text in texts]


def _spans(
    matches: Sequence[re.Match[str]], tags: Sequence[str], lo: int, tagger: pycrfsuite.Tagger
) -> list[ModelSpan]:
    """Turn BIO tags of one window into spans scored by the mean marginal of their tags."""
    out = []
    current: list[int] | None = None
    label = ""
    for k, tag in enumerate([*tags, "O"]):
        inside = tag != "O"
        continues = inside and tag[0] == "I" and current is not None and tag[2:] == label
        if current is not None and not continues:
            score = sum(tagger.marginal(tags[j], j) for j in current) / len(current)
            out.append(ModelSpan(matches[lo + current[0]].start(), matches[lo + current[-1]].end(), label, score))
            current = None
        if inside and not continues:
            current, label = [k], tag[2:]
        elif continues:
            current.append(k)
    return out


@functools.cache
def default_name_model() -> NameModel:
    """Return the packaged model, loaded once."""
    return NameModel()
