"""``corpusfabriek run``: the whole pipeline in-process, holding the storage root's lease, with progress output."""

from __future__ import annotations

import _thread
import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.lease import LeaseBusyError, RootLease, tidy_root
from catalog.registry import SourceRegistry
from catalog.releases import read_manifest, release_dir
from catalog.settings import Settings, ShardSettings
from catalog.storage import Storage
from pipelines.cli.common import CommandError, _dagster_instance, _reasons, _storage
from pipelines.cli.progress import StepProgress

if TYPE_CHECKING:  # dagster is imported when a command needs it: the CLI starts faster
    from dagster import DagsterInstance, Definitions, JobExecutionResult


def _failure(result: Any) -> str:
    """Return why a Dagster run failed as one line: the blocking checks that failed, or the first step's error."""
    from catalog.failures import error_line

    failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    if failed_checks:
        return f"blocking check(s) failed: {', '.join(failed_checks)}"
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            cause = error.cause or error
            name = cause.cls_name or "error"
            message = cause.message.strip()
            # Dagster's message starts with the qualified class name for non-builtin errors: name it once
            qualified, _, rest = message.partition(": ")
            if qualified.rsplit(".", 1)[-1] == name:
                message = rest
            return f"{event.step_key}: " + error_line(f"{name}: {message}" if name != "Failure" else message)
    return "the run failed"


def _checks_passed(result: Any) -> bool:
    return all(evaluation.passed for evaluation in result.get_asset_check_evaluations())


class FailureLog:
    """The file under the Dagster home that holds the full traces of a command's failures (stderr gets one line each).

    Created on the first failure only, so a clean run leaves no file behind.
    """

    def __init__(self, home: str | Path) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.path = Path(home, "logs", f"corpusfabriek-{stamp}-{os.getpid()}.log")

    def write(self, what: str, result: Any) -> Path:
        """Append the run id, every step failure with its trace, and the failed checks of a Dagster run."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"== {what}: run {result.run_id} ({time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC)"]
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
                lines += [f"-- step {event.step_key} failed:", event.step_failure_data.error.to_string()]
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                metadata = {key: value.value for key, value in evaluation.metadata.items()}
                lines.append(f"-- check {evaluation.check_name} failed: {json.dumps(metadata, default=str)}")
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n\n")
        return self.path


#: In-process runs print nothing themselves: progress is ours, failures get one line on stderr and their full
#: traces go to a log file (:class:`FailureLog`); everything is also in the Dagster event log.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


#: The ``location_name`` of the code location in workspace.yaml: the UI lists and re-executes runs of its jobs.
CODE_LOCATION = "corpusfabriek"


def _execute(
    defs: Definitions,
    job_name: str,
    instance: DagsterInstance,
    partition_key: str | None = None,
    tags: dict[str, str] | None = None,
) -> JobExecutionResult:
    """Execute a job of ``defs`` in this process as a run of the code location :data:`CODE_LOCATION`.

    It runs as ``JobDefinition.execute_in_process`` runs it (in-process executor, :data:`QUIET_RUN_CONFIG`,
    errors kept in the result), but the run carries the origin a run launched from the UI gets: the UI lists
    it under its job and in the timeline (filtered by the repository tag Dagster derives from the origin)
    and can re-execute it (from the job's code in the workspace, loaded by module, attribute, working
    directory and Python executable). Dagster has no public API for this: ``execute_in_process`` creates
    its run without an origin, so the internal imports it takes are kept to this function.
    """
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import execute_run
    from dagster._core.execution.execute_in_process import merge_run_tags
    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from pipelines import definitions

    # workspace.yaml loads `defs` of pipelines.definitions from the directory that holds the package
    module, attribute = definitions.__name__, "defs"
    directory = str(Path(definitions.__file__).resolve().parents[1])
    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable, module_name=module, attribute=attribute, working_directory=directory
        ),
        location_name=CODE_LOCATION,
    )
    repository = ReconstructableRepository.for_module(module, attribute, working_directory=directory)
    job_def = defs.resolve_job_def(job_name)
    ephemeral = job_def.as_ephemeral_job(resource_defs={}, input_values={})
    run = instance.create_run_for_job(
        job_def=ephemeral,
        run_config=QUIET_RUN_CONFIG,
        tags=merge_run_tags(job_def, partition_key, tags, None, instance, QUIET_RUN_CONFIG),
        remote_job_origin=RemoteJobOrigin(RemoteRepositoryOrigin(location, defs.get_repository_def().name), job_name),
        job_code_origin=repository.get_reconstructable_job(job_name).get_python_origin(),
    )
    return execute_run(InMemoryJob(ephemeral), run, instance, raise_on_error=False)


def _check_anonymisation_key(storage: Storage) -> None:
    """Resolve the storage root's anonymisation key and check it against the root's record, before any run.

    The key comes from CORPUSFABRIEK_ANONYMISATION_KEY or, on a local root, from the root's key file
    (generated on first use: its notice is printed once, on stderr). The Dagster resources find the same key
    when the steps run: the variable through an ``EnvVar``, the file through the storage root.
    """
    from anonymisation.operators import check_key
    from catalog.keys import root_key

    key = root_key(storage, check=check_key)
    if key.notice:
        print(f"note: {key.notice}", file=sys.stderr, flush=True)


def _shard_settings(args: argparse.Namespace) -> ShardSettings:
    """Return the operator's shard settings with the command line's ``--workers`` and ``--executor`` on top."""
    shards = Settings.read().shards
    if getattr(args, "workers", None):
        shards = replace(shards, workers=args.workers)
    if getattr(args, "executor", None):
        shards = replace(shards, executor=args.executor)
        if args.executor == "slurm" and not shards.slurm_work_dir:
            why = "--executor slurm needs CORPUSFABRIEK_SLURM_WORK_DIR: a folder every node sees"
            shards = replace(shards, problem=why)
    try:
        return shards.check()
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def cmd_run(args: argparse.Namespace) -> int:
    """Materialise every source partition, then a release, printing progress."""
    from assets.assets import status_tags
    from assets.partitions import source_partitions
    from catalog.zones import anonymised_report_path, clean_report_path, ingest_report_path
    from pipelines.definitions import build_definitions
    from pipelines.jobs import RELEASE_JOB
    from pipelines.sensors import INGEST_JOB

    storage = _storage(args)
    shards = _shard_settings(args)
    defs = build_definitions(root=args.root, run_tags=getattr(args, "run_tags", None), shards=shards)
    registry = SourceRegistry.from_env(storage=storage)
    specs = registry.specs(strict=False)
    for problem in registry.problems:
        print(f"warning: invalid source spec skipped: {problem}", file=sys.stderr)
    selected = args.source or sorted(specs)
    unknown = sorted(set(selected) - set(specs))
    if unknown:
        raise CommandError(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
    instance = _dagster_instance()
    known = set(instance.get_dynamic_partitions(source_partitions.name))
    missing = sorted(set(specs) - known)
    if missing:
        instance.add_dynamic_partitions(source_partitions.name, missing)

    fetch = [source_id for source_id in selected if specs[source_id].fetchable]
    _check_anonymisation_key(storage)
    steps = len(fetch) + (0 if args.no_release else 1)
    workers_note = f", {shards.workers} workers" if shards.workers > 1 else ""
    if shards.executor == "slurm":
        workers_note = ", shards as Slurm jobs"
    print(f"corpusfabriek run: storage {storage.url()}, {len(fetch)} source(s) to ingest{workers_note}", flush=True)
    for skipped in sorted(set(selected) - set(fetch)):
        print(f"  skipped {skipped}: status suspended", flush=True)
    failures = FailureLog(os.environ["DAGSTER_HOME"])
    failed: dict[str, str] = {}
    for step, source_id in enumerate(fetch, start=1):
        started = time.perf_counter()
        with StepProgress(sys.stdout, terminal=sys.stdout.isatty()) as line:
            line.start(f"[{step}/{steps}] {source_id}: ingest, clean, anonymise")
            # the source's status as a tag of its partition's run, as the sensors' runs carry it
            result = _execute(defs, INGEST_JOB, instance, partition_key=source_id, tags=status_tags(specs[source_id]))
            if not result.success or not _checks_passed(result):
                line.finish("FAILED")
                failed[source_id] = _failure(result)
                log = failures.write(f"source {source_id}", result)
                why = f"error: source {source_id} failed: {failed[source_id]} (trace: {log})"
                print(why, file=sys.stderr, flush=True)
                continue
            ingest = storage.read_json(ingest_report_path(source_id))
            clean = storage.read_json(clean_report_path(source_id))
            anonymised = storage.read_json(anonymised_report_path(source_id))
            line.finish(
                f"{ingest['records_read']} new records -> {ingest['documents']} documents, {ingest['quarantined']} "
                f"quarantined{_reasons(ingest['quarantined_by_reason'])}; source total {clean['kept']} kept, "
                f"{clean['dropped']} dropped{_reasons(clean['dropped_by_reason'])}; {anonymised['replacements']} "
                f"replacements in {anonymised['documents_with_personal_data']} documents"
                f"{_anonymised_note(anonymised)} [{time.perf_counter() - started:.1f} s]"
            )
    if args.no_release:
        return 1 if failed else 0

    # A failing source is held back (its failure record says why) while the healthy ones are released.
    print(f"[{steps}/{steps}] release: building ...", end=" ", flush=True)
    result = _execute(defs, RELEASE_JOB, instance)
    if not result.success or not _checks_passed(result):
        print("FAILED", flush=True)
        log = failures.write("release", result)
        held = f"; failing source(s) held back: {', '.join(failed)}" if failed else ""
        raise CommandError(f"release failed: {_failure(result)}{held} (trace: {log})")
    metadata = result.asset_materializations_for_node("corpus_release")[0].metadata
    corpus, version = metadata["corpus"].value, metadata["version"].value
    held_back = metadata["sources_held_back"].value
    held_lines = [
        f"  held back {source_id}: {why}"
        for source_id, why in sorted({**held_back.get("expectations", {}), **held_back.get("failing", {})}.items())
    ]
    if "unchanged_since" in metadata:  # nothing changed since the latest release: no version was cut
        print(f"nothing new since {version}, no version cut; manifest verified", flush=True)
        print("\n".join(held_lines or [""]).rstrip("\n") or "", end="\n" if held_lines else "", flush=True)
        _print_views(metadata)
        print(f"release {corpus}/{version}: unchanged since {version} ({storage.url(release_dir(corpus, version))})")
        return 1 if failed else 0
    manifest = read_manifest(storage, version, corpus)
    print(
        f"{manifest['total_documents']} documents in {len(manifest['files'])} part(s), "
        f"{manifest['excluded']['duplicate_content']} exact and {manifest['excluded'].get('near_duplicate', 0)} "
        "near duplicate(s) dropped across sources; manifest verified",
        flush=True,
    )
    if not manifest["anonymised"]:
        print("note: this release was built before the anonymisation stage existed: treat it as personal data")
    for line in held_lines:
        print(line, flush=True)
    _print_views(metadata)
    print(f"release {corpus}/{version}: {storage.url(release_dir(corpus, version))}")
    # The release went out without the failing sources: the command still fails, naming them (one line each above).
    return 1 if failed else 0


def _print_views(metadata: Any) -> None:
    """Print a line per corpus view the release step cut (or found unchanged)."""
    for view in metadata["views"].value if "views" in metadata else []:
        if view["version"] is None:
            print(f"  view {view['corpus']}: no released source matches it, no version cut", flush=True)
            continue
        again = f" (unchanged since {view['unchanged_since']})" if view.get("unchanged_since") else ""
        print(
            f"  view {view['corpus']}/{view['version']}: {view['documents']} documents from "
            f"{', '.join(view['sources'])}{again}",
            flush=True,
        )


def _anonymised_note(report: dict[str, Any]) -> str:
    """Say how much of a source was anonymised in this run and how much reused (reports of older runs: nothing)."""
    if "documents_reused" not in report:
        return ""
    shards = f" in {report['shards']} shard(s)" if report["shards"] > 1 else ""
    return f" ({report['documents_anonymised']} anonymised{shards}, {report['documents_reused']} reused)"


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while running, so a terminated run releases its lease as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_run_exclusive(args: argparse.Namespace) -> int:
    """Run the pipeline (:func:`cmd_run`) holding the storage root's lease from start to end.

    Before anything is written (Dagster instance included) the lease is taken, waiting up to ``--wait``
    seconds; a busy root ends the command at once with one line naming the holder. Holding it, leftovers
    of crashed runs are cleared first: a stale lease taken over, runs left STARTED by a killed process
    marked failed, staging folders and temporary files of dead processes removed (one line each). The
    lease is released at the end, on error, on Ctrl-C and on SIGTERM.
    """
    from dagster import DagsterExecutionInterruptedError

    from catalog.keys import require_key_source
    from pipelines.recovery import cli_run_tags, fail_crashed_runs

    storage = _storage(args)
    require_key_source(storage)  # before the lease: a root that can have no key is left untouched
    # A lease found taken over while held (we were frozen past its TTL) stops the run: interrupt the main thread.
    lease = RootLease(storage, {"command": "corpusfabriek run"}, on_lost=_thread.interrupt_main)
    with _sigterm_interrupts():
        try:
            lease.acquire(wait=args.wait)
        except LeaseBusyError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            raise CommandError(f"interrupted while waiting for the lease of storage root {storage.url()}") from None
        try:
            for line in tidy_root(lease):
                print(line, flush=True)
            instance = _dagster_instance()
            try:
                for line in fail_crashed_runs(instance, lease.root, holding=lease.token):
                    print(line, flush=True)
            finally:
                instance.dispose()
            args.run_tags = cli_run_tags(lease)
            return cmd_run(args)
        except (KeyboardInterrupt, DagsterExecutionInterruptedError):
            why = "stopped: another process took over the root's lease" if lease.lost else "interrupted"
            _fail_own_runs(lease, why)
            if lease.lost:
                raise CommandError(f"stopped: another process took over the lease of {storage.url()}") from None
            raise CommandError("interrupted; the storage root's lease is released") from None
        finally:
            lease.release()


def _fail_own_runs(lease: RootLease, why: str) -> None:
    """Mark the runs this process leaves unfinished (interrupted mid-run) failed, so none stays STARTED."""
    from pipelines.recovery import fail_own_runs

    instance = _dagster_instance()
    try:
        fail_own_runs(instance, lease.root, lease.token or "", why)
    finally:
        instance.dispose()
