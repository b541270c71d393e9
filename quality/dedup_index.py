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

Planning is out of core: DuckDB reads the parts under a memory limit (spilling to disk) and Python holds
only the release's new documents and what a decision about them needs, not the index.

A release writes its parts (:meth:`commit`) *before* its manifest, and a reader passes the versions that
have a manifest (``releases``): parts of a build that failed or was killed before its manifest never count,
and a crash right after the manifest cannot leave a published release out of the index.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.staging import temporary_directory
from catalog.storage import Storage, sql_quote
from catalog.zones import INDEX_FOLDER
from quality.neardup import (
    SIGNATURE_SCHEME,
    MinHashSettings,
    band_keys,
    candidate_pairs,
    choose_keep,
    connected_components,
    equal_value_pairs,
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
#: what the first read keeps of each candidate document (no text)
_CANDIDATE_SCHEMA = pa.schema([("doc_id", pa.string()), ("content_sha256", pa.string()), ("url", pa.string())])


class _Hasher:
    """Hash documents ``batch_docs`` at a time; keep band keys (MinHash rows too, for a threshold) and metadata."""

    def __init__(self, settings: MinHashSettings, batch_docs: int) -> None:
        self.settings = settings
        self.batch_docs = batch_docs
        self.meta: list[dict[str, Any]] = []
        self.keys: list[pl.DataFrame] = []
        self.matrices: list[np.ndarray] = []
        self._pending: list[dict[str, Any]] = []

    def add(self, batch: pa.RecordBatch) -> None:
        """Queue a batch's rows (columns :data:`_COLUMNS`), hashing whenever ``batch_docs`` are waiting."""
        for row in batch.to_pylist():
            self._pending.append(row)
            if len(self._pending) >= self.batch_docs:
                self.flush()

    def flush(self) -> None:
        """Hash the waiting rows."""
        if not self._pending:
            return
        texts = [row["text"] for row in self._pending]
        hashes = shingle_hashes(texts, self.settings)
        matrix = minhash_matrix(hashes, len(texts), self.settings)
        empty = np.ones(len(texts), dtype=bool)
        empty[hashes["doc"].unique().to_numpy()] = False
        offset = len(self.meta)
        self.keys.append(band_keys(matrix, self.settings, empty).with_columns(pl.col("doc") + offset))
        if self.settings.threshold is not None:
            self.matrices.append(matrix)
        self.meta.extend(
            {k: v for k, v in row.items() if k not in ("text", "url")}
            | {"length": len(row["text"]), "url": normalise_url(row["url"])}
            for row in self._pending
        )
        self._pending.clear()


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
    _bands: pl.DataFrame | None = None
    _decided: pl.DataFrame | None = None

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
        batch_docs: int = 10_000,
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
        returns a new stream on each call (or a list). Memory grows with the new documents, not the index.
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
        hasher = _Hasher(self.settings, batch_docs)
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
            plan.hashed = len(hasher.meta)
            if hasher.meta:
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
        plan.hashed = len(hasher.meta)
        if hasher.meta:
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

        Only the published documents connected to a new one (by a band key, or by a URL shared with a new
        document or with such a match) come back from DuckDB: a cluster without a new document decides
        nothing, and published documents are linked among themselves only by their URLs.
        """
        meta = hasher.meta
        new_keys = pl.concat(hasher.keys)
        new_ids = [m["doc_id"] for m in meta]
        new_urls = pl.Series([m["url"] for m in meta], dtype=pl.String)
        matches = pl.DataFrame(schema={"doc": pl.UInt32, "doc_id": pl.String})
        live = pl.DataFrame(schema={"doc_id": pl.String, "source_id": pl.String, "url": pl.String})
        if con is not None:
            con.register("new_keys", new_keys.select("doc", "band", "key").to_arrow())
            con.register("new_urls", pl.DataFrame({"url": new_urls}).drop_nulls().to_arrow())
            con.execute(
                """
                CREATE TEMP TABLE matches AS
                SELECT DISTINCT k.doc, b.doc_id
                FROM new_keys k JOIN bands b ON b.band = k.band AND b.key = k.key
                SEMI JOIN live l ON l.doc_id = b.doc_id AND l.release = b.release
                """
            )
            matches = con.sql("SELECT doc, doc_id FROM matches").pl().cast({"doc": pl.UInt32})
            live = con.sql(
                """
                WITH matched AS (SELECT DISTINCT doc_id FROM matches),
                     urls AS (SELECT url FROM new_urls
                              UNION SELECT l.url FROM live l SEMI JOIN matched m ON l.doc_id = m.doc_id)
                SELECT doc_id, source_id, url FROM live
                WHERE doc_id IN (SELECT doc_id FROM matched) OR url IN (SELECT url FROM urls)
                ORDER BY doc_id
                """
            ).pl()
            con.unregister("new_keys")
            con.unregister("new_urls")
        live_order = live["doc_id"].to_list()
        # published documents in this release that a new one may join, as extra nodes after the new ones
        node_of = pl.DataFrame(
            {
                "doc_id": pl.Series(live_order, dtype=pl.String),
                "b": pl.Series(range(len(meta), len(meta) + len(live_order)), dtype=pl.UInt32),
            }
        )
        new_new = candidate_pairs(new_keys)
        if self.settings.threshold is not None and new_new.height:
            new_new = new_new.filter(
                pl.Series(estimated_jaccard(np.vstack(hasher.matrices), new_new) >= self.settings.threshold)
            )
        # a new document and a published one (no signature kept for published documents: band matches count)
        new_old = matches.join(node_of, on="doc_id").select(a=pl.col("doc"), b=pl.col("b"))
        # the same page (normalised URL) is a duplicate whatever its text
        urls = pl.concat([new_urls, live["url"].cast(pl.String)])
        pairs = pl.concat(
            [frame.select(pl.col("a").cast(pl.UInt32), pl.col("b").cast(pl.UInt32)) for frame in (new_new, new_old)]
            + [equal_value_pairs(urls)]
        )
        total = len(meta) + len(live_order)
        clusters = connected_components(pairs, total)
        ids = new_ids + live_order
        # published documents come first whatever their source: a later copy never replaces them
        priority = [self.priority.get(m["source_id"], 0) for m in meta] + [2**62] * len(live_order)
        published_at = [str(m["published_at"]) if m["published_at"] is not None else None for m in meta]
        lengths = [m["length"] for m in meta] + [0] * len(live_order)
        decision = choose_keep(
            clusters, ids, priority=priority, published_at=published_at + [None] * len(live_order), lengths=lengths
        )
        dropped = decision.head(len(meta)).filter(~pl.col("keep"))
        plan.matched_published = dropped.filter(
            pl.col("duplicate_of").is_in(pl.Series(live_order, dtype=pl.String).implode())
        ).height
        plan.drops.update(dict(dropped.select("id", "duplicate_of").iter_rows()))
        # which source's copy each dropped document gave way to (counts only, for partner reports)
        source_of = {m["doc_id"]: m["source_id"] for m in meta}
        source_of.update(dict(live.select("doc_id", "source_id").iter_rows()))
        for doc, kept in dropped.select("id", "duplicate_of").iter_rows():
            pair = (source_of.get(doc), source_of.get(kept))
            plan.by_source_pair[pair] = plan.by_source_pair.get(pair, 0) + 1

        kept_new = set(decision.head(len(meta)).filter(pl.col("keep"))["id"].to_list())
        doc_info = pl.DataFrame(
            {
                "doc": pl.Series(range(len(meta)), dtype=pl.UInt32),
                "doc_id": new_ids,
                "content_sha256": [m["content_sha256"] for m in meta],
                "source_id": [m["source_id"] for m in meta],
            }
        )
        plan._bands = (
            new_keys.join(doc_info, on="doc")
            .filter(pl.col("doc_id").is_in(pl.Series(list(kept_new), dtype=pl.String).implode()))
            .select("doc_id", "content_sha256", "source_id", "band", "key")
        )
        plan._decided = doc_info.join(dropped.select(doc_id="id", duplicate_of="duplicate_of"), on="doc_id").select(
            "doc_id", "content_sha256", "duplicate_of"
        )

    def commit(self, plan: NearDuplicatePlan, release: str) -> None:
        """Write the release's index parts (before its manifest: they count once the manifest exists)."""
        if plan._bands is not None and plan._bands.height:
            self._write(f"{self.folder}/bands-{release}.parquet", plan._bands.with_columns(release=pl.lit(release)))
        if plan._decided is not None and plan._decided.height:
            self._write(f"{self.folder}/decided-{release}.parquet", plan._decided)

    def _write(self, rel: str, frame: pl.DataFrame) -> None:
        with self.storage.staged_file(rel) as local:
            frame.write_parquet(local, compression="zstd")
