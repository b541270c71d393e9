"""Where shards run: in this process, in a pool of worker processes on this machine, or as cluster jobs.

A stage that splits its work into shards (bounded pieces of one source's documents) hands them to an
:class:`Executor` as :class:`ShardTask` s. A task is a command line of the shard worker
(``python -m stages.shard_worker ...``) that reads its input from storage and writes its output to storage,
so nothing but the task's arguments and the code travel: the same task runs in a local process or on a
cluster node that sees the same storage (the factory's S3 or a shared filesystem). The stage that planned
the shards collects their outputs afterwards (the reduce), holding the root's lease; shard workers never
take it, as each writes only its own output paths.

Executors:

- :class:`InlineExecutor`: one task after the other in this process (tests, one core, debugging);
- :class:`ProcessExecutor`: up to ``workers`` tasks at a time as local subprocesses (every core of one
  machine);
- the Slurm executor (:mod:`stages.slurm`): tasks as ``sbatch`` jobs on the factory's scheduler.

Every executor retries a failed task up to ``retries`` times and returns one :class:`ShardResult` per task
(exit code, attempts, the tail of its log); :func:`raise_for_failures` turns failed tasks into one error
that names them and shows their logs.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from catalog.parquet import BatchWriter
from catalog.settings import ShardSettings
from catalog.staging import temporary_directory
from catalog.storage import Storage

#: Lines of a task's output kept in its result (the whole log stays with the executor's log files).
LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class ShardTask:
    """One shard's work: the arguments of ``python -m stages.shard_worker`` and a name for progress and logs."""

    name: str
    argv: tuple[str, ...]

    def command(self, python: str | None = None) -> list[str]:
        """Return the command line that runs this task with ``python`` (default: this interpreter)."""
        return [python or sys.executable, "-m", "stages.shard_worker", *self.argv]


@dataclass
class ShardResult:
    """How a task ended: its exit code (0: done), how many attempts it took and the tail of its last log."""

    name: str
    returncode: int
    attempts: int = 1
    seconds: float = 0.0
    log_tail: str = ""
    where: str = "local"
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Tell whether the task succeeded."""
        return self.returncode == 0


class ShardFailure(RuntimeError):
    """One or more shards failed after their retries; the message names them and shows their logs' ends."""


#: Called after each finished task, e.g. to print a progress line or a progress bar.
Progress = Callable[[ShardResult], None]

#: The standard logger shard progress goes to as well as to the Dagster run: a command line attaches a handler
#: that prints it (a line per shard, or a bar in a terminal); records carry the event as ``shard_progress``.
PROGRESS_LOGGER = "corpusfabriek.progress"


@dataclass(frozen=True)
class ShardProgress:
    """One finished shard of a stage: where the stage stands (``done`` of ``total``) and how the shard went.

    Counts, names and times only: never a document's text or id, so the line is safe for any log.
    """

    stage: str
    source_id: str
    done: int
    total: int
    ok: bool = True
    detail: str = ""

    def __str__(self) -> str:
        state = "done" if self.ok else "FAILED"
        line = f"{self.source_id}: {self.stage} shard {self.done}/{self.total} {state}"
        return f"{line} {self.detail}" if self.detail else line


def progress_of_results(
    stage: str, source_id: str, total: int, progress: Callable[[ShardProgress], None] | None
) -> Progress:
    """Return an executor's :data:`Progress` callback that reports each finished task as a :class:`ShardProgress`."""
    done = 0

    def report(result: ShardResult) -> None:
        nonlocal done
        done += 1
        if progress:
            facts = [result.name]
            if result.where != "local":
                facts.append(result.where)  # the Slurm job, to find its log
            if not result.ok:
                facts.append(f"exit code {result.returncode}")
            if result.attempts > 1:
                facts.append(f"{result.attempts} attempts")
            facts.append(f"{result.seconds:.1f} s")
            detail = "[" + ", ".join(facts) + "]"
            progress(ShardProgress(stage, source_id, done, total, ok=result.ok, detail=detail))

    return report


def emit_progress(event: ShardProgress) -> None:
    """Send a shard's progress to :data:`PROGRESS_LOGGER` (a no-op unless someone listens)."""
    logging.getLogger(PROGRESS_LOGGER).info(str(event), extra={"shard_progress": event})


class Executor(Protocol):
    """Runs shard tasks; returns one result per task, in the order given."""

    def run(self, tasks: Sequence[ShardTask], progress: Progress | None = None) -> list[ShardResult]:
        """Run every task (retrying failures) and return their results in order."""
        ...


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _run_local(task: ShardTask, retries: int, env: Mapping[str, str] | None) -> ShardResult:
    """Run a task as a subprocess of this machine, retrying a failure up to ``retries`` times."""
    started = time.perf_counter()
    attempts = 0
    while True:
        attempts += 1
        completed = subprocess.run(
            task.command(), capture_output=True, text=True, env=dict(env) if env is not None else None, check=False
        )
        if completed.returncode == 0 or attempts > retries:
            return ShardResult(
                task.name,
                completed.returncode,
                attempts=attempts,
                seconds=round(time.perf_counter() - started, 3),
                log_tail=_tail(completed.stdout + completed.stderr),
            )


@dataclass
class InlineExecutor:
    """Run the tasks one after the other as subprocesses of this process (one core)."""

    retries: int = 0
    env: Mapping[str, str] | None = None

    def run(self, tasks: Sequence[ShardTask], progress: Progress | None = None) -> list[ShardResult]:
        """Run every task in turn; see :class:`Executor`."""
        results = []
        for task in tasks:
            result = _run_local(task, self.retries, self.env)
            if progress:
                progress(result)
            results.append(result)
        return results


@dataclass
class ProcessExecutor:
    """Run up to ``workers`` tasks at a time as local subprocesses (default: every core of this machine)."""

    workers: int = 0
    retries: int = 0
    env: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ValueError("workers must be 0 (every core) or more")
        self.workers = self.workers or os.cpu_count() or 1

    def run(self, tasks: Sequence[ShardTask], progress: Progress | None = None) -> list[ShardResult]:
        """Run the tasks on a pool of ``workers``; see :class:`Executor`."""
        # threads only wait for the subprocesses, which do the work on their own cores
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(_run_local, task, self.retries, self.env) for task in tasks]
            results = []
            for future in futures:
                result = future.result()
                if progress:
                    progress(result)
                results.append(result)
        return results


@dataclass(frozen=True)
class ShardSize:
    """Bounds of one shard of documents (a single larger document gets a shard of its own)."""

    documents: int = 50_000
    bytes: int = 200_000_000

    def __post_init__(self) -> None:
        if self.documents < 1 or self.bytes < 1:
            raise ValueError("a shard holds at least one document and one byte")

    def balanced(self, documents: int, workers: int | None) -> ShardSize:
        """Return bounds that cut ``documents`` into shards of equal size, a multiple of ``workers`` of them.

        With the plain bounds the last shard is a remainder that runs alone while the other workers idle
        (50,000-document shards of 108,000 documents on two workers: two full rounds, then 8,000 documents
        on one core). Rounding the count up to a multiple of the workers and sharing the documents evenly
        keeps every worker busy to the end; no shard is ever larger than the bounds. ``workers`` of ``None``
        or 1 (an executor that does not say, a cluster) leaves the bounds as they are.
        """
        if documents <= 0 or not workers or workers <= 1:
            return self
        count = -(-documents // self.documents)
        count = -(-count // workers) * workers
        return replace(self, documents=-(-documents // count))


def row_group_ranges(rows: Sequence[int], parts: int) -> list[tuple[int, int]]:
    """Cut row groups (their row counts, in order) into at most ``parts`` contiguous ranges of about equal rows.

    Returns ``(first, last)`` per range, ``last`` excluded: what a worker given a range of a Parquet file reads.
    """
    total = sum(rows)
    ranges: list[tuple[int, int]] = []
    start = done = 0
    for index, count in enumerate(rows):
        done += count
        # close a range once it reaches its share of the rows (the last range takes the rest)
        if len(ranges) < parts - 1 and done >= total * (len(ranges) + 1) / parts:
            ranges.append((start, index + 1))
            start = index + 1
    if start < len(rows):
        ranges.append((start, len(rows)))
    return ranges


def write_shards(
    storage: Storage,
    batches: Iterable[pa.RecordBatch],
    folder: str,
    size: ShardSize,
    schema: pa.Schema,
    sized: Sequence[str] = ("text", "title"),
) -> list[tuple[str, int]]:
    """Write the batches as input shards ``folder/in/NNNNN.parquet``; return ``(path, rows)`` per shard.

    A shard closes when the next row would pass either bound (the bytes of the ``sized`` columns count).
    Each shard is written locally and published whole, so a shard in storage is always complete.
    """
    shards: list[tuple[str, int]] = []
    with temporary_directory("shards-") as tmp:
        writer: BatchWriter | None = None
        local = target = ""
        rows = used = 0

        def finish() -> None:
            nonlocal writer
            if writer is not None:
                writer.close()
                storage.put_file(local, target)
                os.remove(local)
                shards.append((target, rows))
                writer = None

        for batch in batches:
            lengths = [pc.fill_null(pc.binary_length(batch.column(name)), 0) for name in sized]
            sizes = functools.reduce(pc.add, lengths).to_pylist()
            start = 0
            for i, row_bytes in enumerate(sizes):
                if writer is not None and (rows >= size.documents or used + row_bytes > size.bytes):
                    writer.write_batch(batch.slice(start, i - start))
                    start = i
                    finish()
                if writer is None:
                    target = f"{folder}/in/{len(shards):05d}.parquet"
                    local = os.path.join(tmp, f"{len(shards):05d}.parquet")
                    writer = BatchWriter(local, schema)
                    rows = used = 0
                rows += 1
                used += row_bytes
            if writer is not None and start < len(sizes):
                writer.write_batch(batch.slice(start))
        finish()
    return shards


def raise_for_failures(results: Sequence[ShardResult]) -> None:
    """Raise :class:`ShardFailure` naming every failed task with the end of its log; do nothing if all passed."""
    failed = [result for result in results if not result.ok]
    if not failed:
        return
    parts = [
        f"shard {result.name} failed with exit code {result.returncode} after {result.attempts} attempt(s) "
        f"({result.where}):\n{result.log_tail}"
        for result in failed
    ]
    raise ShardFailure(f"{len(failed)} of {len(results)} shard(s) failed\n" + "\n".join(parts))


def run_stage_shards(
    executor: Executor,
    tasks: Sequence[ShardTask],
    evidence: Sequence[str],
    storage: Storage,
    *,
    stage: str,
    source_id: str,
    progress: Callable[[ShardProgress], None] | None = None,
) -> None:
    """Run a stage's shard tasks, reporting each as it finishes; check that each left its output.

    :param evidence: per task, the storage path its success writes last (its output, or its counts file).
    :raises ShardFailure: a task failed after its retries (named, with its log's end), or exited 0 without
        its evidence.
    """
    results = executor.run(tasks, progress=progress_of_results(stage, source_id, len(tasks), progress))
    raise_for_failures(results)
    missing = [task.name for task, path in zip(tasks, evidence, strict=True) if not storage.exists(path)]
    if missing:
        raise ShardFailure(f"shard(s) {', '.join(missing)} exited 0 but wrote no output")


def executor_for(settings: ShardSettings, env: Mapping[str, str] | None = None) -> Executor:
    """Return the executor the settings name: local processes (one at a time or a pool) or Slurm jobs.

    :raises ValueError: a shard setting is malformed (the message names the variable).
    """
    settings.check()
    if settings.executor == "slurm":
        from stages.slurm import SlurmExecutor

        return SlurmExecutor(
            work_dir=str(settings.slurm_work_dir),
            partition=settings.slurm_partition,
            time_limit=settings.slurm_time,
            memory=settings.slurm_memory,
            extra_args=settings.slurm_args,
            retries=settings.retries,
            pending_timeout=settings.slurm_pending_timeout,
        )
    if settings.workers == 1:
        return InlineExecutor(retries=settings.retries, env=env)
    return ProcessExecutor(workers=settings.workers, retries=settings.retries, env=env)
