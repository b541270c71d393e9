"""One writer per storage root: a lease object in the root, renewed while held, taken over when stale.

Two writers on one root race: both read the same cursor and ingest the same items, both rewrite the same
zone files. :class:`RootLease` lets one process at a time write a root (local folder or S3). The lease is
a small JSON object, ``locks/root.lease``, naming its holder (host, pid, process start time, command,
since when, last heartbeat, a random token), so a second writer can say who is in the way::

    storage root /data is busy: corpusfabriek run (pid 1234 on host h, since 05:41:02 UTC, last heartbeat
    3 s ago); wait for it, or use --wait SECONDS

Every change of the lease object is a compare-and-swap, so that exactly one of several contenders wins:

- **S3**: conditional requests. ``PUT`` with ``If-None-Match: *`` creates the lease only if absent; a
  heartbeat, a takeover and a release (``PUT``/``DELETE`` with ``If-Match: <ETag>``) succeed only if the
  object is still the version the caller read, else the store answers 412 (SeaweedFS 4.48 does, checked
  in the tests, for all four requests; AWS S3 has conditional writes too). A store that refuses a
  condition with 501 gets check-then-write instead; one that silently ignores conditions is caught by the
  read-back after every acquisition (the writer not finding its own token gives up). Both leave a window
  of one round trip: use a store with conditional writes.
- **local**: the same operations under an exclusive ``flock`` of ``locks/.root.lease.guard``, held for the
  few milliseconds of one read-check-write; the new content is written to a hidden temporary file and
  renamed into place, so a reader never sees half a lease. The kernel drops the ``flock`` of a killed
  process, so a crash never wedges the guard; on NFS, Linux maps ``flock`` to NFS locks. (Renaming a
  stale lease aside without such a guard is not enough: a slow taker could move aside the fresh lease a
  faster taker has just created.)

Stale holders are taken over. On the same host the answer is exact: the holder is stale when its pid no
longer runs, or runs a different process (start time differs), or the machine rebooted; a live holder on
this host is never taken over, however old its heartbeat (it may be stopped with Ctrl-Z). A holder on
another host is stale when its last heartbeat is older than its TTL (clocks must agree to well within
the TTL). A holder renews every ``heartbeat`` seconds from a daemon thread; if it finds the lease changed
under it (it was frozen for longer than the TTL and someone took over), it marks itself :attr:`lost` and
calls ``on_lost``.

Within one process the lease is re-entrant: ``corpusfabriek run`` holds it and runs Dagster jobs in
process whose assets take it again; those inner acquisitions share the outer one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import posixpath
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from catalog.processes import boot_id, hostname, is_alive, this_process
from catalog.storage import Storage, temp_file_name

LEASE_PATH = "locks/root.lease"
DEFAULT_TTL_S = 60.0
DEFAULT_HEARTBEAT_S = 10.0
DEFAULT_HINT = "wait for it, or use --wait SECONDS"
GUARD_TIMEOUT_S = 30.0

log = logging.getLogger(__name__)


class LeaseError(RuntimeError):
    """The lease could not be read or written (the message names the root, never a credential)."""


class LeaseBusyError(LeaseError):
    """Another live process holds the root's lease; the message is one line naming it."""

    def __init__(self, root: str, holder: Mapping[str, Any], hint: str = DEFAULT_HINT) -> None:
        self.root = root
        self.holder = dict(holder)
        super().__init__(f"storage root {root} is busy: {describe_holder(holder)}" + (f"; {hint}" if hint else ""))


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def describe_holder(record: Mapping[str, Any], now: datetime | None = None) -> str:
    """Name a lease holder in one line: command, pid, host, since when, last heartbeat."""
    now = now or utc_now()
    command = " ".join(str(record.get("command") or "unknown holder").split())
    started = _parse_time(record.get("started_at"))
    if started is None:
        since = "unknown"
    elif started.date() == now.date():
        since = f"{started:%H:%M:%S} UTC"
    else:
        since = f"{started:%Y-%m-%d %H:%M:%S} UTC"
    beat = _parse_time(record.get("heartbeat_at"))
    heartbeat = f"{max(0, round((now - beat).total_seconds()))} s ago" if beat else "unknown"
    where = f"pid {record.get('pid', '?')} on host {record.get('host', '?')}"
    return f"{command} ({where}, since {since}, last heartbeat {heartbeat})"


def stale_reason(record: Mapping[str, Any], ttl: float, modified: float | None = None) -> str | None:
    """Return why a lease record's holder is gone, or ``None`` while it may still be alive."""
    if record.get("unreadable"):
        if modified is not None and time.time() - modified > ttl:
            return f"unreadable lease not renewed for {time.time() - modified:.0f} s"
        return None
    if record.get("host") == hostname():
        theirs, ours = record.get("boot_id"), boot_id()
        if theirs and ours and theirs != ours:
            return "this host rebooted since"
        try:
            pid = int(record.get("pid", -1))
        except (TypeError, ValueError):
            pid = -1
        if not is_alive(pid, record.get("process_start")):
            return "its process is gone"
        return None  # alive here, however old its heartbeat: never taken over
    beat = _parse_time(record.get("heartbeat_at"))
    limit = float(record.get("ttl_s") or ttl)
    age = (utc_now() - beat).total_seconds() if beat else float("inf")
    return f"no heartbeat for {age:.0f} s (TTL {limit:.0f} s)" if age > limit else None


# -- compare-and-swap on the lease object -------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    body: bytes
    version: str
    modified: float | None


class _LocalBackend:
    """The lease file of a local root; every change under an exclusive flock of a guard file."""

    def __init__(self, storage: Storage) -> None:
        self.path = storage.url(LEASE_PATH)
        self.folder = posixpath.dirname(self.path)
        self.guard_path = posixpath.join(self.folder, f".{posixpath.basename(self.path)}.guard")

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        import fcntl

        os.makedirs(self.folder, exist_ok=True)
        fd = os.open(self.guard_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + GUARD_TIMEOUT_S
            while True:  # non-blocking with retries: a frozen process cannot hang us forever
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        message = f"lease guard {self.guard_path} stayed locked for {GUARD_TIMEOUT_S:.0f} s"
                        raise LeaseError(message) from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)  # closing drops the flock

    def read(self) -> _Read | None:
        try:
            with open(self.path, "rb") as handle:
                body = handle.read()
                modified = os.fstat(handle.fileno()).st_mtime
        except FileNotFoundError:
            return None
        return _Read(body, hashlib.sha256(body).hexdigest(), modified)

    def _write(self, data: bytes) -> str:
        tmp = posixpath.join(self.folder, temp_file_name(self.path))
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
        return hashlib.sha256(data).hexdigest()

    def create(self, data: bytes) -> str | None:
        with self._guard():
            if os.path.exists(self.path):
                return None
            return self._write(data)

    def replace(self, data: bytes, version: str) -> str | None:
        with self._guard():
            current = self.read()
            if current is None or current.version != version:
                return None
            return self._write(data)

    def delete(self, version: str) -> bool:
        with self._guard():
            current = self.read()
            if current is None or current.version != version:
                return False
            os.remove(self.path)
            return True


class _S3Backend:
    """The lease object of an S3 root; every change a conditional request (If-None-Match / If-Match)."""

    def __init__(self, storage: Storage) -> None:
        self.url = storage.url(LEASE_PATH)
        self.bucket, _, self.key = self.url.removeprefix("s3://").partition("/")
        self.fs = storage.fs

    def _call(self, method: str, **kwargs: Any) -> Any:
        """Call the S3 client directly: s3fs would turn 412 into a generic error."""
        from fsspec.asyn import sync

        async def call() -> Any:
            await self.fs.set_session()
            client = await self.fs.get_s3(self.bucket)
            response = await getattr(client, method)(Bucket=self.bucket, Key=self.key, **kwargs)
            if method == "get_object":
                async with response["Body"] as stream:
                    response["Data"] = await stream.read()
            return response

        return sync(self.fs.loop, call)

    def _outcome(self, exc: Exception) -> str:
        """Classify an S3 error: ``missing``, ``conflict``, ``unsupported``, or raise it as a LeaseError."""
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchKey", "404", "NotFound") or status == 404:
            return "missing"
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
            return "conflict"
        if code == "NotImplemented" or status == 501:
            return "unsupported"
        raise LeaseError(f"cannot use the lease {self.url}: {code or type(exc).__name__}") from None

    def read(self) -> _Read | None:
        try:
            response = self._call("get_object")
        except Exception as exc:
            if self._outcome(exc) == "missing":
                return None
            raise LeaseError(f"cannot read the lease {self.url}") from None
        modified = response.get("LastModified")
        return _Read(response["Data"], response["ETag"], modified.timestamp() if modified else None)

    def _put(self, data: bytes, **condition: str) -> str | None:
        try:
            return self._call("put_object", Body=data, ContentType="application/json", **condition)["ETag"]
        except Exception as exc:
            outcome = self._outcome(exc)  # raises unless missing, conflict or unsupported
        if outcome != "unsupported":
            return None
        # A store that refuses conditional PUTs: check, then write. The read-back after every acquisition
        # still catches most lost races; the window left is one round trip.
        current = self.read()
        expected = condition.get("IfMatch")
        if (current is not None and current.version != expected) or (current is None and expected is not None):
            return None
        return self._call("put_object", Body=data, ContentType="application/json")["ETag"]

    def create(self, data: bytes) -> str | None:
        return self._put(data, IfNoneMatch="*")

    def replace(self, data: bytes, version: str) -> str | None:
        return self._put(data, IfMatch=version)

    def delete(self, version: str) -> bool:
        try:
            self._call("delete_object", IfMatch=version)
        except Exception as exc:
            if self._outcome(exc) != "unsupported":
                return False
            current = self.read()  # a store without conditional DELETE: check, then delete
            if current is None or current.version != version:
                return False
            self._call("delete_object")
        return True


# -- the lease -------------------------------------------------------------------------------------------


@dataclass
class _Hold:
    """The lease one process holds on a root, and how many nested acquisitions share it."""

    owner: RootLease
    pid: int
    depth: int = 1


_registry_lock = threading.Lock()
_held: dict[str, _Hold] = {}


class RootLease:
    """The lease of one storage root.

    :param storage: the root.
    :param holder: what to show to others, e.g. ``{"command": "corpusfabriek run"}``; host, pid, process
        start time, times and a token are added.
    :param ttl: seconds without heartbeat after which a holder on another host counts as gone.
    :param heartbeat: seconds between renewals while held.
    :param poll: seconds between attempts while waiting.
    :param reentrant: share a lease this process already holds on the root (default); ``False`` behaves
        like another process would.
    :param hint: the advice at the end of the busy message.
    :param on_lost: called (from the heartbeat thread) if the lease is found taken over while held.
    """

    def __init__(
        self,
        storage: Storage,
        holder: Mapping[str, Any] | None = None,
        *,
        ttl: float = DEFAULT_TTL_S,
        heartbeat: float = DEFAULT_HEARTBEAT_S,
        poll: float = 1.0,
        reentrant: bool = True,
        hint: str = DEFAULT_HINT,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        if heartbeat <= 0 or ttl <= heartbeat:
            raise ValueError(f"need 0 < heartbeat ({heartbeat}) < ttl ({ttl})")
        self.storage = storage
        self.root = storage.url()
        self.ttl = ttl
        self.heartbeat = heartbeat
        self.poll = poll
        self.reentrant = reentrant
        self.hint = hint
        self.on_lost = on_lost
        self._holder = dict(holder or {})
        self._backend = _S3Backend(storage) if storage.is_remote else _LocalBackend(storage)
        self._key = f"{storage!r}:{LEASE_PATH}"
        self._version: str | None = None
        self._record: dict[str, Any] | None = None
        self._hold: _Hold | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The lease's random token while held (shared with the outer holder when re-entered).
        self.token: str | None = None
        #: True when this object created or took over the lease, False when it re-entered an outer hold.
        self.outermost = False
        #: The record of the stale holder this object took over, if it did.
        self.took_over: dict[str, Any] | None = None
        #: Why that holder counted as gone.
        self.took_over_because: str | None = None
        #: Set when the heartbeat found the lease taken over while held.
        self.lost = False

    @property
    def held(self) -> bool:
        """True between a successful :meth:`acquire` and :meth:`release`."""
        return self.token is not None

    def __enter__(self) -> RootLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def read(self) -> dict[str, Any] | None:
        """Return the current lease record of the root (anyone's), or ``None`` when it is free."""
        current = self._backend.read()
        return None if current is None else _parse(current.body)

    # -- acquiring ---------------------------------------------------------------------------------------

    def acquire(self, wait: float = 0.0) -> RootLease:
        """Take the lease, polling for up to ``wait`` seconds; raise :class:`LeaseBusyError` if still busy."""
        if self.held:
            raise LeaseError(f"the lease of {self.root} is already held by this object")
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            if self._reenter():
                return self
            busy = self._try_take()
            if busy is None:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LeaseBusyError(self.root, busy, self.hint)
            time.sleep(min(self.poll, remaining))
        self.outermost = True
        if self.reentrant:
            with _registry_lock:
                self._hold = _held[self._key] = _Hold(self, os.getpid())
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lease-heartbeat {self.root}", daemon=True)
        self._thread.start()
        return self

    def _reenter(self) -> bool:
        if not self.reentrant:
            return False
        with _registry_lock:
            hold = _held.get(self._key)
            if hold is None or hold.pid != os.getpid() or not hold.owner.held:
                return False
            if hold.owner.lost:  # this process must stop writing the root, not queue behind the new holder
                raise LeaseError(f"the lease of storage root {self.root} was taken over from this process")
            hold.depth += 1
            self._hold = hold
            self.token = hold.owner.token
            self.outermost = False
            return True

    def _new_record(self) -> dict[str, Any]:
        pid, start = this_process()
        now = utc_now().isoformat()
        return {
            **self._holder,
            "host": hostname(),
            "boot_id": boot_id(),
            "pid": pid,
            "process_start": start,
            "started_at": now,
            "heartbeat_at": now,
            "ttl_s": self.ttl,
            "token": secrets.token_hex(16),
        }

    def _try_take(self) -> dict[str, Any] | None:
        """One attempt: return ``None`` when taken, else the record of whoever holds it."""
        record = self._new_record()
        data = _dump(record)
        current = self._backend.read()
        took_over = because = None
        if current is None:
            version = self._backend.create(data)
        else:
            existing = _parse(current.body)
            because = stale_reason(existing, self.ttl, current.modified)
            if because is None:
                return existing
            took_over = existing
            version = self._backend.replace(data, current.version)  # only one taker's swap succeeds
        if version is None:
            return self.read() or {"command": "another process (just released)"}
        check = self._backend.read()  # a store that ignored the condition: the last writer wins
        if check is None or _parse(check.body).get("token") != record["token"]:
            return _parse(check.body) if check else {"command": "another process (just released)"}
        self._version, self._record, self.token = check.version, record, record["token"]
        self.took_over, self.took_over_because = took_over, because
        return None

    # -- holding ----------------------------------------------------------------------------------------

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            assert self._record is not None and self._version is not None
            record = {**self._record, "heartbeat_at": utc_now().isoformat()}
            try:
                version = self._backend.replace(_dump(record), self._version)
            except Exception as exc:  # storage unreachable for a moment: try again at the next beat
                log.warning("could not renew the lease of %s: %s", self.root, exc)
                continue
            if version is None:
                self.lost = True
                log.error("the lease of %s was taken over by another process while held", self.root)
                if self.on_lost is not None:
                    self.on_lost()
                return
            self._version, self._record = version, record

    def stop_heartbeat(self) -> None:
        """Stop renewing without releasing: the lease goes stale after its TTL (a holder that vanished)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def release(self) -> None:
        """Give the lease up: the outermost holder deletes it, if it is still ours; nested holders only leave."""
        if not self.held:
            return
        hold, self._hold = self._hold, None
        if not self.outermost:
            with _registry_lock:
                if hold is not None:
                    hold.depth -= 1
            self.token = None
            return
        self.stop_heartbeat()
        try:
            if not self.lost and self._version is not None and not self._backend.delete(self._version):
                log.warning("the lease of %s had changed under us; left in place", self.root)
        except (LeaseError, OSError) as exc:  # never fail a finished run over it: the lease goes stale
            log.warning("could not release the lease of %s (%s); it goes stale", self.root, exc)
        finally:
            with _registry_lock:
                if hold is not None and _held.get(self._key) is hold:
                    del _held[self._key]
            self.token = self._version = self._record = None


def _dump(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _parse(body: bytes) -> dict[str, Any]:
    try:
        record = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        record = None
    if not isinstance(record, dict):
        return {"unreadable": True, "command": "unknown holder (unreadable lease)"}
    return record


def tidy_root(lease: RootLease) -> list[str]:
    """Clean up after crashed processes, holding the root's lease; return one line per thing done.

    Names the stale holder the lease was taken over from, removes the staging folders of processes that
    no longer run (on this host, whatever their root) and the hidden temporary files dead writers left
    under a local root.
    """
    from catalog.staging import remove_dead_staging

    if not lease.held:
        raise LeaseError(f"tidying {lease.root} needs its lease")
    lines = []
    if lease.took_over is not None:
        old = lease.took_over
        lines.append(
            f"took over the lease of pid {old.get('pid', '?')} on host {old.get('host', '?')} "
            f"({' '.join(str(old.get('command') or 'unknown holder').split())}): {lease.took_over_because}"
        )
    folders, files = remove_dead_staging(), lease.storage.remove_dead_temp_files()
    if folders or files:
        lines.append(
            f"removed {folders} staging folder(s) and {files} temporary file(s) left by processes that no longer run"
        )
    return lines
