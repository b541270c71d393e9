"""Which process is this, and is another one still alive: the identity behind leases and staging folders.

A pid alone is not an identity: pids are reused. A process is named by host, pid and its start time
(clock ticks since boot, from ``/proc/<pid>/stat`` on Linux), so a reused pid is told apart from the
process that left a lease or a staging folder behind. Where the start time cannot be read (no ``/proc``),
only the pid's existence is checked, which errs on the side of "alive".
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

#: Placeholder start time where the platform does not tell it.
UNKNOWN_START = "x"


@functools.cache
def hostname() -> str:
    """Return this machine's host name."""
    return socket.gethostname()


@functools.cache
def boot_id() -> str | None:
    """Return the kernel's boot id (changes at every reboot), or ``None`` where there is none."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def process_start_time(pid: int) -> str | None:
    """Return a process's start time as an opaque string, ``UNKNOWN_START`` if unreadable, ``None`` if no such pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        # No /proc (macOS), or /proc mounted with hidepid: ask the kernel whether the pid exists.
        return _exists_without_proc(pid)
    except OSError:
        return UNKNOWN_START
    # The command name (field 2) may contain spaces and parentheses: fields are counted after the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    state = fields[0] if fields else ""
    if state in ("Z", "X"):  # a zombie has exited; only its parent has not collected it yet
        return None
    return fields[19] if len(fields) > 19 else UNKNOWN_START


def _exists_without_proc(pid: int) -> str | None:
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return UNKNOWN_START  # exists, owned by someone else
    return UNKNOWN_START


def is_alive(pid: int, start: str | None) -> bool:
    """Tell whether the process ``pid`` that started at ``start`` still runs on this host.

    A different start time means the pid was reused by another process: the original one is gone.
    """
    current = process_start_time(pid)
    if current is None:
        return False
    if start in (None, "", UNKNOWN_START) or current == UNKNOWN_START:
        return True
    return current == start


def this_process() -> tuple[int, str]:
    """Return this process's pid and start time."""
    pid = os.getpid()
    return pid, process_start_time(pid) or UNKNOWN_START
