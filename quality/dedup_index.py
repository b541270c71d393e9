"""The persistent near-duplicate index of a corpus: what earlier releases published, and what they dropped.

A release hashes only documents it has not seen before. The index keeps, per corpus and signature
scheme, one Parquet part per release:

- ``dedup/index/<corpus>/<scheme>/bands-<version>.parquet``: band keys of the documents that release
  *published* (``doc_id, content_sha256, source_id, release, band, key``);
- ``dedup/index/<corpus>/<scheme>/decided-<version>.parquet``: documents it *dropped* as near duplicates
  (``doc_id, content_sha256, duplicate_of``), so the next release reuses the decision without hashing.

The parts are an append-only log: the *current* entry of a document is the one of the latest release
that hashed it (published or dropped); older entries of the same ``doc_id`` are history.
A document is "seen" when its ``doc_id`` *and* ``content_sha256`` match its current entry: a corrected
text is new.

Rules for a new release (:meth:`NearDuplicateIndex.plan`):

- documents already published stay published: they are never replaced by a later copy;
- a newer version of a published document (same ``doc_id``, other text) *replaces* it: the old version
  keeps nobody out, not even the new one (a document is never a duplicate of itself), and the new
  version is judged like any new document;
- a new document that matches a published document still in the release is dropped in its favour;
- among new documents alone, :func:`quality.neardup.choose_keep`'s priority decides;
- a published document that is no longer released (a withdrawn source) keeps nobody out;
- an earlier drop is reused only while the copy it gave way to is still published, unchanged, in the
  release; otherwise the dropped document is hashed and judged again.

Planning is out of core: DuckDB reads the parts and the new documents' band keys under a memory limit
(spilling to disk), and Python holds only the documents that some candidate pair links.

A release writes its parts (:meth:`commit`) *before* its manifest, and a reader passes the versions that
have a manifest (``releases``): parts of a build that failed or was killed before its manifest never count,
and a crash right after the manifest cannot leave a published release out of the index.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import weakref
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.staging import make_temp_dir, temporary_directory
from catalog.storage import Storage, sql_quote
from catalog.zones import INDEX_FOLDER
from quality.neardup import (
    SIGNATURE_SCHEME,
    MinHashSettings,
    band_keys,
    choose_keep,
    connected_components,
    estimated_jaccard,
    minhash_matrix,
    normalise_url,
    shingle_hashes,
)

NEAR_DUPLICATE = "near_duplicate"

_BANDS_SCHEMA = {
    "doc_id": pl.String,
    "content_sha256": pl.String,
    "source_id": pl.String,
    "release": pl.String,
    "band": pl.UInt8,
    "key": pl.UInt64,
}
_DECIDED_SCHEMA = {"doc_id": pl.String, "content_sha256": pl.String, "duplicate_of": pl.String, "release": pl.String}


_PART_COLUMNS = {
    "bands": "doc_id, content_sha256, source_id, band, key",
    "decided": "doc_id, content_sha256, duplicate_of",
}
_COLUMNS = ["doc_id", "source_id", "published_at", "content_sha256", "url", "text"]
#: characters of text hashed at once at most (with ``batch_docs``): bounds the n-grams held while hashing
BATCH_CHARS = 10_000_000
#: a hashed document's band keys, and the fields that decide which copy is kept (:class:`_Hasher`'s files)
_KEYS_SCHEMA = pa.schema([("doc", pa.uint32()), ("band", pa.uint8()), ("key", pa.uint64())])
_META_STRINGS = ("doc_id", "content_sha256", "source_id")
_META_SCHEMA = pa.schema(
    [("doc", pa.uint32())]
    + [(name, pa.string()) for name in _META_STRINGS]
    + [("published_at", pa.string()), ("length", pa.int64()), ("url", pa.string())]
)
#: what the first read keeps of each candidate document (no text)
_CANDIDATE_SCHEMA = pa.schema([("doc_id", pa.string()), ("content_sha256", pa.string()), ("url", pa.string())])


class _Hasher:
    """Hash documents in batches into Parquet files in ``folder``: band keys, what decides, signatures.

    A batch is hashed once ``batch_docs`` documents or :data:`BATCH_CHARS` characters of text wait: hashing
    holds every word n-gram of a batch at once (about 70 MB per 1,000 news articles).

    Nothing grows in memory with the documents hashed: each batch's band keys (``doc, band, key``), its
    documents' fields that decide which copy is kept (``doc, doc_id, content_sha256, source_id,
    published_at, length, url``) and, with a threshold, its MinHash rows (``doc, signature``) are appended
    to files that DuckDB joins out of core. ``doc`` numbers the documents in the order they were added.
    """

    def __init__(self, settings: MinHashSettings, batch_docs: int, folder: str) -> None:
        self.settings = settings
        self.batch_docs = batch_docs
        self._chars = 0
        self.keys_path = f"{folder}/keys.parquet"
        self.meta_path = f"{folder}/meta.parquet"
        self.signatures_path = f"{folder}/signatures.parquet"
        self.documents = 0
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._pending: list[dict[str, Any]] = []

    def add(self, batch: pa.RecordBatch) -> None:
        """Queue a batch's rows (columns :data:`_COLUMNS`), hashing whenever ``batch_docs`` are waiting."""
        for row in batch.to_pylist():
            self._pending.append(row)
            self._chars += len(row["text"] or "")
            if len(self._pending) >= self.batch_docs or self._chars >= BATCH_CHARS:
                self.flush()

    def _write(self, path: str, table: pa.Table) -> None:
        writer = self._writers.get(path)
        if writer is None:
            writer = self._writers[path] = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)

    def flush(self) -> None:
        """Hash the waiting rows and append what they give to the files."""
        if not self._pending:
            return
        rows = self._pending
        texts = [row["text"] for row in rows]
        hashes = shingle_hashes(texts, self.settings)
        matrix = minhash_matrix(hashes, len(texts), self.settings)
        empty = np.ones(len(texts), dtype=bool)
        empty[hashes["doc"].unique().to_numpy()] = False
        offset = self.documents
        keys = band_keys(matrix, self.settings, empty).with_columns(pl.col("doc") + offset)
        self._write(self.keys_path, keys.to_arrow().cast(_KEYS_SCHEMA))
        docs = pa.array(np.arange(offset, offset + len(rows), dtype=np.uint32))
        meta = {
            "doc": docs,
            **{name: pa.array([row[name] for row in rows], pa.string()) for name in _META_STRINGS},
            # as text, the form choose_keep has always compared (ISO-like, so it sorts by time within a zone)
            "published_at": pa.array(
                [str(row["published_at"]) if row["published_at"] is not None else None for row in rows], pa.string()
            ),
            "length": pa.array([len(text) for text in texts], pa.int64()),
            "url": pa.array([normalise_url(row["url"]) for row in rows], pa.string()),
        }
        self._write(self.meta_path, pa.table(meta, schema=_META_SCHEMA))
        if self.settings.threshold is not None:
            width = 4 * self.settings.permutations
            rows_bytes = np.ascontiguousarray(matrix, dtype=np.uint32)
            signatures = pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(width), len(rows), [None, pa.py_buffer(rows_bytes.tobytes())]
            )
            self._write(self.signatures_path, pa.table({"doc": docs, "signature": signatures}))
        self.documents += len(rows)
        self._pending = []
        self._chars = 0

    def close(self) -> None:
        """Hash what is still waiting and close the files."""
        self.flush()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _hashed_rows(duck: Any, path: str, columns: str, docs: np.ndarray) -> pa.Table:
    """Return ``columns`` of the hashed documents ``docs`` (sorted numbers) from one of :class:`_Hasher`'s files."""
    duck.register("wanted", pa.table({"doc": pa.array(docs, pa.uint32())}))
    try:
        return duck.sql(
            f"SELECT {columns} FROM read_parquet({sql_quote(path)}) SEMI JOIN wanted USING (doc) ORDER BY doc"
        ).to_arrow_table()
    finally:
        duck.unregister("wanted")


def release_ranks(versions: Iterable[str]) -> dict[str, int]:
    """Rank release versions oldest first: build time, then the numeric same-second suffix (``-2`` < ``-10``).

    The same order as :func:`catalog.releases.version_sort_key` (which this layer cannot import).
    """

    def key(version: str) -> tuple[str, int]:
        base, _, suffix = version.partition("-")
        return base, int(suffix) if suffix.isdigit() else 1

    return {version: rank for rank, version in enumerate(sorted(set(versions), key=key))}


def part_release(file_name: str) -> str | None:
    """Return the release that wrote an index part (``bands-<release>.parquet``, ``decided-...``), else ``None``."""
    kind, _, rest = file_name.partition("-")
    if kind not in ("bands", "decided") or not rest.endswith(".parquet"):
        return None
    return rest.removesuffix(".parquet")


def index_folder(corpus: str, settings: MinHashSettings) -> str:
    """Folder of a corpus's index for one signature scheme and set of LSH parameters."""
    scheme = f"{SIGNATURE_SCHEME} n{settings.ngram} b{settings.bands} r{settings.rows} s{settings.seed}"
    return f"{INDEX_FOLDER}/{corpus}/{hashlib.sha256(scheme.encode()).hexdigest()[:16]}"


@dataclass
class NearDuplicatePlan:
    """What a release does about near duplicates: drops (``doc_id -> duplicate_of``) and what to index."""

    drops: dict[str, str] = field(default_factory=dict)
    hashed: int = 0
    reused: int = 0
    matched_published: int = 0
    #: published documents that this release replaces by a newer version of themselves
    replaced: int = 0
    #: (source of the dropped copy, source of the kept copy) -> documents
    by_source_pair: dict[tuple[str | None, str | None], int] = field(default_factory=dict)
    #: the kept new documents' band keys (a Parquet file in the plan's own scratch folder, until commit)
    _bands_file: str | None = None
    _decided: pl.DataFrame | None = None
    _scratch: str | None = None

    def _folder(self) -> str:
        """Return the plan's scratch folder, made on first use and removed when the plan is garbage."""
        if self._scratch is None:
            self._scratch = make_temp_dir("neardup-plan-")
            weakref.finalize(self, shutil.rmtree, self._scratch, ignore_errors=True)
        return self._scratch

    def index_rows(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Return the rows :meth:`NearDuplicateIndex.commit` would write: (band keys, decisions), in memory.

        For inspection and tests: a release's band keys grow with its new documents.
        """
        bands = (
            pl.read_parquet(self._bands_file)
            if self._bands_file is not None
            else pl.DataFrame(schema={k: v for k, v in _BANDS_SCHEMA.items() if k != "release"})
        )
        decided = self._decided if self._decided is not None else pl.DataFrame(schema=_DECIDED_SCHEMA).drop("release")
        return bands, decided

    def counts(self) -> dict[str, int]:
        """Return the counts for metadata and the manifest."""
        return {
            "near_duplicates_dropped": len(self.drops),
            "documents_hashed": self.hashed,
            "decisions_reused": self.reused,
            "dropped_for_an_earlier_release": self.matched_published,
            "replaced_by_newer_version": self.replaced,
        }


class NearDuplicateIndex:
    """Read the index, plan a release against it, and commit the release's part.

    :param settings: MinHash LSH parameters (the index folder depends on them).
    :param priority: keep priority per ``source_id`` (higher is kept; default 0).
    :param memory_limit: DuckDB's memory limit for the joins over the index (it spills beyond it).
    :param threads: DuckDB threads (default: all cores).
    """

    def __init__(
        self,
        storage: Storage,
        corpus: str,
        settings: MinHashSettings | None = None,
        priority: dict[str, int] | None = None,
        *,
        memory_limit: str = "1GB",
        threads: int | None = None,
    ) -> None:
        self.storage = storage
        self.memory_limit = memory_limit
        self.threads = threads
        self.corpus = corpus
        self.settings = settings or MinHashSettings()
        self.priority = dict(priority or {})
        self.folder = index_folder(corpus, self.settings)

    def parts(self) -> dict[str, list[str]]:
        """Return every part of the index by the release that wrote it: ``{release: [path, ...]}``."""
        found: dict[str, list[str]] = {}
        for part in self.storage.glob(f"{self.folder}/*.parquet"):
            release = part_release(part.rsplit("/", 1)[-1])
            if release is not None:
                found.setdefault(release, []).append(part)
        return found

    def remove(self, release: str) -> None:
        """Remove the parts of a release (one whose build failed before its manifest)."""
        for part in self.parts().get(release, []):
            self.storage.delete(part)

    def _part_sql(self, releases: Collection[str] | None) -> tuple[str, str] | None:
        """Return SQL for every row of the bands parts and of the decided parts, tagged ``release`` and ``rank``.

        With ``releases``, only those releases' parts; ``None`` when there is no part at all.
        """
        parts = {release: paths for release, paths in self.parts().items() if releases is None or release in releases}
        if not parts:
            return None
        ranks = release_ranks(parts)
        selects: dict[str, list[str]] = {"bands": [], "decided": []}
        for release, paths in sorted(parts.items()):
            tag = f"{sql_quote(release)} AS release, {ranks[release]} AS rank"
            for path in sorted(paths):
                kind = path.rsplit("/", 1)[-1].partition("-")[0]
                columns = _PART_COLUMNS[kind]
                # the release is the part's name, not a column: a part is the release that wrote it
                selects[kind].append(f"SELECT {columns}, {tag} FROM read_parquet({sql_quote(self.storage.url(path))})")
        empty = {
            "bands": "SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS content_sha256, NULL::VARCHAR AS source_id, "
            "NULL::UTINYINT AS band, NULL::UBIGINT AS key, NULL::VARCHAR AS release, NULL::INTEGER AS rank "
            "WHERE false",
            "decided": "SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS content_sha256, "
            "NULL::VARCHAR AS duplicate_of, NULL::VARCHAR AS release, NULL::INTEGER AS rank WHERE false",
        }
        bands, decided = (" UNION ALL ".join(selects[kind]) or empty[kind] for kind in ("bands", "decided"))
        return bands, decided

    def _connect(self, releases: Collection[str] | None) -> Any | None:
        """Return a DuckDB connection with views ``bands``, ``decided`` and the table ``current``, or ``None``.

        ``current`` holds one row per indexed document, from the latest release that hashed it:
        ``doc_id, release, content_sha256, source_id, duplicate_of, published``. It is built by DuckDB
        under :attr:`memory_limit` (spilling to disk), so memory does not grow with the index.
        """
        sql = self._part_sql(releases)
        if sql is None:
            return None
        con = self.storage.duckdb(memory_limit=self.memory_limit, threads=self.threads)
        con.execute(f"CREATE TEMP VIEW bands AS {sql[0]}")
        con.execute(f"CREATE TEMP VIEW decided AS {sql[1]}")
        # every indexed document has a key in every band: band 0 alone names each published document once;
        # max(rank) and a semi join spill under the memory limit, where arg_max over strings does not
        con.execute(
            """
            CREATE TEMP TABLE current AS
            WITH events AS (
                SELECT doc_id, release, rank, content_sha256, source_id, NULL::VARCHAR AS duplicate_of,
                       true AS published
                FROM bands WHERE band = 0
                UNION ALL
                SELECT doc_id, release, rank, content_sha256, NULL::VARCHAR, duplicate_of, false FROM decided
            )
            SELECT e.doc_id, e.release, e.content_sha256, e.source_id, e.duplicate_of, e.published FROM events e
            SEMI JOIN (SELECT doc_id, max(rank) AS rank FROM events GROUP BY doc_id) l
                ON e.doc_id = l.doc_id AND e.rank = l.rank
            """
        )
        return con

    def published(self, releases: Collection[str] | None = None) -> pl.DataFrame:
        """Band keys of every published document's current version (only ``releases``' parts, if given).

        Columns ``doc_id, content_sha256, source_id, release, band, key``. Loads them all: for inspection
        and tests, not for planning (which stays out of core).
        """
        return self._current_rows("bands", _BANDS_SCHEMA, releases)

    def decided(self, releases: Collection[str] | None = None) -> pl.DataFrame:
        """Return the current decisions about dropped documents: ``doc_id, content_sha256, duplicate_of, release``."""
        return self._current_rows("decided", _DECIDED_SCHEMA, releases)

    def _current_rows(self, kind: str, schema: dict[str, Any], releases: Collection[str] | None) -> pl.DataFrame:
        """Return the rows of one kind of part (``bands`` or ``decided``) that are current entries, in memory."""
        con = self._connect(releases)
        if con is None:
            return pl.DataFrame(schema=schema)
        published = "c.published" if kind == "bands" else "NOT c.published"
        with contextlib.closing(con):
            frame = con.sql(
                f"SELECT {', '.join(f'p.{column}' for column in schema)} FROM {kind} p "
                f"SEMI JOIN current c ON p.doc_id = c.doc_id AND p.release = c.release AND {published}"
            ).pl()
        return frame.cast(schema)

    def plan(
        self,
        batches: Iterable[pa.RecordBatch] | Callable[[], Iterable[pa.RecordBatch]],
        *,
        batch_docs: int = 4_000,
        releases: Collection[str] | None = None,
    ) -> NearDuplicatePlan:
        """Decide the near duplicates of a release from its candidate documents (after exact dedup).

        ``batches`` stream the release's documents (``doc_id``, ``source_id``, ``published_at``,
        ``content_sha256``, ``url``, ``text``), each ``doc_id`` once; only unseen documents are hashed,
        ``batch_docs`` at a time. Documents with the same normalised URL are duplicates too.
        ``releases`` names the published releases (those with a manifest): other parts are ignored.

        Out of core: a first read keeps only each document's id, content hash and URL (in a temporary
        Parquet file); DuckDB compares them with the index's current entries and joins the new documents'
        band keys with the published ones, and only what a decision needs comes back to Python: the
        documents to hash, the earlier drops that stand and the published documents a new one matches.
        Once the index has parts, the documents to hash are read a second time: pass a function that
        returns a new stream on each call (or a list). The new documents' band keys and fields go to files as
        they are hashed, and only the documents in some candidate pair come back to Python: memory grows
        neither with the index nor with the release (DuckDB's share is bounded by ``memory_limit``).
        """
        read = batches if callable(batches) else (lambda: batches)
        with temporary_directory("neardup-") as scratch:
            con = self._connect(releases)
            try:
                return self._plan(read, batch_docs, con, f"{scratch}/candidates.parquet")
            finally:
                if con is not None:
                    con.close()

    def _plan(
        self,
        read: Callable[[], Iterable[pa.RecordBatch]],
        batch_docs: int,
        con: Any | None,
        spill: str,
    ) -> NearDuplicatePlan:
        plan = NearDuplicatePlan()
        hasher = _Hasher(self.settings, batch_docs, os.path.dirname(spill))
        # without an index every document is new: hash while reading, so a one-shot stream is enough
        first = read()
        with pq.ParquetWriter(spill, _CANDIDATE_SCHEMA) as writer:
            for batch in first:
                batch = batch.select(_COLUMNS)
                urls = [normalise_url(url) if url else None for url in batch.column("url").to_pylist()]
                writer.write_batch(
                    pa.record_batch(
                        [batch.column("doc_id"), batch.column("content_sha256"), pa.array(urls, pa.string())],
                        schema=_CANDIDATE_SCHEMA,
                    )
                )
                if con is None:
                    hasher.add(batch)
        duck = con if con is not None else self.storage.duckdb(memory_limit=self.memory_limit, threads=self.threads)
        try:
            twice = duck.sql(
                f"SELECT doc_id FROM read_parquet({sql_quote(spill)}) GROUP BY doc_id HAVING count(*) > 1 "
                "ORDER BY doc_id LIMIT 1"
            ).fetchall()
        finally:
            if con is None:
                duck.close()
        if twice:
            # two rows of one document would make it a duplicate of itself: exact dedup keeps one
            raise ValueError(f"document {twice[0][0]} appears twice among the release's documents")
        if con is None:
            hasher.flush()
            plan.hashed = hasher.documents
            if hasher.documents:
                self._decide(plan, hasher, con)
            return plan

        to_hash = self._classify(plan, con, spill)
        if to_hash:
            second = read()
            if second is first and iter(second) is second:  # a one-shot stream, already consumed
                raise ValueError("judging unseen documents needs a second read: pass a list or a function")
            wanted = pa.array(sorted(to_hash), pa.string())
            for batch in second:
                batch = batch.select(_COLUMNS)
                hasher.add(batch.filter(pc.is_in(batch.column("doc_id"), value_set=wanted)))
            hasher.flush()
        plan.hashed = hasher.documents
        if hasher.documents:
            self._decide(plan, hasher, con)
        return plan

    def _classify(self, plan: NearDuplicatePlan, con: Any, spill: str) -> set[str]:
        """Compare the release's documents with the current entries; return the ids of the ones to hash.

        Fills in the earlier drops that stand and the counts of reused and replaced documents, and leaves
        ``live`` in DuckDB: the published documents in this release, unchanged (the ones that keep later
        copies out), with the URL this release gives them.
        """
        con.execute(
            f"""
            CREATE TEMP TABLE candidates AS
            SELECT c.doc_id, c.url, e.published,
                   CASE WHEN e.doc_id IS NULL THEN 'new'
                        WHEN e.published AND e.content_sha256 = c.content_sha256 THEN 'live'
                        WHEN e.published THEN 'replaces'
                        WHEN e.content_sha256 = c.content_sha256 THEN 'dropped'
                        ELSE 'new' END AS status,
                   e.release, e.source_id, e.duplicate_of
            FROM read_parquet({sql_quote(spill)}) c LEFT JOIN current e ON c.doc_id = e.doc_id
            """
        )
        con.execute(
            "CREATE TEMP TABLE live AS SELECT doc_id, release, source_id, url FROM candidates WHERE status = 'live'"
        )
        plan.replaced = con.sql("SELECT count(*) FROM candidates WHERE status = 'replaces'").fetchall()[0][0]
        # an earlier drop stands while the copy it gave way to is published, unchanged, in this release;
        # otherwise (replaced by a newer version, withdrawn, itself dropped) the document is judged again
        stands = con.sql(
            "SELECT c.doc_id, c.duplicate_of FROM candidates c SEMI JOIN live l ON c.duplicate_of = l.doc_id "
            "WHERE c.status = 'dropped'"
        ).fetchall()
        plan.drops = dict(stands)
        plan.reused = len(plan.drops)
        hash_ids = con.sql(
            "SELECT doc_id FROM candidates WHERE status IN ('new', 'replaces') "
            "UNION ALL SELECT c.doc_id FROM candidates c ANTI JOIN live l ON c.duplicate_of = l.doc_id "
            "WHERE c.status = 'dropped'"
        ).to_arrow_table()
        return set(hash_ids.column(0).to_pylist())

    def _decide(self, plan: NearDuplicatePlan, hasher: _Hasher, con: Any | None) -> None:
        """Cluster the hashed documents with each other and with the published ones they match; fill in ``plan``.

        Out of core: the band keys and fields of the hashed documents stay in ``hasher``'s files, DuckDB
        finds the pairs (shared band keys, shared URLs, matches with published documents), and only the
        documents in some pair come back to Python to be clustered. Only the published documents connected
        to a new one (by a band key, or by a URL shared with a new document or with such a match) take part:
        a cluster without a new document decides nothing, and published documents are linked among
        themselves only by their URLs.
        """
        hasher.close()
        keys, meta = (f"read_parquet({sql_quote(path)})" for path in (hasher.keys_path, hasher.meta_path))
        documents = hasher.documents
        duck = con if con is not None else self.storage.duckdb(memory_limit=self.memory_limit, threads=self.threads)
        try:
            # a star per shared band key (each member linked to the key's first document) gives the same clusters
            # as every pair, without k²/2 pairs for a key that k templated pages share
            new_new = duck.sql(
                f"""
                WITH k AS (SELECT doc, band, key FROM {keys}),
                     f AS (SELECT band, key, min(doc) AS a FROM k GROUP BY band, key HAVING count(*) > 1)
                SELECT DISTINCT f.a, k.doc AS b FROM k JOIN f ON k.band = f.band AND k.key = f.key WHERE k.doc <> f.a
                """
            ).pl()
            if self.settings.threshold is not None and new_new.height:
                new_new = new_new.filter(pl.Series(self._similarity(duck, hasher, new_new) >= self.settings.threshold))
            matches = pl.DataFrame(schema={"doc": pl.UInt32, "doc_id": pl.String})
            live = pl.DataFrame(schema={"doc_id": pl.String, "source_id": pl.String, "url": pl.String})
            if con is not None:
                con.execute(
                    f"""
                    CREATE TEMP TABLE matches AS
                    SELECT DISTINCT k.doc, b.doc_id
                    FROM {keys} k JOIN bands b ON b.band = k.band AND b.key = k.key
                    SEMI JOIN live l ON l.doc_id = b.doc_id AND l.release = b.release
                    """
                )
                matches = con.sql("SELECT doc, doc_id FROM matches").pl().cast({"doc": pl.UInt32})
                live = con.sql(
                    f"""
                    WITH matched AS (SELECT DISTINCT doc_id FROM matches),
                         urls AS (SELECT url FROM {meta} WHERE url IS NOT NULL
                                  UNION SELECT l.url FROM live l SEMI JOIN matched m ON l.doc_id = m.doc_id)
                    SELECT doc_id, source_id, url FROM live
                    WHERE doc_id IN (SELECT doc_id FROM matched) OR url IN (SELECT url FROM urls)
                    ORDER BY doc_id
                    """
                ).pl()
            live_order = live["doc_id"].to_list()
            # published documents in this release that a new one may join, as extra nodes after the new ones
            node_of = pl.DataFrame(
                {
                    "doc_id": pl.Series(live_order, dtype=pl.String),
                    "b": pl.Series(range(documents, documents + len(live_order)), dtype=pl.UInt32),
                }
            )
            # a new document and a published one (no signature kept for published documents: band matches count)
            new_old = matches.join(node_of, on="doc_id").select(a=pl.col("doc"), b=pl.col("b"))
            # the same page (normalised URL) is a duplicate whatever its text
            duck.register("live_urls", node_of.with_columns(url=live["url"].cast(pl.String)).to_arrow())
            same_url = duck.sql(
                f"""
                WITH u AS (SELECT doc AS node, url FROM {meta} WHERE url IS NOT NULL
                           UNION ALL SELECT b AS node, url FROM live_urls WHERE url IS NOT NULL),
                     f AS (SELECT url, min(node) AS a FROM u GROUP BY url HAVING count(*) > 1)
                SELECT f.a, u.node AS b FROM u JOIN f ON u.url = f.url WHERE u.node <> f.a
                """
            ).pl()
            duck.unregister("live_urls")
            pairs = pl.concat(
                [
                    frame.select(pl.col("a").cast(pl.UInt32), pl.col("b").cast(pl.UInt32))
                    for frame in (new_new, new_old, same_url)
                ]
            )
            # only documents in some pair can be dropped (or keep another out): the rest are kept, unread
            nodes = np.unique(np.concatenate([pairs["a"].to_numpy(), pairs["b"].to_numpy()]))
            compact = pairs.select(
                a=pl.Series(np.searchsorted(nodes, pairs["a"].to_numpy()), dtype=pl.UInt32),
                b=pl.Series(np.searchsorted(nodes, pairs["b"].to_numpy()), dtype=pl.UInt32),
            )
            # nodes are sorted, so a component's smallest compact index is its smallest node as well
            clusters = nodes[connected_components(compact, len(nodes))] if len(nodes) else nodes
            new_nodes = nodes[nodes < documents]
            involved = pl.from_arrow(
                _hashed_rows(
                    duck, hasher.meta_path, "doc_id, content_sha256, source_id, published_at, length", new_nodes
                )
            )
            assert isinstance(involved, pl.DataFrame)
            live_ids = [live_order[node - documents] for node in nodes[nodes >= documents]]
            ids = involved["doc_id"].to_list() + live_ids
            # published documents come first whatever their source: a later copy never replaces them
            priority = [self.priority.get(source, 0) for source in involved["source_id"].to_list()]
            decision = choose_keep(
                clusters,
                ids,
                priority=priority + [2**62] * len(live_ids),
                published_at=involved["published_at"].to_list() + [None] * len(live_ids),
                lengths=involved["length"].to_list() + [0] * len(live_ids),
            )
            dropped = decision.head(len(new_nodes)).filter(~pl.col("keep"))
            plan.matched_published = dropped.filter(
                pl.col("duplicate_of").is_in(pl.Series(live_order, dtype=pl.String).implode())
            ).height
            plan.drops.update(dict(dropped.select("id", "duplicate_of").iter_rows()))
            # which source's copy each dropped document gave way to (counts only, for partner reports)
            source_of = dict(involved.select("doc_id", "source_id").iter_rows())
            source_of.update(dict(live.select("doc_id", "source_id").iter_rows()))
            for doc, kept in dropped.select("id", "duplicate_of").iter_rows():
                pair = (source_of.get(doc), source_of.get(kept))
                plan.by_source_pair[pair] = plan.by_source_pair.get(pair, 0) + 1
            plan._decided = involved.join(dropped.select(doc_id="id", duplicate_of="duplicate_of"), on="doc_id").select(
                "doc_id", "content_sha256", "duplicate_of"
            )
            # the kept documents' band keys, for the index part that commit writes (on disk until then); in no
            # particular order (readers join on them): a sort would hold every key of the release at once
            duck.register("dropped", plan._decided.select("doc_id").to_arrow())
            plan._bands_file = f"{plan._folder()}/bands.parquet"
            duck.execute(
                f"""
                COPY (SELECT m.doc_id, m.content_sha256, m.source_id, k.band, k.key
                      FROM {keys} k JOIN {meta} m ON k.doc = m.doc
                      ANTI JOIN dropped d ON d.doc_id = m.doc_id)
                TO {sql_quote(plan._bands_file)} (FORMAT parquet, COMPRESSION zstd)
                """
            )
            duck.unregister("dropped")
        finally:
            if con is None:
                duck.close()

    @staticmethod
    def _similarity(duck: Any, hasher: _Hasher, pairs: pl.DataFrame) -> np.ndarray:
        """Return the estimated Jaccard similarity of each pair of hashed documents, from their stored signatures."""
        docs = np.unique(np.concatenate([pairs["a"].to_numpy(), pairs["b"].to_numpy()]))
        found = _hashed_rows(duck, hasher.signatures_path, "signature", docs)
        permutations = hasher.settings.permutations
        width = 4 * permutations
        # DuckDB hands fixed-size binary back as plain binary: cast back to read the values in place
        column = found.column("signature").combine_chunks().cast(pa.binary(width))
        matrix = np.frombuffer(
            column.buffers()[1], dtype=np.uint32, count=len(column) * permutations, offset=column.offset * width
        ).reshape(len(column), permutations)
        local = pl.DataFrame(
            {
                "a": np.searchsorted(docs, pairs["a"].to_numpy()).astype(np.uint32),
                "b": np.searchsorted(docs, pairs["b"].to_numpy()).astype(np.uint32),
            }
        )
        return estimated_jaccard(matrix, local)

    def commit(self, plan: NearDuplicatePlan, release: str) -> None:
        """Write the release's index parts (before its manifest: they count once the manifest exists)."""
        if plan._bands_file is not None and pq.ParquetFile(plan._bands_file).metadata.num_rows:
            with (
                self.storage.staged_file(f"{self.folder}/bands-{release}.parquet") as local,
                contextlib.closing(self.storage.duckdb(memory_limit=self.memory_limit, threads=self.threads)) as duck,
            ):
                # the release names the part and is a column of it as well (readers use the name)
                source = f"read_parquet({sql_quote(plan._bands_file)})"
                duck.execute(
                    f"COPY (SELECT *, {sql_quote(release)} AS release FROM {source}) "
                    f"TO {sql_quote(local)} (FORMAT parquet, COMPRESSION zstd)"
                )
        if plan._decided is not None and plan._decided.height:
            with self.storage.staged_file(f"{self.folder}/decided-{release}.parquet") as local:
                plan._decided.write_parquet(local, compression="zstd")
