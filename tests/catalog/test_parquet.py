"""Streaming Parquet writing: one row Arrow cannot hold does not cost the rows around it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.parquet import BackgroundWrites, BatchWriter

SCHEMA = pa.schema([pa.field("id", pa.string(), nullable=False), pa.field("score", pa.float64())])


def test_isolating_writer_hands_back_the_rows_arrow_refuses(tmp_path: Path) -> None:
    rows = [{"id": "a", "score": 1.0}, {"id": "b", "score": "hoog"}, {"id": "\ud800", "score": None}, {"id": "d"}]
    with BatchWriter(tmp_path / "x.parquet", SCHEMA, batch_rows=3, isolate_bad_rows=True) as writer:
        refused = [rejected for row in rows for rejected in writer.write_row(row)]
        refused += writer.flush()
    assert [(r.row["id"], r.error) for r in refused] == [("b", "ArrowInvalid"), ("\ud800", "UnicodeEncodeError")]
    assert writer.rows_written == 2
    assert pq.read_table(tmp_path / "x.parquet").to_pylist() == [{"id": "a", "score": 1.0}, {"id": "d", "score": None}]


def test_a_plain_writer_still_fails_on_a_bad_row(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path / "y.parquet", SCHEMA)
    writer.write_row({"id": "b", "score": "hoog"})
    with pytest.raises(pa.ArrowInvalid):
        writer.close()


def test_background_writes_keep_their_order_per_file(tmp_path: Path) -> None:
    with (
        BatchWriter(tmp_path / "a.parquet", SCHEMA) as first,
        BatchWriter(tmp_path / "b.parquet", SCHEMA) as second,
        BackgroundWrites(depth=2) as background,
    ):
        for n in range(50):
            batch = pa.record_batch({"id": [str(n)], "score": [float(n)]}, schema=SCHEMA)
            background.write_batch(first if n % 3 else second, batch)
    assert first.rows_written + second.rows_written == 50
    assert [row["id"] for row in pq.read_table(tmp_path / "a.parquet").to_pylist()] == [
        str(n) for n in range(50) if n % 3
    ]
    assert [row["id"] for row in pq.read_table(tmp_path / "b.parquet").to_pylist()] == [
        str(n) for n in range(50) if not n % 3
    ]


def test_a_failed_background_write_is_raised_to_the_caller(tmp_path: Path) -> None:
    wrong = pa.record_batch({"other": [1]})
    with BatchWriter(tmp_path / "c.parquet", SCHEMA) as writer:
        background = BackgroundWrites()
        background.write_batch(writer, wrong)
        with pytest.raises(KeyError):
            background.close()
    # the caller's own error wins, and no thread is left behind
    with pytest.raises(ValueError, match="mine"), BackgroundWrites() as background:
        background.write_batch(writer, wrong)
        raise ValueError("mine")
    assert not background._thread.is_alive()
