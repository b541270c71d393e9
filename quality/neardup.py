"""Near-duplicate detection: MinHash over word 5-grams, LSH bands, clusters, and which copy to keep.

The FineWeb recipe (datatrove's MinHash deduplication) with its defaults: text simplified (lower case,
punctuation to spaces), word 5-grams, 14 bands of 8 MinHash values; two documents that share all
values of any band are candidates, and candidates are joined into clusters (connected components).
Optionally, a candidate pair must also have an estimated Jaccard similarity of at least a threshold.

Work is vectorised: polars builds the shingle hashes of a whole batch, rensa (MIT, Rust) computes the
MinHash matrix from one flat buffer, polars hashes the bands and joins the band keys. There is no
Python loop per shingle or per document pair, only a union-find over the candidate pairs.

Within a cluster one document is kept, by a configurable priority: the source's priority (an original
publisher above an aggregator), then the earliest publication, then the longest text, then the document
id. Every document gets ``cluster_id``, ``cluster_size``, ``keep`` and ``duplicate_of``.

Hashes come from polars and rensa, which are pinned; :data:`SIGNATURE_SCHEME` names the combination, so
that a persisted index can tell when it must be rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

#: Changes whenever shingles, hashing or banding change: persisted band keys of another scheme are stale.
SIGNATURE_SCHEME = f"corpusfabriek-minhash/1 polars-{pl.__version__}"


@dataclass(frozen=True)
class MinHashSettings:
    """MinHash LSH parameters (FineWeb's defaults).

    :param ngram: words per shingle.
    :param bands: LSH bands; ``rows``: MinHash values per band (``bands * rows`` permutations).
    :param seed: seed of the permutations and of the shingle hash.
    :param threshold: if set, candidate pairs also need an estimated Jaccard similarity >= this.
    """

    ngram: int = 5
    bands: int = 14
    rows: int = 8
    seed: int = 1
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.ngram < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("ngram, bands and rows must be positive")
        if self.threshold is not None and not 0 < self.threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")

    @property
    def permutations(self) -> int:
        """Number of MinHash values per document."""
        return self.bands * self.rows


def shingle_hashes(texts: pl.Series | Sequence[str], settings: MinHashSettings) -> pl.DataFrame:
    """Return the word n-gram hashes of every text as rows ``doc`` (input position), ``hash`` (u64).

    A text with fewer words than ``ngram`` is one shingle of all its words; a text without words has none.
    """
    frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).with_row_index("doc")
    n = settings.ngram
    words = (
        frame.select("doc", pl.col("text").str.to_lowercase().str.extract_all(r"[\p{L}\p{N}]+").alias("word"))
        .explode("word")
        .drop_nulls("word")
        .with_columns(pos=pl.int_range(pl.len()).over("doc"), words=pl.len().over("doc"))
    )
    grams = words.with_columns(gram=pl.concat_str([pl.col("word").shift(-k) for k in range(n)], separator=" ")).filter(
        pl.col("pos") + n <= pl.col("words")
    )
    short = (
        words.filter(pl.col("words") < n).group_by("doc", maintain_order=True).agg(gram=pl.col("word").str.join(" "))
    )
    shingles = pl.concat([grams.select("doc", "gram"), short.select("doc", "gram")])
    # a repeated shingle changes no minimum: grouping by document is enough, no distinct pass (2x faster)
    return shingles.select("doc", hash=pl.col("gram").hash(settings.seed)).sort("doc", maintain_order=True)


def minhash_matrix(hashes: pl.DataFrame, documents: int, settings: MinHashSettings) -> np.ndarray:
    """Return the ``documents x permutations`` MinHash matrix (uint32) from :func:`shingle_hashes` rows.

    Rows of documents without shingles are all ``2**32 - 1``: they collide with nothing real.
    """
    from rensa import RMinHash

    counts = np.zeros(documents, dtype=np.int64)
    if hashes.height:
        per_doc = hashes.group_by("doc").len().sort("doc")
        counts[per_doc["doc"].to_numpy()] = per_doc["len"].to_numpy()
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    flat = hashes["hash"].to_numpy().astype(np.uint64, copy=False)
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, settings.permutations, settings.seed)
    values = np.array(matrix.to_rows(), dtype=np.uint32).reshape(documents, settings.permutations)
    values[counts == 0] = np.iinfo(np.uint32).max
    return values


def band_keys(matrix: np.ndarray, settings: MinHashSettings, empty: np.ndarray | None = None) -> pl.DataFrame:
    """Return one row per document and band: ``doc``, ``band``, ``key`` (u64 hash of the band's values).

    :param empty: documents without shingles (they get no band keys, so they never match).
    """
    frames = []
    for band in range(settings.bands):
        block = pl.DataFrame(matrix[:, band * settings.rows : (band + 1) * settings.rows])
        frames.append(
            pl.DataFrame(
                {
                    "doc": np.arange(matrix.shape[0], dtype=np.uint32),
                    "band": np.full(matrix.shape[0], band, dtype=np.uint8),
                    "key": block.hash_rows(seed=settings.seed),
                }
            )
        )
    keys = pl.concat(frames)
    if empty is not None and empty.any():
        keys = keys.filter(~pl.col("doc").is_in(pl.Series(np.flatnonzero(empty), dtype=pl.UInt32).implode()))
    return keys


def candidate_pairs(keys: pl.DataFrame) -> pl.DataFrame:
    """Return pairs ``a < b`` linking each document to the first document of every band key it shares.

    Linking to the first member only (a star, not every pair) gives the same clusters, and k documents
    with one key cost k - 1 pairs instead of k²/2: thousands of templated pages no longer blow up the join.
    """
    first = keys.group_by("band", "key").agg(a=pl.col("doc").min(), members=pl.len()).filter(pl.col("members") > 1)
    return (
        keys.join(first.select("band", "key", "a"), on=["band", "key"])
        .filter(pl.col("doc") != pl.col("a"))
        .select(pl.col("a").cast(pl.UInt32), b=pl.col("doc").cast(pl.UInt32))
        .unique()
        .sort("a", "b")
    )


def estimated_jaccard(matrix: np.ndarray, pairs: pl.DataFrame) -> np.ndarray:
    """Return the share of equal MinHash values of each pair (an estimate of their Jaccard similarity)."""
    if pairs.height == 0:
        return np.zeros(0)
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    return (matrix[a] == matrix[b]).mean(axis=1)


def connected_components(pairs: pl.DataFrame, documents: int) -> np.ndarray:
    """Return a component label per document: the smallest document index of its component."""
    parent = np.arange(documents)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs.iter_rows():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(x) for x in range(documents)])


def near_duplicate_clusters(texts: pl.Series | Sequence[str], settings: MinHashSettings | None = None) -> np.ndarray:
    """Return a cluster label per text (the index of its first member); singletons are their own cluster."""
    settings = settings or MinHashSettings()
    texts = pl.Series(texts, dtype=pl.String)
    hashes = shingle_hashes(texts, settings)
    matrix = minhash_matrix(hashes, texts.len(), settings)
    empty = np.ones(texts.len(), dtype=bool)
    empty[hashes["doc"].unique().to_numpy()] = False
    pairs = candidate_pairs(band_keys(matrix, settings, empty))
    if settings.threshold is not None and pairs.height:
        pairs = pairs.filter(pl.Series(estimated_jaccard(matrix, pairs) >= settings.threshold))
    return connected_components(pairs, texts.len())


def choose_keep(
    clusters: np.ndarray,
    ids: Sequence[str],
    *,
    priority: Sequence[int] | None = None,
    published_at: Sequence[object] | None = None,
    lengths: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Decide which document of each cluster is kept; return ``id, cluster_id, cluster_size, keep, duplicate_of``.

    Order within a cluster: higher ``priority`` first, then earliest ``published_at`` (missing last), then
    the longest text, then the smallest id. ``cluster_id`` is the kept document's id.
    """
    n = len(ids)
    frame = pl.DataFrame(
        {
            "id": pl.Series(list(ids), dtype=pl.String),
            "cluster": pl.Series(clusters, dtype=pl.Int64),
            "priority": pl.Series(list(priority) if priority is not None else [0] * n, dtype=pl.Int64),
            "published_at": pl.Series(list(published_at) if published_at is not None else [None] * n),
            "length": pl.Series(list(lengths) if lengths is not None else [0] * n, dtype=pl.Int64),
        }
    ).with_row_index("row")
    ranked = frame.sort(
        ["cluster", "priority", "published_at", "length", "id"],
        descending=[False, True, False, True, False],
        nulls_last=True,
    )
    kept = ranked.group_by("cluster", maintain_order=True).agg(
        kept_row=pl.col("row").first(), kept_id=pl.col("id").first(), cluster_size=pl.len()
    )
    out = frame.join(kept, on="cluster").sort("row")
    keep = pl.col("row") == pl.col("kept_row")
    return out.select(
        "id",
        cluster_id=pl.col("kept_id"),
        cluster_size=pl.col("cluster_size").cast(pl.Int64),
        keep=keep,
        duplicate_of=pl.when(keep).then(None).otherwise(pl.col("kept_id")),
    )


_TRACKING = ("utm_", "fbclid", "gclid", "mc_", "ref", "xtor", "at_medium", "at_campaign")


def normalise_url(url: str | None) -> str | None:
    """Return the form of a URL that two copies of one page share (``None`` for an empty or unusable URL).

    No scheme, ``www.``, fragment, tracking parameters or trailing slash; the host in lower case.
    """
    from urllib.parse import parse_qsl, urlencode, urlsplit

    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith(_TRACKING)]
    path = parts.path.rstrip("/") or ""
    return host + path + ("?" + urlencode(sorted(query)) if query else "")


def equal_value_pairs(values: pl.Series) -> pl.DataFrame:
    """Return pairs ``a < b`` (first occurrence, later occurrence) of equal non-null values (positions)."""
    frame = pl.DataFrame({"value": values}).with_row_index("b").drop_nulls("value")
    first = frame.group_by("value").agg(a=pl.col("b").min())
    return (
        frame.join(first, on="value")
        .filter(pl.col("a") < pl.col("b"))
        .select(pl.col("a").cast(pl.UInt32), pl.col("b").cast(pl.UInt32))
    )


def exact_pairs(content_hashes: pl.Series) -> pl.DataFrame:
    """Return pairs ``a < b`` (first occurrence, later occurrence) of equal content hashes."""
    return equal_value_pairs(content_hashes)


class Deduplicator:
    """Exact and near-duplicate clustering over a stream of document batches; memory ~200 bytes per document.

    Texts are only read while their batch is hashed: what stays is the band keys (and, with a threshold,
    the MinHash rows) plus the fields that decide which copy is kept.

    :param settings: MinHash LSH parameters.
    :param priority: priority per ``source_id`` (higher is kept); unknown sources have 0.
    """

    def __init__(self, settings: MinHashSettings | None = None, priority: dict[str, int] | None = None) -> None:
        self.settings = settings or MinHashSettings()
        self.priority = dict(priority or {})
        self._keys: list[pl.DataFrame] = []
        self._matrices: list[np.ndarray] = []
        self._meta: list[pl.DataFrame] = []
        self._documents = 0

    def add(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        source_ids: Sequence[str | None] | None = None,
        published_at: Sequence[object] | None = None,
        urls: Sequence[str | None] | None = None,
    ) -> None:
        """Hash one batch of (normalised) texts and remember what the decision needs.

        Documents with the same URL (see :func:`normalise_url`) are duplicates whatever their text.
        """
        from catalog.documents import content_sha256

        n = len(texts)
        hashes = shingle_hashes(texts, self.settings)
        matrix = minhash_matrix(hashes, n, self.settings)
        empty = np.ones(n, dtype=bool)
        empty[hashes["doc"].unique().to_numpy()] = False
        keys = band_keys(matrix, self.settings, empty).with_columns(pl.col("doc") + self._documents)
        self._keys.append(keys)
        if self.settings.threshold is not None:
            self._matrices.append(matrix)
        sources = list(source_ids) if source_ids is not None else [None] * n
        self._meta.append(
            pl.DataFrame(
                {
                    "id": pl.Series([str(i) for i in ids], dtype=pl.String),
                    "priority": pl.Series([self.priority.get(s or "", 0) for s in sources], dtype=pl.Int64),
                    "published_at": pl.Series(
                        [str(p) if p is not None else None for p in (published_at or [None] * n)], dtype=pl.String
                    ),
                    "length": pl.Series([len(t) for t in texts], dtype=pl.Int64),
                    "content": pl.Series([content_sha256(t) for t in texts], dtype=pl.String),
                    "url": pl.Series([normalise_url(u) for u in (urls or [None] * n)], dtype=pl.String),
                }
            )
        )
        self._documents += n

    def decide(self) -> pl.DataFrame:
        """Cluster everything added; return ``id, cluster_id, cluster_size, keep, duplicate_of, duplicate`` in order.

        ``duplicate`` says how a dropped document matched its cluster's kept one: ``exact`` (the same
        normalised text) or ``near``; null for kept documents.
        """
        if self._documents == 0:
            return pl.DataFrame(
                schema={
                    "id": pl.String,
                    "cluster_id": pl.String,
                    "cluster_size": pl.Int64,
                    "keep": pl.Boolean,
                    "duplicate_of": pl.String,
                    "duplicate": pl.String,
                }
            )
        meta = pl.concat(self._meta)
        pairs = candidate_pairs(pl.concat(self._keys))
        if self.settings.threshold is not None and pairs.height:
            pairs = pairs.filter(
                pl.Series(estimated_jaccard(np.vstack(self._matrices), pairs) >= self.settings.threshold)
            )
        pairs = pl.concat(
            [
                pairs.select(pl.col("a").cast(pl.UInt32), pl.col("b").cast(pl.UInt32)),
                exact_pairs(meta["content"]),
                equal_value_pairs(meta["url"]),
            ]
        ).unique()
        clusters = connected_components(pairs, self._documents)
        decided = choose_keep(
            clusters,
            meta["id"].to_list(),
            priority=meta["priority"].to_list(),
            published_at=meta["published_at"].to_list(),
            lengths=meta["length"].to_list(),
        )
        # the kept document's content hash per cluster (by row: ids need not be unique in the input)
        rows = pl.DataFrame({"cluster": clusters, "keep": decided["keep"], "content": meta["content"]})
        kept = rows.filter(pl.col("keep")).select("cluster", kept_content="content")
        kept_content = rows.join(kept, on="cluster", how="left", maintain_order="left")["kept_content"]
        return decided.with_columns(
            duplicate=pl.when(pl.col("keep"))
            .then(None)
            .when(meta["content"] == kept_content)
            .then(pl.lit("exact"))
            .otherwise(pl.lit("near"))
        )
