"""The clean stage's quality gate in shards: worker processes judge what is undecided, the zone stays the same."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from catalog.quality_settings import QualitySettings
from catalog.storage import Storage
from catalog.zones import clean_decisions_path, clean_report_path, clean_shards_folder
from quality.gate import QualityGate
from stages.clean import clean_source, run_gate_shard
from stages.executors import InlineExecutor, ProcessExecutor, ShardFailure, ShardResult, ShardSize, ShardTask
from tests.stages.test_clean_incremental import PROMPT, SOURCE, Ingested, counts, delivery, zone


def worker_env() -> dict[str, str]:
    """The shard workers run this checkout's code."""
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}


def decisions(storage: Storage) -> list[dict[str, Any]]:
    with storage.open_input(clean_decisions_path(SOURCE)) as handle:
        table = pq.read_table(handle)
    return table.select(sorted(table.column_names)).sort_by("gate_input").to_pylist()


@pytest.fixture
def gate() -> QualityGate:
    return QualityGate(languages=["nl"])


def test_gate_shards_on_two_workers_give_the_zone_of_an_in_process_run(
    tmp_path: Path, storage: Storage, ingested: Ingested, gate: QualityGate
) -> None:
    ingested(delivery())
    single = clean_source(storage, SOURCE, gate=gate)
    expected, expected_decisions = zone(storage), decisions(storage)
    storage.delete(clean_decisions_path(SOURCE))  # from scratch again, now in shards
    events = []

    sharded = clean_source(
        storage,
        SOURCE,
        gate=gate,
        executor=ProcessExecutor(workers=2, env=worker_env()),
        shard_size=ShardSize(documents=8),
        progress=events.append,
    )

    # 27 documents, 26 distinct gate inputs (one exact copy): four shards of at most eight
    assert sharded["gate_shards"] == 4 and len(events) == 4
    assert [(e.stage, e.done, e.total, e.ok) for e in events] == [("clean", n, 4, True) for n in (1, 2, 3, 4)]
    assert sharded["documents_assessed"] == single["documents_assessed"] == 27
    assert zone(storage) == expected
    assert counts(sharded) == counts(single)
    assert decisions(storage) == expected_decisions
    assert not storage.exists(clean_shards_folder(SOURCE))  # the shards are gone with the run


def test_a_rerun_sends_only_the_undecided_documents_to_a_shard(
    storage: Storage, ingested: Ingested, gate: QualityGate
) -> None:
    records = delivery()
    ingested(records)
    clean_source(storage, SOURCE, gate=gate)
    records.append({"id": "nieuw", "text": records[3]["text"].replace("Groningen", "Hoogeveen") + " Nieuw."})
    ingested(records)

    again = clean_source(storage, SOURCE, gate=gate, executor=InlineExecutor(env=worker_env()))

    assert (again["gate_shards"], again["documents_assessed"]) == (1, 1)
    nothing_new = clean_source(storage, SOURCE, gate=gate, executor=InlineExecutor(env=worker_env()))
    assert (nothing_new["gate_shards"], nothing_new["documents_assessed"]) == (0, 0)  # no shard, no start-up


def test_a_worker_with_another_gate_refuses_to_judge(storage: Storage, ingested: Ingested, gate: QualityGate) -> None:
    ingested(delivery())

    class Tampered:
        """Changes the planned gate settings before the worker reads them (a node with other settings)."""

        def run(self, tasks: Sequence[ShardTask], progress: Any = None) -> list[ShardResult]:
            task = tasks[0]
            settings = task.argv[task.argv.index("--gate") + 1]
            planned = storage.read_json(settings)
            planned["quality"] = QualitySettings(min_doc_words=1).model_dump(mode="json")
            storage.write_json(settings, planned)
            argv = dict(zip(task.argv[1::2], task.argv[2::2], strict=True))
            with pytest.raises(RuntimeError, match="differs from the one the stage planned with: quality_settings"):
                run_gate_shard(argv["--root"], argv["--input"], argv["--output"], settings)
            return [ShardResult(t.name, 1, log_tail="refused") for t in tasks]

    with pytest.raises(ShardFailure, match="refused"):
        clean_source(storage, SOURCE, gate=gate, executor=Tampered())
    assert not storage.exists(clean_report_path(SOURCE))  # nothing committed


def test_gate_shards_are_planned_within_the_stage_memory_limit(
    storage: Storage, ingested: Ingested, gate: QualityGate
) -> None:
    # ~20 MB of text against a 16 MB DuckDB limit: the texts stream into the shards, never through a sort
    paragraph = delivery()[0]["text"]
    records = [{"id": f"lang-{n}", "text": f"{n}: " + "\n\n".join([paragraph] * 40)} for n in range(200)]
    ingested(records)
    report = clean_source(
        storage,
        SOURCE,
        gate=gate,
        executor=InlineExecutor(env=worker_env()),
        shard_size=ShardSize(documents=100),
        memory_limit="16MB",
    )
    assert report["gate_shards"] == 2 and report["documents_assessed"] == 200


def test_a_large_raw_batch_is_normalised_by_a_pool_into_the_same_cache_and_zone(
    storage: Storage, ingested: Ingested, gate: QualityGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.zones import batch_path, clean_batches_folder, clean_normalised_batch_path
    from stages import clean
    from stages.ingest import committed_ingests

    records = delivery()
    records[4]["text"] += f"\n{PROMPT}"  # a fifth document with the prompt: furniture to strip
    ingested(records)
    ingest_id = committed_ingests(storage, SOURCE)[-1]["ingest_id"]
    # the raw batch in row groups of four documents: seven ranges for the pool's processes to share
    with storage.open_input(batch_path(SOURCE, ingest_id)) as handle:
        raw = pq.read_table(handle)
    with storage.staged_file(batch_path(SOURCE, ingest_id)) as local:
        pq.write_table(raw, local, row_group_size=4)

    def normalised() -> list[dict[str, Any]]:
        with storage.open_input(clean_normalised_batch_path(SOURCE, ingest_id)) as handle:
            return pq.read_table(handle).to_pylist()

    single = clean_source(storage, SOURCE, gate=gate)
    expected, expected_cache = zone(storage), normalised()
    storage.delete(clean_batches_folder(SOURCE), recursive=True)
    storage.delete(clean_decisions_path(SOURCE))
    monkeypatch.setattr(clean, "POOL_MIN_DOCUMENTS", 10)
    monkeypatch.setattr(clean, "POOL_RANGE_DOCUMENTS", 4)
    used: list[tuple[str, int]] = []
    original = clean.RowGroupPool.map

    def spied(pool: clean.RowGroupPool, function: Any, tasks: list[Any]) -> Any:
        used.append((function.__name__, len(tasks)))
        return original(pool, function, tasks)

    monkeypatch.setattr(clean.RowGroupPool, "map", spied)

    pooled = clean_source(storage, SOURCE, gate=gate, executor=ProcessExecutor(workers=2, env=worker_env()))

    # one raw batch, its seven row groups of four in seven tasks, normalised, then stripped
    assert used == [("_normalised_part", 7), ("_prepared_part", 7)]
    assert normalised() == expected_cache and zone(storage) == expected
    assert counts(pooled) == counts(single) and pooled["documents_normalised"] == 27
    assert pooled["furniture_lines_removed"] == single["furniture_lines_removed"] == 5
    assert pooled["furniture"] == single["furniture"]


def test_the_pool_hands_out_small_ranges_and_keeps_few_results_in_flight_whatever_the_batch_size() -> None:
    from stages import clean

    pool = clean.RowGroupPool(2)
    # a 400,000-document batch in row groups of 2,000: ranges of at most POOL_RANGE_DOCUMENTS, so what a
    # process returns (and the step holds) does not grow with the batch
    ranges = pool.ranges([2_000] * 200)
    assert all(sum([2_000] * (last - first)) <= clean.POOL_RANGE_DOCUMENTS for first, last in ranges)
    assert [first for first, _ in ranges] == sorted(first for first, _ in ranges) and ranges[-1][1] == 200
    pulled: list[int] = []

    def tasks():
        for n in range(50):
            pulled.append(n)
            yield n

    try:
        results = pool.map(abs, tasks())
        assert next(results) == 0 and len(pulled) <= 2 * pool.workers + 1  # a window, not all 50 at once
        assert list(results) == list(range(1, 50))
    finally:
        pool.close()
