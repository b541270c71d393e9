"""The persistent near-duplicate index of a corpus: what earlier releases published, and what they dropped.

A release hashes only documents it has not seen before. The index keeps, per corpus and signature
scheme, one Parquet part per release:

- ``dedup/index/<corpus>/<scheme>/bands-<version>.parquet``: band keys of the documents that release
  *published* (``doc_id, content_sha256, source_id, release, band, key``);
- ``dedup/index/<corpus>/<scheme>/decided-<version>.parquet``: documents it *dropped* as near duplicates
  (``doc_id, content_sha256, duplicate_of``), so the next release reuses the decision without hashing.

A document is "seen" when its ``doc_id`` *and* ``content_sha256`` are in the index: a corrected text is new.

Rules for a new release (:meth:`NearDuplicateIndex.plan`):

- documents already published stay published: they are never replaced by a later copy;
- a new document that matches a published document still in the release is dropped in its favour;
- among new documents alone, :func:`quality.neardup.choose_keep`'s priority decides;
- a published document that is no longer released (a withdrawn source) keeps nobody out.

Parts are written after the release's manifest (:meth:`commit`), so a failed build leaves the index as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from catalog.storage import Storage
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


def index_folder(corpus: str, settings: MinHashSettings) -> str:
    """Folder of a corpus's index for one signature scheme and set of LSH parameters."""
    scheme = f"{SIGNATURE_SCHEME} n{settings.ngram} b{settings.bands} r{settings.rows} s{settings.seed}"
    return f"dedup/index/{corpus}/{hashlib.sha256(scheme.encode()).hexdigest()[:16]}"


@dataclass
class NearDuplicatePlan:
    """What a release does about near duplicates: drops (``doc_id -> duplicate_of``) and what to index."""

    drops: dict[str, str] = field(default_factory=dict)
    hashed: int = 0
    reused: int = 0
    matched_published: int = 0
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

    def _read(self, prefix: str, schema: dict[str, Any]) -> pl.DataFrame:
        parts = sorted(p for p in self.storage.glob(f"{self.folder}/{prefix}-*.parquet"))
        frames = []
        for part in parts:
            with self.storage.open_input(part) as handle:
                frames.append(pl.read_parquet(handle))
        return pl.concat(frames) if frames else pl.DataFrame(schema=schema)

    def published(self) -> pl.DataFrame:
        """Band keys of every published document: ``doc_id, content_sha256, source_id, release, band, key``."""
        schema = {
            "doc_id": pl.String,
            "content_sha256": pl.String,
            "source_id": pl.String,
            "release": pl.String,
            "band": pl.UInt8,
            "key": pl.UInt64,
        }
        return self._read("bands", schema)

    def decided(self) -> pl.DataFrame:
        """Documents dropped by earlier releases: ``doc_id, content_sha256, duplicate_of``."""
        return self._read("decided", {"doc_id": pl.String, "content_sha256": pl.String, "duplicate_of": pl.String})

    def plan(self, batches: Iterable[pa.RecordBatch], *, batch_docs: int = 10_000) -> NearDuplicatePlan:
        """Decide the near duplicates of a release from its candidate documents (after exact dedup).

        ``batches`` stream the release's documents (``doc_id``, ``source_id``, ``published_at``,
        ``content_sha256``, ``url``, ``text``); only unseen documents are hashed, ``batch_docs`` at a time.
        Documents with the same normalised URL are duplicates too.
        """
        plan = NearDuplicatePlan()
        published = self.published()
        decided = self.decided()
        seen_published = set(zip(published["doc_id"].to_list(), published["content_sha256"].to_list(), strict=True))
        seen_dropped = dict(
            ((d, c), dup) for d, c, dup in decided.select("doc_id", "content_sha256", "duplicate_of").iter_rows()
        )
        present: set[str] = set()
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

        for batch in batches:
            columns = ["doc_id", "source_id", "published_at", "content_sha256", "url", "text"]
            for row in batch.select(columns).to_pylist():
                identity = (row["doc_id"], row["content_sha256"])
                present.add(row["doc_id"])
                if identity in seen_published:
                    if (url := normalise_url(row["url"])) is not None:
                        published_urls[row["doc_id"]] = url
                    continue
                if identity in seen_dropped:
                    plan.drops[row["doc_id"]] = seen_dropped[identity]
                    plan.reused += 1
                    continue
                pending_rows.append(row)
                if len(pending_rows) >= batch_docs:
                    flush()
        flush()
        plan.hashed = len(meta)
        # previous drops whose kept copy left the release are decided again next time: keep them for now
        plan.drops = {doc: dup for doc, dup in plan.drops.items() if dup in present}
        if not meta:
            return plan

        new_keys = pl.concat(keys)
        new_ids = [m["doc_id"] for m in meta]
        # published documents still in this release, as extra nodes after the new ones
        live = published.filter(pl.col("doc_id").is_in(pl.Series(list(present), dtype=pl.String).implode()))
        live_ids = live.select("doc_id").unique(maintain_order=True)["doc_id"].to_list()
        live_nodes = pl.DataFrame(
            {
                "doc_id": pl.Series(live_ids, dtype=pl.String),
                "doc": pl.Series(range(len(meta), len(meta) + len(live_ids)), dtype=pl.UInt32),
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
        urls = pl.Series([m["url"] for m in meta] + [published_urls.get(doc) for doc in live_ids], dtype=pl.String)
        pairs = pl.concat(
            [frame.select(pl.col("a").cast(pl.UInt32), pl.col("b").cast(pl.UInt32)) for frame in (new_new, new_old)]
            + [equal_value_pairs(urls)]
        )
        total = len(meta) + len(live_ids)
        clusters = connected_components(pairs, total)
        ids = new_ids + live_ids
        # published documents come first whatever their source: a later copy never replaces them
        priority = [self.priority.get(m["source_id"], 0) for m in meta] + [2**62] * len(live_ids)
        published_at = [str(m["published_at"]) if m["published_at"] is not None else None for m in meta]
        lengths = [m["length"] for m in meta] + [0] * len(live_ids)
        decision = choose_keep(
            clusters, ids, priority=priority, published_at=published_at + [None] * len(live_ids), lengths=lengths
        )
        dropped = decision.head(len(meta)).filter(~pl.col("keep"))
        plan.matched_published = dropped.filter(
            pl.col("duplicate_of").is_in(pl.Series(live_ids, dtype=pl.String).implode())
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
        """Write the release's index parts (call after its manifest: the release is then published)."""
        if plan._bands is not None and plan._bands.height:
            self._write(f"{self.folder}/bands-{release}.parquet", plan._bands.with_columns(release=pl.lit(release)))
        if plan._decided is not None and plan._decided.height:
            self._write(f"{self.folder}/decided-{release}.parquet", plan._decided)

    def _write(self, rel: str, frame: pl.DataFrame) -> None:
        with self.storage.staged_file(rel) as local:
            frame.write_parquet(local, compression="zstd")
