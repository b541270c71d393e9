"""The anonymisation key of a storage root: where it comes from, the root's record of it, and its rotation.

Surrogates and keyed hashes are derived from one secret key, so the same key gives the same release and
another key silently gives other surrogates. This module makes the key a property of the storage root:

- **Where the key comes from.** ``CORPUSFABRIEK_ANONYMISATION_KEY`` when it is set. Otherwise, on a local
  root only, the key file ``<root>/secrets/anonymisation.key``, generated on first use (32 random bytes,
  hex) and from then on read. An S3 root keeps no key file (a bucket is shared infrastructure and its
  access rights are not the operator's file modes), so there the variable is required. The file holds the
  key exactly as the variable would: ``export CORPUSFABRIEK_ANONYMISATION_KEY=$(cat <key file>)`` uses the
  same key, e.g. to move a root to S3.
- **Why ``secrets/``.** It is under the root, so the key travels with the data it belongs to (a copy of
  the root can be re-anonymised the same way), and outside every zone: releases are read from
  ``releases/``, reviewers read ``excluded/``, ``quarantine/`` and ``validations/``, operators read
  ``catalog/``; nothing in the code lists the root's top level. The file is created owner-only (0600, in
  a 0700 folder) and refused when anyone else can read it.
- **The root's record** ``catalog/anonymisation-key.json`` (local and S3, through :class:`Storage`): a
  salted scrypt fingerprint of the current key (never the key), so a weak user-chosen key cannot be
  brute-forced cheaply from it, when it was recorded, and the fingerprints of earlier keys with their
  times. The first use records the key; a later use with another key raises :class:`KeyMismatchError`.
  The first 12 hex characters of the fingerprint are the key's ``key_id``, written into every anonymised
  zone report, so a release can leave out a source anonymised with an earlier key.
- **Rotation** (:func:`rotate`) is explicit: the new key is recorded, the old fingerprint moves to the
  history, and every source must be re-anonymised (a source whose report names another ``key_id`` is held
  back from releases until then). On a local root without the variable a new key file is generated and
  the old one kept as ``anonymisation.key.<time>.old`` (0600), so old releases stay reproducible.

The catalog layer cannot import the anonymisation library, so functions that accept a key take the
library's length check as ``check`` (``anonymisation.operators.check_key``): the key length is checked in
that one place. No message, record or log here ever contains a key or a full fingerprint.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog.settings import KEY_ENV, Settings
from catalog.storage import Storage
from catalog.zones import ANONYMISED_REPORTS, KEY_FILE, KEY_RECORD

#: The root's record of its key (fingerprints and times only), by its short name here.
RECORD = KEY_RECORD
RECORD_FORMAT = 1
#: scrypt cost (about 70 ms and 32 MiB per fingerprint); stored with each fingerprint, so it can be raised
SCRYPT = {"name": "scrypt", "n": 2**15, "r": 8, "p": 1, "dklen": 32}
KEY_ID_CHARS = 12
ROTATE_HINT = "rotate explicitly with `corpusfabriek key rotate --yes` (re-anonymises every source)"
#: Why a release leaves out a source anonymised with another key than the root's current one.
PREVIOUS_KEY_REASON = "anonymised with a previous key; re-run it"

#: ``anonymisation.operators.check_key``: returns the key or raises when it is too short.
KeyCheck = Callable[[bytes, str], bytes]


class RootKeyError(ValueError):
    """The storage root's anonymisation key is missing, unsafe or not the recorded one (one line, never the key).

    A ``ValueError``, like ``anonymisation.operators.AnonymisationKeyError``: the key given is not usable.
    """


class KeyMismatchError(RootKeyError):
    """The key differs from the one the storage root was anonymised with."""


@dataclass(frozen=True)
class RootKey:
    """The resolved key of a storage root, checked against the root's record."""

    secret: bytes = field(repr=False)
    key_id: str
    #: ``"environment"`` (the variable) or ``"file"`` (the local root's key file)
    origin: str
    key_file: str | None = None
    #: set when the key file was generated just now: say once where it is and to back it up
    notice: str | None = None


@dataclass(frozen=True)
class Rotation:
    """The outcome of :func:`rotate`."""

    key_id: str
    previous_key_id: str | None
    origin: str
    key_file: str | None = None
    retired_key_file: str | None = None


# -- key file ------------------------------------------------------------------------------------------


def key_file_path(storage: Storage) -> Path | None:
    """Return the key file of a local root (it may not exist yet); ``None`` for an S3 root."""
    return None if storage.is_remote else Path(storage.url(KEY_FILE))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _create_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Create ``path`` with ``data`` atomically, only if it does not exist; return whether it was created.

    The data goes to a new temporary file (``O_CREAT | O_EXCL``, ``mode``) that is hard-linked to the
    final name: the link fails when the name exists, so of two processes exactly one creates the file, and
    a reader never sees it half-written.
    """
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; never widened beyond ``mode``
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _secret_folder(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)


def _new_key_text() -> bytes:
    return (secrets.token_bytes(32).hex() + "\n").encode("ascii")


def _read_key_file(path: Path, check: KeyCheck) -> bytes:
    """Read a key file, refusing one that other users can access."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise RootKeyError(
            f"the anonymisation key file {path} is accessible to other users (mode {mode:04o}): "
            f"make it owner-only with `chmod 600 {path}`"
        )
    secret = path.read_bytes().strip()
    if not secret:
        raise RootKeyError(f"the anonymisation key file {path} is empty: restore it from your backup, or {ROTATE_HINT}")
    return check(secret, f"the anonymisation key in {path}")


def _generation_notice(path: Path) -> str:
    return (
        f"generated the anonymisation key of this storage root in {path} (readable only by you); keep it and "
        "back it up: the same key gives the same release "
        f"(to use it elsewhere: export {KEY_ENV}=$(cat {path}))"
    )


# -- the root's record ---------------------------------------------------------------------------------


def _fingerprint(secret: bytes, salt: bytes, kdf: Mapping[str, Any]) -> str:
    n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    return hashlib.scrypt(
        secret, salt=salt, n=n, r=r, p=p, dklen=int(kdf["dklen"]), maxmem=128 * r * n * p + 16 * 1024 * 1024
    ).hex()


def _entry(secret: bytes, origin: str, since: str) -> dict[str, Any]:
    """Return a record entry for ``secret``: a fresh random salt, its scrypt fingerprint, key id and time."""
    salt = secrets.token_bytes(16)
    fingerprint = _fingerprint(secret, salt, SCRYPT)
    return {
        "key_id": fingerprint[:KEY_ID_CHARS],
        "fingerprint": fingerprint,
        "salt": salt.hex(),
        "kdf": dict(SCRYPT),
        "origin": origin,
        "since": since,
    }


def _matches(entry: Mapping[str, Any], secret: bytes) -> bool:
    computed = _fingerprint(secret, bytes.fromhex(entry["salt"]), entry["kdf"])
    return hmac.compare_digest(computed, entry["fingerprint"])


def read_record(storage: Storage) -> dict[str, Any] | None:
    """Return the root's key record, or ``None`` before its first anonymisation with a key."""
    return storage.read_json(RECORD) if storage.exists(RECORD) else None


def recorded_key_id(storage: Storage) -> str | None:
    """Return the ``key_id`` of the root's current key, or ``None`` when no key was recorded yet."""
    record = read_record(storage)
    return record["current"]["key_id"] if record else None


def _record_bytes(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _create_record(storage: Storage, record: Mapping[str, Any]) -> bool:
    """Write the first record unless one exists; exclusive on a local root, check-then-write on S3.

    On S3 two first uses at the same moment can both write; the loser's anonymised reports then name a
    key id that is not the recorded one, and the release holds them back until they are re-run.
    """
    if storage.is_remote:
        if storage.exists(RECORD):
            return False
        storage.write_bytes(RECORD, _record_bytes(record))
        return True
    path = Path(storage.url(RECORD))
    path.parent.mkdir(parents=True, exist_ok=True)
    return _create_exclusive(path, _record_bytes(record), 0o644)


def _where(origin: str, key_file: Path | None) -> str:
    return f"in {KEY_ENV}" if origin == "environment" else f"in the key file {key_file}"


def verify_key(storage: Storage, secret: bytes, *, origin: str, key_file: Path | None = None) -> str:
    """Check ``secret`` against the root's record (recording it on first use); return its key id.

    :raises KeyMismatchError: the root was anonymised with another key; the one-line message explains the
        choice (use that key, or rotate) and names the recorded key's id and date, never a key.
    """
    record = read_record(storage)
    if record is None:
        now = _now()
        entry = _entry(secret, origin, now)
        first = {"format": RECORD_FORMAT, "created_at": now, "rotated_at": None, "current": entry, "history": []}
        if _create_record(storage, first):
            return entry["key_id"]
        record = read_record(storage)  # another process recorded its key first: compare with that one
        assert record is not None
    current = record["current"]
    if _matches(current, secret):
        return current["key_id"]
    earlier = next((e for e in reversed(record["history"]) if _matches(e, secret)), None)
    retired = f"; it is this root's earlier key {earlier['key_id']}, retired {earlier['until'][:10]}" if earlier else ""
    raise KeyMismatchError(
        f"the anonymisation key {_where(origin, key_file)} differs from the one this storage root was anonymised "
        f"with (key {current['key_id']}, recorded {current['since'][:10]}{retired}): set {KEY_ENV} to that key, "
        f"or {ROTATE_HINT}"
    )


# -- resolving -----------------------------------------------------------------------------------------


def _has_anonymised_sources(storage: Storage) -> bool:
    return bool(storage.glob(ANONYMISED_REPORTS))


def _no_key_here(storage: Storage, record: Mapping[str, Any] | None, path: Path) -> str | None:
    """Say why a local root with neither the variable nor a key file must not get a new key (``None``: it may)."""
    if record is not None:
        current = record["current"]
        return (
            f"this storage root was anonymised with a key (key {current['key_id']}, recorded "
            f"{current['since'][:10]}) that is neither in {KEY_ENV} nor in its key file {path}: set "
            f"{KEY_ENV} to that key or restore the key file from your backup, or {ROTATE_HINT}"
        )
    if _has_anonymised_sources(storage):
        return (
            "this storage root holds anonymised sources but no record of the key they were made with: "
            f"set {KEY_ENV} to that key, or {ROTATE_HINT}"
        )
    return None


def require_key_source(storage: Storage, env: Mapping[str, str] | None = None) -> None:
    """Fail at once when the root can have no key: an S3 root without the variable (nothing is read or written).

    A command checks this before it takes the root's lease, so a missing variable leaves no trace in the bucket.
    """
    if storage.is_remote and not Settings.read(env).anonymisation_key:
        raise RootKeyError(f"no anonymisation key: set {KEY_ENV} (an S3 storage root keeps no key file)")


def root_key(storage: Storage, *, check: KeyCheck, env: Mapping[str, str] | None = None) -> RootKey:
    """Resolve the root's key (the variable, else a local root's key file) and check it against the record.

    A local root's key file is generated when nothing else exists: no variable, no file, no record and no
    anonymised source (a root that holds anonymised sources or a record was made with a key that is not
    here: a new one would silently change every surrogate, so that is an error).

    :param check: the anonymisation library's key check (``anonymisation.operators.check_key``).
    :param env: the environment settings are read from (default: the process environment).
    :raises RootKeyError: no key, an unsafe key file, or (:class:`KeyMismatchError`) another key than the
        recorded one; every message is one line and names what to do.
    """
    require_key_source(storage, env)
    path = key_file_path(storage)
    value = Settings.read(env).anonymisation_key
    notice = None
    if value:
        origin, secret = "environment", check(value.encode("utf-8"), f"environment variable {KEY_ENV}")
    else:
        origin = "file"
        if not path.exists():
            problem = _no_key_here(storage, read_record(storage), path)
            if problem:
                raise RootKeyError(problem)
            _secret_folder(path)
            if _create_exclusive(path, _new_key_text(), 0o600):
                notice = _generation_notice(path)
        secret = _read_key_file(path, check)
    key_id = verify_key(storage, secret, origin=origin, key_file=path)
    return RootKey(secret, key_id, origin, str(path) if origin == "file" else None, notice)


def key_from_env(*, check: KeyCheck, env: Mapping[str, str] | None = None) -> bytes:
    """Return the key from ``CORPUSFABRIEK_ANONYMISATION_KEY`` alone, for commands without a storage root.

    :raises RootKeyError: the variable is unset or empty (the message says how to use a root's key file).
    """
    value = Settings.read(env).anonymisation_key
    if not value:
        raise RootKeyError(
            f"environment variable {KEY_ENV} is not set; set it to your secret key (a storage root's generated "
            f"key: export {KEY_ENV}=$(cat .corpusfabriek/{KEY_FILE}))"
        )
    return check(value.encode("utf-8"), f"environment variable {KEY_ENV}")


# -- rotation ------------------------------------------------------------------------------------------


def _retired_name(path: Path, now: str) -> Path:
    stamp = now.replace("-", "").replace(":", "").replace("+0000", "Z")
    return path.with_name(f"{path.name}.{stamp}.old")


def _retire_key_file(path: Path, now: str) -> Path:
    """Keep the current key file under a new ``.old`` name (same inode: still 0600); return that name."""
    base = _retired_name(path, now)
    for attempt in range(100):
        target = base if attempt == 0 else base.with_name(f"{base.name[: -len('.old')]}-{attempt}.old")
        try:
            os.link(path, target)
        except FileExistsError:
            continue
        return target
    raise RootKeyError(f"cannot keep the old key file {path}: too many retired key files with the same time")


def rotate(storage: Storage, *, check: KeyCheck, env: Mapping[str, str] | None = None) -> Rotation:
    """Make a new key the root's key: record its fingerprint, keep the old one in the history.

    The new key is ``CORPUSFABRIEK_ANONYMISATION_KEY`` when set (a local root's key file, if any, is then
    retired so that the variable is the only key); otherwise, on a local root, a newly generated key file,
    the old file kept as ``anonymisation.key.<time>.old``. The old key is not needed (it may be lost).
    Every source anonymised with the old key is held back from releases until it is re-anonymised.

    :raises RootKeyError: an S3 root without the variable, or the variable holds the current key already.
    """
    path = key_file_path(storage)
    value = Settings.read(env).anonymisation_key
    if not value and path is None:
        raise RootKeyError(
            f"rotating the key of an S3 storage root needs the new key: set {KEY_ENV} to it, then run "
            "`corpusfabriek key rotate --yes` again"
        )
    record = read_record(storage)
    now = _now()
    retired: Path | None = None
    old_secret: bytes | None = None
    if value:
        origin, secret = "environment", check(value.encode("utf-8"), f"environment variable {KEY_ENV}")
        if record is not None and _matches(record["current"], secret):
            instead = " (or unset it to generate a new key file)" if path is not None else ""
            raise RootKeyError(
                f"{KEY_ENV} holds this root's current key {record['current']['key_id']}: set it to the new key "
                f"first{instead}"
            )
        if path is not None and path.exists():
            old_secret = path.read_bytes().strip()
            retired = _retire_key_file(path, now)
            path.unlink()
    else:
        origin = "file"
        _secret_folder(path)
        new = path.with_name(f".{path.name}.new-{uuid.uuid4().hex}")
        if not _create_exclusive(new, _new_key_text(), 0o600):
            raise RootKeyError(f"cannot create a new key file next to {path}")
        if path.exists():
            old_secret = path.read_bytes().strip()
            retired = _retire_key_file(path, now)
        os.replace(new, path)  # atomic: the key file is the old key or the new one, never neither
        secret = _read_key_file(path, check)
    entry = _entry(secret, origin, now)
    history = list(record["history"]) if record else []
    previous = None
    if record is not None:
        previous = {**record["current"], "until": now}
        if retired is not None and old_secret and _matches(record["current"], old_secret):
            previous["retired_key_file"] = str(retired.relative_to(storage.root))
        history.append(previous)
    storage.write_bytes(
        RECORD,
        _record_bytes(
            {
                "format": RECORD_FORMAT,
                "created_at": record["created_at"] if record else now,
                "rotated_at": now,
                "current": entry,
                "history": history,
            }
        ),
    )
    return Rotation(
        key_id=entry["key_id"],
        previous_key_id=previous["key_id"] if previous else None,
        origin=origin,
        key_file=str(path) if origin == "file" else None,
        retired_key_file=str(retired) if retired else None,
    )


# -- status and releases -------------------------------------------------------------------------------


def previous_key_reason(report: Mapping[str, Any], current_key_id: str | None) -> str | None:
    """Return why a release must leave out a source's anonymised zone report, or ``None`` when it may go in.

    A report names the ``key_id`` it was anonymised with; it goes in only when that is the root's current
    key (every policy uses the key: ids, URLs and metadata are pseudonymised with it). Reports from before
    key ids were recorded have no ``key_id`` at all and are re-run like old ones.
    """
    key_id = report.get("key_id")
    if key_id is not None and key_id == current_key_id:
        return None
    return PREVIOUS_KEY_REASON


def stale_sources(storage: Storage, current_key_id: str | None) -> list[str]:
    """Return the sources whose anonymised zone was made with another key than ``current_key_id``."""
    stale = []
    for rel in storage.glob(ANONYMISED_REPORTS):
        report = storage.read_json(rel)
        if "key_id" not in report or (report["key_id"] is not None and report["key_id"] != current_key_id):
            stale.append(report.get("source_id") or rel.split("/")[1])
    return sorted(stale)


def key_status(storage: Storage, *, check: KeyCheck, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Describe the root's key without changing anything: where it comes from, whether it matches the record.

    Never contains the key or a full fingerprint: key ids, times, paths, file modes.
    """
    value = Settings.read(env).anonymisation_key
    path = key_file_path(storage)
    record = read_record(storage)
    file_exists = path is not None and path.exists()
    status: dict[str, Any] = {
        "storage": storage.url(),
        "origin": None,
        "key_file": str(path) if path is not None else None,
        "key_file_exists": file_exists,
        "key_file_mode": f"{stat.S_IMODE(os.stat(path).st_mode):04o}" if file_exists else None,
        "key_id": None,
        "matches_record": None,
        "problem": None,
        "recorded": None,
        "stale_sources": [],
    }
    secret = None
    try:
        if value:
            status["origin"] = "environment"
            secret = check(value.encode("utf-8"), f"environment variable {KEY_ENV}")
        elif file_exists:
            status["origin"] = "file"
            secret = _read_key_file(path, check)
    except ValueError as exc:  # RootKeyError and a too short key alike
        status["problem"] = str(exc)
    if status["origin"] is None and path is not None:
        status["problem"] = _no_key_here(storage, record, path)
    if record is not None:
        current = record["current"]
        status["recorded"] = {
            "key_id": current["key_id"],
            "since": current["since"],
            "created_at": record["created_at"],
            "rotated_at": record["rotated_at"],
            "earlier": [
                {k: e.get(k) for k in ("key_id", "since", "until", "retired_key_file")} for e in record["history"]
            ],
        }
        if secret is not None:
            matches = _matches(current, secret)
            status["matches_record"] = matches
            fingerprint = _fingerprint(secret, bytes.fromhex(current["salt"]), current["kdf"])
            status["key_id"] = fingerprint[:KEY_ID_CHARS]
        status["stale_sources"] = stale_sources(storage, current["key_id"])
    return status


__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "PREVIOUS_KEY_REASON",
    "RECORD",
    "KeyMismatchError",
    "RootKey",
    "RootKeyError",
    "Rotation",
    "key_file_path",
    "key_from_env",
    "key_status",
    "previous_key_reason",
    "read_record",
    "recorded_key_id",
    "root_key",
    "rotate",
    "stale_sources",
    "verify_key",
]
