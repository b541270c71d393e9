"""Fixtures of the stage tests: a storage root and sources ingested from tiny drops."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.sources import parse_spec
from catalog.storage import Storage
from stages.ingest import ingest_source

# The stage tests ingest and clean tiny sources into a real storage zone, like the catalog tests.
from tests.catalog.conftest import (  # noqa: F401 - shared fixtures
    clean_partition,
    data_dir,
    declare_drop_folders,
    drop_folders,
    make_spec,
    storage,
)

#: Increasing modification times: every rewrite of the drop is seen as a change by the files cursor.
_MTIMES = itertools.count(1_900_000_000)


@pytest.fixture
def ingested(tmp_path: Path, storage: Storage, monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:  # noqa: F811
    """Write a tiny JSONL drop, ingest it into ``storage`` and return the ingest report.

    Calling it again rewrites the drop file (with a new modification time), so the next ingest run reads
    the new delivery: a second call is a re-delivery of the source.
    """
    declare_drop_folders(monkeypatch, tmp_path)  # the drop is written under tmp_path

    def ingest(records: list[Any], source_id: str = "test-bron") -> dict[str, Any]:
        drop = tmp_path / "drop"
        drop.mkdir(exist_ok=True)
        lines = [r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode() for r in records]
        path = drop / f"{source_id}.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        stamp = next(_MTIMES)
        os.utime(path, (stamp, stamp))
        spec = parse_spec(
            {
                "id": source_id,
                "name": "Testbron",
                "owner": {"organisation": "Test", "contact": "data@test.example"},
                "legal_basis": "not-applicable",
                "sector": "test",
                "kind": "files",
                "format": "jsonl",
                "location": f"{source_id}.jsonl",
                "licence": "CC-BY-4.0",
                "personal_data": "none",
                "status": "approved",
            },
            base_dir=drop,
        )
        return ingest_source(storage, spec)

    return ingest
