"""Anonymise a text under a source's policy: detect, keep allow-listed names, replace the rest.

Only entity types, offsets, scores and counts ever leave this module; original values stay inside.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from anonymisation.engine import Finding, analyse
from anonymisation.operators import HashOperator, Operator, PlaceholderOperator, SurrogateOperator, anonymise_with_spans

OPERATORS = ("surrogate", "placeholder", "hash")


@dataclass(frozen=True)
class AnonymisedText:
    """The anonymised text, what was found (offsets into the original), and counts per entity type."""

    text: str
    findings: list[Finding]
    replaced: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    #: ``(entity, start, end)`` of every replacement in ``text`` (the anonymised text)
    replacements: list[tuple[str, int, int]] = field(default_factory=list)


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
    :param entities: entity types to replace (default: all the analyzer knows).
    :param keep_names: person names left as they are (e.g. public office holders); each kept mention is
        counted under ``kept``.
    :param key: the secret key for surrogates and hashes (at least 16 bytes, see
        ``anonymisation.operators.check_key``; a storage root's key comes from ``catalog.keys``).
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
    ) -> None:
        per_entity = {entity: make_operator(name, key) for entity, name in (operators or {}).items()}
        self.operator = _PolicyOperator(per_entity, make_operator(operator, key))
        self.entities = list(entities) if entities is not None else None
        self.keep_names = {_name_key(name) for name in keep_names}
        self.analyzer = analyzer

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
        )

    def anonymise(self, text: str) -> AnonymisedText:
        """Return the anonymised text with findings (offsets into the original) and counts."""
        findings = analyse(text, self.analyzer, entities=self.entities)
        replace, kept = [], Counter()
        for finding in findings:
            if finding.entity == "PERSON" and _name_key(text[finding.start : finding.end]) in self.keep_names:
                kept[finding.entity] += 1
                continue
            replace.append(finding)
        new_text, placed = anonymise_with_spans(text, replace, self.operator) if replace else (text, [])
        return AnonymisedText(new_text, findings, Counter(f.entity for f in replace), kept, placed)
