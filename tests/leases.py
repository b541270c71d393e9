"""Lease holders in other processes, for tests of contention: real processes, killed or released."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.conftest import REPO

HOLDER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from catalog.lease import RootLease
    from catalog.storage import Storage
    root, ttl, heartbeat, hold = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    lease = RootLease(Storage.from_env(root), {"command": "test holder"}, ttl=ttl, heartbeat=heartbeat)
    lease.acquire()
    print("held", flush=True)
    time.sleep(hold)
    lease.release()
    print("released", time.time(), flush=True)
    """
)


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test environment without corpusfabriek/AWS settings, plus ``extra``; the repo importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CORPUSFABRIEK_", "AWS_"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


def hold_lease(
    root: str, env: dict[str, str] | None = None, *, hold: float = 600, ttl: float = 60, heartbeat: float = 10
) -> subprocess.Popen:
    """Start a process that holds the root's lease for ``hold`` seconds; return once it holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, root, str(ttl), str(heartbeat), str(hold)],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(env),
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def killed_holder(root: str, env: dict[str, str] | None = None, ttl: float = 60, heartbeat: float = 10) -> int:
    """Take the lease in another process, then kill it with SIGKILL (no release); return its pid."""
    process = hold_lease(root, env, ttl=ttl, heartbeat=heartbeat)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return process.pid
