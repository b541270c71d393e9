"""How a release's documents and manifest are written: the release formats (Parquet today).

:func:`stages.release.build_release` decides what goes into a version; a :class:`ReleaseFormat` writes it.
Another format (JSONL shards, a different row-group layout) is one more class here and an entry in
:data:`RELEASE_FORMATS`.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import pyarrow as pa

from catalog.documents import DOCUMENT_SCHEMA
from catalog.parquet import BatchWriter, sha256_file
from catalog.staging import temporary_directory
from catalog.storage import Storage


class ReleaseFormat(Protocol):
    """How a release's documents and manifest are written: the seam for another release format.

    ``parts`` returns a context manager with ``write(batch)`` and, after it closes, ``files``: one entry
    (``path``, ``rows``, ``bytes``, ``sha256``) per written file, listed in the manifest and checked by
    ``releases verify``. ``write_manifest`` commits the version: it runs last.
    """

    name: str

    def parts(self, storage: Storage, folder: str, rows_per_part: int) -> PartWriter:
        """Return the writer of a version's document files in ``folder``."""
        ...

    def write_manifest(self, storage: Storage, path: str, manifest: dict[str, Any]) -> None:
        """Write the manifest (the commit of the version)."""
        ...


class ParquetRelease:
    """The release format: numbered Parquet parts of the document schema and a JSON manifest."""

    name = "parquet"

    def parts(self, storage: Storage, folder: str, rows_per_part: int) -> PartWriter:
        """Return a :class:`PartWriter` (looked up when called, so a test can stand in for it)."""
        return PartWriter(storage, folder, rows_per_part)

    def write_manifest(self, storage: Storage, path: str, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json``."""
        storage.write_json(path, manifest)


#: Release formats by name (one today); ``build_release`` takes one.
RELEASE_FORMATS: dict[str, ReleaseFormat] = {ParquetRelease.name: ParquetRelease()}


class PartWriter:
    """Write a release's rows into numbered Parquet parts of at most ``rows_per_part`` rows.

    Each part is written locally, checksummed and uploaded before the next one starts, so local disk
    use is one part. An empty release still gets one empty part that carries the schema.
    """

    def __init__(self, storage: Storage, folder: str, rows_per_part: int) -> None:
        self.storage = storage
        self.folder = folder
        self.rows_per_part = rows_per_part
        self.files: list[dict[str, Any]] = []
        self._tmp = temporary_directory("release-")
        self._writer: BatchWriter | None = None
        self._local = ""

    def write(self, batch: pa.RecordBatch) -> None:
        """Append rows, rolling over to a new part when the current one is full."""
        offset = 0
        while offset < batch.num_rows:
            if self._writer is None:
                self._local = os.path.join(self._tmp.name, f"part-{len(self.files):05d}.parquet")
                self._writer = BatchWriter(self._local, DOCUMENT_SCHEMA)
            take = min(self.rows_per_part - self._writer.rows_written, batch.num_rows - offset)
            self._writer.write_batch(batch.slice(offset, take))
            offset += take
            if self._writer.rows_written >= self.rows_per_part:
                self._finish()

    def _finish(self) -> None:
        assert self._writer is not None
        self._writer.close()
        name = f"part-{len(self.files):05d}.parquet"
        entry = {
            "path": name,
            "rows": self._writer.rows_written,
            "bytes": os.path.getsize(self._local),
            "sha256": sha256_file(self._local),
        }
        self.storage.put_file(self._local, f"{self.folder}/{name}")
        os.remove(self._local)
        self.files.append(entry)
        self._writer = None

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is None and (self._writer is not None or not self.files):
                if self._writer is None:
                    self._local = os.path.join(self._tmp.name, "part-00000.parquet")
                    self._writer = BatchWriter(self._local, DOCUMENT_SCHEMA)
                self._finish()
            elif self._writer is not None:
                self._writer.close()
        finally:
            self._tmp.cleanup()
