"""MinHash near-duplicates on tiny inputs: shingles, LSH candidates, clusters, which copy is kept."""

from __future__ import annotations

import random

import numpy as np
import pytest

from quality.neardup import (
    Deduplicator,
    MinHashSettings,
    candidate_pairs,
    choose_keep,
    connected_components,
    near_duplicate_clusters,
    shingle_hashes,
)
from tests.texts import DUTCH_ARTICLE

OTHER = (
    "Het KNMI verwacht voor het weekend zware windstoten langs de kust van Zeeland en Noord-Holland. "
    "Veerdiensten naar de Waddeneilanden kunnen uitvallen en de NS raadt reizigers aan de reisplanner te "
    "raadplegen voordat zij vertrekken. Zondag wordt het rustiger, met opklaringen in het oosten."
)


def edit(text: str, substitutions: int, seed: int = 0) -> str:
    rng = random.Random(seed)  # noqa: S311 - test data
    words = text.split()
    for _ in range(substitutions):
        words[rng.randrange(len(words))] = "ZZZ"
    return " ".join(words)


def test_shingles_are_distinct_word_5_grams_of_simplified_text():
    hashes = shingle_hashes(["Een twee drie vier vijf zes.", "een, TWEE drie vier vijf zes", "kort"], MinHashSettings())
    per_doc = hashes.unique().group_by("doc").len().sort("doc")["len"].to_list()
    assert per_doc == [2, 2, 1]  # two 5-grams each; a short text is one shingle
    first, second = (set(hashes.filter(hashes["doc"] == d)["hash"].to_list()) for d in (0, 1))
    assert first == second  # case and punctuation do not matter


def test_near_copies_cluster_and_distinct_texts_do_not():
    texts = [DUTCH_ARTICLE, edit(DUTCH_ARTICLE, 1), OTHER, DUTCH_ARTICLE + "\nLees ook: meer nieuws", "", "kort"]
    clusters = near_duplicate_clusters(texts)
    assert clusters[0] == clusters[1] == clusters[3]
    assert len({clusters[0], clusters[2], clusters[4], clusters[5]}) == 4


def test_threshold_removes_weak_candidates():
    heavily_edited = edit(DUTCH_ARTICLE, 12, seed=3)
    loose = near_duplicate_clusters([DUTCH_ARTICLE, heavily_edited], MinHashSettings(bands=30, rows=2))
    strict = near_duplicate_clusters([DUTCH_ARTICLE, heavily_edited], MinHashSettings(bands=30, rows=2, threshold=0.95))
    assert loose[0] == loose[1]
    assert strict[0] != strict[1]


def test_a_large_block_of_equal_keys_costs_a_linear_number_of_pairs():
    import polars as pl

    keys = pl.DataFrame({"doc": list(range(3000)) * 2, "band": [0] * 3000 + [1] * 3000, "key": [9] * 6000})
    pairs = candidate_pairs(keys)
    assert pairs.height == 2999
    assert len(set(connected_components(pairs, 3000).tolist())) == 1


def test_candidate_pairs_and_components():
    import polars as pl

    keys = pl.DataFrame({"doc": [0, 1, 2, 3, 0, 2], "band": [0, 0, 0, 1, 1, 1], "key": [7, 7, 9, 5, 5, 5]})
    pairs = candidate_pairs(keys)
    assert pairs.rows() == [(0, 1), (0, 2), (0, 3)]  # each key's members linked to its first one
    assert connected_components(pairs, 5).tolist() == [0, 0, 0, 0, 4]


def test_keep_priority_then_earliest_then_longest():
    clusters = np.array([0, 0, 0, 3, 3, 5])
    decided = choose_keep(
        clusters,
        ["a", "b", "c", "d", "e", "f"],
        priority=[0, 10, 10, 0, 0, 0],
        published_at=["2026-01-01", "2026-03-01", "2026-02-01", None, None, None],
        lengths=[100, 100, 50, 10, 20, 5],
    )
    assert decided.rows() == [
        ("a", "c", 3, False, "c"),  # the original publisher (priority 10) wins over an earlier aggregator
        ("b", "c", 3, False, "c"),  # same priority: the earliest publication wins
        ("c", "c", 3, True, None),
        ("d", "e", 2, False, "e"),  # no dates: the longest text wins
        ("e", "e", 2, True, None),
        ("f", "f", 1, True, None),
    ]


def test_deduplicator_streams_batches_and_tells_exact_from_near():
    dedup = Deduplicator(priority={"krant": 5})
    dedup.add(["1", "2"], [DUTCH_ARTICLE, OTHER], ["aggregator", "aggregator"], ["2026-01-01", None])
    dedup.add(["3", "4", "5"], [DUTCH_ARTICLE, edit(DUTCH_ARTICLE, 1), "!!!"], ["krant", None, None], [None] * 3)
    decided = dedup.decide()
    assert decided.rows() == [
        ("1", "3", 3, False, "3", "exact"),
        ("2", "2", 1, True, None, None),
        ("3", "3", 3, True, None, None),
        ("4", "3", 3, False, "3", "near"),
        ("5", "5", 1, True, None, None),
    ]


def test_settings_are_checked():
    with pytest.raises(ValueError, match="positive"):
        MinHashSettings(bands=0)
    with pytest.raises(ValueError, match="threshold"):
        MinHashSettings(threshold=1.5)
    assert MinHashSettings().permutations == 112
    assert Deduplicator().decide().height == 0


def test_urls_are_normalised_to_what_copies_of_one_page_share():
    from quality.neardup import normalise_url

    assert normalise_url("https://www.NU.nl/artikel/123/?utm_source=x&id=5#reacties") == "nu.nl/artikel/123?id=5"
    assert normalise_url("http://nu.nl/artikel/123?id=5") == "nu.nl/artikel/123?id=5"
    assert normalise_url("https://nu.nl/artikel/124") != normalise_url("https://nu.nl/artikel/123")
    assert normalise_url("") is None and normalise_url(None) is None and normalise_url("geen url") is None


def test_the_same_page_is_a_duplicate_whatever_its_text():
    dedup = Deduplicator()
    dedup.add(
        ["1", "2", "3"],
        [DUTCH_ARTICLE, OTHER, "Een derde tekst over iets anders dan de brug of het weer in het land."],
        published_at=["2026-01-01", "2026-01-02", None],
        urls=["https://www.krant.nl/brug?utm_medium=rss", "http://krant.nl/brug/", "https://krant.nl/weer"],
    )
    decided = dedup.decide()
    assert decided.select("id", "keep", "duplicate_of").rows() == [
        ("1", True, None),
        ("2", False, "1"),
        ("3", True, None),
    ]
