"""Anonymise every string field of one document that reaches a release.

A document is more than its text: its ``native_id``, ``url`` and ``title``, and the provenance kept in its raw
annotation (``location``, ``record``, ``source_metadata``) are published too. :class:`DocumentAnonymiser`
handles them all in one pass:

* ``title`` and ``text`` (and the free-text values of ``record`` and ``source_metadata``) are analysed as one
  document (:meth:`~anonymisation.anonymiser.Anonymiser.anonymise_parts`): a name is found by the same
  context and propagation everywhere and gets the same surrogate everywhere. Title and text keep their
  replacement offsets; in the short fields every value but a name becomes a keyed token (no offsets are kept
  for them, so a surrogate could not be told from a missed value);
* ``native_id`` and ids in metadata (``guid``, ``oai_identifier``, ``ecli``, ...) get a keyed pseudonym
  (``id-`` + 32 hex). Under the ``keep-if-clean`` policy a public id (ECLI, OAI identifier) stays when the
  analyzer finds nothing in it, no replaced value of the document occurs in it, and it is not a URL;
* ``url``, a URL or path in ``location`` or ``record``, and URL or path values in metadata go through the
  :class:`~anonymisation.pseudonyms.UrlPseudonymiser`, with the document's replaced values;
* ``source_metadata`` stays a JSON object with the same keys; ``creator``-like values written as
  ``Surname, Initials`` are person names (the Dublin Core convention) even without context.

The result says per field how many parts were pseudonymised: counts only, never values.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from anonymisation.anonymiser import AnonymisedText, Anonymiser
from anonymisation.engine import Finding, analyse
from anonymisation.pseudonyms import URL_ENTITIES, IdPseudonymiser, ReplacedValues, UrlPseudonymiser, is_url

__all__ = [
    "ID_KEYS",
    "PATH_KEYS",
    "PERSON_KEYS",
    "AnonymisedDocument",
    "DocumentAnonymiser",
    "DocumentFields",
]

#: Entity types that do not make an id personal (OAI identifiers name the archive's domain).
NOT_PERSONAL = frozenset({"URL"})
#: Metadata keys whose values are identifiers of the record: handled like ``native_id``.
ID_KEYS = frozenset({"guid", "identifier", "oai_identifier", "ecli", "warc_record_id"})
#: Metadata keys whose values are file names or paths (URLs are recognised by their ``scheme://``).
PATH_KEYS = frozenset({"warc_file", "file", "path", "location"})
#: Metadata keys whose values name people (Dublin Core's creator and contributor, a byline).
PERSON_KEYS = frozenset({"creator", "contributor", "author", "auteur", "byline"})

# "Jansen, J.", "Vries, J. de", "Berg, Jan van den", "Jansen-de Boer, A.M.": surname, comma, initials or
# given names, optionally a trailing tussenvoegsel (how catalogues write personal names).
_LISTED_NAME = re.compile(
    r"^(?P<surname>[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){0,2}),\s*"
    r"(?P<given>(?:[^\W\d_]\.\s*)+|[^\W\d_][\w'’-]+(?:\s+[^\W\d_][\w'’-]+){0,2})"
    r"(?P<particle>\s+(?:van|de|der|den|ten|ter|te|in 't|van de|van der|van den|'t))?\s*$"
)
_ITEM = re.compile(r"[^;|]+")  # several creators are joined with "; " by the connectors
_INSTITUTION = re.compile(
    r"(?i)\b(?:bv|nv|vzw|stichting|vereniging|gemeente|provincie|ministerie|rechtbank|hof|raad|universiteit|"
    r"bibliotheek|archief|museum|krant|courant|dagblad|omroep|redactie|uitgeverij|bank|fonds|instituut)\b"
)


@dataclass(frozen=True)
class DocumentFields:
    """The string fields of one document that reach a release (``location`` etc. from ``annotations.raw``)."""

    native_id: str
    text: str
    title: str | None = None
    url: str | None = None
    location: str | None = None
    record: str | None = None
    source_metadata: str | None = None  # a JSON object as text


@dataclass(frozen=True)
class AnonymisedDocument:
    """The anonymised fields, the title and text results (offsets), and the parts pseudonymised per field."""

    fields: DocumentFields
    title: AnonymisedText | None
    text: AnonymisedText
    #: per field (``native_id``, ``url``, ``location``, ``record``, ``source_metadata``): parts replaced
    pseudonymised: Counter[str] = field(default_factory=Counter)
    #: replacements per entity type in the short fields (record, metadata), beyond title and text
    field_entities: Counter[str] = field(default_factory=Counter)


@dataclass(eq=False)
class _Slot:
    """One metadata string: where it sits in the JSON value, and what becomes of it."""

    path: tuple[Any, ...]
    key: str
    value: str


class DocumentAnonymiser:
    """Anonymise all string fields of documents under one policy (see the module docstring).

    :param anonymiser: the source's anonymiser; its key (required) seeds every pseudonym, and its
        ``native_id`` policy decides about ids.
    :param url_entities: entity types looked for in URL paths (default: the policy's structured types).
    """

    def __init__(self, anonymiser: Anonymiser, *, url_entities: tuple[str, ...] | None = None) -> None:
        key = anonymiser.require_key()
        self.anonymiser = anonymiser
        self.ids = IdPseudonymiser(key)
        entities = url_entities or tuple(e for e in URL_ENTITIES if anonymiser.wants(e))
        self.urls = UrlPseudonymiser(key, entities=entities)
        self.keep_clean_ids = anonymiser.native_id == "keep-if-clean"

    def __repr__(self) -> str:
        return f"DocumentAnonymiser(native_id={self.anonymiser.native_id!r})"

    def anonymise(self, document: DocumentFields) -> AnonymisedDocument:
        """Return the document with every string field anonymised or pseudonymised."""
        counts: Counter[str] = Counter()
        metadata, slots = _metadata_slots(document.source_metadata)
        id_slots = [s for s in slots if s.key in ID_KEYS]
        url_slots = [s for s in slots if s.key not in ID_KEYS and (is_url(s.value) or s.key in PATH_KEYS)]
        text_slots = [s for s in slots if s.key not in ID_KEYS and s not in url_slots]
        record = document.record
        record_is_url = bool(record) and is_url(record or "")

        # Without keep-if-clean every id is pseudonymised: put the pseudonyms into the short fields before
        # analysis ("record oai:..." names the record's id), so no piece of an id is left to chance.
        pseudonyms: dict[str, str] = {}
        if not self.keep_clean_ids:
            for value in [document.native_id] + [s.value for s in id_slots]:
                pseudonyms.setdefault(value, self.ids.pseudonymise(value))
        substituted: Counter[str] = Counter()
        if record and not record_is_url:
            record, n = _substitute(record, pseudonyms)
            substituted["record"] += n
        for slot in text_slots:
            slot.value, n = _substitute(slot.value, pseudonyms)
            substituted["source_metadata"] += n

        # One document: title, text, then the short free-text fields.
        parts = [document.title or "", document.text]
        record_index = None
        if record and not record_is_url:
            record_index = len(parts)
            parts.append(record)
        first_slot = len(parts)
        parts += [s.value for s in text_slots]
        forced = [
            (first_slot + i, finding)
            for i, slot in enumerate(text_slots)
            for finding in _listed_names(slot.key, slot.value)
        ]
        result = self.anonymiser.anonymise_parts(parts, fields=range(2, len(parts)), forced=forced)
        values = result.values
        title, text = result.parts[0], result.parts[1]

        kept_ids: set[str] = set()
        for slot, value in [(None, document.native_id)] + [(s, s.value) for s in id_slots]:
            if value not in pseudonyms and value not in kept_ids:
                if self._keep_id(value, values):
                    kept_ids.add(value)
                else:
                    pseudonyms[value] = self.ids.pseudonymise(value)
            new = pseudonyms.get(value, value)
            counts["native_id" if slot is None else "source_metadata"] += new != value
            if slot is not None:
                _set(metadata, slot.path, new)

        field_entities: Counter[str] = Counter()
        counts.update(substituted)
        if record_index is not None:
            done = result.parts[record_index]
            record, n = _substitute(done.text, pseudonyms)  # an id found unclean only now
            counts["record"] += sum(done.replaced.values()) + n
            field_entities.update(done.replaced)
        for i, slot in enumerate(text_slots):
            done = result.parts[first_slot + i]
            new, n = _substitute(done.text, pseudonyms)
            counts["source_metadata"] += sum(done.replaced.values()) + n
            field_entities.update(done.replaced)
            _set(metadata, slot.path, new)

        def pseudonymise_url(name: str, value: str | None) -> str | None:
            if not value:
                return value
            done = self.urls.pseudonymise(value, values, keep=kept_ids)
            counts[name] += done.replaced
            return done.text

        new_url = pseudonymise_url("url", document.url)
        location = pseudonymise_url("location", document.location)
        if record_is_url:
            record = pseudonymise_url("record", record)
        for slot in url_slots:
            _set(metadata, slot.path, pseudonymise_url("source_metadata", slot.value))

        fields = DocumentFields(
            native_id=pseudonyms.get(document.native_id, document.native_id),
            text=text.text,
            title=title.text if document.title is not None else None,
            url=new_url,
            location=location,
            record=record,
            source_metadata=document.source_metadata
            if metadata is None
            else json.dumps(metadata, ensure_ascii=False, sort_keys=True),
        )
        return AnonymisedDocument(
            fields,
            title if document.title is not None else None,
            text,
            Counter({k: v for k, v in counts.items() if v}),
            field_entities,
        )

    def _keep_id(self, value: str, values: ReplacedValues) -> bool:
        """Tell whether an id may stay: the policy allows it and nothing identifying is in it."""
        if not self.keep_clean_ids or not value.strip() or is_url(value) or values.occurs_in(value):
            return False
        # every entity type the analyzer knows, whatever the policy replaces, except a domain name ("oai:kb.nl:..."
        # holds one): a kept id must hold nothing personal
        return not any(f.entity not in NOT_PERSONAL for f in analyse(value, self.anonymiser.analyzer))


def _metadata_slots(raw: str | None) -> tuple[Any, list[_Slot]]:
    """Parse the metadata JSON and list its string values (nested ones too) with their top-level key.

    Metadata that is not JSON is treated as one free-text value, so nothing in it escapes anonymisation.
    """
    if raw is None:
        return None, []
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"_": raw}, [_Slot(("_",), "_", raw)]
    return parsed, list(_strings(parsed, (), ""))


def _strings(value: Any, path: tuple[Any, ...], key: str) -> Iterator[_Slot]:
    if isinstance(value, str):
        yield _Slot(path, key, value)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k), key or str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i), key)


def _set(container: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = value


def _substitute(text: str, pseudonyms: dict[str, str]) -> tuple[str, int]:
    """Replace each pseudonymised id where it occurs in ``text``; return the text and how many were replaced."""
    count = 0
    for original, pseudonym in pseudonyms.items():
        if original and original in text:
            count += text.count(original)
            text = text.replace(original, pseudonym)
    return text, count


def _listed_names(key: str, value: str) -> list[Finding]:
    """Return ``PERSON`` findings for names written ``Surname, Initials`` in a person field."""
    if key.split(":")[-1].lower() not in PERSON_KEYS:
        return []
    findings = []
    for item in _ITEM.finditer(value):
        text = item.group()
        lead = len(text) - len(text.lstrip())
        match = _LISTED_NAME.match(text.strip())
        if match is None or _INSTITUTION.search(text):
            continue
        base = item.start() + lead
        # surname and given names as two names: each gets the surrogate it gets in the text
        for group in ("surname", "given"):
            start = match.start(group)
            findings.append(Finding("PERSON", base + start, base + start + len(match.group(group).rstrip()), 1.0))
    return findings
