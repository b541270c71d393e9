"""A real single-node Slurm cluster on 127.0.0.1 for the tests: munged, slurmctld and slurmd in a folder.

Debian's packages (``slurmctld slurmd slurm-client munge``; ``.ci/run`` installs them) run here as root
with no systemd and no cgroups: the daemons run in the foreground, each in its own process group, with
their key, sockets, state, spool, logs and pid files in the given folder, and the node's hardware line
taken from ``slurmd -C``. Clients (``sbatch``, ``scontrol``, ``squeue``, ``scancel``) find the cluster
through ``SLURM_CONF`` in :meth:`LocalSlurm.env`. The daemons listen on free ports, so a Slurm already on
the machine is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port, stop

#: Daemons live in sbin, which a non-root PATH may lack.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "scontrol", "squeue", "scancel", "sinfo")
PARTITION = "shards"


def which(name: str) -> str | None:
    """Return the path of a Slurm or munge program, looking in sbin too."""
    return shutil.which(name, path=SEARCH_PATH)


def missing_programs() -> list[str]:
    """Return the Slurm and munge programs that are not installed."""
    return [name for name in (*DAEMONS, *CLIENTS) if which(name) is None]


def hardware_line() -> str:
    """Return this machine's node description from ``slurmd -C`` (CPUs, cores, memory), without its name."""
    output = subprocess.run([which("slurmd") or "slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    first = output.splitlines()[0]
    return re.sub(r"^NodeName=\S+\s*", "", first)


def slurm_conf(folder: Path, munge_socket: Path) -> str:
    """Return the ``slurm.conf`` of a one-node cluster on 127.0.0.1 keeping everything in ``folder``."""
    return "\n".join(
        [
            "ClusterName=corpusfabriek-test",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            f"AuthInfo=socket={munge_socket}",
            "CredType=cred/munge",
            # no systemd and no cgroups here: plain process tracking, no task containment
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            # no accounting daemon: job states come from scontrol while slurmctld keeps the records
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            # start batch jobs on the next scheduling cycle (about 1 s) instead of up to 3 s later
            "SchedulerParameters=batch_sched_delay=0",
            "MpiDefault=none",
            # a cancelled shard gets SIGKILL 2 s after SIGTERM, not the default 30 s
            "KillWait=2",
            f"StateSaveLocation={folder / 'state'}",
            f"SlurmdSpoolDir={folder / 'spool'}",
            f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
            f"SlurmdPidFile={folder / 'slurmd.pid'}",
            f"SlurmctldLogFile={folder / 'slurmctld.log'}",
            f"SlurmdLogFile={folder / 'slurmd.log'}",
            f"NodeName=localhost NodeAddr=127.0.0.1 {hardware_line()} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


@dataclass
class LocalSlurm:
    """A running one-node cluster: its folder, its ``slurm.conf`` and the daemons' processes."""

    folder: Path
    conf: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Return the environment of a Slurm client of this cluster (``base``, default this process's)."""
        return {**(os.environ if base is None else base), "SLURM_CONF": str(self.conf)}

    def client(self, *args: str, check: bool = True) -> str:
        """Run a Slurm client command (``squeue ...``) against this cluster and return its output."""
        completed = subprocess.run(
            [which(args[0]) or args[0], *args[1:]], capture_output=True, text=True, env=self.env(), check=False
        )
        if check and completed.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {completed.stderr.strip()}")
        return completed.stdout

    def jobs(self) -> list[str]:
        """Return the jobs ``squeue`` still shows (pending, running or completing), one ``id state`` line each."""
        return self.client("squeue", "--noheader", "--array", "--format=%i %T").split("\n")[:-1]

    def node_state(self) -> str:
        """Return the state of the cluster's node as ``sinfo`` shows it (``idle``, ``mixed``, ``down`` ...)."""
        return self.client("sinfo", "--noheader", "--Node", "--format=%T", check=False).strip()

    def logs(self) -> str:
        """Return the ends of the daemons' logs (to show why the cluster did not come up)."""
        parts = []
        # the daemons run in the foreground, so their output files hold their whole logs
        for path in sorted(self.folder.glob("*.out")):
            lines = path.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel every job left, then stop slurmd, slurmctld and munged (their whole process groups)."""
        if len(self.processes) == 3:
            self.client("scancel", f"--partition={PARTITION}", check=False)
        for process in reversed(self.processes):
            stop(process)
        self.processes.clear()


def _daemon(cluster: LocalSlurm, name: str, *args: str) -> subprocess.Popen:
    with open(cluster.folder / f"{name}.out", "wb") as out:
        # its own process group, so stopping it also stops what it started (slurmstepd, the shards)
        process = subprocess.Popen(
            [which(name) or name, *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    cluster.processes.append(process)
    return process


def _wait(cluster: LocalSlurm, what: str, ready: Callable[[], bool], deadline: float) -> None:
    while not ready():
        dead = [p.args[0] for p in cluster.processes if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            reason = f"{', '.join(dead)} exited" if dead else "timed out"
            cluster.stop()
            raise RuntimeError(f"local Slurm: waiting for {what}: {reason}\n{cluster.logs()}")
        time.sleep(0.1)


def start_local_slurm(folder: Path, timeout: float = 60) -> LocalSlurm:
    """Start munged, slurmctld and slurmd (as root) keeping everything in ``folder``; return once the node is idle."""
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("munge", "state", "spool"):
        (folder / sub).mkdir(exist_ok=True)
    munge = folder / "munge"
    # munged refuses a key or socket folder that others may write to
    munge.chmod(0o755)
    key = munge / "munge.key"
    subprocess.run([which("mungekey") or "mungekey", "--create", f"--keyfile={key}"], check=True)
    key.chmod(0o600)
    socket = munge / "munge.socket"
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, socket))
    cluster = LocalSlurm(folder, conf)
    deadline = time.monotonic() + timeout
    _daemon(
        cluster,
        "munged",
        "--foreground",
        # the temporary folder is private to root, which munged would otherwise refuse for its socket
        "--force",
        f"--socket={socket}",
        f"--key-file={key}",
        f"--pid-file={munge / 'munged.pid'}",
        f"--log-file={folder / 'munged.log'}",
        f"--seed-file={munge / 'munged.seed'}",
    )
    _wait(cluster, "munged", socket.exists, deadline)
    _daemon(cluster, "slurmctld", "-D", "-f", str(conf))
    _wait(cluster, "slurmctld", lambda: "is UP" in cluster.client("scontrol", "ping", check=False), deadline)
    _daemon(cluster, "slurmd", "-D", "-N", "localhost", "-f", str(conf))
    _wait(cluster, "an idle node", lambda: cluster.node_state() == "idle", deadline)
    return cluster
