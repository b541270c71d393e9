"""Shards as Slurm jobs: one job array per batch of tasks, state polled from ``scontrol``, failures resubmitted.

:class:`SlurmExecutor` runs :class:`~stages.executors.ShardTask` s on the cluster of the machine it runs on
(a login node, or any host with the Slurm client commands and ``SLURM_CONF``):

1. **Submit.** In a fresh folder under ``work_dir`` it writes a task file (one shell-quoted shard command
   line per task) and a batch script that runs line ``$SLURM_ARRAY_TASK_ID + 1`` of it with ``exec``; the
   script goes to ``sbatch --parsable`` as one job array (several when there are more tasks than
   ``max_array_size``). Every array task logs to ``logs/<jobid>_<index>.out`` beside the script.
2. **Poll.** Every ``poll_interval`` seconds ``scontrol show job -o <jobid>`` gives each array task's
   ``JobState`` and ``ExitCode``: no accounting daemon (``sacct``) is needed. A record slurmctld has
   already forgotten (``MinJobAge``, 300 s by default, after the end) counts as a failure.
3. **Retry.** Tasks that failed with retries left are submitted again together, as a new array of just
   those tasks, in the same poll round; the others carry on.
4. **Report.** One :class:`~stages.executors.ShardResult` per task in task order, ``where`` naming the
   array task (``slurm job 1234_5``) and ``log_tail`` the end of its log.
5. **Pending too long.** With ``pending_timeout`` set, a task that has not started that many seconds after
   its submission (a partition that is down, a limit it can never meet) fails the run: every job is
   cancelled and :class:`SlurmPendingTimeout` names the shard and Slurm's reason (``PartitionDown``).
   Without it the executor waits as long as the queue takes, as a busy cluster may need.
6. **Cancel.** :meth:`SlurmExecutor.cancel` (or setting ``cancel_event`` from another thread), an
   interrupt (``KeyboardInterrupt``, a terminated Dagster run) or any error while waiting ``scancel`` s
   every job the executor submitted, waits briefly for them to leave the queue and raises.

Files and secrets: ``work_dir`` must be on a filesystem every node sees at the same path (the cluster's
shared filesystem), since the nodes read the batch script and task file from there and write their logs
there. Neither file holds an environment value: jobs get the submitting process's environment
(``--export=ALL`` by default), so storage keys and the anonymisation key come from the environment of
whoever runs the pipeline, never from a file or a command line.

Everything that talks to Slurm is in :class:`SlurmCommands` (submit, states, cancel): a variant that
submits over SSH to a login node replaces only that class.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stages.executors import LOG_TAIL_LINES, Progress, ShardResult, ShardTask

#: Job states after which an array task will not run again (``scontrol`` names).
FINAL_STATES = frozenset(
    {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
)
#: Slurm's default ``MaxArraySize`` is 1001, so indexes 0-1000.
DEFAULT_MAX_ARRAY_SIZE = 1000
#: Consecutive failed polls (slurmctld busy or restarting) tolerated before the executor gives up.
MAX_POLL_ERRORS = 10


class SlurmError(RuntimeError):
    """A Slurm client command failed (the message has its command and error output)."""


class SlurmPendingTimeout(SlurmError):
    """A shard's job stayed pending longer than the executor's ``pending_timeout``; every job was cancelled."""


class ShardsCancelled(RuntimeError):
    """The run was cancelled; every Slurm job it had submitted has been cancelled."""


@dataclass(frozen=True)
class TaskState:
    """The state of one array task as slurmctld reports it."""

    state: str
    exit_code: int = 0
    signal: int = 0
    node: str = ""
    reason: str = ""  # why a pending task waits (Resources, Priority, PartitionDown, BeginTime, ...)

    @property
    def final(self) -> bool:
        """Tell whether the task has ended (and will not run again)."""
        return self.state in FINAL_STATES

    @property
    def returncode(self) -> int:
        """Return the exit code to report: 0 only for a completed task; a killed task reports 128 + signal."""
        if self.state == "COMPLETED":
            return self.exit_code
        return self.exit_code or (128 + self.signal if self.signal else 1)


#: State of a task whose job record slurmctld has dropped before the executor saw it end.
GONE = TaskState("GONE", 1)


def _indexes(spec: str) -> list[int]:
    """Expand an ``ArrayTaskId`` such as ``3``, ``0-9``, ``1,4-6`` or ``0-99%4`` (a throttle) into indexes."""
    indexes: list[int] = []
    for part in spec.split("%")[0].split(","):
        first, _, last = part.partition("-")
        indexes.extend(range(int(first), int(last or first) + 1))
    return indexes


def parse_job_records(output: str) -> dict[int, TaskState]:
    """Return the state of every array task in ``scontrol show job -o`` output, by array index.

    Slurm shows a running or finished array task as one record each and the still-pending rest as one
    record with a range (``ArrayTaskId=4-9``); a job that is not an array counts as index 0.
    """
    states: dict[int, TaskState] = {}
    for line in output.splitlines():
        fields = dict(re.findall(r"(?:^|\s)(JobState|ExitCode|ArrayTaskId|NodeList|Reason)=(\S*)", line))
        if "JobState" not in fields:
            continue
        code, _, sig = fields.get("ExitCode", "0:0").partition(":")
        node = fields.get("NodeList", "")
        reason = fields.get("Reason", "")
        state = TaskState(
            fields["JobState"],
            int(code or 0),
            int(sig or 0),
            "" if node == "(null)" else node,
            "" if reason == "None" else reason,
        )
        for index in _indexes(fields.get("ArrayTaskId", "0")):
            states[index] = state
    return states


@dataclass
class SlurmCommands:
    """The Slurm client commands the executor needs: submit a batch script, read job states, cancel jobs.

    They run on this machine with ``env`` (default: this process's environment; ``SLURM_CONF`` there
    picks the cluster). This is the seam for another way to reach Slurm, e.g. SSH to a login node.
    """

    env: Mapping[str, str] | None = None
    timeout: float = 60.0

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=dict(self.env) if self.env is not None else None,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SlurmError(f"{argv[0]}: {error}") from error

    def submit(self, script: Path) -> str:
        """Submit a batch script with ``sbatch --parsable``; return the job id."""
        completed = self._run("sbatch", "--parsable", str(script))
        if completed.returncode != 0:
            raise SlurmError(f"sbatch {script} failed: {completed.stderr.strip()}")
        # --parsable prints "jobid" or "jobid;cluster"
        return completed.stdout.strip().split(";")[0]

    def states(self, job_ids: Iterable[str]) -> dict[str, dict[int, TaskState]]:
        """Return the state of every array task of each job, by job id then array index.

        A job slurmctld no longer knows maps to an empty dict.
        """
        states = {}
        for job_id in job_ids:
            completed = self._run("scontrol", "show", "job", "-o", job_id)
            if completed.returncode != 0:
                if "Invalid job id" in completed.stderr:
                    states[job_id] = {}
                    continue
                raise SlurmError(f"scontrol show job {job_id} failed: {completed.stderr.strip()}")
            states[job_id] = parse_job_records(completed.stdout)
        return states

    def cancel(self, job_ids: Iterable[str]) -> None:
        """Cancel jobs (every array task of each) with ``scancel``; ids that already ended are ignored."""
        ids = list(job_ids)
        if ids:
            # scancel complains about jobs that ended meanwhile but still cancels the others
            self._run("scancel", *ids)


@dataclass
class _Attempt:
    """One submission of a task: the array job and index it runs as."""

    task: int
    job_id: str
    index: int
    log: Path
    submitted: float = field(default_factory=time.monotonic)


@dataclass
class SlurmExecutor:
    """Run shard tasks as Slurm job arrays; see the module documentation.

    ``work_dir`` must be on a filesystem the nodes see at the same path. ``python`` is the interpreter on
    the nodes (default: this one, right when the nodes share this machine's software installation);
    ``chdir`` is the jobs' working directory (default: the current one). ``export`` is sbatch's
    ``--export`` (``ALL``: the submitting environment, where secrets come from). ``extra_args`` are more
    sbatch options, each one ``--option=value``.
    """

    work_dir: Path | str
    partition: str | None = None
    time_limit: str | None = None
    cpus_per_task: int = 1
    memory: str | None = None
    extra_args: Sequence[str] = ()
    poll_interval: float = 2.0
    retries: int = 0
    python: str = field(default_factory=lambda: sys.executable)
    chdir: str | None = None
    export: str = "ALL"
    job_name: str = "corpusfabriek-shards"
    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE
    #: How long a cancel waits for the cancelled jobs to leave the queue.
    cancel_wait: float = 30.0
    #: Seconds a task may wait in the queue before the run gives up on it (``None``: as long as it takes).
    pending_timeout: float | None = None
    commands: SlurmCommands = field(default_factory=SlurmCommands)
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Ask a running :meth:`run` (in another thread) to cancel its jobs and raise; sticks for later runs."""
        self.cancel_event.set()

    def _options(self, count: int, logs: Path) -> list[str]:
        options = [
            f"--job-name={self.job_name}",
            f"--array=0-{count - 1}",
            f"--output={logs}/%A_%a.out",
            f"--chdir={self.chdir or os.getcwd()}",
            f"--cpus-per-task={self.cpus_per_task}",
            f"--export={self.export}",
        ]
        if self.partition:
            options.append(f"--partition={self.partition}")
        if self.time_limit:
            options.append(f"--time={self.time_limit}")
        if self.memory:
            options.append(f"--mem={self.memory}")
        options.extend(self.extra_args)
        for option in options:
            if "\n" in option:
                raise ValueError(f"a line break in sbatch option {option!r}")
        return options

    def _submit(self, folder: Path, tasks: Sequence[ShardTask], which: Sequence[int]) -> list[_Attempt]:
        """Submit tasks ``which`` as job arrays of at most ``max_array_size``; return their attempts."""
        attempts: list[_Attempt] = []
        for start in range(0, len(which), self.max_array_size):
            chunk = which[start : start + self.max_array_size]
            stem = f"array-{uuid.uuid4().hex[:8]}"
            lines = []
            for i in chunk:
                line = shlex.join(tasks[i].command(self.python))
                if "\n" in line:
                    raise ValueError(f"shard {tasks[i].name}: a line break in its arguments")
                lines.append(line)
            task_file = folder / f"{stem}.tasks"
            task_file.write_text("\n".join(lines) + "\n")
            script = folder / f"{stem}.sh"
            script.write_text(_batch_script(self._options(len(chunk), folder / "logs"), task_file))
            job_id = self.commands.submit(script)
            attempts.extend(
                _Attempt(i, job_id, index, folder / "logs" / f"{job_id}_{index}.out") for index, i in enumerate(chunk)
            )
        return attempts

    def run(self, tasks: Sequence[ShardTask], progress: Progress | None = None) -> list[ShardResult]:
        """Run every task on Slurm (retrying failures) and return their results in order.

        Raises :class:`ShardsCancelled` when cancelled; on that, an interrupt or any error it cancels
        every job it submitted first.
        """
        if not tasks:
            return []
        folder = Path(self.work_dir) / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        (folder / "logs").mkdir(parents=True)
        started = time.perf_counter()
        results: list[ShardResult | None] = [None] * len(tasks)
        tries = [1] * len(tasks)
        submitted: list[str] = []
        running: list[_Attempt] = []
        try:
            self._check_cancelled()
            running = self._submit(folder, tasks, range(len(tasks)))
            submitted.extend(dict.fromkeys(a.job_id for a in running))
            errors = 0
            while running:
                if self.cancel_event.wait(self.poll_interval):
                    self._check_cancelled()
                try:
                    states = self.commands.states(dict.fromkeys(a.job_id for a in running))
                    errors = 0
                except SlurmError:
                    errors += 1
                    if errors >= MAX_POLL_ERRORS:
                        raise
                    continue
                still, again = [], []
                for attempt in running:
                    state = states[attempt.job_id].get(attempt.index, GONE)
                    if not state.final:
                        self._check_pending(tasks[attempt.task], attempt, state)
                        still.append(attempt)
                    elif state.returncode != 0 and tries[attempt.task] <= self.retries:
                        tries[attempt.task] += 1
                        again.append(attempt.task)
                    else:
                        result = self._result(tasks[attempt.task], attempt, state, tries[attempt.task], started)
                        results[attempt.task] = result
                        if progress:
                            progress(result)
                if again:
                    resubmitted = self._submit(folder, tasks, again)
                    submitted.extend(dict.fromkeys(a.job_id for a in resubmitted))
                    still.extend(resubmitted)
                running = still
        except BaseException:
            # interrupted, cancelled or failed: leave nothing running on the cluster
            if submitted:
                self._cancel_jobs(submitted)
            raise
        return [result for result in results if result is not None]

    def _check_pending(self, task: ShardTask, attempt: _Attempt, state: TaskState) -> None:
        """Raise :class:`SlurmPendingTimeout` when a task has waited in the queue past ``pending_timeout``."""
        if self.pending_timeout is None or state.state != "PENDING":
            return
        waited = time.monotonic() - attempt.submitted
        if waited > self.pending_timeout:
            reason = state.reason or "no reason given"
            raise SlurmPendingTimeout(
                f"shard {task.name} (slurm job {attempt.job_id}_{attempt.index}) has been pending for "
                f"{waited:.0f} s, longer than the pending timeout of {self.pending_timeout:g} s "
                f"(Slurm's reason: {reason}); every job of this run was cancelled"
            )

    def _check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise ShardsCancelled("cancelled: every Slurm job of this run was cancelled")

    def _cancel_jobs(self, job_ids: Sequence[str]) -> None:
        """Cancel the jobs and wait (up to ``cancel_wait`` s) until none is pending, running or completing."""
        try:
            self.commands.cancel(job_ids)
            deadline = time.monotonic() + self.cancel_wait
            while time.monotonic() < deadline:
                states = self.commands.states(job_ids)
                if all(s.final for tasks in states.values() for s in tasks.values()):
                    return
                time.sleep(0.2)
        except SlurmError:
            # the original error matters more; scancel has been tried
            pass

    def _result(
        self, task: ShardTask, attempt: _Attempt, state: TaskState, attempts: int, started: float
    ) -> ShardResult:
        where = f"slurm job {attempt.job_id}_{attempt.index}"
        try:
            log = attempt.log.read_text(errors="replace")
        except OSError:
            log = f"(no log at {attempt.log})"
        if state.returncode != 0 and state.state != "FAILED":
            # a timeout, node failure or cancel leaves no trace of its own in the shard's log
            log += f"\n{where} ended as {state.state}"
        return ShardResult(
            task.name,
            state.returncode,
            attempts=attempts,
            seconds=round(time.perf_counter() - started, 3),
            log_tail="\n".join(log.splitlines()[-LOG_TAIL_LINES:]),
            where=where,
            details={"state": state.state, "node": state.node, "log": str(attempt.log)},
        )


def _batch_script(options: Sequence[str], task_file: Path) -> str:
    """Return the batch script of one job array: array task N runs line N + 1 of the task file."""
    header = "\n".join(f"#SBATCH {option}" for option in options)
    return (
        "#!/bin/bash\n"
        f"{header}\n"
        "# Written by corpusfabriek: array task N runs the shard command on line N + 1 of the task file.\n"
        "# Neither file holds a secret: the job inherits the submitting environment (--export).\n"
        "set -eu\n"
        f'line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {shlex.quote(str(task_file))})\n'
        # the line is shlex-quoted, so eval only splits it back into the arguments it was made of
        'eval "exec $line"\n'
    )
