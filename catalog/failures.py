"""Which sources are failing right now, and why: the record that holds a failing source back from releases.

A stage of a source (ingest, clean, anonymise, or one of their blocking checks) that fails writes
``catalog/failures/<source>.json``: the stage, one line naming the error, and when. The record stays until the
source passes all its stages again (the anonymisation stage with its checks clears it). A release is built from the
healthy sources; every source with a record is held back with its reason, in the Dagster UI as on the command line,
so a source that keeps failing never silently ships a stale or half-processed snapshot, and never blocks the others.

The line never quotes document content: it is built from the exception's type and our own messages, which
describe problems by position and kind, not by value.
"""

from __future__ import annotations

from typing import Any

from catalog.documents import utc_now
from catalog.storage import Storage
from catalog.zones import FAILURES, failure_path


def error_line(error: BaseException | str) -> str:
    """Return one line describing an error: its type and the last line of its message, at most 300 characters."""
    if isinstance(error, str):
        line = error.strip().splitlines()[-1] if error.strip() else "failed"
    else:
        message = str(error).strip()
        last = message.splitlines()[-1] if message else ""
        line = f"{type(error).__name__}: {last}" if last else type(error).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def record_failure(storage: Storage, source_id: str, stage: str, error: BaseException | str, run_id: str = "") -> dict:
    """Record that a stage of a source failed; return the record."""
    record = {
        "source_id": source_id,
        "stage": stage,
        "error": error_line(error),
        "failed_at": utc_now().isoformat(),
        "run_id": run_id,
    }
    storage.write_json(failure_path(source_id), record)
    return record


def clear_failure(storage: Storage, source_id: str) -> None:
    """Forget a source's failure: all its stages passed again."""
    storage.delete(failure_path(source_id))


def current_failures(storage: Storage) -> dict[str, dict[str, Any]]:
    """Return the failure record of every failing source, by source id."""
    found = {}
    for name in storage.ls(FAILURES):
        if name.endswith(".json"):
            record = storage.read_json(f"{FAILURES}/{name}")
            found[record["source_id"]] = record
    return dict(sorted(found.items()))


def held_back_reason(record: dict[str, Any]) -> str:
    """Return the one-line reason a failing source is held back from a release."""
    return f"{record['stage']} failed: {record['error']}"
