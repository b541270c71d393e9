"""The persistent near-duplicate index on tiny in-memory batches: versions of a document, reused decisions."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pyarrow as pa
import pytest

from catalog.storage import Storage
from quality.dedup_index import NearDuplicateIndex, release_ranks
from quality.neardup import MinHashSettings
from tests.texts import DUTCH_ARTICLE

WEATHER = (
    "Het KNMI verwacht voor het weekend zware windstoten langs de kust van Zeeland en Noord-Holland. "
    "Veerdiensten naar de Waddeneilanden kunnen uitvallen en de NS raadt reizigers aan de reisplanner te "
    "raadplegen voordat zij vertrekken. Zondag wordt het rustiger, met opklaringen in het oosten."
)


def batch(*docs: tuple[str, str, str]) -> pa.RecordBatch:
    """Candidate documents ``(doc_id, source_id, text)`` as the release streams them."""
    rows: list[dict[str, Any]] = [
        {
            "doc_id": doc,
            "source_id": source,
            "published_at": None,
            "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "url": None,
            "text": text,
        }
        for doc, source, text in docs
    ]
    return pa.RecordBatch.from_pylist(rows)


@pytest.fixture
def index(storage: Storage) -> NearDuplicateIndex:
    return NearDuplicateIndex(storage, "nl-test", MinHashSettings(), priority={"krant": 10, "aggregator": 1})


def test_a_newer_version_replaces_the_published_one(index: NearDuplicateIndex) -> None:
    first = index.plan([batch(("art-1", "krant", DUTCH_ARTICLE))])
    index.commit(first, "v20260101T000000Z")
    corrected = DUTCH_ARTICLE.replace("ruim een jaar", "ruim anderhalf jaar")
    second = index.plan([batch(("art-1", "krant", corrected))])
    assert second.drops == {}  # never a near duplicate of its own earlier version
    assert second.counts()["replaced_by_newer_version"] == 1
    assert second.hashed == 1
    index.commit(second, "v20260102T000000Z")
    (current,) = index.published().select("doc_id", "content_sha256", "release").unique().rows()
    assert current == ("art-1", hashlib.sha256(corrected.encode()).hexdigest(), "v20260102T000000Z")


def test_a_document_twice_among_the_candidates_is_an_error(index: NearDuplicateIndex) -> None:
    with pytest.raises(ValueError, match="art-1 appears twice"):
        index.plan([batch(("art-1", "krant", DUTCH_ARTICLE)), batch(("art-1", "krant", DUTCH_ARTICLE + " Slot."))])


def test_judging_an_earlier_drop_again_reads_the_documents_twice(index: NearDuplicateIndex) -> None:
    copy = DUTCH_ARTICLE.replace("dinsdag", "gisteren")
    first = index.plan([batch(("wire", "aggregator", copy), ("brug", "krant", DUTCH_ARTICLE))])
    assert first.drops == {"wire": "brug"}
    index.commit(first, "v20260101T000000Z")
    # the paper's story is replaced by other text: the wire copy's drop must be decided again
    candidates = [batch(("wire", "aggregator", copy), ("brug", "krant", WEATHER))]
    with pytest.raises(ValueError, match="second read"):
        index.plan(iter(candidates))
    again = index.plan(lambda: iter(candidates))
    assert again.drops == {} and again.reused == 0 and again.hashed == 2
    assert index.plan(candidates).drops == {}  # a list can be read twice as well


def test_release_ranks_order_same_second_builds_numerically() -> None:
    ranks = release_ranks(["v20260101T000000Z-10", "v20260101T000000Z-2", "v20260101T000000Z", "v20251231T000000Z"])
    assert sorted(ranks, key=ranks.__getitem__) == [
        "v20251231T000000Z", "v20260101T000000Z", "v20260101T000000Z-2", "v20260101T000000Z-10"
    ]  # fmt: skip


# --- the out-of-core plan decides as the earlier in-memory one ---------------------------------------------------


def _variant(text: str, rng: random.Random) -> str:
    """A near copy: one word replaced."""
    words = text.split()
    words[rng.randrange(len(words))] = rng.choice(["gisteren", "vandaag", "morgen", "opnieuw"])
    return " ".join(words)


def _random_release(rng: random.Random, previous: dict[str, dict[str, Any]], pool: list[str], step: int) -> dict:
    """The next release's documents: most earlier ones unchanged, some withdrawn or corrected, new ones added."""
    docs: dict[str, dict[str, Any]] = {}
    for doc, row in previous.items():
        roll = rng.random()
        if roll < 0.1:
            continue  # withdrawn
        docs[doc] = row | {"text": _variant(row["text"], rng)} if roll < 0.2 else row
    for k in range(rng.randint(8, 20)):
        base = rng.choice(pool)
        docs[f"d{step}-{k}"] = {
            "source_id": rng.choice(["krant", "aggregator", "blog"]),
            "published_at": rng.choice([None, "2026-01-01", "2026-02-01"]),
            "url": rng.choice([None, None, None, "https://www.nos.nl/a/1", "https://nos.nl/a/2?utm_source=x"]),
            "text": base if rng.random() < 0.3 else _variant(base, rng),
        }
    return docs


def _candidates(docs: dict[str, dict[str, Any]]) -> list[pa.RecordBatch]:
    rows = [
        {"doc_id": doc, **row, "content_sha256": hashlib.sha256(row["text"].encode()).hexdigest()}
        for doc, row in docs.items()
    ]
    order = ["doc_id", "source_id", "published_at", "content_sha256", "url", "text"]
    return [
        pa.RecordBatch.from_pylist([{k: r[k] for k in order} for r in rows[i : i + 7]]) for i in range(0, len(rows), 7)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("threshold", [None, 0.7])
def test_the_plan_equals_the_in_memory_reference_on_a_random_index(
    storage: Storage, seed: int, threshold: float | None
) -> None:
    from benchmarks.bench_neardup_reduce import plan_summary, reference_plan

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    words = DUTCH_ARTICLE.split() + WEATHER.split()
    pool = [DUTCH_ARTICLE, WEATHER] + [" ".join(rng.choices(words, k=60)) for _ in range(6)]
    index = NearDuplicateIndex(
        storage, "nl-random", MinHashSettings(threshold=threshold), priority={"krant": 10, "aggregator": 1}
    )
    docs: dict[str, dict[str, Any]] = {}
    published: list[str] = []
    dropped = reused = 0
    for step in range(5):
        docs = _random_release(rng, docs, pool, step)
        candidates = _candidates(docs)
        plan = index.plan(candidates, releases=set(published), batch_docs=5)
        assert plan_summary(plan) == plan_summary(reference_plan(index, candidates, releases=set(published)))
        version = f"v2026010{step + 1}T000000Z"
        index.commit(plan, version)
        if step < 2 or rng.random() < 0.7:  # else the build died before its manifest: its parts must not count
            published.append(version)
        dropped += len(plan.drops)
        reused += plan.reused
    assert dropped and reused  # the random releases did exercise drops and reused decisions


def test_the_plan_spills_under_a_tiny_memory_limit(storage: Storage) -> None:
    from benchmarks.bench_neardup_reduce import CORPUS, PRIORITY, RELEASES, Synthetic, plan_summary, reference_plan

    synthetic = Synthetic(150_000, new=300, dup_share=0.1)
    index = NearDuplicateIndex(storage, CORPUS, priority=PRIORITY, memory_limit="40MB", threads=1)
    synthetic.write_index(storage, index)
    plan = index.plan(synthetic.batches, releases=set(RELEASES))
    expected = reference_plan(index, synthetic.batches, releases=set(RELEASES))
    assert plan_summary(plan) == plan_summary(expected)
    assert plan.matched_published >= 30 and plan.reused > 0 and plan.replaced > 0
