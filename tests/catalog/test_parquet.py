"""Streaming Parquet writing: one row Arrow cannot hold does not cost the rows around it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.parquet import BatchWriter

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
