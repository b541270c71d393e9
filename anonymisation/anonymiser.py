"""Anonymise a text under a source's policy: detect, keep allow-listed names, replace the rest.

:meth:`Anonymiser.anonymise_parts` anonymises several strings of one document as one text (title, text and
short metadata values): a name found in one part is recognised in the others, and the same value gets the
same surrogate in every part.

Only entity types, offsets, scores and counts ever leave this module; original values stay inside (the
per-document :class:`~anonymisation.pseudonyms.ReplacedValues` answers where a value occurs, and nothing else).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from anonymisation.engine import Finding, analyse, resolve_overlaps
from anonymisation.entities import OPTIONAL_ENTITIES
from anonymisation.operators import (
    MIN_KEY_BYTES,
    AnonymisationKeyError,
    HashOperator,
    Operator,
    PlaceholderOperator,
    SurrogateOperator,
    anonymise_with_spans,
    check_key,
)
from anonymisation.pseudonyms import ReplacedValues, TokenOperator

OPERATORS = ("surrogate", "placeholder", "hash")
#: What to do with native ids: always a keyed pseudonym, or keep one in which nothing is found.
NATIVE_ID_POLICIES = ("pseudonymise", "keep-if-clean")
#: Between the parts of one document: a paragraph break, which no name and no identifier pattern crosses.
PART_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class AnonymisedText:
    """The anonymised text, what was found (offsets into the original), and counts per entity type."""

    text: str
    findings: list[Finding]
    replaced: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    #: ``(entity, start, end)`` of every replacement in ``text`` (the anonymised text)
    replacements: list[tuple[str, int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class AnonymisedParts:
    """The parts of one document, each anonymised, and what was replaced in them (for its short fields)."""

    parts: list[AnonymisedText]
    #: the originals replaced anywhere in the document; in memory for this document only
    values: ReplacedValues = field(repr=False)


class _PolicyOperator:
    """Dispatch each entity type to its operator, with one per-document surrogate mapping."""

    def __init__(self, operators: Mapping[str, Operator], default: Operator) -> None:
        self.operators = dict(operators)
        self.default = default

    def for_document(self) -> _PolicyOperator:
        def fresh(operator: Operator) -> Operator:
            return operator.for_document() if hasattr(operator, "for_document") else operator

        return _PolicyOperator({k: fresh(v) for k, v in self.operators.items()}, fresh(self.default))

    def replace(self, entity: str, original: str) -> str:
        return self.operators.get(entity, self.default).replace(entity, original)


class _FieldOperator:
    """Names as in the text (the document's surrogates); every other value a keyed token.

    Short fields carry no replacement offsets, so a surrogate that passes a checksum could not be told from
    a value the recognizers missed; a token looks like no identifier at all.
    """

    def __init__(self, names: Operator, tokens: Operator) -> None:
        self.names = names
        self.tokens = tokens

    def replace(self, entity: str, original: str) -> str:
        return (self.names if entity == "PERSON" else self.tokens).replace(entity, original)


def make_operator(name: str, key: bytes | None) -> Operator:
    """Return the operator called ``name``; surrogate and hash need the secret key (>= 16 bytes)."""
    if name == "placeholder":
        return PlaceholderOperator()
    if key is None:
        raise ValueError(f"the {name} operator needs a secret key (set CORPUSFABRIEK_ANONYMISATION_KEY)")
    if name == "surrogate":
        return SurrogateOperator(key)
    if name == "hash":
        return HashOperator(key)
    raise ValueError(f"unknown operator {name!r}; use one of {', '.join(OPERATORS)}")


def _name_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


class Anonymiser:
    """Anonymise texts with one analyzer and one policy.

    :param operator: default operator name; ``operators`` overrides it per entity type.
    :param entities: entity types to replace (default: all the analyzer knows but places and organisations).
    :param keep_names: person names left as they are (e.g. public office holders); each kept mention is
        counted under ``kept``.
    :param key: the secret key for surrogates, hashes and pseudonyms (at least 16 bytes, see
        ``anonymisation.operators.check_key``; a storage root's key comes from ``catalog.keys``).
    :param native_id: ``pseudonymise`` (default) or ``keep-if-clean``, read by the document anonymiser.
    """

    def __init__(
        self,
        *,
        operator: str = "surrogate",
        operators: Mapping[str, str] | None = None,
        entities: Iterable[str] | None = None,
        keep_names: Iterable[str] = (),
        key: bytes | None = None,
        analyzer: Any = None,
        native_id: str = "pseudonymise",
    ) -> None:
        if native_id not in NATIVE_ID_POLICIES:
            raise ValueError(f"unknown native_id policy {native_id!r}; use one of {', '.join(NATIVE_ID_POLICIES)}")
        per_entity = {entity: make_operator(name, key) for entity, name in (operators or {}).items()}
        self.operator = _PolicyOperator(per_entity, make_operator(operator, key))
        self.entities = list(entities) if entities is not None else None
        self.keep_names = {_name_key(name) for name in keep_names}
        self.analyzer = analyzer
        self.native_id = native_id
        self._key = key
        self._tokens: TokenOperator | None = None

    def require_key(self) -> bytes:
        """Return the secret key; pseudonyms of ids and URLs need it whatever the operator.

        :raises AnonymisationKeyError: no key (or a too short one) was given; the message never holds a key.
        """
        try:
            if self._key is None:
                raise AnonymisationKeyError("no key")
            return check_key(self._key)
        except AnonymisationKeyError:
            raise AnonymisationKeyError(
                f"anonymising documents needs the secret key (at least {MIN_KEY_BYTES} bytes; a storage root's key "
                "comes from CORPUSFABRIEK_ANONYMISATION_KEY or its key file): ids, URLs and metadata are "
                "pseudonymised with it even under the placeholder operator"
            ) from None

    @classmethod
    def from_policy(cls, policy: Any, key: bytes | None, analyzer: Any = None) -> Anonymiser:
        """Build from a source spec's ``anonymisation`` policy (``catalog.sources.AnonymisationPolicy``)."""
        return cls(
            operator=policy.operator,
            operators=policy.operators,
            entities=policy.entities,
            keep_names=policy.keep_names,
            key=key,
            analyzer=analyzer,
            native_id=getattr(policy, "native_id", "pseudonymise"),
        )

    def anonymise(self, text: str) -> AnonymisedText:
        """Return the anonymised text with findings (offsets into the original) and counts."""
        return self.anonymise_parts([text]).parts[0]

    def wants(self, entity: str) -> bool:
        """Tell whether the policy replaces ``entity`` (places and organisations only when it names them)."""
        return entity in self.entities if self.entities is not None else entity not in OPTIONAL_ENTITIES

    def anonymise_parts(
        self,
        parts: Sequence[str],
        *,
        fields: Collection[int] = (),
        forced: Iterable[tuple[int, Finding]] = (),
    ) -> AnonymisedParts:
        """Anonymise the parts of one document as one text; return each part anonymised.

        The parts are analysed joined by a paragraph break, so context and name propagation reach across
        them (a surname seen in the text is a name in the title too), and one surrogate mapping serves the
        whole document. Findings and replacements are reported per part, with offsets into that part.

        :param fields: indices of short field parts (metadata values): there every value replaced elsewhere
            in the document is replaced too, and everything but names becomes a keyed token (no offsets are
            recorded for them; needs the key).
        :param forced: ``(part index, finding)`` pairs known without analysis (a creator field's name), with
            offsets into that part; entity types the policy leaves out are ignored.
        """
        field_parts = set(fields)
        joined = PART_SEPARATOR.join(parts)
        bounds = []
        at = 0
        for part in parts:
            bounds.append((at, at + len(part)))
            at += len(part) + len(PART_SEPARATOR)
        per_part: list[list[Finding]] = [[] for _ in parts]
        for finding in analyse(joined, self.analyzer, entities=self.entities) if joined.strip() else []:
            for index, (lo, hi) in enumerate(bounds):
                # a finding across a part boundary (a pattern that allows a blank line) is cut at it
                start, end = max(finding.start, lo), min(finding.end, hi)
                if start < end and parts[index][start - lo : end - lo].strip():
                    per_part[index].append(Finding(finding.entity, start - lo, end - lo, finding.score))
        for index, finding in forced:
            if self.wants(finding.entity):
                per_part[index].append(finding)
        per_part = [resolve_overlaps(found) if found else found for found in per_part]

        replace: list[list[Finding]] = []
        kept: list[Counter[str]] = []
        originals: list[tuple[str, str]] = []
        for part, found in zip(parts, per_part, strict=True):
            chosen, kept_here = [], Counter()
            for finding in found:
                value = part[finding.start : finding.end]
                if finding.entity == "PERSON" and _name_key(value) in self.keep_names:
                    kept_here[finding.entity] += 1
                    continue
                chosen.append(finding)
                originals.append((finding.entity, value))
            replace.append(chosen)
            kept.append(kept_here)
        values = ReplacedValues(originals)
        for index in field_parts:
            # the cheap whole-word test first: most metadata values hold nothing replaced elsewhere
            if values and values.occurs_in(parts[index]):
                taken = [(f.start, f.end) for f in per_part[index]]
                echoes = [
                    Finding(entity, start, end, 1.0)
                    for entity, start, end in values.spans(parts[index])
                    if all(end <= lo or start >= hi for lo, hi in taken)
                ]
                per_part[index] = sorted(per_part[index] + echoes, key=lambda f: f.start)
                replace[index] = sorted(replace[index] + echoes, key=lambda f: f.start)

        operator = self.operator.for_document()
        if field_parts and self._tokens is None:
            self._tokens = TokenOperator(self.require_key())
        field_operator = _FieldOperator(operator, self._tokens) if field_parts else None
        out = []
        for index, part in enumerate(parts):
            chosen = replace[index]
            use = field_operator if index in field_parts else operator
            new_text, placed = anonymise_with_spans(part, chosen, use, per_document=False) if chosen else (part, [])
            out.append(
                AnonymisedText(new_text, per_part[index], Counter(f.entity for f in chosen), kept[index], placed)
            )
        return AnonymisedParts(out, values)
