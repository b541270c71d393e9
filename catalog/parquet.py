"""Streaming Parquet writing with the project's schema and compression, and file checksums."""

from __future__ import annotations

import hashlib
import queue
import threading
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
    only, or are read far more often than written, can ask for a faster one. ``use_dictionary`` as Parquet's
    (all columns, none, or the columns named): columns of mostly distinct values (texts, hashes, ids) are
    written and read faster without, and zstd compresses their repeats anyway.

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
        use_dictionary: bool | list[str] = True,
    ) -> None:
        self.schema = schema
        self.batch_rows = batch_rows
        self.isolate_bad_rows = isolate_bad_rows
        self.rows_written = 0
        self._buffer: list[dict[str, Any]] = []
        codec, level = compression
        self._writer = pq.ParquetWriter(
            str(path), schema, compression=codec, compression_level=level, use_dictionary=use_dictionary
        )

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


class BackgroundWrites:
    """Write record batches to :class:`BatchWriter` s on a thread of their own, so compressing overlaps the caller.

    Arrow encodes, compresses and writes without holding Python's global lock, so on a second core a large
    file's writes cost the caller little. Batches are written in the order they were handed over (one
    thread, one queue); at most ``depth`` wait, so memory stays bounded. A write's error is raised by the
    next :meth:`write_batch` or by :meth:`close`, which waits for every queued write: close it before the
    writers it writes to.
    """

    def __init__(self, depth: int = 4) -> None:
        self._queue: queue.Queue[tuple[BatchWriter, pa.RecordBatch] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="parquet-writes", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:  # after an error, drain the queue so the caller never blocks
                try:
                    item[0].write_batch(item[1])
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc

    def write_batch(self, writer: BatchWriter, batch: pa.RecordBatch | pa.Table) -> None:
        """Queue a batch for ``writer`` (waits while ``depth`` batches are queued)."""
        self._raise()
        self._queue.put((writer, batch))

    def close(self) -> None:
        """Wait for every queued write; raise the first error any of them met."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundWrites:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        # the caller's own error wins; the writes are only waited for, so no thread outlives the block
        self._error = self._error or RuntimeError("abandoned")
        self._queue.put(None)
        self._thread.join()


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
