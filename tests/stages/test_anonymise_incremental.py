"""Incremental, sharded anonymisation: only new and changed documents are anonymised, the zone is as from scratch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anonymisation.anonymiser import Anonymiser
from anonymisation.operators import check_key
from catalog.documents import DOCUMENT_SCHEMA, code_version, make_doc_id
from catalog.keys import root_key
from catalog.settings import KEY_ENV
from catalog.sources import AnonymisationPolicy
from catalog.storage import Storage
from catalog.zones import (
    anonymise_shards_folder,
    anonymised_inputs_path,
    anonymised_path,
    anonymised_report_path,
    clean_path,
)
from stages.anonymise import anonymise_source
from stages.executors import InlineExecutor, ProcessExecutor, ShardFailure, ShardResult, ShardSize, ShardTask
from tests.catalog.conftest import TEST_KEY

SOURCE = "bron-a"
POLICY = AnonymisationPolicy()
CLEAN_REPORT = {
    "ingest_id": "20260101T000000Z-test",
    "ingested_at": "2026-01-01T00:00:00+00:00",
    "licence": "EUPL-1.2",
    "code_version": "test",
}
#: The report fields that say what the zone holds (not how it was made or how fast).
CONTENT_FIELDS = (
    "documents_in",
    "documents_out",
    "documents_with_personal_data",
    "replacements",
    "replacements_by_entity",
    "kept_names",
    "fields_pseudonymised",
    "chars",
)


def _row(n: int, text: str | None = None, *, fetched: int = 1) -> dict[str, Any]:
    native_id = f"doc-{n}"
    metadata = {"creator": f"Jansen, J.{n}", "rights": f"redactie{n}@example.nl"} if n % 3 == 0 else None
    return {
        "doc_id": make_doc_id(SOURCE, native_id),
        "source_id": SOURCE,
        "native_id": native_id,
        "url": f"https://krant.example/artikel/{n}/jan-de-vries" if n % 2 else None,
        "title": f"Bericht {n} over Jan de Vries" if n % 2 else None,
        "text": text or f"Jan de Vries (BSN 111222333) mailt naar jan{n}@example.nl of belt 06-1234567{n % 10}.",
        "lang": "nl",
        "published_at": dt.datetime(2025, 12, n % 28 + 1, 8, tzinfo=dt.UTC) if n % 2 else None,
        "fetched_at": dt.datetime(2026, 1, fetched, tzinfo=dt.UTC),
        "licence": "EUPL-1.2",
        "content_sha256": "0" * 64,
        "annotations": {
            # one document without raw annotations: a reused one keeps the null
            "raw": None
            if n == 4
            else {
                "ingest_id": f"ingest-{fetched}",
                "location": "https://archief.example/oai",
                "record": f"item {n}",
                "code_version": "test",
                "fetch_mode": "record",
                "ocr_confidence": 0.9,
                "source_metadata": json.dumps(metadata) if metadata else None,
            },
            "clean": {
                "code_version": f"clean-{fetched}",
                "text_changed": False,
                "chars_before": 10,
                "chars_after": 10,
                "lang_score": 0.99,
                "quality": {"words": float(n), "ratio": 0.5},
            },
            "anonymised": None,
        },
    }


def _write_clean(storage: Storage, rows: Sequence[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(list(rows), schema=DOCUMENT_SCHEMA)
    path = Path(storage.url(clean_path(SOURCE)))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _run(storage: Storage, key: bytes = TEST_KEY, key_id: str = "key-1", **options: Any) -> dict[str, Any]:
    anonymiser = Anonymiser.from_policy(POLICY, key)
    return dict(
        anonymise_source(
            storage,
            SOURCE,
            anonymiser,
            operator=POLICY.operator,
            clean_report=CLEAN_REPORT,
            key_id=key_id,
            policy=POLICY,
            **options,
        )
    )


def _zone(storage: Storage) -> list[dict[str, Any]]:
    table = pq.read_table(storage.url(anonymised_path(SOURCE)))
    assert table.schema.equals(DOCUMENT_SCHEMA)
    return sorted(table.to_pylist(), key=lambda row: row["doc_id"])


def _content(report: dict[str, Any]) -> dict[str, Any]:
    return {name: report[name] for name in CONTENT_FIELDS}


def _zone_bytes(storage: Storage) -> dict[str, bytes]:
    paths = (anonymised_path(SOURCE), anonymised_report_path(SOURCE), anonymised_inputs_path(SOURCE))
    return {path: storage.read_bytes(path) for path in paths}


ROWS = [_row(n) for n in range(8)]


def test_a_second_run_with_nothing_new_anonymises_nothing_and_keeps_every_row(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    _write_clean(storage, ROWS)
    first = _run(storage)
    assert first["documents_anonymised"] == 8 and first["documents_reused"] == 0
    assert first["reprocessed_reason"] == "no previous anonymised snapshot"
    before = _zone(storage)
    second = _run(storage)
    assert second["documents_anonymised"] == 0 and second["documents_reused"] == 8
    assert second["reprocessed_reason"] is None and second["shards"] == 0
    assert _zone(storage) == before
    assert _content(second) == _content(first)
    assert not storage.exists(anonymise_shards_folder(SOURCE))  # staging removed
    inputs = pq.read_table(storage.url(anonymised_inputs_path(SOURCE)))
    assert inputs.column_names == ["doc_id", "input_digest"] and inputs.num_rows == 8


def test_only_new_and_changed_documents_are_anonymised_and_the_zone_equals_a_fresh_run(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    _write_clean(storage, ROWS)
    _run(storage)
    # a re-delivery: one document changed, one new, and every row re-fetched (clean fields change, not inputs)
    rows = [_row(n, fetched=2) for n in range(8)] + [_row(8, fetched=2)]
    rows[5] = _row(5, "Piet Bakker verhuisde naar Utrecht; bel 06-87654321.", fetched=2)
    _write_clean(storage, rows)
    again = _run(storage)
    assert again["documents_anonymised"] == 2 and again["documents_reused"] == 7
    fresh = Storage(str(tmp_path / "fresh"))
    _write_clean(fresh, rows)
    scratch = _run(fresh)
    assert _zone(storage) == _zone(fresh)  # same surrogates: anonymisation is deterministic per key
    assert _content(again) == _content(scratch)


def test_a_new_key_reanonymises_everything_and_says_why(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    _write_clean(storage, ROWS)
    _run(storage)
    other = _run(storage, key=b"another-key-for-corpusfabriek-tests", key_id="key-2")
    assert other["documents_reused"] == 0 and other["documents_anonymised"] == 8
    assert other["reprocessed_reason"] == "key changed (key-1 -> key-2)"
    again = _run(storage, key=b"another-key-for-corpusfabriek-tests", key_id="key-2")
    assert again["documents_reused"] == 8 and again["reprocessed_reason"] is None


def test_a_changed_policy_reanonymises_everything(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    _write_clean(storage, ROWS)
    _run(storage)
    policy = AnonymisationPolicy(keep_names=["Jan de Vries"])
    report = anonymise_source(
        storage,
        SOURCE,
        Anonymiser.from_policy(policy, TEST_KEY),
        operator=policy.operator,
        clean_report=CLEAN_REPORT,
        key_id="key-1",
        policy=policy,
    )
    assert report["documents_reused"] == 0 and report["reprocessed_reason"] == "anonymisation policy changed"
    assert report["kept_names"] > 0


def test_a_run_that_died_before_its_report_is_not_trusted(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    _write_clean(storage, ROWS)
    _run(storage)
    report = storage.read_json(anonymised_report_path(SOURCE))
    storage.write_json(anonymised_report_path(SOURCE), {**report, "generation": "an-older-run"})
    again = _run(storage)
    assert again["documents_reused"] == 0 and again["reprocessed_reason"] == "the previous run did not complete"


def _worker_env() -> dict[str, str]:
    # the shard workers find the key in the environment and this checkout's code on PYTHONPATH
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, KEY_ENV: TEST_KEY.decode(), "PYTHONPATH": path}


def test_shards_on_two_worker_processes_give_the_zone_of_one_in_process_run(tmp_path):
    rows = [_row(n) for n in range(12)]
    single = Storage(str(tmp_path / "single"))
    _write_clean(single, rows)
    one = _run(single)
    sharded = Storage(str(tmp_path / "sharded"))
    _write_clean(sharded, rows)
    key_id = root_key(sharded, check=check_key, env={KEY_ENV: TEST_KEY.decode()}).key_id
    lines: list[str] = []
    two = _run(
        sharded,
        key_id=key_id,
        executor=ProcessExecutor(workers=2, env=_worker_env()),
        shard_size=ShardSize(documents=4, bytes=10_000),
        progress=lines.append,
    )
    # 12 documents at most 4 per shard: 3 shards, rounded up to 4 of 3 so that neither worker idles at the end
    assert two["shards"] == 4 and two["executor"] == "process (2 workers)" and len(lines) == 4
    assert all("shard" in str(line) and "Jan" not in str(line) for line in lines)  # counts and times, never text
    assert _zone(sharded) == _zone(single)
    assert _content(two) == _content(one)
    # a byte bound splits as well: every document here is over 50 bytes
    again = Storage(str(tmp_path / "bytes"))
    _write_clean(again, rows)
    assert _run(again, shard_size=ShardSize(documents=100, bytes=250))["shards"] >= 4
    assert _zone(again) == _zone(single)


def test_shard_workers_stamp_the_stage_code_version_not_their_own(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    _write_clean(storage, [_row(n) for n in range(6)])
    key_id = root_key(storage, check=check_key, env={KEY_ENV: TEST_KEY.decode()}).key_id
    if "+g" not in code_version():
        pytest.skip("no git checkout here: every process has the package's version")
    # workers that cannot ask git have only the package's version: another checkout on a node, say
    env = {**_worker_env(), "PATH": str(tmp_path / "no-git-here")}
    report = _run(
        storage, key_id=key_id, executor=ProcessExecutor(workers=2, env=env), shard_size=ShardSize(documents=3)
    )
    assert report["shards"] == 2
    assert {row["annotations"]["anonymised"]["code_version"] for row in _zone(storage)} == {report["code_version"]}


@dataclasses.dataclass
class _BreakOneShard:
    """Runs the tasks inline, but one shard reads an input that does not exist."""

    inner: InlineExecutor
    broken: str

    def run(self, tasks: Sequence[ShardTask], progress: Any = None) -> list[ShardResult]:
        def maybe_break(task: ShardTask) -> ShardTask:
            if not task.name.endswith(self.broken):
                return task
            argv = list(task.argv)
            argv[argv.index("--input") + 1] += ".missing"
            return ShardTask(task.name, tuple(argv))

        return self.inner.run([maybe_break(task) for task in tasks], progress)


def test_a_failing_shard_fails_the_stage_by_name_and_leaves_the_previous_zone(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    _write_clean(storage, ROWS)
    key_id = root_key(storage, check=check_key, env={KEY_ENV: TEST_KEY.decode()}).key_id
    _run(storage, key_id=key_id)
    before = _zone_bytes(storage)
    _write_clean(storage, [_row(n, f"Nieuwe tekst {n} van Kees Jansen.", fetched=2) for n in range(8)])
    executor = _BreakOneShard(InlineExecutor(env=_worker_env()), "00001")
    with pytest.raises(ShardFailure, match=rf"shard {SOURCE}/00001 failed with exit code 1"):
        _run(storage, key_id=key_id, executor=executor, shard_size=ShardSize(documents=3))
    assert _zone_bytes(storage) == before  # no partial zone: documents, digests and report as they were
    assert not storage.exists(anonymise_shards_folder(SOURCE))


def test_shard_workers_need_the_policy_and_the_key_id(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    _write_clean(storage, ROWS)
    with pytest.raises(ValueError, match="policy and the root's key"):
        anonymise_source(
            storage,
            SOURCE,
            Anonymiser.from_policy(POLICY, TEST_KEY),
            operator="surrogate",
            clean_report=CLEAN_REPORT,
            executor=InlineExecutor(),
        )
