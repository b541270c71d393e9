"""Benchmark: memory and time of the near-duplicate reduce (``NearDuplicateIndex.plan``) as the index grows.

For each ``--docs`` N the benchmark writes a synthetic persistent index straight into a local storage root,
as the release would have written it over four earlier releases: ``bands-<release>.parquet`` parts (the
index's schema, 14 band keys per document, band-major as :meth:`NearDuplicateIndex.commit` writes them) for
N published documents and ``decided-<release>.parquet`` parts for 2% of N earlier drops. Then it plans one
new release whose documents are everything the index published (unchanged, without text: they are not
hashed), the earlier drops (0.1% of N whose kept copy was withdrawn: judged again), 0.1% of N published
documents in a corrected version and ``--new`` new documents with real text. ``--dup-share`` of the new
documents are near copies of a published document (that document's band keys equal theirs in half the
bands) and as many again are near copies of another new document (a few words changed). 10% of the
documents have a URL.

Each plan runs in a child process of its own (so its peak RSS is its own, ``ru_maxrss``), timed from the
call to ``plan`` to its return; a child whose resident memory passes ``--cap-gb`` is stopped, so that a run that
does not fit is stopped instead of swapping the machine. Implementations: ``new`` (the package's out-of-core
plan) and ``reference`` (the earlier in-memory plan, kept here as :func:`reference_plan` to measure against
and to check that both decide the same).

    python benchmarks/bench_neardup_reduce.py --docs 1000000 3000000 10000000
    python benchmarks/bench_neardup_reduce.py --docs 1000000 --impl reference new --check

Scratch files go to ``--workdir`` (default ``<tmp>/bench-neardup``); a generated index is reused when its
parameters are unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.storage import Storage
from quality.dedup_index import _BANDS_SCHEMA, _DECIDED_SCHEMA, NearDuplicateIndex, NearDuplicatePlan, release_ranks
from quality.neardup import (
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

CORPUS = "nl-bench"
RELEASES = ["v20260101T000000Z", "v20260201T000000Z", "v20260301T000000Z", "v20260401T000000Z"]
SOURCES = ["krant", "omroep", "blog", "aggregator", "archief"]
PRIORITY = {"krant": 10, "omroep": 8, "aggregator": 1}
DECIDED_SHARE = 0.02
AGAIN_SHARE = 0.001
CHANGED_SHARE = 0.001
URL_SHARE = 0.10
STREAM_BATCH = 50_000
CHUNK_DOCS = 500_000


# --- the synthetic index and release --------------------------------------------------------------------------


def _sha(prefix: str, ids: np.ndarray) -> list[str]:
    """Content hashes as the catalog writes them (64 hex digits), derived from the ids (reproducible)."""
    return [hashlib.sha256(f"{prefix}{i}".encode()).hexdigest() for i in ids.tolist()]


def _texts(count: int, seed: int) -> list[str]:
    """Texts of 120-250 words from a vocabulary of 20,000 made-up words: distinct unless copied on purpose."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array(
        ["".join(rng.choice(list("aeioubcdfghklmnprstvwz"), size=rng.integers(3, 10))) for _ in range(20_000)]
    )
    lengths = rng.integers(120, 251, size=count)
    return [" ".join(vocabulary[rng.integers(0, len(vocabulary), size=n)]) for n in lengths]


class Synthetic:
    """The reproducible description of one benchmark corpus: which document is what, derived from ``N``."""

    def __init__(self, docs: int, new: int, dup_share: float, seed: int = 7) -> None:
        self.docs, self.new, self.seed = docs, new, seed
        self.decided = int(docs * DECIDED_SHARE)
        self.again = int(docs * AGAIN_SHARE)
        self.changed = int(docs * CHANGED_SHARE)
        self.near_published = int(new * dup_share)
        self.near_new = int(new * dup_share)
        rng = np.random.default_rng(seed)
        # published documents a new one is a near copy of, and documents dropped earlier whose copy is withdrawn
        self.matched = np.sort(rng.choice(docs, size=self.near_published, replace=False))
        spare = np.setdiff1d(np.arange(docs), self.matched)
        picks = rng.choice(spare, size=self.changed + self.again, replace=False)
        self.changed_ids, self.withdrawn = np.sort(picks[: self.changed]), np.sort(picks[self.changed :])
        base = _texts(new - self.near_new, seed)
        copies = []
        for k in range(self.near_new):
            words = base[-1 - k].split()  # not one of the copies of a published document
            words[len(words) // 2] = "gewijzigd"
            copies.append(" ".join(words))
        self.new_texts = base + copies
        self.again_texts = _texts(self.again, seed + 1)
        self.changed_texts = _texts(self.changed, seed + 2)

    @property
    def key(self) -> str:
        """What identifies a generated index on disk."""
        return f"n{self.docs}-new{self.new}-dup{self.near_published}-seed{self.seed}"

    def new_band_keys(self, index: NearDuplicateIndex) -> pl.DataFrame:
        """Return the real band keys of the new documents (the matched published documents copy half of them)."""
        hashes = shingle_hashes(self.new_texts, index.settings)
        return band_keys(minhash_matrix(hashes, len(self.new_texts), index.settings), index.settings)

    def write_index(self, storage: Storage, index: NearDuplicateIndex) -> None:
        """Write the index parts of the earlier releases (band-major, keys random except the near copies)."""
        rng = np.random.default_rng(self.seed + 10)
        new_keys = self.new_band_keys(index)
        bands = index.settings.bands
        copied = {
            band: new_keys.filter((pl.col("band") == band) & (pl.col("doc") < self.near_published))
            .sort("doc")["key"]
            .to_numpy()
            for band in range(bands // 2)
        }
        per_release = -(-self.docs // len(RELEASES))
        for r, release in enumerate(RELEASES):
            start, stop = r * per_release, min(self.docs, (r + 1) * per_release)
            ids = np.arange(start, stop)
            doc_ids = pa.array([f"p{i:09d}" for i in ids.tolist()], pa.string())
            sha = pa.array(_sha("p", ids), pa.string())
            source = pa.array([SOURCES[i % len(SOURCES)] for i in ids.tolist()], pa.string())
            path = f"{index.folder}/bands-{release}.parquet"
            with storage.staged_file(path) as local:
                writer = None
                for band in range(bands):
                    keys = rng.integers(0, 2**64 - 1, size=len(ids), dtype=np.uint64)
                    inside = (self.matched >= start) & (self.matched < stop)
                    if band in copied and inside.any():
                        keys[self.matched[inside] - start] = copied[band][inside]
                    table = pa.table(
                        {
                            "doc_id": doc_ids,
                            "content_sha256": sha,
                            "source_id": source,
                            "release": pa.array([release] * len(ids), pa.string()),
                            "band": pa.array(np.full(len(ids), band, dtype=np.uint8)),
                            "key": pa.array(keys),
                        }
                    )
                    writer = writer or pq.ParquetWriter(local, table.schema, compression="zstd")
                    writer.write_table(table, row_group_size=1_000_000)
                assert writer is not None
                writer.close()
            # earlier drops, each the copy of a published document of the same or an earlier release
            first, last = r * self.decided // len(RELEASES), (r + 1) * self.decided // len(RELEASES)
            drop_ids = np.arange(first, last)
            kept = drop_ids % self.docs
            # the first drops gave way to a document that is withdrawn now: they are judged again
            again = drop_ids < self.again
            kept[again] = self.withdrawn[drop_ids[again]]
            decided = pl.DataFrame(
                {
                    "doc_id": [f"x{i:09d}" for i in drop_ids.tolist()],
                    "content_sha256": _sha("x", drop_ids),
                    "duplicate_of": [f"p{i:09d}" for i in kept.tolist()],
                }
            )
            with storage.staged_file(f"{index.folder}/decided-{release}.parquet") as local:
                decided.write_parquet(local, compression="zstd")

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the new release's documents (published ones without text: they are not hashed)."""
        withdrawn = set(self.withdrawn.tolist())
        changed = {int(i): k for k, i in enumerate(self.changed_ids.tolist())}
        for start in range(0, self.docs, STREAM_BATCH):
            ids = [i for i in range(start, min(self.docs, start + STREAM_BATCH)) if i not in withdrawn]
            sha = _sha("p", np.array(ids))
            texts = [""] * len(ids)
            for row, i in enumerate(ids):
                if i in changed:
                    texts[row] = self.changed_texts[changed[i]]
                    sha[row] = hashlib.sha256(texts[row].encode()).hexdigest()
            yield self._batch([f"p{i:09d}" for i in ids], ids, sha, texts)
        for start in range(0, self.decided, STREAM_BATCH):
            ids = list(range(start, min(self.decided, start + STREAM_BATCH)))
            texts = [self.again_texts[i] if i < self.again else "" for i in ids]
            yield self._batch([f"x{i:09d}" for i in ids], ids, _sha("x", np.array(ids)), texts)
        ids = list(range(self.new))
        sha = [hashlib.sha256(t.encode()).hexdigest() for t in self.new_texts]
        yield self._batch([f"n{i:09d}" for i in ids], ids, sha, self.new_texts)

    @staticmethod
    def _batch(doc_ids: list[str], ids: list[int], sha: list[str], texts: list[str]) -> pa.RecordBatch:
        return pa.RecordBatch.from_pydict(
            {
                "doc_id": doc_ids,
                "source_id": [SOURCES[i % len(SOURCES)] for i in ids],
                "published_at": [f"2026-0{1 + i % 9}-01" for i in ids],
                "content_sha256": sha,
                "url": [
                    f"https://www.example.nl/artikel/{d}" if i % 10 == 0 else None
                    for d, i in zip(doc_ids, ids, strict=True)
                ],
                "text": texts,
            }
        )


# --- the earlier, in-memory plan (the reference) --------------------------------------------------------------


def _reference_read(
    index: NearDuplicateIndex, prefix: str, schema: dict[str, Any], releases: Collection[str] | None
) -> pl.DataFrame:
    frames = []
    for part in index.storage.glob(f"{index.folder}/{prefix}-*.parquet"):
        release = part.rsplit("/", 1)[-1].removeprefix(f"{prefix}-").removesuffix(".parquet")
        if releases is not None and release not in releases:
            continue
        with index.storage.open_input(part) as handle:
            frame = pl.read_parquet(handle)
        frames.append(frame.with_columns(release=pl.lit(release, dtype=pl.String)).select(list(schema)))
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def reference_current(index: NearDuplicateIndex, releases: Collection[str] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Select the current entries as before: every part read into memory, the latest release per document."""
    bands = _reference_read(index, "bands", _BANDS_SCHEMA, releases)
    decided = _reference_read(index, "decided", _DECIDED_SCHEMA, releases)
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


def reference_plan(
    index: NearDuplicateIndex,
    batches: Iterable[pa.RecordBatch] | Callable[[], Iterable[pa.RecordBatch]],
    *,
    batch_docs: int = 10_000,
    releases: Collection[str] | None = None,
) -> NearDuplicatePlan:
    """Plan as before the reduce went out of core, with the whole index in polars DataFrames (the reference)."""
    read = batches if callable(batches) else (lambda: batches)
    plan = NearDuplicatePlan()
    published, decided = reference_current(index, releases)
    published_sha = dict(published.select("doc_id", "content_sha256").unique().iter_rows())
    decisions = {
        doc: (sha, dup) for doc, sha, dup in decided.select("doc_id", "content_sha256", "duplicate_of").iter_rows()
    }
    present: set[str] = set()
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
        hashes = shingle_hashes(texts, index.settings)
        matrix = minhash_matrix(hashes, len(texts), index.settings)
        empty = np.ones(len(texts), dtype=bool)
        empty[hashes["doc"].unique().to_numpy()] = False
        offset = len(meta)
        keys.append(band_keys(matrix, index.settings, empty).with_columns(pl.col("doc") + offset))
        if index.settings.threshold is not None:
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
                raise ValueError(f"document {doc} appears twice among the release's documents")
            present.add(doc)
            known = published_sha.get(doc)
            if known == sha:
                live_ids.add(doc)
                if (url := normalise_url(row["url"])) is not None:
                    published_urls[doc] = url
                continue
            if known is not None:
                superseded.add(doc)
            decision = decisions.get(doc)
            if decision is not None and decision[0] == sha:
                reused[doc] = decision[1]
                continue
            pending_rows.append(row)
            if len(pending_rows) >= batch_docs:
                flush()
    flush()
    again = {doc for doc, dup in reused.items() if dup not in live_ids}
    if again:
        second = read()
        if second is first and iter(second) is second:
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
    if index.settings.threshold is not None and new_new.height:
        new_new = new_new.filter(pl.Series(estimated_jaccard(np.vstack(matrices), new_new) >= index.settings.threshold))
    new_old = (
        new_keys.rename({"doc": "a"})
        .join(live_keys.rename({"doc": "b"}), on=["band", "key"])
        .select(pl.min_horizontal("a", "b").alias("a"), pl.max_horizontal("a", "b").alias("b"))
        .unique()
    )
    urls = pl.Series([m["url"] for m in meta] + [published_urls.get(doc) for doc in live_order], dtype=pl.String)
    pairs = pl.concat(
        [frame.select(pl.col("a").cast(pl.UInt32), pl.col("b").cast(pl.UInt32)) for frame in (new_new, new_old)]
        + [equal_value_pairs(urls)]
    )
    total = len(meta) + len(live_order)
    clusters = connected_components(pairs, total)
    ids = new_ids + live_order
    priority = [index.priority.get(m["source_id"], 0) for m in meta] + [2**62] * len(live_order)
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
    plan._bands_file = f"{plan._folder()}/bands.parquet"
    (
        new_keys.join(doc_info, on="doc")
        .filter(pl.col("doc_id").is_in(pl.Series(list(kept_new), dtype=pl.String).implode()))
        .select("doc_id", "content_sha256", "source_id", "band", "key")
        .write_parquet(plan._bands_file)
    )
    plan._decided = doc_info.join(dropped.select(doc_id="id", duplicate_of="duplicate_of"), on="doc_id").select(
        "doc_id", "content_sha256", "duplicate_of"
    )
    return plan


def plan_summary(plan: NearDuplicatePlan) -> dict[str, Any]:
    """Return what two plans must agree on: drops, counts, pairs of sources and the index rows they would write."""

    def rows(frame: pl.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
        return sorted(frame.select(columns).rows())

    bands, decided = plan.index_rows()
    return {
        "drops": dict(sorted(plan.drops.items())),
        "counts": plan.counts(),
        "by_source_pair": sorted((list(k), v) for k, v in plan.by_source_pair.items()),
        "bands": rows(bands, ["doc_id", "content_sha256", "source_id", "band", "key"]),
        "decided": rows(decided, ["doc_id", "content_sha256", "duplicate_of"]),
    }


# --- the runs -------------------------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """Plan the release against the generated index once; print time, peak RSS and the plan's counts."""
    synthetic = Synthetic(args.docs[0], args.new, args.dup_share)
    storage = Storage(args.root)
    index = NearDuplicateIndex(storage, CORPUS, priority=PRIORITY, memory_limit=args.memory_limit)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if args.impl[0] == "reference":
        plan = reference_plan(index, synthetic.batches, releases=set(RELEASES))
    else:
        plan = index.plan(synthetic.batches, releases=set(RELEASES))
    seconds = time.perf_counter() - started
    result = {
        "seconds": round(seconds, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "setup_peak_mb": round(before / 1024),
        "counts": plan.counts(),
    }
    if args.check:
        result["summary_sha256"] = hashlib.sha256(json.dumps(plan_summary(plan), default=str).encode()).hexdigest()
    print(json.dumps(result))


def run_capped(command: list[str], cap_gb: float) -> tuple[int, str, bool]:
    """Run a child, stopping it once its resident memory passes ``cap_gb``; return exit code, output, stopped.

    An address-space limit would stop polars, which reserves far more than it uses.
    """
    with tempfile.TemporaryFile("w+") as out:
        child_process = subprocess.Popen(command, stdout=out, text=True)
        capped = False
        while child_process.poll() is None:
            try:
                status = Path(f"/proc/{child_process.pid}/status").read_text()
                rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            except (OSError, StopIteration):
                rss_kb = 0
            if rss_kb > cap_gb * 2**20:
                child_process.kill()
                capped = True
            time.sleep(0.2)
        out.seek(0)
        return child_process.returncode, out.read(), capped


def main() -> None:
    """Generate the indexes, run each implementation in a child process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--new", type=int, default=10_000, help="new documents in the release (hashed)")
    parser.add_argument("--dup-share", type=float, default=0.05)
    parser.add_argument("--impl", nargs="+", choices=["new", "reference"], default=["new"])
    parser.add_argument("--cap-gb", type=float, default=12.0, help="resident-memory cap of a child process")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit of the out-of-core plan")
    parser.add_argument("--check", action="store_true", help="print a digest of each plan (equal plans agree)")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "bench-neardup"))
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows = []
    for docs in args.docs:
        synthetic = Synthetic(docs, args.new, args.dup_share)
        root = Path(args.workdir) / synthetic.key
        if not (root / "ready").exists():
            started = time.perf_counter()
            storage = Storage(str(root))
            synthetic.write_index(storage, NearDuplicateIndex(storage, CORPUS, priority=PRIORITY))
            (root / "ready").write_text("")
            print(f"generated {docs:,} documents in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for impl in args.impl:
            command = [sys.executable, __file__, "--child", "--root", str(root), "--docs", str(docs)]
            command += ["--new", str(args.new), "--dup-share", str(args.dup_share), "--impl", impl]
            command += ["--cap-gb", str(args.cap_gb), "--memory-limit", args.memory_limit] + (
                ["--check"] if args.check else []
            )
            returncode, stdout, capped = run_capped(command, args.cap_gb)
            if returncode == 0:
                result = json.loads(stdout.strip().splitlines()[-1])
            elif capped:
                result = {"failed": f"stopped at the {args.cap_gb:g} GB cap"}
            else:
                result = {"failed": f"exit {returncode}"}
            rows.append((docs, impl, result))
            print(f"{docs:,} {impl}: {json.dumps(result)}", file=sys.stderr, flush=True)
    print(f"\n{'documents':>12} {'plan':>10} {'peak MB':>8} {'seconds':>8}  counts")
    for docs, impl, result in rows:
        if "failed" in result:
            print(f"{docs:>12,} {impl:>10} {'-':>8} {'-':>8}  {result['failed']}")
        else:
            counts = result["counts"]
            print(
                f"{docs:>12,} {impl:>10} {result['peak_mb']:>8} {result['seconds']:>8}  "
                f"hashed {counts['documents_hashed']}, dropped {counts['near_duplicates_dropped']}, "
                f"for earlier {counts['dropped_for_an_earlier_release']}, reused {counts['decisions_reused']}, "
                f"replaced {counts['replaced_by_newer_version']}"
                + (f"  {result['summary_sha256'][:12]}" if "summary_sha256" in result else "")
            )


if __name__ == "__main__":
    main()
