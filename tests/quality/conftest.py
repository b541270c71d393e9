from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.ingest import ingest_source
from catalog.sources import parse_spec
from catalog.storage import Storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(str(tmp_path / "store"))


@pytest.fixture
def ingested(tmp_path: Path, storage: Storage) -> Callable[..., dict[str, Any]]:
    """Write a tiny JSONL drop, ingest it into ``storage`` and return the ingest report."""

    def ingest(records: list[Any], source_id: str = "test-bron") -> dict[str, Any]:
        drop = tmp_path / "drop"
        drop.mkdir(exist_ok=True)
        lines = [r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode() for r in records]
        (drop / f"{source_id}.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
        spec = parse_spec(
            {
                "id": source_id,
                "name": "Testbron",
                "owner": "Test",
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
