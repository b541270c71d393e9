from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quality.dedup import KEY_COLUMNS, DropCursor, duplicate_drops_sql, split_by_drops, with_exclusion

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def keys_file(path: Path, rows: list[tuple[str, str, datetime | None]], source_id: str = "bron") -> str:
    """A tiny Parquet file with the key columns (doc_id, content_sha256, published_at) and a payload."""
    table = pa.table(
        {
            "doc_id": [r[0] for r in rows],
            "content_sha256": [r[1] for r in rows],
            "published_at": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
            "fetched_at": pa.array([T0] * len(rows), pa.timestamp("us", tz="UTC")),
            "source_id": [source_id] * len(rows),
            "text": [f"tekst van {r[0]}" for r in rows],
        }
    )
    pq.write_table(table, path)
    return str(path)


def drops(con: duckdb.DuckDBPyConnection, files: list[str], order_by: str) -> list[tuple[int, int, str, str]]:
    return [tuple(row) for row in con.execute(duplicate_drops_sql(files, order_by)).fetchall()]  # type: ignore[misc]


def test_first_by_order_is_kept_and_others_point_to_it(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = keys_file(
        tmp_path / "a.parquet",
        [
            ("d0", "h-a", datetime(2026, 3, 1, tzinfo=UTC)),
            ("d1", "h-a", datetime(2026, 1, 1, tzinfo=UTC)),
            ("d2", "h-a", None),
            ("d3", "h-b", datetime(2026, 2, 1, tzinfo=UTC)),
            ("d4", "h-b", datetime(2026, 2, 1, tzinfo=UTC)),
            ("d5", "h-c", None),
        ],
    )
    assert drops(con, [path], "published_at NULLS LAST, file_idx, row") == [
        (0, 0, "duplicate_content", "d1"),  # d1 is the earliest publication
        (0, 2, "duplicate_content", "d1"),  # NULLS LAST: an undated copy never wins over a dated one
        (0, 4, "duplicate_content", "d3"),  # same date: the earlier row wins
    ]
    # the rule is the caller's: another order keeps other copies
    assert drops(con, [path], "row DESC") == [
        (0, 0, "duplicate_content", "d2"),
        (0, 1, "duplicate_content", "d2"),
        (0, 3, "duplicate_content", "d4"),
    ]


def test_no_duplicates_drops_nothing(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = keys_file(tmp_path / "a.parquet", [("d0", "h0", None), ("d1", "h1", None), ("d2", "h2", T0)])
    assert drops(con, [path], "published_at NULLS LAST, row") == []


def test_superseded_record_last_delivery_wins(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = keys_file(
        tmp_path / "a.parquet",
        [("x", "h-oud", None), ("y", "h-y", None), ("x", "h-nieuw", None), ("x", "h-nieuwst", None)],
    )
    assert drops(con, [path], "row") == [
        (0, 0, "superseded_record", "x"),
        (0, 2, "superseded_record", "x"),
    ]


def test_superseded_copy_does_not_count_as_content_duplicate(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    # row 0 is replaced by row 2; only the latest delivery takes part in content deduplication
    path = keys_file(tmp_path / "a.parquet", [("x", "h", None), ("y", "h2", None), ("x", "h2", None)])
    assert drops(con, [path], "row") == [
        (0, 0, "superseded_record", "x"),
        (0, 2, "duplicate_content", "y"),
    ]


def test_across_files(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    a = keys_file(tmp_path / "a.parquet", [("a0", "h", datetime(2026, 5, 2, tzinfo=UTC)), ("a1", "h1", None)], "bron-a")
    b = keys_file(tmp_path / "b.parquet", [("b0", "h1", None), ("b1", "h", datetime(2026, 5, 1, tzinfo=UTC))], "bron-b")
    order = "published_at NULLS LAST, fetched_at, source_id, doc_id"
    assert drops(con, [a, b], order) == [
        (0, 0, "duplicate_content", "b1"),  # bron-b published it first
        (1, 0, "duplicate_content", "a1"),  # undated tie: source_id breaks it
    ]


def test_no_files_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one file"):
        duplicate_drops_sql([], "row")


def test_file_path_is_quoted(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    folder = tmp_path / "map van d'Artagnan"
    folder.mkdir()
    path = keys_file(folder / "a.parquet", [("d0", "h", None), ("d1", "h", None)])
    assert drops(con, [path], "row") == [(0, 1, "duplicate_content", "d0")]


def test_key_columns_are_in_the_document_schema() -> None:
    from catalog.documents import DOCUMENT_SCHEMA

    assert set(KEY_COLUMNS) <= set(DOCUMENT_SCHEMA.names)
    assert "text" not in KEY_COLUMNS  # decisions never read the text


def test_drop_cursor_walks_files_in_order() -> None:
    cursor = DropCursor(
        [(0, 1, "duplicate_content", "a"), (0, 5, "superseded_record", "b"), (2, 0, "duplicate_content", "c")]
    )
    assert not cursor.exhausted()
    assert list(cursor.for_file(0)) == [(1, "duplicate_content", "a"), (5, "superseded_record", "b")]
    assert list(cursor.for_file(1)) == []
    assert not cursor.exhausted()
    assert list(cursor.for_file(2)) == [(0, "duplicate_content", "c")]
    assert cursor.exhausted()
    assert DropCursor([]).exhausted()


def test_drop_cursor_from_duckdb_arrow_reader(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    rows = [("d0", "h", None), ("d1", "h", None), ("d2", "h3", None), ("d0", "h3", None)]
    path = keys_file(tmp_path / "a.parquet", rows)
    cursor = DropCursor.from_arrow(con.sql(duplicate_drops_sql([path], "row")).to_arrow_reader(1))
    assert list(cursor.for_file(0)) == [(0, "superseded_record", "d0"), (3, "duplicate_content", "d2")]
    assert cursor.exhausted()


def test_split_by_drops_across_batch_boundaries() -> None:
    table = pa.table({"n": list(range(7))})
    batches = table.to_batches(max_chunksize=3)  # rows 0-2, 3-5, 6
    assert [b.num_rows for b in batches] == [3, 3, 1]
    decisions = [(2, "duplicate_content", "x"), (3, "superseded_record", "y"), (6, "duplicate_content", "z")]
    out = list(split_by_drops(batches, decisions))
    assert [k.column("n").to_pylist() for k, _, _, _ in out] == [[0, 1], [4, 5], []]
    assert [d.column("n").to_pylist() for _, d, _, _ in out] == [[2], [3], [6]]
    assert [(r, dup) for _, _, r, dup in out] == [
        (["duplicate_content"], ["x"]),
        (["superseded_record"], ["y"]),
        (["duplicate_content"], ["z"]),
    ]


def test_split_by_drops_without_decisions_keeps_everything() -> None:
    batches = pa.table({"n": [1, 2, 3]}).to_batches()
    ((kept, dropped, reasons, duplicates),) = list(split_by_drops(batches, []))
    assert kept.column("n").to_pylist() == [1, 2, 3]
    assert (dropped.num_rows, reasons, duplicates) == (0, [], [])


def test_split_by_drops_rejects_a_decision_past_the_end() -> None:
    batches = pa.table({"n": [1, 2]}).to_batches()
    with pytest.raises(ValueError, match="past the end"):
        list(split_by_drops(batches, [(5, "duplicate_content", "x")]))


def test_with_exclusion_adds_the_excluded_columns() -> None:
    dropped = pa.table({"doc_id": ["a", "b"]}).to_batches()[0]
    out = with_exclusion(dropped, "clean", ["superseded_record", "duplicate_content"], ["a", "c"])
    assert out.schema.names == ["doc_id", "excluded_stage", "excluded_reason", "duplicate_of"]
    assert out.to_pylist() == [
        {"doc_id": "a", "excluded_stage": "clean", "excluded_reason": "superseded_record", "duplicate_of": "a"},
        {"doc_id": "b", "excluded_stage": "clean", "excluded_reason": "duplicate_content", "duplicate_of": "c"},
    ]


def test_a_document_is_never_a_content_duplicate_of_itself(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    # the same document (same text) delivered in two files: the older row is superseded, not a duplicate
    a = keys_file(tmp_path / "a.parquet", [("x", "h", None), ("y", "h-y", None)])
    b = keys_file(tmp_path / "b.parquet", [("x", "h", None)])
    assert drops(con, [a, b], "published_at NULLS LAST, file_idx, row") == [(0, 0, "superseded_record", "x")]
