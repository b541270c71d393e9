"""Applying findings: replace each finding's span of a text by an operator's replacement, by offsets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class Operator(Protocol):
    """What :func:`anonymise_text` needs: a replacement for one detected value."""

    def replace(self, entity: str, original: str) -> str:
        """Return the text that replaces ``original``, a detected ``entity``."""
        ...


def _entity_of(finding: Any) -> str:
    entity = getattr(finding, "entity", None) or getattr(finding, "entity_type", None)
    if not entity:
        raise TypeError("a finding needs an 'entity' (or Presidio 'entity_type') attribute")
    return entity


def anonymise_text(
    text: str,
    findings: Iterable[Any],
    operator: Operator,
    *,
    per_document: bool = True,
) -> str:
    """Replace each finding's span of ``text``; see :func:`anonymise_with_spans` (this drops the spans)."""
    return anonymise_with_spans(text, findings, operator, per_document=per_document)[0]


def anonymise_with_spans(
    text: str,
    findings: Iterable[Any],
    operator: Operator,
    *,
    per_document: bool = True,
) -> tuple[str, list[tuple[str, int, int]]]:
    """Replace each finding's span of ``text`` with ``operator.replace(entity, span)``.

    Findings are objects with ``start``, ``end`` (character offsets into ``text``) and ``entity``
    (or Presidio's ``entity_type``); they must not overlap (``anonymisation.engine.analyse`` resolves
    overlaps). Returns the new text and, per replacement, ``(entity, start, end)`` in the *new* text:
    later checks use them to tell surrogates (valid-looking on purpose) from personal data that was missed.

    :param per_document: when the operator has ``for_document()`` (surrogates), use a fresh per-document
        mapping for this text, so different values never share a surrogate within it.
    :raises ValueError: a span is out of range, empty or overlaps another (the message has offsets only).
    """
    spans = sorted(((f.start, f.end, _entity_of(f)) for f in findings), key=lambda s: (s[0], s[1]))
    previous_end = 0
    for start, end, _ in spans:
        if not 0 <= start < end <= len(text):
            raise ValueError(f"finding [{start}, {end}) is empty or outside the text (length {len(text)})")
        if start < previous_end:
            raise ValueError(f"finding [{start}, {end}) overlaps the previous finding ending at {previous_end}")
        previous_end = end
    if per_document and hasattr(operator, "for_document"):
        operator = operator.for_document()
    # Replacements are chosen in reading order (surrogate numbering follows the text), then spliced
    # left to right while the output offsets of each replacement are recorded.
    replacements = [(start, end, entity, operator.replace(entity, text[start:end])) for start, end, entity in spans]
    pieces: list[str] = []
    placed: list[tuple[str, int, int]] = []
    cursor = length = 0
    for start, end, entity, replacement in replacements:
        pieces.append(text[cursor:start])
        length += start - cursor
        pieces.append(replacement)
        placed.append((entity, length, length + len(replacement)))
        length += len(replacement)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), placed
