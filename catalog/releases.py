"""Releases: immutable, versioned Parquet corpora with a manifest written last.

Layout: ``releases/<corpus>/<version>/part-00000.parquet ...`` and ``manifest.json``. The manifest is
the commit: a version folder without one is incomplete (a build that failed or is still running) and is
never trusted or listed as a release. Published versions are never modified; building again creates a
new version, and a takedown will produce a new version as well.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from anonymisation.stage import anonymised_path
from catalog.documents import DOCUMENT_SCHEMA, EXCLUDED_SCHEMA, SCHEMA_VERSION, code_version, utc_now
from catalog.parquet import BatchWriter, iter_batches, sha256_file, sha256_stream
from catalog.staging import temporary_directory
from catalog.storage import Storage
from quality.dedup import DropCursor, duplicate_drops_sql, split_by_drops, with_exclusion
from quality.dedup_index import NEAR_DUPLICATE, NearDuplicateIndex

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "corpusfabriek.release/1"
DEFAULT_CORPUS = "nl-main"
DEFAULT_ROWS_PER_PART = 250_000

#: What every released document went through, in order (recorded in the manifest).
STAGES = (
    "ingest", "clean:normalise", "clean:quality-gate", "clean:exact-dedup", "clean:expectations",
    "anonymise", "anonymised:expectations", "release:exact-dedup", "release:near-dedup",
)  # fmt: skip

#: The order in which one copy of equal texts is kept across sources: the earliest publication wins,
#: then the earliest fetch; source and document id make the choice deterministic.
KEEP_ORDER = "published_at NULLS LAST, fetched_at, source_id, doc_id"


class ReleaseError(RuntimeError):
    """A release cannot be built or read."""


def release_dir(corpus: str, version: str) -> str:
    """Folder of one release version."""
    return f"releases/{corpus}/{version}"


def excluded_release_path(corpus: str, version: str) -> str:
    """Documents dropped while building a release (cross-source duplicates), for review."""
    return f"excluded/release/{corpus}/{version}.parquet"


def new_version_id(storage: Storage, corpus: str, now: datetime | None = None) -> str:
    """Return a new, sortable version id (UTC build time) that no folder uses yet."""
    now = now or utc_now()
    base = f"v{now:%Y%m%dT%H%M%SZ}"
    candidate, n = base, 1
    while storage.exists(release_dir(corpus, candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def version_sort_key(version: str) -> tuple[str, int]:
    """Order versions by build time, then by the numeric same-second suffix (``-2`` before ``-10``)."""
    base, _, suffix = version.partition("-")
    return base, int(suffix) if suffix.isdigit() else 1


def build_release(
    storage: Storage,
    corpus: str,
    partitions: Sequence[dict[str, Any]],
    *,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
    memory_limit: str = "512MB",
    near_duplicates: NearDuplicateIndex | None = None,
) -> dict[str, Any]:
    """Build a new release version from anonymised source partitions and return its manifest.

    ``partitions`` are the anonymisation reports (``anonymised/<source>/anonymised.json``) of the sources
    that go in: only anonymised text is ever released.
    Exact duplicates across sources are dropped (one copy kept by :data:`KEEP_ORDER`) and written to
    the excluded zone. With ``near_duplicates`` (the corpus's persistent index), near duplicates of what
    remains are dropped too (``near_duplicate``): only documents the index has not seen are hashed, and a
    document an earlier release published is never replaced by a later copy. Parts are written first,
    the manifest last, the index part after it.
    """
    if not partitions:
        raise ReleaseError("no releasable source has anonymised documents: nothing to release")
    if rows_per_part <= 0:
        raise ReleaseError(f"rows_per_part must be positive, got {rows_per_part}")
    started = time.perf_counter()
    created_at = utc_now()
    version = new_version_id(storage, corpus, created_at)
    folder = release_dir(corpus, version)
    partitions = sorted(partitions, key=lambda p: p["source_id"])
    inputs = [storage.url(anonymised_path(p["source_id"])) for p in partitions]
    con = storage.duckdb(memory_limit=memory_limit)
    exact = con.sql(duplicate_drops_sql(inputs, KEEP_ORDER)).to_arrow_reader(8_192)
    plan = None
    if near_duplicates is not None:
        # the exact decisions (dropped rows' keys only: small) are read once and applied in both passes
        exact = exact.read_all()
        plan = near_duplicates.plan(_after_exact_dedup(storage, DropCursor.from_arrow(exact.to_reader()), partitions))
        exact = exact.to_reader()
    drops = DropCursor.from_arrow(exact)
    per_source: dict[str, dict[str, int]] = {}
    near_total = 0
    with (
        storage.staged_file(excluded_release_path(corpus, version)) as excluded_local,
        BatchWriter(excluded_local, EXCLUDED_SCHEMA) as excluded_writer,
        PartWriter(storage, folder, rows_per_part) as parts,
    ):
        for index, partition in enumerate(partitions):
            counts = per_source.setdefault(
                partition["source_id"], {"documents": 0, "duplicates_dropped": 0, "near_duplicates_dropped": 0}
            )
            with storage.open_input(anonymised_path(partition["source_id"])) as handle:
                for kept, dropped, why, duplicate_of in split_by_drops(iter_batches(handle), drops.for_file(index)):
                    if plan is not None and plan.drops:
                        kept, near = _split_near(kept, plan.drops)
                        if near.num_rows:
                            near_of = [plan.drops[d] for d in near.column("doc_id").to_pylist()]
                            excluded_writer.write_batch(
                                with_exclusion(near, "release", [NEAR_DUPLICATE] * near.num_rows, near_of)
                            )
                            counts["near_duplicates_dropped"] += near.num_rows
                            near_total += near.num_rows
                    parts.write(kept)
                    excluded_writer.write_batch(with_exclusion(dropped, "release", why, duplicate_of))
                    counts["documents"] += kept.num_rows
                    counts["duplicates_dropped"] += dropped.num_rows
    con.close()
    if not drops.exhausted():
        raise ReleaseError("deduplication decisions were left unapplied: the input zone changed during the build")
    files = parts.files
    dropped_total = excluded_writer.rows_written - near_total

    total = sum(f["rows"] for f in files)
    manifest = {
        "format": MANIFEST_FORMAT,
        "corpus": corpus,
        "version": version,
        "created_at": created_at.isoformat(),
        "code_version": code_version(),
        "schema_version": SCHEMA_VERSION,
        "schema": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in DOCUMENT_SCHEMA],
        "stages": list(STAGES),
        # Every part is read from the anonymised zone; what was replaced is in each source's entry and in
        # annotations.anonymised of each document (types, counts and offsets, never values).
        "anonymised": True,
        "total_documents": total,
        "total_bytes": sum(f["bytes"] for f in files),
        "files": files,
        "release_digest": release_digest(files),
        "excluded": {
            "duplicate_content": dropped_total,
            "near_duplicate": near_total,
            "path": excluded_release_path(corpus, version),
        },
        "near_duplicates": None
        if plan is None or near_duplicates is None
        else {
            "method": "minhash-lsh",
            "ngram": near_duplicates.settings.ngram,
            "bands": near_duplicates.settings.bands,
            "rows": near_duplicates.settings.rows,
            "threshold": near_duplicates.settings.threshold,
            "index": near_duplicates.folder,
            **plan.counts(),
            "dropped_by_source_pair": [
                {"source_id": a, "kept_copy_source_id": b, "documents": n}
                for (a, b), n in sorted(plan.by_source_pair.items(), key=lambda item: (str(item[0]), -item[1]))
            ],
        },
        "sources": [
            {
                "source_id": p["source_id"],
                "licence": p["licence"],
                "ingest_id": p["ingest_id"],
                "ingested_at": p["ingested_at"],
                "clean_code_version": p["clean_code_version"],
                "anonymise_code_version": p["code_version"],
                "anonymisation": {
                    "operator": p["operator"],
                    "documents_with_personal_data": p["documents_with_personal_data"],
                    "replacements_by_entity": p["replacements_by_entity"],
                    "kept_names": p["kept_names"],
                },
                # the Great Expectations validation of the anonymised snapshot this release read
                "expectations": p.get("validation"),
                "documents": per_source.get(p["source_id"], {}).get("documents", 0),
                "duplicates_dropped": per_source.get(p["source_id"], {}).get("duplicates_dropped", 0),
                "near_duplicates_dropped": per_source.get(p["source_id"], {}).get("near_duplicates_dropped", 0),
            }
            for p in partitions
        ],
        "build_duration_s": round(time.perf_counter() - started, 3),
    }
    storage.write_json(f"{folder}/{MANIFEST}", manifest)
    if plan is not None and near_duplicates is not None:
        near_duplicates.commit(plan, version)  # after the manifest: only a published release is indexed
    return manifest


def _after_exact_dedup(
    storage: Storage, drops: DropCursor, partitions: Sequence[dict[str, Any]]
) -> Iterator[pa.RecordBatch]:
    """Stream the release's documents that survive exact deduplication (the near-duplicate candidates)."""
    for index, partition in enumerate(partitions):
        with storage.open_input(anonymised_path(partition["source_id"])) as handle:
            for kept, *_ in split_by_drops(iter_batches(handle), drops.for_file(index)):
                yield kept


def _split_near(batch: pa.RecordBatch, drops: dict[str, str]) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Split a batch into the rows to keep and the near duplicates to drop."""
    near = pa.array([doc in drops for doc in batch.column("doc_id").to_pylist()], pa.bool_())
    return batch.filter(pc.invert(near)), batch.filter(near)


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


def release_digest(files: Sequence[dict[str, Any]]) -> str:
    """Return one SHA-256 over the parts' names and checksums: equal digests mean equal release content."""
    digest = hashlib.sha256()
    for entry in sorted(files, key=lambda f: f["path"]):
        digest.update(f"{entry['path']} {entry['sha256']}\n".encode())
    return digest.hexdigest()


# -- reading ---------------------------------------------------------------------------------------


def list_versions(storage: Storage, corpus: str | None = None) -> list[dict[str, Any]]:
    """List release versions, oldest first: ``{"corpus", "version", "complete", "manifest"}``.

    Only ``complete`` versions (with a manifest) are releases; incomplete folders are listed so that an
    operator can see and clean up failed builds.
    """
    corpora = [corpus] if corpus else storage.ls("releases", dirs_only=True)
    found = []
    for name in corpora:
        for version in sorted(storage.ls(f"releases/{name}", dirs_only=True), key=version_sort_key):
            path = f"{release_dir(name, version)}/{MANIFEST}"
            complete = storage.exists(path)
            found.append(
                {
                    "corpus": name,
                    "version": version,
                    "complete": complete,
                    "manifest": storage.read_json(path) if complete else None,
                }
            )
    return found


def read_manifest(storage: Storage, version: str, corpus: str | None = None) -> dict[str, Any]:
    """Return the manifest of a complete version (``latest`` for the newest one)."""
    versions = [v for v in list_versions(storage, corpus) if v["complete"]]
    if version == "latest":
        if not versions:
            raise ReleaseError("there is no complete release yet")
        return max(versions, key=lambda v: version_sort_key(v["version"]))["manifest"]
    matches = [v for v in versions if v["version"] == version]
    if not matches:
        raise ReleaseError(f"no complete release version {version!r}" + (f" in corpus {corpus!r}" if corpus else ""))
    if len(matches) > 1:
        raise ReleaseError(f"version {version!r} exists in several corpora; name the corpus")
    return matches[0]["manifest"]


def verify_release(storage: Storage, manifest: dict[str, Any]) -> list[str]:
    """Check a release against its manifest; return the problems found (empty: it verifies).

    Every listed file must exist with the recorded size, SHA-256 and row count, no unlisted part may
    sit beside them, and the release digest must match.
    """
    folder = release_dir(manifest["corpus"], manifest["version"])
    problems = []
    listed = {entry["path"] for entry in manifest["files"]}
    for name in storage.ls(folder):
        if name != MANIFEST and name not in listed:
            problems.append(f"{name}: file not listed in the manifest")
    for entry in manifest["files"]:
        path = f"{folder}/{entry['path']}"
        if not storage.exists(path):
            problems.append(f"{entry['path']}: missing")
            continue
        if storage.size(path) != entry["bytes"]:
            problems.append(f"{entry['path']}: size {storage.size(path)} != manifest {entry['bytes']}")
        with storage.open_input(path) as handle:
            if sha256_stream(handle) != entry["sha256"]:
                problems.append(f"{entry['path']}: sha256 does not match the manifest")
        try:
            with storage.open_input(path) as handle:
                rows = pq.ParquetFile(handle).metadata.num_rows
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            problems.append(f"{entry['path']}: not a readable Parquet file ({type(exc).__name__})")
            continue
        if rows != entry["rows"]:
            problems.append(f"{entry['path']}: {rows} rows != manifest {entry['rows']}")
    if release_digest(manifest["files"]) != manifest["release_digest"]:
        problems.append("release_digest does not match the listed files")
    if sum(entry["rows"] for entry in manifest["files"]) != manifest["total_documents"]:
        problems.append("total_documents does not match the listed files")
    return problems
