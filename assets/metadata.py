"""Metadata a person reads in the Dagster UI: tables with a schema, markdown, sizes with units, the column schema.

Plain counts by reason become a two-column table (:func:`counts_table`) instead of a JSON blob; the zone
assets and the release carry the document model as their column schema (:data:`COLUMN_SCHEMA`), and the
anonymised zone and the release say which columns come from which upstream asset (:func:`column_lineage`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from dagster import (
    AssetKey,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableRecord,
    TableSchema,
)

from catalog.documents import COLUMN_DESCRIPTIONS, DOCUMENT_SCHEMA
from catalog.storage import Storage


def _type_name(arrow_type: pa.DataType) -> str:
    """Return a short type name for the UI (``string``, ``timestamp``, ``struct``)."""
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_struct(arrow_type):
        return "struct"
    return str(arrow_type)


#: The document model (``catalog.documents.DOCUMENT_SCHEMA``) as Dagster's column schema.
COLUMN_SCHEMA = TableSchema(
    columns=[
        TableColumn(
            name=field.name,
            type=_type_name(field.type),
            description=COLUMN_DESCRIPTIONS.get(field.name),
            constraints=TableColumnConstraints(nullable=field.nullable),
        )
        for field in DOCUMENT_SCHEMA
    ]
)

#: Columns the anonymisation stage rewrites; every other column is carried over unchanged.
ANONYMISED_COLUMNS = ("native_id", "url", "title", "text", "annotations")


def counts_table(counts: Mapping[str, int], key: str, count: str = "documents") -> MetadataValue:
    """Show counts by a key (reason, entity type, language) as a table, largest first."""
    records = [
        TableRecord({key: name, count: int(n)}) for name, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    ]
    schema = TableSchema(columns=[TableColumn(key, "string"), TableColumn(count, "int")])
    return MetadataValue.table(records=records, schema=schema)


def rows_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> MetadataValue:
    """Show a list of flat records as a table with the given ``(name, type)`` columns."""
    schema = TableSchema(columns=[TableColumn(name, kind) for name, kind in columns])
    records = [TableRecord({name: row.get(name) for name, _ in columns}) for row in rows]
    return MetadataValue.table(records=records, schema=schema)


def column_lineage(upstream: str) -> TableColumnLineage:
    """Every column of a zone comes from the same column of ``upstream`` (:data:`ANONYMISED_COLUMNS` rewritten)."""
    return TableColumnLineage(
        deps_by_column={
            field.name: [TableColumnDep(asset_key=AssetKey(upstream), column_name=field.name)]
            for field in DOCUMENT_SCHEMA
        }
    )


def location(storage: Storage, rel: str) -> MetadataValue:
    """Return a stored path as metadata: a URL on object storage, a path on a local root."""
    url = storage.url(rel)
    return MetadataValue.url(url) if storage.is_remote else MetadataValue.path(url)
