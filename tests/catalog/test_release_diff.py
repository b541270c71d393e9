"""Two releases compared by id and content hash: added, removed (with the reason) and changed, per source."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.release_diff import SOURCE_NOT_RELEASED, UNKNOWN, diff_releases
from catalog.storage import Storage
from catalog.zones import clean_excluded_path, excluded_release_path, release_dir

CORPUS = "nl-test"


def _write(storage: Storage, path: str, rows: list[dict[str, Any]]) -> None:
    with storage.staged_file(path) as local:
        pq.write_table(pa.Table.from_pylist(rows), local)


def _release(storage: Storage, version: str, docs: list[tuple[str, str, str]], sources: list[str]) -> dict[str, Any]:
    """A release with one part per source (only the columns the diff reads) and its manifest's entries."""
    files = []
    for n, source in enumerate(sources):
        rows = [{"doc_id": d, "source_id": s, "content_sha256": h} for d, s, h in docs if s == source]
        _write(storage, f"{release_dir(CORPUS, version)}/part-{n:05d}.parquet", rows)
        files.append({"path": f"part-{n:05d}.parquet", "rows": len(rows)})
    return {"corpus": CORPUS, "version": version, "files": files, "sources": [{"source_id": s} for s in sources]}


def _excluded(doc_id: str, reason: str, duplicate_of: str | None = None) -> dict[str, Any]:
    return {"doc_id": doc_id, "excluded_reason": reason, "duplicate_of": duplicate_of}


def test_the_diff_names_every_added_removed_and_changed_document_with_the_known_reason(storage: Storage) -> None:
    old = _release(
        storage,
        "v20260101T000000Z",
        [("a", "krant", "h1"), ("b", "krant", "h2"), ("c", "krant", "h3"), ("d", "krant", "h4"),
         ("f", "krant", "h7"), ("x", "archief", "h5")],
        ["archief", "krant"],
    )  # fmt: skip
    new = _release(
        storage, "v20260102T000000Z", [("a", "krant", "h1"), ("b", "krant", "h2b"), ("e", "krant", "h6")], ["krant"]
    )
    _write(storage, excluded_release_path(CORPUS, new["version"]), [_excluded("c", "near_duplicate", "a")])
    # the clean stage's record of a dropped document; another source's records are not read for this one
    _write(storage, clean_excluded_path("krant"), [_excluded("d", "gopher_below_alpha_threshold")])

    with diff_releases(storage, old, new) as diff:
        added, removed, changed = (list(diff.entries(kind)) for kind in ("added", "removed", "changed"))
        counts, totals = diff.counts, diff.totals()

    assert added == [{"doc_id": "e", "source_id": "krant"}]
    assert changed == [{"doc_id": "b", "source_id": "krant", "old_sha256": "h2", "new_sha256": "h2b"}]
    assert removed == [
        {"doc_id": "x", "source_id": "archief", "reason": SOURCE_NOT_RELEASED, "stage": "release"},
        {"doc_id": "c", "source_id": "krant", "reason": "near_duplicate", "stage": "release", "duplicate_of": "a"},
        {"doc_id": "d", "source_id": "krant", "reason": "gopher_below_alpha_threshold", "stage": "clean"},
        {"doc_id": "f", "source_id": "krant", "reason": UNKNOWN},
    ]
    assert totals == {"added": 1, "removed": 4, "changed": 1}
    assert counts["krant"] == {
        "added": 1, "removed": 3, "changed": 1,
        "removed_by_reason": {"gopher_below_alpha_threshold": 1, "near_duplicate": 1, UNKNOWN: 1},
    }  # fmt: skip
    assert counts["archief"]["removed_by_reason"] == {SOURCE_NOT_RELEASED: 1}


def test_a_release_compared_with_itself_has_no_differences(storage: Storage) -> None:
    release = _release(storage, "v20260101T000000Z", [("a", "krant", "h1")], ["krant"])
    with diff_releases(storage, release, release) as diff:
        assert diff.counts == {} and diff.totals() == {"added": 0, "removed": 0, "changed": 0}
        assert list(diff.entries("removed")) == []


def test_releases_of_two_corpora_are_not_compared(storage: Storage) -> None:
    release = _release(storage, "v20260101T000000Z", [("a", "krant", "h1")], ["krant"])
    with pytest.raises(ValueError, match="different corpora"):
        diff_releases(storage, release, {**release, "corpus": "other"})
