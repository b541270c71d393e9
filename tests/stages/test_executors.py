"""Shard tasks run in this process's children, a pool of them, retried, with their failures named."""

import pytest

from catalog.storage import Storage
from stages.executors import (
    InlineExecutor,
    ProcessExecutor,
    ShardFailure,
    ShardResult,
    ShardSize,
    ShardTask,
    progress_of_results,
    raise_for_failures,
    row_group_ranges,
)


def echo(root, name: str, *extra: str) -> ShardTask:
    return ShardTask(name, ("echo", "--root", str(root), "--input", f"in/{name}", "--output", f"out/{name}", *extra))


@pytest.mark.parametrize("executor", [InlineExecutor(), ProcessExecutor(workers=2)], ids=["inline", "pool"])
def test_every_shard_runs_and_results_keep_the_task_order(tmp_path, executor):
    store = Storage(str(tmp_path))
    for i in range(4):
        store.write_bytes(f"in/s{i}", f"shard {i}".encode())
    seen = []
    results = executor.run([echo(tmp_path, f"s{i}") for i in range(4)], progress=lambda r: seen.append(r.name))
    assert [r.name for r in results] == ["s0", "s1", "s2", "s3"] and all(r.ok for r in results)
    assert sorted(seen) == ["s0", "s1", "s2", "s3"]
    assert [store.read_bytes(f"out/s{i}") for i in range(4)] == [f"shard {i}".encode() for i in range(4)]
    raise_for_failures(results)


def test_a_failing_shard_is_retried_then_reported_with_its_log(tmp_path):
    store = Storage(str(tmp_path))
    store.write_bytes("in/flaky", b"x")
    (flaky,) = InlineExecutor(retries=1).run([echo(tmp_path, "flaky", "--fail-unless-exists", "marks/flaky")])
    assert flaky.ok and flaky.attempts == 2  # failed once on purpose, passed on the retry
    (missing,) = ProcessExecutor(workers=1, retries=1).run([echo(tmp_path, "missing")])
    assert not missing.ok and missing.attempts == 2
    with pytest.raises(ShardFailure, match=r"1 of 1 shard\(s\) failed\nshard missing failed with exit code 1") as error:
        raise_for_failures([missing])
    assert "in/missing" in str(error.value)  # the log's end says what was missing


def test_the_settings_choose_the_executor():
    from catalog.settings import Settings
    from stages.executors import executor_for
    from stages.slurm import SlurmExecutor

    assert isinstance(executor_for(Settings.read({}).shards), InlineExecutor)
    pool = executor_for(Settings.read({"CORPUSFABRIEK_WORKERS": "2"}).shards)
    assert isinstance(pool, ProcessExecutor) and pool.workers == 2
    slurm = executor_for(
        Settings.read({"CORPUSFABRIEK_EXECUTOR": "slurm", "CORPUSFABRIEK_SLURM_WORK_DIR": "/gedeeld/slurm"}).shards
    )
    assert isinstance(slurm, SlurmExecutor) and str(slurm.work_dir) == "/gedeeld/slurm"
    with pytest.raises(ValueError, match="CORPUSFABRIEK_EXECUTOR"):
        executor_for(Settings.read({"CORPUSFABRIEK_EXECUTOR": "k8s"}).shards)


def test_shard_progress_names_the_shard_its_job_its_exit_code_and_its_attempts():
    events = []
    report = progress_of_results("clean", "nieuws", 2, events.append)
    report(ShardResult("nieuws/gate-00000", 0, seconds=1.25))
    report(ShardResult("nieuws/gate-00001", 3, attempts=2, seconds=4.0, where="slurm job 12_1"))
    assert [str(event) for event in events] == [
        "nieuws: clean shard 1/2 done [nieuws/gate-00000, 1.2 s]",
        "nieuws: clean shard 2/2 FAILED [nieuws/gate-00001, slurm job 12_1, exit code 3, 2 attempts, 4.0 s]",
    ]
    progress_of_results("clean", "nieuws", 1, None)(ShardResult("x", 0))  # nobody listening: nothing to do


@pytest.mark.parametrize(
    ("documents", "workers", "expected"),
    [
        (108_696, 2, [27_174] * 4),  # 3 plain shards (the last 8,696) become 4 equal ones
        (100_000, 2, [50_000] * 2),  # already even: unchanged
        (218_000, 2, [36_334] * 5 + [36_330]),
        (218_000, None, [50_000] * 4 + [18_000]),  # an executor without a worker count keeps the bounds
        (30_000, 4, [7_500] * 4),
        (0, 2, []),
    ],
)
def test_balanced_shards_keep_every_worker_busy_and_never_pass_the_bounds(documents, workers, expected):
    size = ShardSize(documents=50_000).balanced(documents, workers)
    shards = [min(size.documents, documents - start) for start in range(0, documents, size.documents)]
    assert shards == expected
    assert all(rows <= 50_000 for rows in shards) and size.bytes == ShardSize().bytes


def test_row_group_ranges_share_the_rows_evenly_and_cover_every_group_once():
    assert row_group_ranges([100] * 10, 2) == [(0, 5), (5, 10)]
    assert row_group_ranges([100] * 10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert row_group_ranges([500, 10, 10, 480], 2) == [(0, 1), (1, 4)]
    assert row_group_ranges([100], 4) == [(0, 1)]  # never more ranges than row groups
    assert row_group_ranges([], 2) == []
