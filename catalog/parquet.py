"""Streaming Parquet writing with the project's schema and compression, and file checksums."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.documents import PARQUET_COMPRESSION, PARQUET_COMPRESSION_LEVEL

DEFAULT_BATCH_ROWS = 2_000


class BatchWriter:
    """Write rows (dicts) or record batches to one Parquet file, a row group per batch.

    Memory stays bounded by ``batch_rows``; the file is complete (and has a footer) only after
    :meth:`close`, so callers write to a staged local path and publish it afterwards.
    """

    def __init__(self, path: str | Path, schema: pa.Schema, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.schema = schema
        self.batch_rows = batch_rows
        self.rows_written = 0
        self._buffer: list[dict[str, Any]] = []
        self._writer = pq.ParquetWriter(
            str(path), schema, compression=PARQUET_COMPRESSION, compression_level=PARQUET_COMPRESSION_LEVEL
        )

    def write_row(self, row: dict[str, Any]) -> None:
        """Buffer one row; flush a row group when the buffer is full."""
        self._buffer.append(row)
        if len(self._buffer) >= self.batch_rows:
            self._flush()

    def write_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Write an Arrow batch, cast to the writer's schema (names and types must match)."""
        self._flush()
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if table.num_rows:
            self._writer.write_table(table.select(self.schema.names).cast(self.schema))
            self.rows_written += table.num_rows

    def _flush(self) -> None:
        if self._buffer:
            self._writer.write_table(pa.Table.from_pylist(self._buffer, schema=self.schema))
            self.rows_written += len(self._buffer)
            self._buffer = []

    def close(self) -> None:
        """Flush and write the footer."""
        self._flush()
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
