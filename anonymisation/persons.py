"""Person names from two finders: the trained name model and the name rules, combined per document.

The rules (:mod:`anonymisation.names`) know Dutch name shapes, titles, roles and word lists; the model
(:mod:`anonymisation.namemodel`, a CRF) has learnt from annotated text what the rules cannot list. Each
misses names the other finds, so their ``PERSON`` spans are joined (:func:`combine`): overlapping spans
become one span that covers both. Then a name found once is found everywhere in the document
(:func:`propagate`): every later or earlier mention of a found full name, and of its surname when the name
has at least two words, is a name too: what a reader would do, and what keeps a surrogate consistent.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from anonymisation.config import current
from anonymisation.names import NameSpan
from anonymisation.vocabulary import (
    ADJECTIVE_ENDINGS,
    BODY_ENDINGS,
    NOT_PERSON_WORDS,
    PARTICLES,
    PLACE_NOUNS,
    ROLE_ENDINGS,
    STREET_ENDINGS,
    TITLES,
)

if TYPE_CHECKING:
    from anonymisation.namemodel import NameModel

#: The model's ``PER`` spans count from this score (its mean marginal probability): the confidence from
#: which its places and organisations veto the rules too. Below it the model often takes unknown company
#: and place names for persons (``Camp David``, ``Tamil Nadu``); the rules cover the clear cases anyway.
MODEL_MIN_SCORE = 0.7

#: A one-word ``PER`` span of the model counts from this score: alone, an unknown capitalised word is as
#: often a company (``Swissair en Sabena``) as a surname.
MODEL_ALONE_SCORE = 0.9

#: The score a model-only span reports. Lower than a street address's (0.7): a street named after a person
#: (``Prins Hendrikkade``, ``Willem de Zwijgerlaan``) stays an address when the two overlap.
MODEL_SPAN_SCORE = 0.65

#: A rule's span that the model confidently calls an organisation or place (and not a person) is dropped.
VETO_MIN_SCORE = 0.7

#: A rule's span from this score has a title, role, initials or a given name: evidence no body noun outweighs.
STRONG_RULE_SCORE = 0.8

#: A rule's span up to this score rests on the weakest evidence alone (unknown capitalised words in the
#: middle of a sentence, a verb of saying): it stands only where the model reads a possible person there
#: (:func:`_model_agrees`).
WEAK_RULE_SCORE = 0.5

#: Score of a mention found only because the same name was found elsewhere in the document.
PROPAGATED_SCORE = 0.6

#: Surnames shorter than this are not propagated alone (too many ordinary words and abbreviations).
MIN_PROPAGATED_LENGTH = 3

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", re.UNICODE)


class LabelledSpan(Protocol):
    """A span of a model: character offsets, a label (``PER``, ``LOC``, ``ORG``) and a score."""

    start: int
    end: int
    label: str
    score: float


def after_place_noun(text: str, start: int) -> bool:
    """Tell whether the word before ``start`` names a place or body (``wijk``, ``gemeente``, ``softwarebedrijf``)."""
    before = text[max(0, start - 30) : start]
    words = _WORD.findall(before)
    # a noun that ends the line above names nothing on this one
    if not words or "\n" in before[before.rfind(words[-1]) :]:
        return False
    last = words[-1].lower()
    return last in PLACE_NOUNS or (len(last) > 7 and last.endswith(BODY_ENDINGS))


def body_names(text: str, words: Iterable[str]) -> set[str]:
    """Return those of ``words`` that follow a place or body noun somewhere in ``text``.

    ``Het Brugse IT-bedrijf Tectrade`` says what ``Tectrade`` is for the whole document: its other mentions
    (``zaakvoerder van Tectrade``, ``Tectrade meldt``) are the company too, not a person.
    """
    found = set()
    for word in set(words):
        start = text.find(word)
        while start != -1:
            if after_place_noun(text, start):
                found.add(word)
                break
            start = text.find(word, start + len(word))
    return found


def describes(word: str, following: str, given: frozenset[str], common: frozenset[str]) -> bool:
    """Tell whether a capitalised word in front of a name says what someone is rather than who.

    A title or role (``Minister``, ``Likoed-leider``, ``VRT-journalist``), a demonym or adjective
    (``Amerikaanse``), or a common word or an abbreviation right before a given name (``Cultuur Bert``
    after ``minister van``, ``KMO Jaak``). ``following`` is the word after it; ``common`` are frequent
    lowercase words that are not names. An unknown word before a given name stays: ``Ehud Barak``.
    """
    lower = word.lower()
    head = lower.rsplit("-", 1)[-1]
    if len(word) < 2 or lower in PARTICLES or word in given:
        return False
    if lower in TITLES:
        return False
    if head in TITLES or head.endswith(ROLE_ENDINGS) or lower.endswith(ADJECTIVE_ENDINGS):
        return True
    return following in given and (lower in common or word.isupper())


def plausible(name: str, given: frozenset[str] = frozenset()) -> bool:
    """Tell whether a model's ``PER`` span can name a person, by the rules' vetoes.

    No word of it may be one that never names a person (``Kamer``, ``Al-Qaida``'s ``qaida``), unless it follows
    a tussenvoegsel (``van der Laan``) or one of the ``given`` names (``JAN POST``), or a compound street name
    (``Hendrikkade``).
    """
    previous = ""
    for word in _WORD.findall(name):
        lower = word.lower()
        # after a tussenvoegsel or a given name a word is a surname whatever else it means (van der Laan,
        # de Kamer, Jan Post)
        if lower in NOT_PERSON_WORDS and previous not in PARTICLES and previous.capitalize() not in given:
            return False
        if (len(lower) > 6 and lower.endswith(STREET_ENDINGS)) or (len(lower) > 7 and lower.endswith(BODY_ENDINGS)):
            return False
        previous = lower
        if "-" in lower and not NOT_PERSON_WORDS.isdisjoint(lower.split("-")[1:]):
            return False
    return True


def combine(
    rule_spans: Iterable[NameSpan], model_spans: Iterable[LabelledSpan], min_score: float = 0.0
) -> list[NameSpan]:
    """Join the rules' spans and the model's ``PER`` spans (score >= ``min_score``); overlapping spans merge.

    A merged span covers both and keeps the higher score, so a name that one finder saw only in part (the
    model's ``de Vries`` against the rules' ``mevrouw A. de Vries``) is replaced whole. A model span reports at
    most :data:`MODEL_SPAN_SCORE`.
    """
    spans = [NameSpan(s.start, s.end, s.score) for s in rule_spans]
    spans += [
        NameSpan(s.start, s.end, min(s.score, MODEL_SPAN_SCORE))
        for s in model_spans
        if s.label == "PER" and s.score >= min_score
    ]
    merged: list[NameSpan] = []
    for span in sorted(spans):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = NameSpan(last.start, max(last.end, span.end), max(last.score, span.score))
        else:
            merged.append(span)
    return merged


def veto(rule_spans: Iterable[NameSpan], model_spans: Sequence[LabelledSpan], min_score: float) -> list[NameSpan]:
    """Drop the rules' spans that overlap a model ``ORG`` or ``LOC`` span of score >= ``min_score``.

    The rules take an unknown capitalised word after a name-like context for a surname; the model has seen
    such words as companies, clubs and places (``Sabena``, ``Tectrade``, ``Sint-Niklaas``).
    """
    other = [(s.start, s.end) for s in model_spans if s.label in ("ORG", "LOC") and s.score >= min_score]
    return [s for s in rule_spans if not any(a < s.end and s.start < b for a, b in other)]


def tidy(
    spans: Iterable[NameSpan], text: str, given: frozenset[str], common: frozenset[str] = frozenset()
) -> list[NameSpan]:
    """Cut each span to the name itself: per line, without the words that describe, without an employer.

    A name does not run on over a line break (``Aston Villa`` / ``Jan Ullrich`` are two lines); leading
    words that say what someone is go (:func:`describes`); and after a given name and a surname, ``van``
    says where someone works (``Leo Pardon van de NMBS``), as the rules also read it.
    """
    out: list[NameSpan] = []
    for span in spans:
        offset = span.start
        for line in text[span.start : span.end].split("\n"):
            words = list(_WORD.finditer(line))
            while len(words) >= 2 and describes(words[0].group(), words[1].group(), given, common):
                words.pop(0)
            names: list[str] = []
            for k, word in enumerate(words):
                if word.group() == "van" and len(names) >= 2 and names[0] in given and names[-1] not in given:
                    words = words[:k]
                    break
                lower = word.group().lower()
                if len(lower) > 1 and word.group()[0].isupper() and lower not in PARTICLES and lower not in TITLES:
                    names.append(word.group())
            if words and any(w.group()[0].isupper() for w in words):
                out.append(NameSpan(offset + words[0].start(), offset + words[-1].end(), span.score))
            offset += len(line) + 1
    return sorted(out)


def find_persons(
    rule_spans: Sequence[NameSpan],
    model_spans: Sequence[LabelledSpan],
    text: str,
    common: frozenset[str],
    given: frozenset[str] = frozenset(),
) -> list[NameSpan]:
    """Combine both finders' names the way the pipeline does: veto, join, tidy, then propagate.

    ``common`` are words never propagated alone, ``given`` the known given names (for :func:`tidy`).
    """
    kept = [
        s
        for s in veto(rule_spans, model_spans, VETO_MIN_SCORE)
        if (s.score >= STRONG_RULE_SCORE or not after_place_noun(text, s.start))
        and (s.score > WEAK_RULE_SCORE or _model_agrees(s, model_spans))
    ]
    persons = [
        s
        for s in model_spans
        if s.label != "PER"
        or (
            plausible(text[s.start : s.end], given)
            and not after_place_noun(text, s.start)
            and (s.score >= MODEL_ALONE_SCORE or _WORD.search(text, s.start, s.end).end() < s.end)
        )
    ]
    spans = tidy(combine(kept, persons, MODEL_MIN_SCORE), text, given, common)
    bodies = body_names(text, (w for s in spans for w in _WORD.findall(text, s.start, s.end) if w[0].isupper()))
    if bodies:
        spans = [
            s for s in spans if not bodies.issuperset(w for w in _WORD.findall(text, s.start, s.end) if w[0].isupper())
        ]
        common = common | {word.lower() for word in bodies}
    return propagate(spans, text, common)


def _model_agrees(span: NameSpan, model_spans: Sequence[LabelledSpan]) -> bool:
    """Tell whether the model reads ``span`` as a possible person.

    It does where it tagged a ``PER`` span over it, or only a place or organisation it is unsure of (score
    below 0.5). Where it tagged nothing, it read no name.
    """
    overlapping = [m for m in model_spans if m.start < span.end and span.start < m.end]
    return any(m.label == "PER" or m.score < 0.5 for m in overlapping)


def _mentions(found: Sequence[NameSpan], text: str, common: frozenset[str]) -> set[str]:
    """Return the strings that name a found person: each full name, and its surname if it has two words."""
    names: set[str] = set()
    for span in found:
        words = _WORD.findall(text[span.start : span.end])
        if not words or not words[-1][:1].isupper():
            continue
        full = text[span.start : span.end].strip()
        if len(words) >= 2:
            names.add(full)
            surname = words[-1]
            lower = surname.lower()
            if len(surname) >= MIN_PROPAGATED_LENGTH and lower not in common and lower not in PARTICLES:
                names.add(surname)
        elif len(full) >= MIN_PROPAGATED_LENGTH and full.lower() not in common:
            names.add(full)
    return names


def propagate(
    spans: Sequence[NameSpan],
    text: str,
    common: frozenset[str] = frozenset(),
    places: Sequence[tuple[int, int]] = (),
) -> list[NameSpan]:
    """Add every other mention in ``text`` of a name in ``spans``; return all spans, sorted and overlap-free.

    A mention is the whole word sequence (never part of a longer word). ``common`` holds lower-case words
    that are never propagated alone (frequent Dutch words that are also surnames, such as ``de Groot``'s
    ``groot``). A mention inside one of ``places`` (where the model saw a place or an organisation) or right
    after a place or body noun is not added: ``Sabena`` as a surname once does not make the airline a person.
    """
    names = _mentions(spans, text, common)
    if not names:
        return sorted(spans)
    found = list(spans)
    taken = [(s.start, s.end) for s in spans] + list(places)
    # str.find per name, not one compiled alternation: compiling a new pattern per document cost more than
    # the search itself
    for name in sorted(names, key=len, reverse=True):
        start = text.find(name)
        while start != -1:
            end = start + len(name)
            if (
                not (start and _joins(text[start - 1]))
                and not (end < len(text) and _joins(text[end]))
                and not any(a < end and start < b for a, b in taken)
                and not after_place_noun(text, start)
            ):
                found.append(NameSpan(start, end, PROPAGATED_SCORE))
                taken.append((start, end))
            start = text.find(name, start + 1)
    return sorted(found)


def _joins(char: str) -> bool:
    """Tell whether a character next to a match makes it part of a longer word (``Sluiskade``, ``Sluis-Veld``)."""
    return char.isalnum() or char in "_'’-"


def configured_model(setting: str | None = None) -> NameModel | None:
    """Return the name model the configuration asks for: ``setting``, else :func:`anonymisation.config.configure`'s.

    Unset or empty: the shipped model; ``none``: no model (the rules alone); otherwise the path of a model
    file. Loaded once per setting and process.

    :raises FileNotFoundError: the configured model file does not exist.
    """
    value = (current().name_model if setting is None else setting).strip()
    return _load(value)


@functools.cache
def _load(value: str) -> NameModel | None:
    if value.lower() == "none":
        return None
    from anonymisation.namemodel import NameModel, default_name_model

    return NameModel(value) if value else default_name_model()


def model_id(setting: str | None = None) -> str:
    """Name the configured name model for reports and manifests: file name and the start of its SHA-256.

    ``none`` when the configuration switches the model off (person names by the rules alone).
    """
    model = configured_model(setting)
    return "none" if model is None else _file_id(str(model.path))


@functools.cache
def _file_id(path: str) -> str:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{Path(path).name} sha256:{digest[:12]}"
