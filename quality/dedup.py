"""Exact deduplication by ``content_sha256``, decided out of core on keys only, applied by streaming.

Two steps keep memory flat whatever the corpus size:

1. DuckDB reads only the key columns (ids, hashes, dates; never the text) of one or more Parquet files
   and decides which rows to drop, in window passes that spill to disk when needed. It returns the
   dropped rows as ``(file index, row number, reason, duplicate_of)``, sorted by file and row.
2. The files are then streamed in record batches and each batch is split into kept and dropped rows.

Reasons: ``superseded_record`` (the same ``doc_id`` appears again later: the last delivery wins) and
``duplicate_content`` (same normalised text as the document kept by ``order_by``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.storage import sql_quote

#: Key columns a file must have for deduplication (the project's document schema has them all).
KEY_COLUMNS = ("doc_id", "content_sha256", "published_at", "fetched_at", "source_id")


def duplicate_drops_sql(files: Sequence[str], order_by: str) -> str:
    """Return SQL listing the rows to drop from ``files``: ``file_idx, row, reason, duplicate_of``.

    Within each group of equal ``content_sha256`` the first row by ``order_by`` is kept (it may use the
    key columns and ``file_idx``/``row``; end it with a unique key for a deterministic choice).
    """
    if not files:
        raise ValueError("deduplication needs at least one file")
    columns = ", ".join(KEY_COLUMNS)
    keys = " UNION ALL ".join(
        f"SELECT {index} AS file_idx, file_row_number AS row, {columns} "
        f"FROM read_parquet({sql_quote(path)}, file_row_number = true)"
        for index, path in enumerate(files)
    )
    return f"""
        WITH keys AS ({keys}),
        ids AS (
            SELECT *, row_number() OVER (PARTITION BY doc_id ORDER BY file_idx DESC, row DESC) AS id_rank
            FROM keys
        ),
        latest AS (SELECT * FROM ids WHERE id_rank = 1),
        content AS (
            SELECT *, first_value(doc_id) OVER (PARTITION BY content_sha256 ORDER BY {order_by}) AS first_doc
            FROM latest
        )
        SELECT file_idx, row, 'superseded_record' AS reason, doc_id AS duplicate_of FROM ids WHERE id_rank > 1
        UNION ALL
        SELECT file_idx, row, 'duplicate_content' AS reason, first_doc AS duplicate_of
        FROM content WHERE doc_id <> first_doc
        ORDER BY file_idx, row
    """


class DropCursor:
    """Walks a sorted stream of drop decisions file by file, holding one decision in memory."""

    def __init__(self, decisions: Iterable[tuple[int, int, str, str]]) -> None:
        self._iter = iter(decisions)
        self._next = next(self._iter, None)

    @classmethod
    def from_arrow(cls, reader: Any) -> DropCursor:
        """Build a cursor over a DuckDB arrow reader of :func:`duplicate_drops_sql`."""

        def rows() -> Iterator[tuple[int, int, str, str]]:
            for batch in reader:
                yield from zip(*(batch.column(i).to_pylist() for i in range(4)), strict=True)

        return cls(rows())

    def for_file(self, file_idx: int) -> Iterator[tuple[int, str, str]]:
        """Yield ``(row, reason, duplicate_of)`` of one file; files must be visited in index order."""
        while self._next is not None and self._next[0] == file_idx:
            _, row, reason, duplicate_of = self._next
            yield row, reason, duplicate_of
            self._next = next(self._iter, None)

    def exhausted(self) -> bool:
        """Tell whether every decision has been consumed (so none was lost)."""
        return self._next is None


def split_by_drops(
    batches: Iterable[pa.RecordBatch], drops: Iterable[tuple[int, str, str]]
) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch, list[str], list[str]]]:
    """Split a file's batches into ``(kept, dropped, reasons, duplicate_of)`` by sorted drop decisions."""
    pending_iter = iter(drops)
    pending = next(pending_iter, None)
    offset = 0
    for batch in batches:
        end = offset + batch.num_rows
        mask = [False] * batch.num_rows
        reasons: list[str] = []
        duplicates: list[str] = []
        while pending is not None and pending[0] < end:
            mask[pending[0] - offset] = True
            reasons.append(pending[1])
            duplicates.append(pending[2])
            pending = next(pending_iter, None)
        selected = pa.array(mask, pa.bool_())
        yield batch.filter(pc.invert(selected)), batch.filter(selected), reasons, duplicates
        offset = end
    if pending is not None:
        raise ValueError(f"a drop decision refers to row {pending[0]}, past the end of the file ({offset} rows)")


def with_exclusion(dropped: pa.RecordBatch, stage: str, reasons: list[str], duplicates: list[str]) -> pa.RecordBatch:
    """Add the excluded-zone columns (stage, reason, duplicate_of) to dropped rows."""
    return (
        dropped.append_column("excluded_stage", pa.array([stage] * dropped.num_rows, pa.string()))
        .append_column("excluded_reason", pa.array(reasons, pa.string()))
        .append_column("duplicate_of", pa.array(duplicates, pa.string()))
    )
