from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from catalog.ingest import ingest_source
from catalog.sources import SourceSpec, parse_spec
from catalog.storage import Storage
from quality.clean import clean_source


def spec_data(source_id: str = "test-bron", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": source_id,
        "name": "Testbron",
        "owner": "Testorganisatie",
        "kind": "files",
        "format": "jsonl",
        "location": f"{source_id}.jsonl",
        "licence": "EUPL-1.2",
        "personal_data": "none",
        "status": "approved",
    }
    data.update(overrides)
    return data


def jsonl_bytes(records: Iterable[Any]) -> bytes:
    return b"".join(
        (r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode("utf-8")) + b"\n" for r in records
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


@pytest.fixture
def make_spec(data_dir: Path) -> Callable[..., SourceSpec]:
    """Write ``content`` (bytes, or a list of JSONL records) into the drop folder and return a spec for it."""

    def make(content: bytes | list[Any] | None = None, source_id: str = "test-bron", **overrides: Any) -> SourceSpec:
        data = spec_data(source_id, **overrides)
        if content is not None:
            payload = content if isinstance(content, bytes) else jsonl_bytes(content)
            (data_dir / data["location"]).write_bytes(payload)
        return parse_spec(data, origin=f"<{source_id}>", base_dir=data_dir)

    return make


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(str(tmp_path / "store"))


@pytest.fixture
def clean_partition(storage: Storage, make_spec: Callable[..., SourceSpec]) -> Callable[..., dict[str, Any]]:
    """Ingest and clean a tiny JSONL source; return its clean report (what a release is built from)."""

    def make(source_id: str, records: list[Any], **overrides: Any) -> dict[str, Any]:
        spec = make_spec(records, source_id=source_id, **overrides)
        ingest_source(storage, spec)
        return clean_source(storage, source_id)

    return make


def numbered_records(prefix: str, count: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{n}",
            "text": f"Tekst nummer {n} van bron {prefix}.",
            "published_at": f"2026-01-{n % 28 + 1:02d}",
        }
        for n in range(start, start + count)
    ]
