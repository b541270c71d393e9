"""What the ``corpusfabriek`` command families share.

The command error, the storage root and source registry of a command, the lease of a short command, the Dagster
instance and the summary of counts by reason.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalog.lease import LeaseBusyError, RootLease
from catalog.registry import SourceRegistry
from catalog.storage import DEFAULT_ROOT, Storage


class CommandError(RuntimeError):
    """A command failed in a way the user can act on; printed as one line."""


def _storage(args: argparse.Namespace) -> Storage:
    return Storage.from_env(args.root)


def _dagster_instance() -> Any:
    """Return the persistent Dagster instance, so CLI runs appear in the UI's run history."""
    from dagster import DagsterInstance

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(Path(DEFAULT_ROOT, "dagster").resolve())
        os.environ["DAGSTER_HOME"] = home
    Path(home).mkdir(parents=True, exist_ok=True)
    config = Path(home, "dagster.yaml")
    if not config.exists():
        config.write_text(Path(__file__).parent.with_name("dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return DagsterInstance.get()


@contextlib.contextmanager
def _holding_lease(storage: Storage, command: str) -> Iterator[RootLease]:
    """Hold the storage root's lease for a short command: a busy root ends it at once (one line), no waiting."""
    lease = RootLease(storage, {"command": command})
    try:
        lease.acquire(wait=0)
    except LeaseBusyError as exc:
        raise CommandError(str(exc)) from None
    try:
        yield lease
    finally:
        lease.release()


def _reasons(counts: dict[str, int]) -> str:
    shown = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()) if n)
    return f" ({shown})" if shown else ""


def _registry(args: argparse.Namespace) -> SourceRegistry:
    return SourceRegistry.from_env(storage=_storage(args))
