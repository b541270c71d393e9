"""Benchmark: our near-duplicate detection (``quality/neardup.py``) against datatrove's four-stage MinHash dedup.

Builds ``--docs`` Dutch documents with a known truth from the real sentences in
``../shared/data/text-nl/*.jsonl`` (built-in sentences when absent): distinct originals, and ~30% near-copies
of some of them with 1-3 edits each (boilerplate lines inserted, a few words substituted, truncation to
80-98%, paragraphs or sentences re-ordered). Documents derived from one original (the original included)
form a group; the true duplicate pairs are all pairs within a group. Both systems read the same JSONL file.

    pip install -e '.[bench]'                                         # datatrove 0.10.1
    python benchmarks/bench_dedup.py                                  # 100,000 documents, both systems
    python benchmarks/bench_dedup.py --docs 1000000 --skip-datatrove  # ours only: time and peak memory
    python benchmarks/bench_dedup.py --datatrove-words split          # datatrove without spaCy's tokenizer

The sentence pool is small (~2,000 sentences), so originals are built to be distinct anyway: each takes its
sentences from a fresh permutation of the pool (no sentence twice until the pool is used up), in paragraphs
of 1-4 sentences, and 10% of the lower-case words of every sentence are replaced by random words of the
pool's vocabulary. The set's difficulty and the originals' distinctness are checked with the exact word
5-gram Jaccard similarity (computed here, independently of both systems) on samples.

Ours: ``Deduplicator(MinHashSettings())`` (5-grams, 14 bands x 8 rows), ``add`` per batch of ``--batch``
documents, then ``decide``; predicted pairs are the pairs with the same ``cluster_id``. datatrove:
``MinhashDedupSignature`` -> ``MinhashDedupBuckets`` -> ``MinhashDedupCluster(save_cluster_id=True)`` ->
``MinhashDedupFilter`` with ``MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)`` and the Dutch
word tokenizer (spaCy, as FineWeb-2), each stage a ``LocalPipelineExecutor`` with one worker; predicted pairs
are the pairs in the same cluster of the ``.clusters`` file. datatrove's default shingle hash needs ``xxhash``
and its JSONL reader and writer need ``orjson``, which ``.[bench]`` does not install: without them the
benchmark uses datatrove's ``sha1`` and two plain ``json`` pipeline functions, and says so. Each system runs
in a child process of its own (so that its peak RSS is its own), timed from reading the JSONL to the clusters.
Prints precision, recall and F1 of the duplicate pairs, wall and CPU seconds, documents per second and peak RSS.
Never touches the network (socket connections are blocked; only local IPC sockets are allowed, which
datatrove's executor needs). Scratch files go to ``--workdir`` (default: ``<tmp>/benchd``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice, pairwise
from pathlib import Path

import dutch_text  # benchmarks/ is on sys.path when a script in it runs
import numpy as np
from offline import block_network

COPY_SHARE = 0.30  # share of the documents that are near-copies of an original
VARIATION = 0.10  # share of an original's lower-case words replaced by random words (keeps originals distinct)
# copies per duplicated original: 1 (55%), 2 (20%), 3 (10%), 4-6 (10%), 7-20 (5%)
COPIES = np.arange(1, 21)
COPY_WEIGHTS = np.array([55, 20, 10] + [10 / 3] * 3 + [5 / 14] * 14) / 100
EDITS = ("boilerplate", "substitution", "truncation", "reordering")
EDIT_COUNT_WEIGHTS = (50, 35, 15)  # one, two or three different edits per copy
BOILERPLATE = (
    "Deel dit artikel", "Advertentie", "Foto: ANP", "Lees meer", "Volg ons op Facebook", "Reageer",
    "Meer over dit onderwerp", "Print dit artikel", "Deel dit artikel via WhatsApp",
    "Schrijf je in voor de nieuwsbrief",
)  # fmt: skip
TEASERS = ("Lees ook: {}", "Bekijk ook: {}", "Meer nieuws: {}", "Ook interessant: {}")
JACCARD_BINS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\s'])")
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits, as both systems' word splitting (roughly)


# --- the documents -----------------------------------------------------------------------------------------


def sentence_pool() -> list[str]:
    """Return the distinct real Dutch sentences that can be varied (the built-in ones without shared data).

    Kept: 4-40 words, of which at least 3 and at least 30% plain lower-case words. Long lists of names and
    years ("Voorzitter Vlaams Blok Jongeren (1987-1989) Partijbestuurslid ...") would hardly change under
    the variation, and two short originals built around the same one would be near-duplicates by chance.
    """
    pool: list[str] = []
    paths = sorted(dutch_text.SHARED_TEXT.glob("*.jsonl")) if dutch_text.SHARED_TEXT.is_dir() else []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            for paragraph in re.split(r"\n+", json.loads(line).get("text", "")):
                pool += [s.strip() for s in _SENTENCE_END.split(paragraph)]

    def variable(sentence: str) -> bool:
        words = len(_WORD.findall(sentence))
        plain = sum(t.isalpha() and t.islower() for t in sentence.split())
        return 4 <= words <= 40 and plain >= max(3, 0.3 * words)

    return [s for s in dict.fromkeys(pool) if variable(s)] or dutch_text.sentences()


@dataclass
class Plan:
    """What every document is, decided up front (numpy, seeded) so that documents can be made one at a time.

    ``group[i]``/``variant[i]``: the original document ``i`` derives from, and 0 for the original itself or
    1, 2, ... for its copies. Original ``g`` has ``sizes[g]`` sentences: ``order[starts[g]:][:sizes[g]]``.
    """

    group: np.ndarray
    variant: np.ndarray
    sizes: np.ndarray
    starts: np.ndarray
    order: np.ndarray
    originals: int
    duplicated: int


def make_plan(docs: int, seed: int, pool_size: int) -> Plan:
    """Decide groups, copies, document order and the sentences of every original."""
    rng = np.random.default_rng(seed)
    copies = round(docs * COPY_SHARE)
    originals = docs - copies
    per_group = rng.choice(COPIES, p=COPY_WEIGHTS, size=max(copies, 1))
    cumulative = np.cumsum(per_group)
    duplicated = int(np.searchsorted(cumulative, copies)) + 1 if copies else 0
    per_group = per_group[:duplicated]
    if duplicated:
        per_group[-1] -= cumulative[duplicated - 1] - copies
        cumulative = np.cumsum(per_group)
    if duplicated > originals:
        raise ValueError("too few documents for the copy distribution")
    copy_group = np.repeat(np.arange(duplicated), per_group)
    copy_variant = np.arange(copies) - np.repeat(cumulative[:duplicated] - per_group, per_group) + 1
    group = np.concatenate([np.arange(originals), copy_group])
    variant = np.concatenate([np.zeros(originals, dtype=np.int64), copy_variant])
    shuffle = rng.permutation(docs)
    # sentences per original: short, medium and long articles (mean ~11.5 sentences, ~1.3 kB)
    kind = rng.random(originals)
    short, medium, long = rng.integers(3, 7, originals), rng.integers(6, 16, originals), rng.integers(15, 41, originals)
    sizes = np.select([kind < 0.4, kind < 0.8], [short, medium], long)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    epochs = math.ceil(int(sizes.sum()) / pool_size) + 1
    order = np.concatenate([rng.permutation(pool_size).astype(np.int32) for _ in range(epochs)])
    return Plan(group[shuffle], variant[shuffle], sizes, starts, order, originals, duplicated)


class Generator:
    """Makes the originals and their edited copies; every document has its own seeded RNG."""

    def __init__(self, pool: list[str], plan: Plan, seed: int) -> None:
        self.pool = pool
        self.plan = plan
        self.seed = seed
        self.tokens = [s.split() for s in pool]
        # positions that may be varied or substituted: plain lower-case words (no digits, no punctuation)
        self.slots = [[i for i, t in enumerate(toks) if t.isalpha() and t.islower()] for toks in self.tokens]
        words = {t for toks in self.tokens for t in toks if t.isalpha() and t.islower() and len(t) > 2}
        self.vocabulary = sorted(words)

    def rng(self, group: int, variant: int) -> random.Random:
        """Return the RNG of one document (the original's when ``variant`` is 0)."""
        return random.Random((self.seed << 40) | (group << 8) | variant)

    def original(self, group: int) -> tuple[list[list[str]], str]:
        """Return the paragraphs (lists of sentences) of original ``group`` and its paragraph separator."""
        rng = self.rng(group, 0)
        start, size = self.plan.starts[group], self.plan.sizes[group]
        sentences = [self.vary(int(i), rng) for i in self.plan.order[start : start + size]]
        paragraphs, position = [], 0
        while position < len(sentences):
            step = rng.randint(1, 4)
            paragraphs.append(sentences[position : position + step])
            position += step
        return paragraphs, "\n" if rng.random() < 0.6 else "\n\n"

    def vary(self, index: int, rng: random.Random) -> str:
        """Return pool sentence ``index`` with ~VARIATION of its lower-case words replaced by random words."""
        tokens, slots = self.tokens[index], self.slots[index]
        count = min(len(slots), int(len(slots) * VARIATION + rng.random()))
        if not count:
            return self.pool[index]
        tokens = tokens.copy()
        for position in rng.sample(slots, count):
            tokens[position] = rng.choice(self.vocabulary)
        return " ".join(tokens)

    def document(self, group: int, variant: int) -> tuple[str, int]:
        """Return (text, bit mask of EDITS applied) of one document; the original when ``variant`` is 0."""
        paragraphs, separator = self.original(group)
        mask = 0
        if variant:
            rng = self.rng(group, variant)
            kinds = rng.sample(range(len(EDITS)), rng.choices((1, 2, 3), weights=EDIT_COUNT_WEIGHTS)[0])
            mask = sum(1 << k for k in kinds)
            if 1 in kinds:
                self.substitute(paragraphs, rng)
            if 3 in kinds:
                self.reorder(paragraphs, rng)
            if 2 in kinds:
                paragraphs = self.truncate(paragraphs, rng)
            if 0 in kinds:
                self.insert_boilerplate(paragraphs, rng)
        return separator.join(" ".join(p) for p in paragraphs), mask

    def substitute(self, paragraphs: list[list[str]], rng: random.Random) -> None:
        """Replace 1 + 0-3% of the words by random words of the vocabulary, in place."""
        words = sum(len(s.split()) for p in paragraphs for s in p)
        for _ in range(1 + int(words * rng.uniform(0, 0.03))):
            paragraph = rng.choice(paragraphs)
            at = rng.randrange(len(paragraph))
            tokens = paragraph[at].split()
            tokens[rng.randrange(len(tokens))] = rng.choice(self.vocabulary)
            paragraph[at] = " ".join(tokens)

    def reorder(self, paragraphs: list[list[str]], rng: random.Random) -> None:
        """Shuffle the paragraphs (the sentences when there is one paragraph), in place; never a no-op."""
        items = paragraphs if len(paragraphs) > 1 else paragraphs[0]
        before = list(items)
        rng.shuffle(items)
        if items == before and len(items) > 1:
            items[0], items[1] = items[1], items[0]

    def truncate(self, paragraphs: list[list[str]], rng: random.Random) -> list[list[str]]:
        """Return the first 80-98% of the words (cut inside a sentence, as a teaser or a broken page does)."""
        words = sum(len(s.split()) for p in paragraphs for s in p)
        left = math.ceil(words * rng.uniform(0.80, 0.98))
        out: list[list[str]] = []
        for paragraph in paragraphs:
            kept: list[str] = []
            for sentence in paragraph:
                tokens = sentence.split()
                if len(tokens) >= left:
                    kept.append(" ".join(tokens[:left]))
                    out.append(kept)
                    return out
                kept.append(sentence)
                left -= len(tokens)
            out.append(kept)
        return out

    def insert_boilerplate(self, paragraphs: list[list[str]], rng: random.Random) -> None:
        """Insert 1-3 boilerplate lines ("Deel dit artikel", "Lees ook: <headline>") as paragraphs, in place."""
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                line = rng.choice(BOILERPLATE)
            else:
                headline = " ".join(rng.choice(self.tokens)[: rng.randint(5, 9)]).rstrip(".,;:")
                line = rng.choice(TEASERS).format(headline)
            at = rng.choice([0, len(paragraphs), rng.randint(0, len(paragraphs))])
            paragraphs.insert(at, [line])


# --- truth checks: exact word 5-gram Jaccard (independent of both systems) -----------------------------------


def shingles(text: str, n: int = 5) -> set[str]:
    """Return the distinct word n-grams of a text (lower case, words = runs of letters and digits)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """Return the Jaccard similarity of two sets (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def sample_true_pairs(plan: Plan, count: int, seed: int) -> list[tuple[int, int]]:
    """Return ``count`` true duplicate pairs (document positions) drawn uniformly from all true pairs."""
    rng = np.random.default_rng(seed + 1)
    by_group = np.argsort(plan.group, kind="stable")
    sizes = np.bincount(plan.group, minlength=plan.originals)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    weights = sizes * (sizes - 1) / 2
    if weights.sum() == 0:
        return []
    groups = rng.choice(len(sizes), p=weights / weights.sum(), size=count)
    pairs = []
    for g in groups:
        a, b = rng.choice(sizes[g], size=2, replace=False)
        pairs.append((int(by_group[offsets[g] + a]), int(by_group[offsets[g] + b])))
    return pairs


class OriginalsCheck:
    """Exact Jaccard of a sample of originals against every other original seen (inverted shingle index)."""

    def __init__(self, texts: dict[int, str]) -> None:
        self.groups = list(texts)
        self.sets = [shingles(texts[g]) for g in self.groups]
        self.index: dict[str, list[int]] = {}
        for k, shingle_set in enumerate(self.sets):
            for shingle in shingle_set:
                self.index.setdefault(shingle, []).append(k)
        self.compared = 0
        self.similarities: list[float] = []  # every pair with at least one shared shingle

    def add(self, group: int, text: str) -> None:
        """Compare one original with the sample (itself excluded)."""
        own = shingles(text)
        hits = Counter(k for s in own for k in self.index.get(s, ()))
        self.compared += len(self.sets) - (group in self.groups)
        for k, shared in hits.items():
            if self.groups[k] != group:
                self.similarities.append(shared / (len(own) + len(self.sets[k]) - shared))


# --- scoring -----------------------------------------------------------------------------------------------


def pairs_of(labels: np.ndarray) -> int:
    """Return the number of pairs of items with the same label."""
    _, counts = np.unique(labels, return_counts=True)
    return int((counts.astype(np.int64) * (counts - 1) // 2).sum())


def pair_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Return predicted pairs, correct pairs, precision, recall and F1 of clusters against true groups."""
    joint = predicted.astype(np.int64) * (int(truth.max()) + 1) + truth
    found, true, correct = pairs_of(predicted), pairs_of(truth), pairs_of(joint)
    precision = correct / found if found else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": found, "correct": correct, "precision": precision, "recall": recall, "f1": f1}


# --- the two systems, each in a child process --------------------------------------------------------------


def allow_local_ipc_only(name: str) -> None:
    """Block the network as the other benchmarks do, but let Unix domain sockets through (local IPC only).

    datatrove's ``LocalPipelineExecutor`` always starts a ``multiprocess.Manager``, which talks over a Unix
    socket; TCP/UDP connections stay blocked.
    """
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    block_network(name)
    refuse, refuse_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(self: socket.socket, address: object) -> None:
        return connect(self, address) if self.family == socket.AF_UNIX else refuse(self, address)

    def guarded_ex(self: socket.socket, address: object) -> int:
        return connect_ex(self, address) if self.family == socket.AF_UNIX else refuse_ex(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_ex  # type: ignore[method-assign]


def rss_kb() -> int:
    """Return the current resident set size of this process in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children_cpu() -> float:
    """Return the CPU seconds (user + system) of this process's terminated children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours_worker(path: Path, output: Path, batch: int) -> dict:
    """Run our Deduplicator over the JSONL in batches; save the cluster label per document; return figures."""
    import polars as pl
    import rensa  # noqa: F401  (imported by minhash_matrix: loaded before the clock starts)

    import catalog.documents  # noqa: F401  (imported by Deduplicator.add: loaded before the clock starts)
    from quality.neardup import Deduplicator, MinHashSettings

    baseline = rss_kb()
    wall, cpu = time.perf_counter(), time.process_time()
    dedup = Deduplicator(MinHashSettings())
    read = add = 0.0
    with path.open(encoding="utf-8") as lines:
        while True:
            started = time.perf_counter()
            rows = [json.loads(line) for line in islice(lines, batch)]
            read += time.perf_counter() - started
            if not rows:
                break
            started = time.perf_counter()
            dedup.add([r["id"] for r in rows], [r["text"] for r in rows])
            add += time.perf_counter() - started
    started = time.perf_counter()
    decided = dedup.decide()
    decide = time.perf_counter() - started
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    np.save(output, decided["cluster_id"].cast(pl.Int64).to_numpy())
    return {
        "wall": wall,
        "cpu": cpu,
        "phases": {"read JSONL": read, "add": add, "decide": decide},
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "baseline_rss_kb": baseline,
        "threads": pl.thread_pool_size(),
    }


def datatrove_minhash() -> types.ModuleType:
    """Return ``datatrove.pipeline.dedup.minhash``.

    datatrove 0.10.1's ``pipeline/dedup/__init__.py`` also imports its exact-substring dedup, which needs
    Hugging Face ``tokenizers`` (datatrove's "processing" extra, not installed by ``.[bench]``). Without it,
    the package is replaced by an empty one with the same path so that ``minhash.py`` alone is imported.
    """
    try:
        return importlib.import_module("datatrove.pipeline.dedup.minhash")
    except ModuleNotFoundError as error:
        if error.name != "tokenizers":
            raise
    spec = importlib.util.find_spec("datatrove.pipeline.dedup")
    assert spec is not None and spec.submodule_search_locations is not None
    package = types.ModuleType(spec.name)
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules[spec.name] = package
    return importlib.import_module("datatrove.pipeline.dedup.minhash")


def datatrove_hash() -> str:
    """Return datatrove's default shingle hash, ``xxhash``, when the package is there; else ``sha1`` (slower)."""
    return "xxhash" if importlib.util.find_spec("xxhash") else "sha1"


def datatrove_jsonl(path: Path, output: Path) -> tuple[object, object, str]:
    """Return (reader, writer, description) of the JSONL for a datatrove pipeline.

    datatrove's ``JsonlReader``/``JsonlWriter`` need ``orjson`` (not installed by ``.[bench]``); without it,
    two plain pipeline functions with the standard library's ``json`` do the same.
    """
    if importlib.util.find_spec("orjson"):
        from datatrove.pipeline.readers import JsonlReader
        from datatrove.pipeline.writers import JsonlWriter

        reader = JsonlReader(str(path.parent), glob_pattern=path.name, compression=None)
        return reader, JsonlWriter(str(output), compression=None), "JsonlReader/JsonlWriter (orjson)"
    from datatrove.data import Document

    def read(data: object, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                yield Document(text=row["text"], id=row["id"])

    def write(data: Iterator[Document], rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        output.mkdir(parents=True, exist_ok=True)
        with (output / f"{rank:05d}.jsonl").open("w", encoding="utf-8") as out:
            for doc in data:
                out.write(json.dumps({"id": doc.id, "text": doc.text, "metadata": doc.metadata}) + "\n")
                yield doc

    return read, write, "stdlib json reader/writer functions (orjson is not installed)"


def split_words() -> object:
    """Return a datatrove ``WordTokenizer`` that splits on whitespace (``str.split``), without spaCy.

    datatrove tokenizes the simplified text (lower case, punctuation replaced by spaces), where this gives
    (nearly) the words spaCy gives, at a fraction of the cost: a sensitivity check of datatrove's speed.
    """
    from datatrove.utils.word_tokenizers import WordTokenizer

    class SplitWords(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    return SplitWords()


def datatrove_worker(path: Path, workdir: Path, output: Path, docs: int, precision: int, words: str) -> dict:
    """Run datatrove's four MinHash stages over the JSONL; save the cluster label per document; return figures."""
    import spacy
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.typeshelper import Languages

    minhash = datatrove_minhash()
    spacy.blank("nl")  # loads spaCy's Dutch language data before the clock starts (as ours imports polars)
    shutil.rmtree(workdir, ignore_errors=True)  # executors skip tasks that a previous run completed
    hash_config = HashConfig(precision=precision, hash_fc=datatrove_hash())
    config = minhash.MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1, hash_config=hash_config)
    signatures, buckets, clusters = workdir / "signatures", workdir / "buckets", workdir / "remove_ids"

    def reader() -> object:
        return datatrove_jsonl(path, workdir / "deduplicated")[0]

    def executor(pipeline: list, name: str, tasks: int = 1) -> LocalPipelineExecutor:
        return LocalPipelineExecutor(pipeline, tasks=tasks, workers=1, logging_dir=str(workdir / "logs" / name))

    # spaCy's Dutch tokenizer, as FineWeb-2 runs it for nld_Latn; or a plain split (--datatrove-words split)
    dutch = Languages.dutch__latn if words == "spacy" else split_words()
    # (name, pipeline factory, tasks): the steps are made when the stage starts, inside the timing
    stages = [
        (
            "1 signatures",
            lambda: [reader(), minhash.MinhashDedupSignature(str(signatures), config=config, language=dutch)],
            1,
        ),
        (
            "2 buckets",
            lambda: [minhash.MinhashDedupBuckets(str(signatures), str(buckets), config=config)],
            config.num_buckets,
        ),
        (
            "3 clusters",
            lambda: [minhash.MinhashDedupCluster(str(buckets), str(clusters), config=config, save_cluster_id=True)],
            1,
        ),
        (
            "4 filter",
            lambda: [
                reader(),
                minhash.MinhashDedupFilter(str(clusters), load_cluster_ids=True),
                datatrove_jsonl(path, workdir / "deduplicated")[1],
            ],
            1,
        ),
    ]
    baseline = rss_kb()
    phases = {}
    wall, cpu = time.perf_counter(), time.process_time() + children_cpu()
    for name, pipeline, tasks in stages:
        started = time.perf_counter()
        executor(pipeline(), name.split()[1], tasks).run()
        phases[name] = time.perf_counter() - started
    wall, cpu = time.perf_counter() - wall, time.process_time() + children_cpu() - cpu
    labels = np.arange(docs, dtype=np.int64)  # documents in no duplicate pair are their own cluster
    cluster_file = clusters / "000000.clusters"
    if cluster_file.exists():
        members = np.fromfile(cluster_file, dtype="<u4").reshape(-1, 2).astype(np.int64)
        labels[members[:, 0]] = docs + members[:, 1]
    np.save(output, labels)
    kept = sum(1 for f in (workdir / "deduplicated").glob("*.jsonl") for _ in f.open(encoding="utf-8"))
    return {
        "wall": wall,
        "cpu": cpu,
        "phases": phases,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "baseline_rss_kb": baseline,
        "kept": kept,
        "threads": 1,
        "hash": hash_config.hash_fc,
        "io": datatrove_jsonl(path, workdir / "deduplicated")[2],
    }


def run_child(system: str, args: argparse.Namespace, jsonl: Path, docs: int) -> tuple[dict, np.ndarray]:
    """Run one system in a fresh Python process; return its figures and its cluster label per document."""
    workdir = Path(args.workdir)
    output = workdir / f"{system}-labels.npy"
    log = workdir / f"{system}.log"
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", system, "--input", str(jsonl)]
    command += ["--workdir", str(workdir), "--docs", str(docs), "--batch", str(args.batch)]
    command += ["--datatrove-precision", str(args.datatrove_precision), "--datatrove-words", args.datatrove_words]
    with log.open("w") as stderr:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True, check=False)
    if result.returncode:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        sys.exit(f"{system} failed (exit {result.returncode}); last lines of {log}:\n" + "\n".join(tail))
    return json.loads(result.stdout.strip().splitlines()[-1]), np.load(output)


def worker_main(args: argparse.Namespace) -> None:
    """Entry point of a child process: run one system, print its figures as one JSON line."""
    allow_local_ipc_only(f"bench_dedup ({args.worker})")
    workdir = Path(args.workdir)
    output = workdir / f"{args.worker}-labels.npy"
    if args.worker == "ours":
        figures = ours_worker(Path(args.input), output, args.batch)
    else:
        figures = datatrove_worker(
            Path(args.input), workdir / "datatrove", output, args.docs, args.datatrove_precision, args.datatrove_words
        )
    print(json.dumps(figures))


# --- report ------------------------------------------------------------------------------------------------


def generate(args: argparse.Namespace, jsonl: Path) -> dict:
    """Write the documents to ``jsonl`` one by one; return the plan, edit masks and the truth checks."""
    from quality.normalise import normalise_text

    pool = sentence_pool()
    plan = make_plan(args.docs, args.seed, len(pool))
    generator = Generator(pool, plan, args.seed)
    pair_sample = sample_true_pairs(plan, args.sample, args.seed)
    wanted = {i for pair in pair_sample for i in pair}
    rng = np.random.default_rng(args.seed + 2)
    sampled_originals = rng.choice(plan.originals, size=min(args.sample_originals, plan.originals), replace=False)
    check = OriginalsCheck({int(g): normalise_text(generator.document(int(g), 0)[0]) for g in sampled_originals})
    kept_texts: dict[int, str] = {}
    masks = np.zeros(args.docs, dtype=np.uint8)
    compared = total_bytes = 0
    with jsonl.open("w", encoding="utf-8") as out:
        for i in range(args.docs):
            g, v = int(plan.group[i]), int(plan.variant[i])
            raw, masks[i] = generator.document(g, v)
            text = normalise_text(raw)
            total_bytes += len(text.encode("utf-8"))
            out.write(json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n")
            if i in wanted:
                kept_texts[i] = text
            if v == 0 and compared < args.check_originals:
                check.add(g, text)
                compared += 1
    similarities = [jaccard(shingles(kept_texts[a]), shingles(kept_texts[b])) for a, b in pair_sample]
    return {
        "pool": pool,
        "vocabulary": len(generator.vocabulary),
        "plan": plan,
        "masks": masks,
        "bytes": total_bytes,
        "pair_sample": pair_sample,
        "pair_similarity": np.array(similarities),
        "check": check,
        "checked_against": compared,
    }


def print_data(data: dict, args: argparse.Namespace, jsonl: Path, seconds: float) -> None:
    """Print what the set holds and how hard it is."""
    plan: Plan = data["plan"]
    sizes = np.bincount(plan.group)
    true_pairs = int((sizes * (sizes - 1) // 2).sum())
    pool, vocabulary = len(data["pool"]), data["vocabulary"]
    print(f"text: {dutch_text.source_name()} ({pool:,} sentences, {vocabulary:,} words to vary with); seed {args.seed}")
    print(
        f"data: {args.docs:,} documents, {data['bytes'] / 1e6:.1f} MB text (UTF-8, normalised; JSONL "
        f"{jsonl.stat().st_size / 1e6:.1f} MB), mean {data['bytes'] / args.docs:,.0f} bytes; "
        f"generated in {seconds:.1f} s"
    )
    copies = args.docs - plan.originals
    print(
        f"  {plan.originals:,} originals; {copies:,} near-copies ({copies / args.docs:.0%}) of {plan.duplicated:,} "
        f"of them (1-{sizes.max() - 1} copies each)"
    )
    print(f"  groups with copies: {plan.duplicated:,}; true duplicate pairs: {true_pairs:,}")
    edits = data["masks"][plan.variant > 0]
    counts = Counter(bin(m).count("1") for m in edits)
    shares = ", ".join(f"{EDITS[k]} {np.mean(edits & (1 << k) > 0):.0%}" for k in range(len(EDITS)))
    print(f"  edits per copy: 1: {counts[1]:,}, 2: {counts[2]:,}, 3: {counts[3]:,}; copies with: {shares}")
    similarity = data["pair_similarity"]
    if len(similarity):
        print(
            f"  hardness: exact word-5-gram Jaccard of {len(similarity):,} sampled true pairs: "
            f">= 0.8: {np.mean(similarity >= 0.8):.1%}, >= 0.7: {np.mean(similarity >= 0.7):.1%}, "
            f">= 0.5: {np.mean(similarity >= 0.5):.1%}; median {np.median(similarity):.2f}"
        )
    check: OriginalsCheck = data["check"]
    found = np.array(check.similarities)
    top = found.max() if len(found) else 0.0
    print(
        f"  originals distinct: {len(check.sets):,} sampled originals x {data['checked_against']:,} originals = "
        f"{check.compared:,} pairs, exact Jaccard: max {top:.3f}; pairs >= 0.3: {np.sum(found >= 0.3)}, "
        f">= 0.5: {np.sum(found >= 0.5)}; pairs sharing any 5-gram: {len(found):,}"
    )


def print_results(data: dict, results: dict[str, tuple[dict, np.ndarray]], args: argparse.Namespace) -> None:
    """Print quality and speed per system, the comparison, and recall per Jaccard bin and per edit."""
    plan: Plan = data["plan"]
    truth = plan.group
    scores = {name: pair_scores(labels, truth) for name, (_, labels) in results.items()}
    print(
        f"\n{'':10} {'pred pairs':>11} {'correct':>9} {'precision':>9} {'recall':>7} {'F1':>7} "
        f"{'wall s':>8} {'CPU s':>8} {'docs/s':>8} {'peak RSS':>9}"
    )
    for name, (figures, _) in results.items():
        s = scores[name]
        print(
            f"{name:10} {s['pairs']:11,} {s['correct']:9,} {s['precision']:9.4f} {s['recall']:7.4f} {s['f1']:7.4f} "
            f"{figures['wall']:8.1f} {figures['cpu']:8.1f} {args.docs / figures['wall']:8,.0f} "
            f"{figures['peak_rss_kb'] / 1024:6,.0f} MB"
        )
    for name, (figures, _) in results.items():
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in figures["phases"].items())
        extra = f"; kept {figures['kept']:,} documents" if "kept" in figures else ""
        print(
            f"  {name}: {phases}; RSS before the run {figures['baseline_rss_kb'] / 1024:,.0f} MB, "
            f"{figures['threads']} thread(s){extra}"
        )
    if "ours" in results and "datatrove" in results:
        ours, theirs = results["ours"][0], results["datatrove"][0]
        first_three = sum(v for k, v in theirs["phases"].items() if not k.startswith("4"))
        print(
            f"\nwall time datatrove / ours: {theirs['wall'] / ours['wall']:.1f}x (four stages; stages 1-3 only: "
            f"{first_three / ours['wall']:.1f}x); CPU time: {theirs['cpu'] / ours['cpu']:.1f}x"
        )
        difference = scores["ours"]["f1"] - scores["datatrove"]["f1"]
        verdict = ">=" if difference >= 0 else "<"
        print(
            f"F1 ours {scores['ours']['f1']:.4f} {verdict} datatrove {scores['datatrove']['f1']:.4f} "
            f"(difference {difference:+.4f})"
        )

    similarity, sample = data["pair_similarity"], data["pair_sample"]
    if len(sample):
        print(f"\nrecall by exact Jaccard of the {len(sample):,} sampled true pairs")
        print(f"  {'Jaccard':12} {'pairs':>6} " + " ".join(f"{name:>10}" for name in results))
        for low, high in pairwise(JACCARD_BINS):
            rows = [k for k, j in enumerate(similarity) if low <= j < high]
            if not rows:
                continue
            cells = []
            for _, labels in results.values():
                cells.append(f"{np.mean([labels[sample[k][0]] == labels[sample[k][1]] for k in rows]):10.1%}")
            print(f"  [{low:.1f}, {min(high, 1):.1f}{')' if high <= 1 else ']'}  {len(rows):6,} " + " ".join(cells))

    by_group = np.full(plan.originals, -1, dtype=np.int64)
    originals = np.flatnonzero(plan.variant == 0)
    by_group[plan.group[originals]] = originals
    copies = np.flatnonzero(plan.variant > 0)
    masks = data["masks"][copies]
    print("\ncopies found in their original's cluster, by edit (a copy with 2-3 edits counts under each)")
    print(f"  {'edit':14} {'copies':>7} " + " ".join(f"{name:>10}" for name in results))
    edit_counts = np.array([bin(m).count("1") for m in masks])
    selections = [(edit, (masks & (1 << k)) > 0) for k, edit in enumerate(EDITS)]
    selections += [(f"{count} edit(s)", edit_counts == count) for count in (1, 2, 3)]
    for title, selected in selections:
        rows = copies[selected]
        if len(rows):
            with_original = by_group[plan.group[rows]]
            cells = [f"{np.mean(labels[rows] == labels[with_original]):10.1%}" for _, labels in results.values()]
            print(f"  {title:14} {len(rows):7,} " + " ".join(cells))


def main() -> None:
    """Generate the set, run both systems in child processes, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents (originals and copies)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--batch", type=int, default=10_000, help="documents per Deduplicator.add call")
    parser.add_argument("--skip-datatrove", action="store_true", help="run ours only (e.g. for a memory run)")
    parser.add_argument("--datatrove-precision", type=int, choices=(32, 64), default=64, help="MinHash bits")
    parser.add_argument(
        "--datatrove-words",
        choices=("spacy", "split"),
        default="spacy",
        help="datatrove's word tokenizer: spaCy nl (FineWeb-2's for nld_Latn) or str.split on its simplified text",
    )
    parser.add_argument("--sample", type=int, default=3000, help="true pairs whose exact Jaccard is computed")
    parser.add_argument("--sample-originals", type=int, default=1000, help="originals checked for distinctness")
    parser.add_argument("--check-originals", type=int, default=100_000, help="originals they are compared with")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "benchd"), help="scratch directory")
    parser.add_argument("--worker", choices=("ours", "datatrove"), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    allow_local_ipc_only("bench_dedup")
    started = time.perf_counter()
    if not args.skip_datatrove:
        try:
            datatrove_minhash()
            import spacy  # noqa: F401  (datatrove's Dutch word tokenizer)
        except ImportError as error:
            print(f"datatrove or spaCy is not installed ({error}); pip install -e '.[bench]' or use --skip-datatrove")
            sys.exit(2)
    workdir = Path(args.workdir)
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    jsonl = workdir / "data" / "docs.jsonl"
    data = generate(args, jsonl)
    print_data(data, args, jsonl, time.perf_counter() - started)

    results = {"ours": run_child("ours", args, jsonl, args.docs)}
    if not args.skip_datatrove:
        from importlib.metadata import version

        results["datatrove"] = run_child("datatrove", args, jsonl, args.docs)
        hash_fc = results["datatrove"][0]["hash"]
        print(
            f"\ndatatrove {version('datatrove')}: MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, "
            f"seed=1, HashConfig(precision={args.datatrove_precision}, hash_fc='{hash_fc}')), words: "
            f"{'nld_Latn (spaCy nl)' if args.datatrove_words == 'spacy' else 'str.split'}; "
            "4 LocalPipelineExecutors (workers=1; stage 2 runs 14 tasks, one per bucket)"
        )
        print(f"  JSONL in and out: {results['datatrove'][0]['io']}")
        if hash_fc != "xxhash":
            print("  (xxhash is not installed: datatrove hashes shingles with its slower sha1; pip install xxhash)")
    else:
        print()
    print(f"ours: Deduplicator(MinHashSettings()) = 5-grams, 14 bands x 8 rows, seed 1; batches of {args.batch:,}")
    print_results(data, results, args)
    print(f"\ntotal runtime {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
