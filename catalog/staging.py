"""Local staging folders, one per process, so what a crashed process leaves behind can be found and removed.

Every temporary folder the code creates (staged writes, the clean stage's staging Parquet, release parts,
downloads, Great Expectations projects, DuckDB spill files) lives under
``<temp dir>/corpusfabriek-staging-<uid>/<pid>-<start time>/`` (owner-only). A process killed with
SIGKILL cannot clean up; the next start (``corpusfabriek run``, a Dagster asset) calls
:func:`remove_dead_staging`, which removes the folders of processes that no longer exist and never those
of live ones (other roots may be running).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from catalog.processes import is_alive, this_process

#: Folder under the system temp dir that holds one staging folder per process (one per user: the temp
#: dir is shared, and each user's folder is owner-only).
STAGING_DIR = f"corpusfabriek-staging-{os.getuid() if hasattr(os, 'getuid') else 'user'}"

_FOLDER = re.compile(r"^(\d+)-(\d+|x)$")
_created: dict[tuple[int, str], Path] = {}


def staging_root() -> Path:
    """Return the folder that holds every process's staging folder."""
    return Path(tempfile.gettempdir()) / STAGING_DIR


def process_staging_dir() -> Path:
    """Return (creating it, owner-only) this process's staging folder: ``<pid>-<start time>``."""
    pid, start = this_process()
    root = staging_root()
    key = (pid, str(root))
    folder = _created.get(key)
    if folder is not None and folder.is_dir():
        return folder
    folder = root / f"{pid}-{start}"
    _private_dir(root)
    _private_dir(folder)
    _created[key] = folder
    atexit.register(_remove_own, folder, pid)
    return folder


def _remove_own(folder: Path, pid: int) -> None:
    """At a normal exit, remove this process's staging folder (a forked child inherits the hook: skip it)."""
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)


def _private_dir(path: Path) -> None:
    """Create an owner-only folder, refusing one that someone else made (the temp dir is shared)."""
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise PermissionError(f"staging folder {path} is not a folder of this user: remove it")


def temporary_directory(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """Return a ``TemporaryDirectory`` inside this process's staging folder (removed on exit as usual)."""
    return tempfile.TemporaryDirectory(prefix=prefix, dir=process_staging_dir())


def make_temp_dir(prefix: str) -> str:
    """Create a temporary folder inside this process's staging folder; the caller removes it."""
    return tempfile.mkdtemp(prefix=prefix, dir=process_staging_dir())


def remove_dead_staging() -> int:
    """Remove the staging folders of processes that no longer run on this host; return how many."""
    root = staging_root()
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return 0
    removed = 0
    for entry in entries:
        match = _FOLDER.match(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue  # not ours: leave it
        if is_alive(int(match.group(1)), match.group(2)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += not os.path.exists(entry.path)
    return removed
