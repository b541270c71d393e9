"""Connectors turn a source spec's location into records; one class per source ``kind``.

Every connector is constructed as ``Connector(spec, fetcher, cursor)``:

- ``spec``: the validated :class:`~catalog.sources.SourceSpec`;
- ``fetcher``: the polite, address-guarded HTTP client (:class:`~catalog.fetch.Fetcher`); connectors never
  open network connections any other way;
- ``cursor``: the JSON-serialisable state the connector returned after the last successful run (``{}`` at
  first), so a re-run fetches only what is new;
- ``drops`` (keyword, connectors that read local or S3 files only: :data:`FILE_KINDS`): the
  :class:`~catalog.drops.DropPolicy` that decides which files may be read (default: from the environment).

``read()`` yields every input item as a :class:`RawRecord` or a :class:`Quarantined` (with a reason), never
raising for bad input; after it is exhausted, ``next_cursor()`` returns the state to save.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from catalog.connectors.records import QUARANTINE_REASONS, Quarantined, RawRecord

if TYPE_CHECKING:
    from catalog.drops import DropPolicy
    from catalog.fetch import Fetcher
    from catalog.sources import SourceSpec

# trafilatura and its helpers log whole URLs (query strings may name people) at WARNING: keep them out of
# run logs and Dagster's captured output; connectors report extraction failures by reason instead.
for _name in ("trafilatura", "htmldate", "courlan", "justext"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class Connector(Protocol):
    """Reads one source: every input item comes out as a RawRecord or a Quarantined."""

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield the source's new items since the cursor."""
        ...

    def next_cursor(self) -> dict[str, Any]:
        """Return the cursor to store once ``read()`` has been exhausted."""
        ...


#: Connector class of each source kind, imported only when a source of that kind is read.
CONNECTORS: dict[str, str] = {
    "files": "catalog.connectors.files:FilesConnector",
    "rss": "catalog.connectors.rss:RssConnector",
    "warc": "catalog.connectors.warc:WarcConnector",
    "oai-pmh": "catalog.connectors.oaipmh:OaiPmhConnector",
    "alto": "catalog.connectors.alto:AltoConnector",
    "rechtspraak": "catalog.connectors.rechtspraak:RechtspraakConnector",
}


#: Kinds whose connectors read local files or S3 objects (and so take a ``drops`` policy).
FILE_KINDS = frozenset({"files", "alto", "rechtspraak", "warc"})


def connector_for(
    spec: SourceSpec, fetcher: Fetcher, cursor: Mapping[str, Any] | None = None, *, drops: DropPolicy | None = None
) -> Connector:
    """Return the connector for a spec's kind, started from the given cursor, reading files only as ``drops`` allows."""
    import importlib

    module, _, name = CONNECTORS[spec.kind].partition(":")
    options = {"drops": drops} if spec.kind in FILE_KINDS else {}
    return getattr(importlib.import_module(module), name)(spec, fetcher, dict(cursor or {}), **options)


__all__ = [
    "CONNECTORS",
    "FILE_KINDS",
    "QUARANTINE_REASONS",
    "Connector",
    "Quarantined",
    "RawRecord",
    "connector_for",
]
