"""Connectors turn a source spec's location into records; one class per source ``kind``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from catalog.connectors.files import FilesConnector
from catalog.connectors.records import QUARANTINE_REASONS, Quarantined, RawRecord
from catalog.sources import SourceSpec


class Connector(Protocol):
    """Reads one source: every input record comes out as a RawRecord or a Quarantined."""

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield the source's records."""
        ...


CONNECTORS: dict[str, type] = {"files": FilesConnector}


def connector_for(spec: SourceSpec) -> Connector:
    """Return the connector for a spec's kind."""
    try:
        return CONNECTORS[spec.kind](spec)
    except KeyError:
        raise ValueError(f"source {spec.id}: no connector for kind {spec.kind!r}") from None


__all__ = ["CONNECTORS", "QUARANTINE_REASONS", "Connector", "Quarantined", "RawRecord", "connector_for"]
