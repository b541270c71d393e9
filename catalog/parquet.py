"""Streaming Parquet writing with the project's schema and compression, and file checksums."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.documents import PARQUET_COMPRESSION, PARQUET_COMPRESSION_LEVEL

DEFAULT_BATCH_ROWS = 2_000

#: What Arrow raises for a Python value that does not fit the schema.
_CONVERSION_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError, UnicodeError)


class RejectedRow(NamedTuple):
    """A row the schema cannot hold, and the name of the error Arrow gave (never its message: it quotes values)."""

    row: dict[str, Any]
    error: str


class BatchWriter:
    """Write rows (dicts) or record batches to one Parquet file, a row group per batch.

    Memory stays bounded by ``batch_rows``; the file is complete (and has a footer) only after
    :meth:`close`, so callers write to a staged local path and publish it afterwards.

    ``compression``: the codec and level, the project's (zstd, level 6) by default; files that live for one run
    only, or are read far more often than written, can ask for a faster one.

    ``isolate_bad_rows``: when Arrow refuses a batch of rows, find the rows it refuses (one by one, only
    then), write the others and hand the refused ones back from :meth:`write_row` and :meth:`flush`, so
    one bad row cannot fail a whole batch. Callers must then call :meth:`flush` before closing.
    """

    def __init__(
        self,
        path: str | Path,
        schema: pa.Schema,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        *,
        isolate_bad_rows: bool = False,
        compression: tuple[str, int | None] = (PARQUET_COMPRESSION, PARQUET_COMPRESSION_LEVEL),
    ) -> None:
        self.schema = schema
        self.batch_rows = batch_rows
        self.isolate_bad_rows = isolate_bad_rows
        self.rows_written = 0
        self._buffer: list[dict[str, Any]] = []
        codec, level = compression
        self._writer = pq.ParquetWriter(str(path), schema, compression=codec, compression_level=level)

    def write_row(self, row: dict[str, Any]) -> list[RejectedRow]:
        """Buffer one row; flush a row group when the buffer is full. Returns the rows refused by that flush."""
        self._buffer.append(row)
        if len(self._buffer) >= self.batch_rows:
            return self.flush()
        return []

    def write_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Write an Arrow batch, cast to the writer's schema (names and types must match)."""
        self._flush_all()
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if table.num_rows:
            self._writer.write_table(table.select(self.schema.names).cast(self.schema))
            self.rows_written += table.num_rows

    def add_metadata(self, metadata: dict[bytes, bytes]) -> None:
        """Add key-value metadata to the file's footer (written on :meth:`close`, so only a complete file has it)."""
        self._writer.add_key_value_metadata(metadata)

    def flush(self) -> list[RejectedRow]:
        """Write the buffered rows as a row group; return the rows refused (only with ``isolate_bad_rows``)."""
        rows, self._buffer = self._buffer, []
        if not rows:
            return []
        try:
            table = pa.Table.from_pylist(rows, schema=self.schema)
            rejected: list[RejectedRow] = []
        except _CONVERSION_ERRORS:
            if not self.isolate_bad_rows:
                raise
            table, rejected = self._isolate(rows)
        if table.num_rows:
            self._writer.write_table(table)
            self.rows_written += table.num_rows
        return rejected

    def _isolate(self, rows: list[dict[str, Any]]) -> tuple[pa.Table, list[RejectedRow]]:
        good: list[dict[str, Any]] = []
        rejected: list[RejectedRow] = []
        for row in rows:
            try:
                pa.Table.from_pylist([row], schema=self.schema)
            except _CONVERSION_ERRORS as exc:
                rejected.append(RejectedRow(row, type(exc).__name__))
            else:
                good.append(row)
        return pa.Table.from_pylist(good, schema=self.schema), rejected

    def _flush_all(self) -> None:
        if self.flush():
            raise ValueError("rows were refused by the schema: call flush() and handle them before this")

    def close(self) -> None:
        """Flush and write the footer."""
        try:
            self._flush_all()
        finally:
            self._writer.close()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_batches(
    handle: BinaryIO, batch_rows: int = DEFAULT_BATCH_ROWS, columns: list[str] | None = None
) -> Iterable[pa.RecordBatch]:
    """Stream a Parquet file's rows in record batches (optionally only some columns)."""
    yield from pq.ParquetFile(handle).iter_batches(batch_size=batch_rows, columns=columns)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a local file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_stream(handle: BinaryIO, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of an open binary stream, read in chunks."""
    digest = hashlib.sha256()
    while block := handle.read(chunk):
        digest.update(block)
    return digest.hexdigest()
