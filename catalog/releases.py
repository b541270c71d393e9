"""Releases as their readers see them: list the versions, read and verify a manifest.

Layout: ``releases/<corpus>/<version>/part-00000.parquet ...`` and ``manifest.json``. The manifest is
the commit: a version folder without one is incomplete and is never trusted or listed as a release.
Published versions are never modified. Building a release is a stage (:mod:`stages.release`).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from typing import Any, TypedDict

import pyarrow.parquet as pq

from catalog.parquet import sha256_stream
from catalog.storage import Storage, sql_quote
from catalog.zones import (
    corpus_folder,
    release_dir,
)

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "corpusfabriek.release/1"
DEFAULT_CORPUS = "nl-main"


class Manifest(TypedDict):
    """A release's ``manifest.json`` (format :data:`MANIFEST_FORMAT`), written last by the release stage.

    The nested entries (``files``, ``sources``, ``excluded``, ``near_duplicates``) are described in the
    README's release manifest section.
    """

    format: str
    corpus: str
    version: str
    code_version: str
    schema_version: str
    schema: list[dict[str, Any]]
    stages: list[str]
    anonymised: bool
    total_documents: int
    total_bytes: int
    files: list[dict[str, Any]]
    release_digest: str
    excluded: dict[str, Any]
    near_duplicates: dict[str, Any] | None
    sources: list[dict[str, Any]]
    created_at: str
    build_duration_s: float
    inputs_digest: str


class ReleaseError(RuntimeError):
    """A release cannot be built or read."""


def version_sort_key(version: str) -> tuple[str, int]:
    """Order versions by build time, then by the numeric same-second suffix (``-2`` before ``-10``)."""
    base, _, suffix = version.partition("-")
    return base, int(suffix) if suffix.isdigit() else 1


def release_digest(files: Sequence[dict[str, Any]]) -> str:
    """Return one SHA-256 over the parts' names and checksums: equal digests mean equal release content."""
    digest = hashlib.sha256()
    for entry in sorted(files, key=lambda f: f["path"]):
        digest.update(f"{entry['path']} {entry['sha256']}\n".encode())
    return digest.hexdigest()


# -- reading ---------------------------------------------------------------------------------------


def list_versions(storage: Storage, corpus: str | None = None) -> list[dict[str, Any]]:
    """List release versions, oldest first: ``{"corpus", "version", "complete", "manifest"}``.

    Only ``complete`` versions (with a manifest) are releases; incomplete folders are listed so that an
    operator can see and clean up failed builds.
    """
    corpora = [corpus] if corpus else storage.ls("releases", dirs_only=True)
    found = []
    for name in corpora:
        for version in sorted(storage.ls(corpus_folder(name), dirs_only=True), key=version_sort_key):
            path = f"{release_dir(name, version)}/{MANIFEST}"
            complete = storage.exists(path)
            found.append(
                {
                    "corpus": name,
                    "version": version,
                    "complete": complete,
                    "manifest": storage.read_json(path) if complete else None,
                }
            )
    return found


def read_parts_sql(storage: Storage, manifest: Manifest) -> str:
    """Return a DuckDB ``read_parquet([...])`` over a release's parts (the manifest must list at least one)."""
    folder = release_dir(manifest["corpus"], manifest["version"])
    urls = ", ".join(sql_quote(storage.url(f"{folder}/{entry['path']}")) for entry in manifest["files"])
    return f"read_parquet([{urls}])"


def pull_release(storage: Storage, manifest: Manifest, target: str) -> tuple[str, list[str]]:
    """Copy a release (its parts and manifest) to a local folder, ``target/<corpus>/<version>``, and verify it.

    Each file is copied under a temporary name and renamed when complete, the manifest last, so an
    interrupted pull never looks complete; pulling a copy that is already there and verifies again copies
    nothing. Returns the folder and the problems found (empty: the copy verifies).
    """
    local = Storage(target)
    folder = f"{manifest['corpus']}/{manifest['version']}"
    if local.exists(f"{folder}/{MANIFEST}") and not verify_release(local, manifest, folder):
        return local.url(folder), []
    for entry in [*manifest["files"], *(manifest.get("documentation") or [])]:
        source = f"{release_dir(manifest['corpus'], manifest['version'])}/{entry['path']}"
        with storage.open_input(source) as handle, local.staged_file(f"{folder}/{entry['path']}") as path:
            with open(path, "wb") as out:
                shutil.copyfileobj(handle, out, 1 << 20)
    local.write_json(f"{folder}/{MANIFEST}", manifest)
    return local.url(folder), verify_release(local, manifest, folder)


def latest_manifest(storage: Storage, corpus: str) -> Manifest | None:
    """Return the manifest of a corpus's newest complete release (``None`` before the first one)."""
    for version in sorted(storage.ls(corpus_folder(corpus), dirs_only=True), key=version_sort_key, reverse=True):
        path = f"{release_dir(corpus, version)}/{MANIFEST}"
        if storage.exists(path):
            return storage.read_json(path)
    return None


def read_manifest(storage: Storage, version: str, corpus: str | None = None) -> Manifest:
    """Return the manifest of a complete version (``latest`` for the newest one)."""
    versions = [v for v in list_versions(storage, corpus) if v["complete"]]
    if version == "latest":
        if not versions:
            raise ReleaseError("there is no complete release yet")
        return max(versions, key=lambda v: version_sort_key(v["version"]))["manifest"]
    matches = [v for v in versions if v["version"] == version]
    if not matches:
        raise ReleaseError(f"no complete release version {version!r}" + (f" in corpus {corpus!r}" if corpus else ""))
    if len(matches) > 1:
        raise ReleaseError(f"version {version!r} exists in several corpora; name the corpus")
    return matches[0]["manifest"]


def verify_release(storage: Storage, manifest: Manifest, folder: str | None = None) -> list[str]:
    """Check a release against its manifest; return the problems found (empty: it verifies).

    Every listed file must exist with the recorded size, SHA-256 and row count, nothing unlisted may
    sit beside them (hidden files and folders included: a reader's ``*.parquet`` glob would take a hidden
    ``.x.parquet`` as a part), and the release digest must match. ``folder``: where the release is under
    the root (default: its place in the releases zone; a pulled copy is elsewhere).
    """
    folder = folder if folder is not None else release_dir(manifest["corpus"], manifest["version"])
    problems = []
    documentation = manifest.get("documentation") or []  # the datasheet and its plots (no rows)
    listed = {entry["path"] for entry in manifest["files"]}
    listed_folders = {entry["path"].split("/")[0] for entry in documentation if "/" in entry["path"]}
    listed |= {entry["path"] for entry in documentation}
    for name in storage.ls(folder, hidden=True):
        if name != MANIFEST and name not in listed and name not in listed_folders:
            kind = "folder" if storage.is_dir(f"{folder}/{name}") else "file"
            problems.append(f"{name}: {kind} not listed in the manifest")
    for sub in sorted(listed_folders):
        for name in storage.ls(f"{folder}/{sub}", hidden=True):
            if f"{sub}/{name}" not in listed:
                problems.append(f"{sub}/{name}: file not listed in the manifest")
    for entry in documentation:
        path = f"{folder}/{entry['path']}"
        if not storage.exists(path):
            problems.append(f"{entry['path']}: missing")
            continue
        with storage.open_input(path) as handle:
            if sha256_stream(handle) != entry["sha256"]:
                problems.append(f"{entry['path']}: sha256 does not match the manifest")
    for entry in manifest["files"]:
        path = f"{folder}/{entry['path']}"
        if not storage.exists(path):
            problems.append(f"{entry['path']}: missing")
            continue
        if storage.size(path) != entry["bytes"]:
            problems.append(f"{entry['path']}: size {storage.size(path)} != manifest {entry['bytes']}")
        with storage.open_input(path) as handle:
            if sha256_stream(handle) != entry["sha256"]:
                problems.append(f"{entry['path']}: sha256 does not match the manifest")
        try:
            with storage.open_input(path) as handle:
                rows = pq.ParquetFile(handle).metadata.num_rows
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            problems.append(f"{entry['path']}: not a readable Parquet file ({type(exc).__name__})")
            continue
        if rows != entry["rows"]:
            problems.append(f"{entry['path']}: {rows} rows != manifest {entry['rows']}")
    if release_digest(manifest["files"]) != manifest["release_digest"]:
        problems.append("release_digest does not match the listed files")
    if sum(entry["rows"] for entry in manifest["files"]) != manifest["total_documents"]:
        problems.append("total_documents does not match the listed files")
    return problems
