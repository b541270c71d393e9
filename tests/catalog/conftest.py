from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anonymisation.anonymiser import Anonymiser
from catalog.drops import bundled_samples_dir
from catalog.settings import ENV_DROP_FOLDERS
from catalog.sources import SourceSpec, parse_spec
from catalog.storage import Storage
from stages.anonymise import anonymise_source
from stages.clean import clean_source
from stages.ingest import ingest_source

#: A fixed, increasing modification time for rewritten drop files, so a rewrite is always seen as a change
#: by the files connector's cursor (size + mtime), however fast the test runs.
_MTIMES = itertools.count(1_900_000_000)


def spec_data(source_id: str = "test-bron", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": source_id,
        "name": "Testbron",
        "owner": {"organisation": "Testorganisatie", "contact": "data@test.example"},
        "legal_basis": "not-applicable",
        "sector": "test",
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


def write_drop(path: Path, content: bytes | list[Any]) -> Path:
    """Write a drop file (bytes, or JSONL records) and give it a new modification time."""
    path.write_bytes(content if isinstance(content, bytes) else jsonl_bytes(content))
    stamp = next(_MTIMES)
    os.utime(path, (stamp, stamp))
    return path


def read_table(storage: Storage, rel: str) -> pa.Table:
    with storage.open_input(rel) as handle:
        return pq.read_table(handle)


def declare_drop_folders(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make a test's temporary folder (where its drops are written) and the bundled samples the operator's
    drop folders. A storage root inside it stays unreadable; tests of the rule itself set their own.
    """
    monkeypatch.setenv(ENV_DROP_FOLDERS, f"{folder}{os.pathsep}{bundled_samples_dir()}")


@pytest.fixture(autouse=True)
def drop_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every catalog test may read partner files from its own temporary folder."""
    declare_drop_folders(monkeypatch, tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    declare_drop_folders(monkeypatch, tmp_path)  # also for the other test folders that share this fixture
    return folder


@pytest.fixture
def make_spec(data_dir: Path) -> Callable[..., SourceSpec]:
    """Write ``content`` (bytes, or a list of JSONL records) into the drop folder and return a spec for it."""

    def make(content: bytes | list[Any] | None = None, source_id: str = "test-bron", **overrides: Any) -> SourceSpec:
        data = spec_data(source_id, **overrides)
        if content is not None:
            write_drop(data_dir / data["location"], content)
        return parse_spec(data, origin=f"<{source_id}>", base_dir=data_dir)

    return make


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(str(tmp_path / "store"))


TEST_KEY = b"test-key-for-corpusfabriek-tests-only"


@pytest.fixture
def clean_partition(storage: Storage, make_spec: Callable[..., SourceSpec]) -> Callable[..., dict[str, Any]]:
    """Ingest, clean and anonymise a tiny JSONL source; return its anonymisation report.

    That report is what a release is built from.
    """

    def make(source_id: str, records: list[Any], **overrides: Any) -> dict[str, Any]:
        spec = make_spec(records, source_id=source_id, **overrides)
        ingest_source(storage, spec)
        report = clean_source(storage, source_id)
        anonymiser = Anonymiser.from_policy(spec.anonymisation, TEST_KEY)
        return anonymise_source(
            storage, source_id, anonymiser, operator=spec.anonymisation.operator, clean_report=report
        )

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
