"""The persistent near-duplicate index on tiny in-memory batches: versions of a document, reused decisions."""

from __future__ import annotations

import hashlib
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
