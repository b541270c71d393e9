"""The storage root's lease: one writer per root, named when busy, stale holders taken over race-free.

Contention comes from real other processes (``python -c`` holders that are killed with SIGKILL) or from a
second, non-re-entrant ``RootLease`` object; S3 tests run against SeaweedFS on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.lease import LEASE_PATH, LeaseBusyError, LeaseError, RootLease
from catalog.storage import Storage
from tests.leases import killed_holder, subprocess_env

CONTENDER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from catalog.lease import LeaseBusyError, RootLease
    from catalog.storage import Storage
    lease = RootLease(Storage.from_env(sys.argv[1]), {"command": "contender"}, ttl=30, heartbeat=5)
    start = float(sys.argv[2])
    time.sleep(max(0.0, start - time.time()))
    try:
        lease.acquire()
    except LeaseBusyError as exc:
        print("busy", exc, flush=True)
        sys.exit(0)
    print("acquired", flush=True)
    time.sleep(4)  # hold long enough that no contender can arrive after the release
    lease.release()
    """
)


@pytest.fixture
def local_root(tmp_path: Path) -> Storage:
    return Storage(str(tmp_path / "root"))


@pytest.fixture
def s3_root(s3_server) -> Iterator[tuple[Storage, dict[str, str]]]:
    env = s3_server.env()
    root = f"s3://{s3_server.bucket}/lease-{uuid.uuid4().hex[:8]}"
    yield Storage.from_env(root, env), env


def _other(storage: Storage, **kwargs) -> RootLease:
    """A second lease object that behaves as another process would (no re-entry into ours)."""
    return RootLease(storage, {"command": "second"}, reentrant=False, **kwargs)


# -- one writer per root ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["local", "s3"])
def test_second_lease_is_busy_with_one_line_naming_the_holder(where, request):
    storage = request.getfixturevalue("local_root") if where == "local" else request.getfixturevalue("s3_root")[0]
    first = RootLease(storage, {"command": "corpusfabriek run"})
    first.acquire()
    try:
        with pytest.raises(LeaseBusyError) as busy:
            _other(storage).acquire()
        message = str(busy.value)
        assert "\n" not in message
        assert message.startswith(f"storage root {storage.url()} is busy: corpusfabriek run (pid {os.getpid()} ")
        assert f"on host {socket.gethostname()}, since " in message
        assert "UTC, last heartbeat " in message
        assert message.endswith("; wait for it, or use --wait SECONDS")
        assert busy.value.holder["pid"] == os.getpid()
    finally:
        first.release()
    second = _other(storage)
    second.acquire()  # free again once released
    assert second.read()["token"] == second.token
    second.release()
    assert second.read() is None


@pytest.mark.parametrize("where", ["local", "s3"])
def test_acquire_with_wait_polls_until_the_holder_releases(where, request):
    storage = request.getfixturevalue("local_root") if where == "local" else request.getfixturevalue("s3_root")[0]
    first = RootLease(storage, {"command": "first"})
    first.acquire()
    threading.Timer(1.0, first.release).start()
    started = time.monotonic()
    second = _other(storage, poll=0.2)
    second.acquire(wait=20)
    assert 0.8 < time.monotonic() - started < 15
    second.release()


def test_wait_gives_up_at_the_deadline(local_root):
    first = RootLease(local_root, {"command": "first"})
    with first:
        started = time.monotonic()
        with pytest.raises(LeaseBusyError):
            _other(local_root, poll=0.1).acquire(wait=0.5)
        assert 0.4 < time.monotonic() - started < 5


def test_lease_is_re_entrant_within_one_process(local_root):
    outer = RootLease(local_root, {"command": "corpusfabriek run"})
    with outer:
        assert outer.outermost
        inner = RootLease(Storage(local_root.root), {"command": "dagster asset"})
        with inner:  # an asset inside the CLI's in-process run: no deadlock, same token
            assert not inner.outermost
            assert inner.token == outer.token
        assert outer.read()["token"] == outer.token  # the inner release kept the lease
    assert outer.read() is None


def test_release_deletes_only_our_own_lease(local_root):
    lease = RootLease(local_root, {"command": "first"}, heartbeat=0.2, ttl=5)
    lease.acquire()
    record = lease.read()
    record["token"] = "someone-else"  # taken over while we were frozen
    local_root.write_json(LEASE_PATH, record)
    deadline = time.monotonic() + 5
    while not lease.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lease.lost  # the heartbeat notices
    lease.release()
    assert lease.read()["token"] == "someone-else"


@pytest.mark.parametrize("where", ["local", "s3"])
def test_heartbeat_renews_the_lease(where, request):
    storage = request.getfixturevalue("local_root") if where == "local" else request.getfixturevalue("s3_root")[0]
    with RootLease(storage, {"command": "first"}, heartbeat=0.3, ttl=3) as lease:
        first = lease.read()["heartbeat_at"]
        time.sleep(1.2)
        assert lease.read()["heartbeat_at"] > first
        assert lease.read()["token"] == lease.token
        assert not lease.lost


# -- stale holders -------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["local", "s3"])
def test_lease_of_a_killed_process_is_taken_over(where, request):
    if where == "local":
        storage, env = request.getfixturevalue("local_root"), {}
    else:
        storage, env = request.getfixturevalue("s3_root")
    dead = killed_holder(storage.root, env)
    assert RootLease(storage).read()["pid"] == dead
    lease = _other(storage)
    lease.acquire()  # same host, pid gone: stale at once, whatever the heartbeat says
    assert lease.took_over is not None and lease.took_over["pid"] == dead
    assert lease.read()["token"] == lease.token
    lease.release()


@pytest.mark.parametrize("where", ["local", "s3"])
def test_lease_of_another_host_is_stale_only_after_its_ttl(where, request):
    storage = request.getfixturevalue("local_root") if where == "local" else request.getfixturevalue("s3_root")[0]
    holder = RootLease(storage, {"command": "remote run"}, reentrant=False)
    holder.acquire()
    holder.stop_heartbeat()  # as if the other host went away: nobody renews it
    record = holder.read()
    record["host"] = "another-host.example"
    record["ttl_s"] = 2
    storage.write_json(LEASE_PATH, record)
    with pytest.raises(LeaseBusyError) as busy:
        _other(storage).acquire()  # fresh heartbeat on another host: cannot tell, so busy
    assert "pid" in str(busy.value) and "another-host.example" in str(busy.value)
    record["heartbeat_at"] = (datetime.now(UTC) - timedelta(seconds=10)).isoformat()
    storage.write_json(LEASE_PATH, record)
    lease = _other(storage)
    lease.acquire()
    assert lease.took_over["host"] == "another-host.example"
    lease.release()


def test_a_live_holder_on_this_host_is_never_stale(local_root):
    holder = RootLease(local_root, {"command": "suspended run"}, reentrant=False, ttl=1, heartbeat=0.5)
    holder.acquire()
    holder.stop_heartbeat()  # e.g. stopped with Ctrl-Z: alive, but not renewing
    time.sleep(1.5)
    with pytest.raises(LeaseBusyError) as busy:
        _other(local_root).acquire()
    assert "last heartbeat" in str(busy.value)
    holder.release()


@pytest.mark.parametrize("where", ["local", "s3"])
def test_stale_takeover_is_race_free_among_takers(where, request):
    if where == "local":
        storage, env = request.getfixturevalue("local_root"), {}
    else:
        storage, env = request.getfixturevalue("s3_root")
    killed_holder(storage.root, env)
    start = time.time() + 4  # every contender is imported and waiting by then
    contenders = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER_SCRIPT, storage.root, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(env),
        )
        for _ in range(5)
    ]
    outcomes = []
    for process in contenders:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outcomes.append(out.split()[0])
    assert sorted(outcomes) == ["acquired", "busy", "busy", "busy", "busy"]
    assert RootLease(storage).read() is None  # the winner released it


def test_lease_file_is_json_naming_the_holder(local_root):
    with RootLease(local_root, {"command": "corpusfabriek run"}) as lease:
        record = json.loads(Path(local_root.url(LEASE_PATH)).read_text())
        token = lease.token
    assert record["command"] == "corpusfabriek run"
    assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
    assert record["token"] == token
    for key in ("started_at", "heartbeat_at", "process_start", "ttl_s"):
        assert key in record


def test_nested_acquisition_fails_fast_once_the_outer_lease_was_lost(local_root):
    outer = RootLease(local_root, {"command": "corpusfabriek run"}, heartbeat=0.2, ttl=5)
    outer.acquire()
    try:
        record = outer.read()
        record["token"] = "someone-else"
        local_root.write_json(LEASE_PATH, record)
        deadline = time.monotonic() + 5
        while not outer.lost and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(LeaseError, match="was taken over from this process"):
            RootLease(local_root, {"command": "asset"}).acquire(wait=60)
    finally:
        outer.release()
