"""Partner drops: which local files and S3 objects a source's ``location`` may make the pipeline read.

A location is partner input: a path, a glob or an ``s3://`` URL that a partner (or a data engineer for
them) wrote into a spec. It must never make the pipeline read its own data or the machine's:

- **local files** are read only inside the *drop folders* the operator allows: ``CORPUSFABRIEK_DROP_FOLDERS``
  (path-separated, like ``PATH``); unset, the working directory and the bundled samples;
- **never readable**, even inside a drop folder: the storage root (other sources' raw data, quarantine,
  the catalog) and ``/proc``, ``/sys``, ``/dev`` and ``/etc`` (the environment with its secrets, devices,
  system configuration);
- **on S3**, no object under an ``s3://`` storage root.

Paths are judged by where they really are: after glob expansion, file by file, with symbolic links
resolved (a link is judged by its target), and a local file is checked once more after it is opened,
so a link swapped in between cannot redirect the read. Three checks use these rules:

- :meth:`DropPolicy.folder_problem`: the fixed part of a location (up to its first wildcard), before a
  run reads anything; a refused one fails the run;
- :meth:`DropPolicy.file_problem` and :meth:`DropPolicy.open_file`: every file a location expands to,
  while reading; a refused one is quarantined as ``location_refused`` and never read;
- :func:`location_problems`: at validation and registration: the fixed part, whether the pattern can
  name anything inside the storage root at all, and every file it matches now.

The module also holds what the file-based connectors share to find their files: :func:`expand_location`
(the files a location names) and :func:`storage_options` (S3 endpoint and keys from the same
environment as the storage root).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
from fsspec.implementations.local import make_path_posix

from catalog.settings import ENV_DROP_FOLDERS, S3Settings, Settings
from catalog.sources import SourceSpec, SpecError, bundled_sources_dir
from catalog.storage import Storage, root_from_env

#: System folders no source may read, whatever the drop folders are.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev", "/etc")

_GLOB_CHARS = re.compile(r"[*?\[]")
_STORAGE_ROOT = "the storage root"
#: How many refused files validation names before it only counts the rest.
_LISTED = 5


class LocationRefusedError(ValueError):
    """A location lies where sources may never read (the message says why, never what the files hold)."""


class FileRefusedError(PermissionError):
    """One file a location names may not be read; ``str()`` says why (quarantine reason ``location_refused``)."""


def bundled_samples_dir() -> Path:
    """Return the folder of the bundled samples (their specs in ``sources/``, their data in ``data/``)."""
    return bundled_sources_dir().parent


def location_kind(location: str) -> str:
    """Classify a location: ``local`` (path or ``file://``), ``s3``, ``url`` (http/https) or ``other``."""
    if "::" in location:
        return "other"  # fsspec URL chains could wrap a local file in another file system
    scheme, sep, _ = location.partition("://")
    if not sep:
        return "local"
    return {"file": "local", "s3": "s3", "http": "url", "https": "url"}.get(scheme.lower(), "other")


def local_pattern(location: str) -> str:
    """Return the absolute path or glob fsspec reads for a local location (``~`` expanded, ``file://`` cut)."""
    return make_path_posix(location.removeprefix("file://"))


def storage_options(location: str) -> dict[str, Any]:
    """Return the fsspec options to read a location: for ``s3://``, the storage root's endpoint and keys.

    The settings come from the environment (see :class:`~catalog.storage.S3Settings`); they are passed
    to s3fs only and never logged.
    """
    if location_kind(location) != "s3":
        return {}
    # No listings cache: a long-running process must see files dropped since the last run.
    return {**S3Settings.from_env().fsspec_options(), "use_listings_cache": False}


def expand_location(location: str) -> tuple[Any, dict[str, Mapping[str, Any]], str]:
    """Return the file system, the files a local or S3 location names (sorted path -> info) and their base.

    A glob names its matching files, a folder every file below it, a file itself. ``base`` is the folder
    the files' names are relative to (the fixed part of a glob). Raises ``FileNotFoundError`` when the
    location names no file at all.
    """
    fs, pattern = fsspec.core.url_to_fs(location, **storage_options(location))
    glob_char = _GLOB_CHARS.search(pattern)
    if glob_char:
        fixed = pattern[: glob_char.start()]
        base = fixed if fixed.endswith("/") else posixpath.dirname(fixed)
        found = fs.glob(pattern, detail=True)
    elif fs.isdir(pattern):
        base = pattern
        found = fs.find(pattern, detail=True)
    else:
        base = posixpath.dirname(pattern)
        found = {pattern: fs.info(pattern)} if fs.exists(pattern) else {}
    files = {path: _followed(fs, path, info) for path, info in sorted(found.items()) if _is_file(path, info)}
    if not files:
        raise FileNotFoundError(f"no files match the location {location}")
    return fs, files, base.rstrip("/") or "/"


def _is_file(path: str, info: Mapping[str, Any]) -> bool:
    """Tell whether a listed entry is an input: a file, or a link that does not lead to a folder.

    Links are listed so that they are judged by their target (and refused where it may not be read),
    not skipped unseen; a link to a folder is no more an input than a folder a glob matches.
    """
    if info.get("type") == "file":
        return True
    return bool(info.get("islink")) and not os.path.isdir(path)


def _followed(fs: Any, path: str, info: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return a link's target's size and stamp (a changed target is a changed file); the entry's otherwise."""
    if not info.get("islink"):
        return info
    try:
        return fs.info(path)
    except OSError:
        return info  # a broken link: reading it reports the problem


@dataclass(frozen=True)
class DropPolicy:
    """Where sources may read: allowed drop folders, and what is never readable (all as real paths)."""

    #: Real paths of the folders partner files may lie in.
    allowed: tuple[str, ...]
    #: Real paths that are never read (a local storage root, the system folders), with their names in messages.
    never: tuple[tuple[str, str], ...]
    #: ``bucket/prefix`` of an ``s3://`` storage root, or ``None``.
    s3_root: str | None

    @classmethod
    def from_env(cls, *, storage_root: str | None = None, env: Mapping[str, str] | None = None) -> DropPolicy:
        """Build the policy from ``CORPUSFABRIEK_DROP_FOLDERS``; ``storage_root`` defaults as a run's does."""
        root = root_from_env(storage_root, env)
        folders = list(Settings.read(env).drop_folders)
        if not folders:
            folders = [os.getcwd(), str(bundled_samples_dir())]
        allowed = tuple(dict.fromkeys(_real(folder) for folder in folders))
        never = [(_real(folder), folder) for folder in SYSTEM_FOLDERS]
        if location_kind(root) == "s3":
            return cls(allowed, tuple(never), _s3_key(root).rstrip("/"))
        return cls(allowed, ((_real(local_pattern(root)), _STORAGE_ROOT), *never), None)

    @classmethod
    def for_storage(cls, storage: Storage, env: Mapping[str, str] | None = None) -> DropPolicy:
        """Build the policy for a run on this storage."""
        return cls.from_env(storage_root=storage.url(), env=env)

    # -- the checks ---------------------------------------------------------------------------------

    def folder_problem(self, location: str) -> str | None:
        """Say why the fixed part of a location (up to its first wildcard) may not be read, else ``None``."""
        kind = location_kind(location)
        if kind == "url":
            return None  # fetched over HTTP, through the fetcher's address guard
        if kind == "other":
            return "is not a local path, an s3:// URL or an http(s) URL"
        if kind == "s3":
            return self._object_problem(_fixed_folder(_s3_key(location)))
        return self._path_problem(_fixed_folder(local_pattern(location)))

    def file_problem(self, path: str) -> str | None:
        """Say why one file (a local path or an ``s3://`` URL) may not be read, else ``None``."""
        kind = location_kind(path)
        if kind == "s3":
            return self._object_problem(_s3_key(path))
        if kind != "local":
            return "is not a local file or an s3:// object"
        path = local_pattern(path)
        problem = self._path_problem(path)
        if problem:
            return problem
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return None  # missing or unreadable: reading it reports that
        return None if stat.S_ISREG(mode) else "is not a regular file"

    def open_file(self, path: str) -> BinaryIO:
        """Open a local file for reading after checking it, and check the file actually opened once more.

        Raises :class:`FileRefusedError` when the file may not be read (another ``OSError`` when it cannot).
        """
        problem = self.file_problem(path)
        if problem:
            raise FileRefusedError(problem)
        # Non-blocking: a FIFO swapped in after the check cannot hang the run before fstat refuses it.
        fd = os.open(local_pattern(path), os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise FileRefusedError("is not a regular file")
            opened = _opened_path(fd)
            problem = self._path_problem(opened) if opened else None
            if problem:
                raise FileRefusedError(problem)
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def location_problems(self, location: str) -> list[str]:
        """Return every reason a location would be refused now or in a run (empty: it may be read)."""
        kind = location_kind(location)
        if kind == "url":
            return []
        problem = self.folder_problem(location)
        if problem:
            return [problem]
        problems: list[str] = []
        if kind == "s3":
            if self.s3_root and _may_name_inside(_s3_key(location), self.s3_root):
                problems.append(f"can name objects inside {_STORAGE_ROOT}, which sources may never read")
            return problems  # objects are checked one by one in every run: listing them here needs the network
        pattern = local_pattern(location)
        fixed = _fixed_folder(pattern)
        resolved = _real(fixed) + pattern[len(fixed) :] if _GLOB_CHARS.search(pattern) else _real(pattern)
        # Refused for what the pattern can name, even before such files exist (or where a glob cannot see).
        reachable = [f"inside {name}" for folder, name in self.never if _may_name_inside(resolved, folder)]
        problems += [f"can name files {where}, which sources may never read" for where in reachable]
        try:
            _, files, base = expand_location(location)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            files, base = {}, ""  # nothing there yet: the files are checked when they arrive
        refused = [(posixpath.relpath(path, base), self.file_problem(path)) for path in files]
        refused = [(name, why) for name, why in refused if why and not any(w in why for w in reachable)]
        problems += [f"{name} {why}" for name, why in refused[:_LISTED]]
        if len(refused) > _LISTED:
            problems.append(f"and {len(refused) - _LISTED} more file(s) that may not be read")
        return problems

    # -- helpers ------------------------------------------------------------------------------------

    def _path_problem(self, path: str) -> str | None:
        real = _real(path)  # a link is judged by its target
        for folder, name in self.never:
            if _within(real, folder):
                return f"lies inside {name}, which sources may never read"
        if not any(_within(real, folder) for folder in self.allowed):
            return f"lies outside the allowed drop folders (the operator sets them in {ENV_DROP_FOLDERS})"
        return None

    def _object_problem(self, key: str) -> str | None:
        if self.s3_root is None:
            return None
        # S3 keys are literal, but some servers normalise "a/../b": refuse when either form is inside.
        if any(_within(form, self.s3_root, "/") for form in (key, posixpath.normpath(key))):
            return f"lies inside {_STORAGE_ROOT}, which sources may never read"
        return None


def location_problems(location: str, *, storage_root: str | None, env: Mapping[str, str] | None = None) -> list[str]:
    """Return why a run on ``storage_root`` (default: the environment's) would refuse a location, if at all.

    Pure apart from reading the file system: a local glob is expanded now and each match checked, as is
    its fixed part; a pattern that can name files inside the storage root is refused even before any
    exists. An empty list means the location may be read.
    """
    return DropPolicy.from_env(storage_root=storage_root, env=env).location_problems(location)


def spec_location_problems(
    spec: SourceSpec, *, storage_root: str | None, env: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """Return a spec's location problems as ``(field path, message)`` pairs, as :class:`SpecError` lists them."""
    return [("location", problem) for problem in location_problems(spec.location, storage_root=storage_root, env=env)]


def check_spec_location(
    spec: SourceSpec, origin: str, *, storage_root: str | None, env: Mapping[str, str] | None = None
) -> None:
    """Raise :class:`~catalog.sources.SpecError` when a run on ``storage_root`` would refuse the spec's location."""
    problems = spec_location_problems(spec, storage_root=storage_root, env=env)
    if problems:
        raise SpecError(origin, problems)


def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def _within(path: str, folder: str, sep: str = os.sep) -> bool:
    return path == folder or path.startswith(folder.rstrip(sep) + sep)


def _s3_key(location: str) -> str:
    """Return ``bucket/key`` of an ``s3://`` URL."""
    return location.partition("://")[2].lstrip("/")


def _fixed_folder(pattern: str) -> str:
    """Return the folder a pattern's files lie under: the part before its first wildcard (or the path)."""
    glob_char = _GLOB_CHARS.search(pattern)
    if not glob_char:
        return pattern
    fixed = pattern[: glob_char.start()]
    return fixed.rstrip("/") if fixed.endswith("/") else posixpath.dirname(fixed)


def _may_name_inside(pattern: str, root: str) -> bool:
    """Tell whether a path or glob can name a file inside ``root`` (compared part by part; ``**`` may)."""
    if not _GLOB_CHARS.search(pattern):
        # A file, or a folder read recursively: inside the root, or a folder holding it.
        return _within(pattern, root, "/") or _within(root, pattern.rstrip("/") or "/", "/")
    parts = [part for part in pattern.split("/") if part]
    root_parts = [part for part in root.split("/") if part]
    for depth, part in enumerate(parts):
        if "**" in part or depth >= len(root_parts):
            return True  # any depth below what matched so far, or the pattern goes on below the root
        if not fnmatch.fnmatchcase(root_parts[depth], part):
            return False
    return False  # the pattern names the root itself or a folder above it: folders a glob matches are not read


def _opened_path(fd: int) -> str | None:
    """Return the real path of an open file (Linux ``/proc/self/fd``), or ``None`` where unavailable."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
