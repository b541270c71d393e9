"""One storage root over fsspec, split into zones, with atomic writes.

The root is a local folder by default (``./.corpusfabriek``) or ``s3://bucket/prefix`` on the factory's
S3-compatible object storage. Credentials only ever come from the environment; they are kept out of
``repr`` and error messages.

Atomicity: a local write goes to a hidden temporary file in the same folder and is renamed into place;
an S3 object becomes visible only when its (multipart) upload completes. Hidden names (starting with a
dot) are not listed (unless a checker asks for them), so a reader never sees a half-written file. A
release is committed by writing its manifest last (see :mod:`catalog.releases`).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import fsspec

from catalog.processes import is_alive, this_process
from catalog.settings import S3Settings, Settings
from catalog.staging import process_staging_dir, temporary_directory

DEFAULT_ROOT = ".corpusfabriek"


#: Hidden temporary files of local writes: ``.<name>.tmp-<pid>-<start time>-<random>``, so that the file of
#: a writer that died before its rename can be told from a live writer's.
_TEMP_FILE = re.compile(r"^\..+\.tmp-(\d+)-(\d+|x)-[0-9a-f]{8,}$")
#: The same files as written before they named their writer: removed only once surely abandoned.
_LEGACY_TEMP_FILE = re.compile(r"^\..+\.tmp-[0-9a-f]{32}$")
LEGACY_TEMP_FILE_AGE_S = 3600.0


def is_temp_file_name(name: str) -> bool:
    """Tell whether a file name is one of our hidden temporary names (an atomic write not yet renamed)."""
    return bool(_TEMP_FILE.match(name) or _LEGACY_TEMP_FILE.match(name))


def temp_file_name(target: str) -> str:
    """Return the hidden temporary name, in the target's folder, under which a local write is staged."""
    pid, start = this_process()
    return f".{posixpath.basename(target)}.tmp-{pid}-{start}-{uuid.uuid4().hex[:12]}"


def root_from_env(root: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Return the storage root a run uses: ``root`` if given, else ``CORPUSFABRIEK_ROOT``, else the default."""
    return root or Settings.read(env).root or DEFAULT_ROOT


def human_size(size: int) -> str:
    """Return a size in bytes as a person reads it: ``812 B``, ``14.2 KB``, ``3.1 MB`` (powers of 1024)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def sql_quote(value: str) -> str:
    """Return a SQL string literal for a path or name (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _mtime(info: Mapping[str, Any]) -> float | None:
    """Return the modification time of an fsspec info entry: ``mtime`` locally, ``LastModified`` on S3."""
    if info.get("mtime") is not None:
        return float(info["mtime"])
    stamp = info.get("LastModified")
    return stamp.timestamp() if stamp is not None else None


class StorageError(RuntimeError):
    """A storage operation failed; the message names the path, never a credential."""


class Storage:
    """A storage root with zones; every path argument is relative to the root (``"raw/src/x.parquet"``)."""

    def __init__(
        self,
        root: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        if not root:
            raise StorageError("storage root is empty")
        self._endpoint_url = endpoint_url or None
        self._region = region or None
        self._key = access_key_id or None
        self._secret = secret_access_key or None
        if root.startswith("s3://"):
            self.protocol = "s3"
            self.root = root.rstrip("/")
            import s3fs

            settings = S3Settings(self._endpoint_url, self._region, self._key, self._secret)
            self.fs = s3fs.S3FileSystem(**settings.fsspec_options(), use_listings_cache=False)
        elif "://" in root and not root.startswith("file://"):
            raise StorageError(f"unsupported storage root {root!r}: use a local folder or s3://bucket/prefix")
        else:
            self.protocol = "file"
            self.root = str(Path(root.removeprefix("file://")).expanduser().resolve())
            self.fs = fsspec.filesystem("file", auto_mkdir=True)

    @classmethod
    def from_env(cls, root: str | None = None, env: Mapping[str, str] | None = None) -> Storage:
        """Build the storage from the environment (``CORPUSFABRIEK_ROOT``, ``AWS_*``); ``root`` overrides."""
        settings = S3Settings.from_env(env)
        return cls(
            root_from_env(root, env),
            endpoint_url=settings.endpoint_url,
            region=settings.region,
            access_key_id=settings.access_key_id,
            secret_access_key=settings.secret_access_key,
        )

    def __repr__(self) -> str:
        endpoint = f", endpoint={self._endpoint_url!r}" if self._endpoint_url else ""
        return f"Storage({self.root!r}{endpoint})"

    @property
    def is_remote(self) -> bool:
        """True when the root is on object storage."""
        return self.protocol != "file"

    # -- paths -------------------------------------------------------------------------------------

    def url(self, *parts: str) -> str:
        """Return the full URL (or absolute local path) of a path under the root."""
        rel = posixpath.join(*parts) if parts else ""
        if rel.startswith("/") or ".." in rel.split("/"):
            raise StorageError(f"path {rel!r} must be relative to the storage root")
        return posixpath.join(self.root, rel) if rel else self.root

    def _fs_path(self, rel: str) -> str:
        url = self.url(rel)
        return url.removeprefix("s3://")

    # -- reading -----------------------------------------------------------------------------------

    def exists(self, rel: str) -> bool:
        """Tell whether a file or folder exists under the root."""
        return bool(self.fs.exists(self._fs_path(rel)))

    def ls(self, rel: str = "", *, dirs_only: bool = False, hidden: bool = False) -> list[str]:
        """List the names directly under a folder.

        Hidden names (temporary files of writes in progress) are skipped unless ``hidden=True``: a checker
        that must see *everything* in a folder (release verification, clean-up) asks for them.
        """
        path = self._fs_path(rel)
        if not self.fs.exists(path):
            return []
        names = []
        for entry in self.fs.ls(path, detail=True):
            if entry["name"].rstrip("/") == path.rstrip("/"):
                continue  # an empty folder on S3 lists itself
            name = posixpath.basename(entry["name"].rstrip("/"))
            if name.startswith(".") and not hidden:
                continue
            if dirs_only and entry["type"] != "directory":
                continue
            names.append(name)
        return sorted(names)

    def glob(self, pattern: str) -> list[str]:
        """Return paths relative to the root that match a glob pattern, sorted, hidden names skipped."""
        base = self._fs_path("")
        found = []
        for path in self.fs.glob(self._fs_path(pattern)):
            rel = path[len(base) :].lstrip("/")
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            found.append(rel)
        return sorted(found)

    def is_dir(self, rel: str) -> bool:
        """Tell whether a path is a folder (on S3: a prefix with objects under it)."""
        return bool(self.fs.isdir(self._fs_path(rel)))

    def modified(self, rel: str) -> float | None:
        """Return when a file, or the newest file under a folder, was last written (POSIX seconds).

        ``None`` when nothing is there. A folder's own time is used only when it holds no file (an
        empty local folder): on S3 folders have no time of their own.
        """
        path = self._fs_path(rel)
        if not self.fs.exists(path):
            return None
        stamps = [_mtime(info) for info in self.fs.find(path, detail=True, withdirs=False).values()]
        if not stamps:
            stamps = [_mtime(self.fs.info(path))]
        known = [stamp for stamp in stamps if stamp is not None]
        return max(known) if known else None

    def size(self, rel: str) -> int:
        """Return the size in bytes of a file."""
        return int(self.fs.size(self._fs_path(rel)))

    def open_input(self, rel: str) -> BinaryIO:
        """Open a file for reading (binary, seekable)."""
        try:
            return self.fs.open(self._fs_path(rel), "rb")
        except FileNotFoundError as exc:
            raise StorageError(f"no such file in storage: {self.url(rel)}") from exc

    def read_bytes(self, rel: str) -> bytes:
        """Read a whole (small) file."""
        with self.open_input(rel) as handle:
            return handle.read()

    def read_json(self, rel: str) -> Any:
        """Read a JSON file."""
        return json.loads(self.read_bytes(rel))

    # -- writing -----------------------------------------------------------------------------------

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write a file atomically: readers see the old file or the whole new one, never a part."""
        with self.staged_file(rel) as local:
            Path(local).write_bytes(data)

    def write_json(self, rel: str, obj: Any) -> None:
        """Write JSON atomically (sorted keys, UTF-8, trailing newline)."""
        payload = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
        self.write_bytes(rel, payload.encode("utf-8"))

    def put_file(self, local_path: str | Path, rel: str) -> None:
        """Copy a local file into storage atomically."""
        target = self._fs_path(rel)
        if self.is_remote:
            # A single PUT or a completed multipart upload: the object appears whole or not at all.
            self.fs.put_file(str(local_path), target)
            return
        folder = posixpath.dirname(target)
        os.makedirs(folder, exist_ok=True)
        tmp = posixpath.join(folder, temp_file_name(target))
        try:
            shutil.copyfile(local_path, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)

    @contextlib.contextmanager
    def staged_file(self, rel: str) -> Iterator[str]:
        """Yield a local path to write; on success it is published to ``rel`` atomically, on error dropped.

        Streaming writers (Parquet row-group writers, DuckDB ``COPY``) write to local disk first, so a
        failure half-way never leaves a partial object in storage.
        """
        with temporary_directory("staged-") as tmpdir:
            local = os.path.join(tmpdir, posixpath.basename(rel) or "file")
            yield local
            if not os.path.exists(local):
                raise StorageError(f"nothing was written for {self.url(rel)}")
            self.put_file(local, rel)

    def remove_dead_temp_files(self) -> int:
        """Remove hidden temporary files that writers which no longer run left under a local root; return how many.

        A local write stages into ``.<name>.tmp-<pid>-<start time>-<random>`` next to its target and renames
        it; a writer killed in between leaves that file. Files of live writers are never touched. Object
        storage has no such files (an upload is invisible until complete).
        """
        if self.is_remote or not os.path.isdir(self.root):
            return 0
        removed = 0
        legacy_before = time.time() - LEGACY_TEMP_FILE_AGE_S
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                path = os.path.join(folder, name)
                match = _TEMP_FILE.match(name)
                if match is not None:
                    abandoned = not is_alive(int(match.group(1)), match.group(2))
                elif _LEGACY_TEMP_FILE.match(name):
                    try:
                        abandoned = os.stat(path).st_mtime < legacy_before
                    except FileNotFoundError:
                        continue
                else:
                    continue
                if abandoned:
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
                        removed += 1
        return removed

    def delete(self, rel: str, *, recursive: bool = False) -> None:
        """Delete a file (or a folder with ``recursive=True``) if it exists."""
        path = self._fs_path(rel)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=recursive)
        if recursive and self.is_remote:
            # S3 servers with real folders (SeaweedFS) keep the emptied folder, listed as a prefix, until
            # its marker object goes too; on AWS S3 this deletes a key that does not exist, which is fine
            bucket, key, _ = self.fs.split_path(path)
            if key:
                self.fs.call_s3("delete_object", Bucket=bucket, Key=key.rstrip("/") + "/")
                self.fs.invalidate_cache(path)

    # -- engines -----------------------------------------------------------------------------------

    def polars_storage_options(self) -> dict[str, str] | None:
        """Return ``storage_options`` for polars ``scan_parquet``/``write_parquet`` on this root."""
        if not self.is_remote:
            return None
        options = {"aws_allow_http": "true"} if (self._endpoint_url or "").startswith("http://") else {}
        for key, value in (
            ("aws_endpoint_url", self._endpoint_url),
            ("aws_region", self._region or "us-east-1"),
            ("aws_access_key_id", self._key),
            ("aws_secret_access_key", self._secret),
        ):
            if value:
                options[key] = value
        return options

    def duckdb(self, *, memory_limit: str = "2GB", threads: int | None = None) -> Any:
        """Return a DuckDB connection that can read this root (fsspec registered for S3), spilling to disk."""
        import duckdb

        con = duckdb.connect(config={"memory_limit": memory_limit, "preserve_insertion_order": False})
        # Spill files in this process's staging folder: removed with it if the process is killed.
        con.execute(f"SET temp_directory = {sql_quote(str(process_staging_dir() / 'duckdb'))}")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if self.is_remote:
            con.register_filesystem(self.fs)
        return con
