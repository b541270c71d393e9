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

A release writes its parts (:meth:`commit`) *before* its manifest, and a reader passes the versions that
have a manifest (``releases``): parts of a build that failed or was killed before its manifest never count,
and a crash right after the manifest cannot leave a published release out of the index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from catalog.storage import Storage
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
    """

    def __init__(
        self,
        storage: Storage,
        corpus: str,
        settings: MinHashSettings | None = None,
        priority: dict[str, int] | None = None,
    ) -> None:
        self.storage = storage
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

    def _read(self, prefix: str, schema: dict[str, Any], releases: Collection[str] | None) -> pl.DataFrame:
        """Read the parts of one kind, each row tagged with the release that wrote it (``release``).

        With ``releases``, only the parts of those releases (the published ones) are read.
        """
        frames = []
        for part in self.storage.glob(f"{self.folder}/{prefix}-*.parquet"):
            release = part.rsplit("/", 1)[-1].removeprefix(f"{prefix}-").removesuffix(".parquet")
            if releases is not None and release not in releases:
                continue
            with self.storage.open_input(part) as handle:
                frame = pl.read_parquet(handle)
            frames.append(frame.with_columns(release=pl.lit(release, dtype=pl.String)).select(list(schema)))
        return pl.concat(frames) if frames else pl.DataFrame(schema=schema)

    def _current(self, releases: Collection[str] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Return the current entries (bands, decided): per ``doc_id`` only the latest release's."""
        bands = self._read("bands", _BANDS_SCHEMA, releases)
        decided = self._read("decided", _DECIDED_SCHEMA, releases)
        events = pl.concat([bands.select("doc_id", "release").unique(), decided.select("doc_id", "release")])
        if events.height == 0:
            return bands, decided
        ranks = release_ranks(events["release"].unique().to_list())
        latest = (
            events.with_columns(rank=pl.col("release").replace_strict(ranks, return_dtype=pl.Int64))
            .group_by("doc_id")
            .agg(pl.col("release").sort_by("rank").last())
        )
        return (
            bands.join(latest, on=["doc_id", "release"], how="semi"),
            decided.join(latest, on=["doc_id", "release"], how="semi"),
        )

    def published(self, releases: Collection[str] | None = None) -> pl.DataFrame:
        """Band keys of every published document's current version (only ``releases``' parts, if given).

        Columns ``doc_id, content_sha256, source_id, release, band, key``.
        """
        return self._current(releases)[0]

    def decided(self, releases: Collection[str] | None = None) -> pl.DataFrame:
        """Return the current decisions about dropped documents: ``doc_id, content_sha256, duplicate_of, release``."""
        return self._current(releases)[1]

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
        Pass a function that returns a new stream on each call (or a list): when an earlier drop must be
        judged again, the documents are read a second time (only the ones to judge are kept).
        ``releases`` names the published releases (those with a manifest): other parts are ignored.
        """
        read = batches if callable(batches) else (lambda: batches)
        plan = NearDuplicatePlan()
        published, decided = self._current(releases)
        published_sha = dict(published.select("doc_id", "content_sha256").unique().iter_rows())
        decisions = {
            doc: (sha, dup) for doc, sha, dup in decided.select("doc_id", "content_sha256", "duplicate_of").iter_rows()
        }
        present: set[str] = set()
        #: published documents in this release, unchanged: the ones that keep later copies out
        live_ids: set[str] = set()
        superseded: set[str] = set()
        reused: dict[str, str] = {}
        published_urls: dict[str, str] = {}
        meta: list[dict[str, Any]] = []
        keys: list[pl.DataFrame] = []
        matrices: list[np.ndarray] = []
        pending_rows: list[dict[str, Any]] = []

        def flush() -> None:
            if not pending_rows:
                return
            texts = [row["text"] for row in pending_rows]
            hashes = shingle_hashes(texts, self.settings)
            matrix = minhash_matrix(hashes, len(texts), self.settings)
            empty = np.ones(len(texts), dtype=bool)
            empty[hashes["doc"].unique().to_numpy()] = False
            offset = len(meta)
            keys.append(band_keys(matrix, self.settings, empty).with_columns(pl.col("doc") + offset))
            if self.settings.threshold is not None:
                matrices.append(matrix)
            meta.extend(
                {k: v for k, v in row.items() if k not in ("text", "url")}
                | {"length": len(row["text"]), "url": normalise_url(row["url"])}
                for row in pending_rows
            )
            pending_rows.clear()

        columns = ["doc_id", "source_id", "published_at", "content_sha256", "url", "text"]
        first = read()
        for batch in first:
            for row in batch.select(columns).to_pylist():
                doc, sha = row["doc_id"], row["content_sha256"]
                if doc in present:
                    # two rows of one document would make it a duplicate of itself: exact dedup keeps one
                    raise ValueError(f"document {doc} appears twice among the release's documents")
                present.add(doc)
                known = published_sha.get(doc)
                if known == sha:
                    live_ids.add(doc)
                    if (url := normalise_url(row["url"])) is not None:
                        published_urls[doc] = url
                    continue
                if known is not None:
                    superseded.add(doc)  # a newer version: the published one no longer keeps anybody out
                decision = decisions.get(doc)
                if decision is not None and decision[0] == sha:
                    reused[doc] = decision[1]
                    continue
                pending_rows.append(row)
                if len(pending_rows) >= batch_docs:
                    flush()
        flush()
        # an earlier drop stands while the copy it gave way to is published, unchanged, in this release;
        # otherwise (replaced by a newer version, withdrawn, itself dropped) the document is judged again
        again = {doc for doc, dup in reused.items() if dup not in live_ids}
        if again:
            second = read()
            if second is first and iter(second) is second:  # a one-shot stream, already consumed
                raise ValueError("judging earlier drops again needs a second read: pass a list or a function")
            for batch in second:
                rows = batch.select(columns).to_pylist()
                for row in (row for row in rows if row["doc_id"] in again):
                    pending_rows.append(row)
                    if len(pending_rows) >= batch_docs:
                        flush()
            flush()
        plan.drops = {doc: dup for doc, dup in reused.items() if doc not in again}
        plan.reused = len(plan.drops)
        plan.replaced = len(superseded)
        plan.hashed = len(meta)
        if not meta:
            return plan

        new_keys = pl.concat(keys)
        new_ids = [m["doc_id"] for m in meta]
        # published documents still in this release (not replaced), as extra nodes after the new ones
        live = published.filter(pl.col("doc_id").is_in(pl.Series(list(live_ids), dtype=pl.String).implode()))
        live_order = live.select("doc_id").unique(maintain_order=True)["doc_id"].to_list()
        live_nodes = pl.DataFrame(
            {
                "doc_id": pl.Series(live_order, dtype=pl.String),
                "doc": pl.Series(range(len(meta), len(meta) + len(live_order)), dtype=pl.UInt32),
            }
        )
        live_keys = live.join(live_nodes, on="doc_id").select("doc", "band", "key")
        new_new = candidate_pairs(new_keys)
        if self.settings.threshold is not None and new_new.height:
            new_new = new_new.filter(
                pl.Series(estimated_jaccard(np.vstack(matrices), new_new) >= self.settings.threshold)
            )
        # a new document and a published one (no signature kept for published documents: band matches count)
        new_old = (
            new_keys.rename({"doc": "a"})
            .join(live_keys.rename({"doc": "b"}), on=["band", "key"])
            .select(pl.min_horizontal("a", "b").alias("a"), pl.max_horizontal("a", "b").alias("b"))
            .unique()
        )
        # the same page (normalised URL) is a duplicate whatever its text
        urls = pl.Series([m["url"] for m in meta] + [published_urls.get(doc) for doc in live_order], dtype=pl.String)
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
        source_of.update(dict(live.select("doc_id", "source_id").unique().iter_rows()))
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
        return plan

    def commit(self, plan: NearDuplicatePlan, release: str) -> None:
        """Write the release's index parts (before its manifest: they count once the manifest exists)."""
        if plan._bands is not None and plan._bands.height:
            self._write(f"{self.folder}/bands-{release}.parquet", plan._bands.with_columns(release=pl.lit(release)))
        if plan._decided is not None and plan._decided.height:
            self._write(f"{self.folder}/decided-{release}.parquet", plan._decided)

    def _write(self, rel: str, frame: pl.DataFrame) -> None:
        with self.storage.staged_file(rel) as local:
            frame.write_parquet(local, compression="zstd")
