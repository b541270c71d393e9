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
import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from anonymisation.names import PARTICLES, NameSpan

if TYPE_CHECKING:
    from anonymisation.namemodel import NameModel

#: Where an operator points the anonymiser at another name model (a ``.crfsuite`` file trained with
#: ``python -m anonymisation.training``), or ``none`` for the rules alone. Unset: the shipped model.
NAME_MODEL_ENV = "CORPUSFABRIEK_NAME_MODEL"

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


def combine(
    rule_spans: Iterable[NameSpan], model_spans: Iterable[LabelledSpan], min_score: float = 0.0
) -> list[NameSpan]:
    """Join the rules' spans and the model's ``PER`` spans (score >= ``min_score``); overlapping spans merge.

    A merged span covers both and keeps the higher score, so a name that one finder saw only in part (the
    model's ``de Vries`` against the rules' ``mevrouw A. de Vries``) is replaced whole.
    """
    spans = [NameSpan(s.start, s.end, s.score) for s in rule_spans]
    spans += [NameSpan(s.start, s.end, s.score) for s in model_spans if s.label == "PER" and s.score >= min_score]
    merged: list[NameSpan] = []
    for span in sorted(spans):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = NameSpan(last.start, max(last.end, span.end), max(last.score, span.score))
        else:
            merged.append(span)
    return merged


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
            if len(surname) >= MIN_PROPAGATED_LENGTH and surname.lower() not in common | PARTICLES:
                names.add(surname)
        elif len(full) >= MIN_PROPAGATED_LENGTH and full.lower() not in common:
            names.add(full)
    return names


def propagate(spans: Sequence[NameSpan], text: str, common: frozenset[str] = frozenset()) -> list[NameSpan]:
    """Add every other mention in ``text`` of a name in ``spans``; return all spans, sorted and overlap-free.

    A mention is the whole word sequence (never part of a longer word). ``common`` holds lower-case words
    that are never propagated alone (frequent Dutch words that are also surnames, such as ``de Groot``'s
    ``groot``).
    """
    names = _mentions(spans, text, common)
    if not names:
        return sorted(spans)
    pattern = re.compile(
        r"(?<![\w'’-])(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![\w'’-])"
    )
    found = list(spans)
    taken = sorted((s.start, s.end) for s in spans)
    for match in pattern.finditer(text):
        start, end = match.span()
        if any(a < end and start < b for a, b in taken):
            continue
        found.append(NameSpan(start, end, PROPAGATED_SCORE))
        taken.append((start, end))
    return sorted(found)


def configured_model(setting: str | None = None) -> NameModel | None:
    """Return the name model the configuration asks for: ``setting`` or ``$CORPUSFABRIEK_NAME_MODEL``.

    Unset or empty: the shipped model; ``none``: no model (the rules alone); otherwise the path of a model
    file. Loaded once per setting and process.

    :raises FileNotFoundError: the configured model file does not exist.
    """
    value = (os.environ.get(NAME_MODEL_ENV, "") if setting is None else setting).strip()
    return _load(value)


@functools.cache
def _load(value: str) -> NameModel | None:
    if value.lower() == "none":
        return None
    from anonymisation.namemodel import NameModel, default_name_model

    return NameModel(value) if value else default_name_model()
