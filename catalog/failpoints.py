"""Named failpoints: places where the fault-injection tests kill a run, to prove that every crash is recoverable.

A failpoint does nothing unless ``CORPUSFABRIEK_FAILPOINT`` names it when the process starts; then the process
kills itself with SIGKILL right there, exactly as ``kill -9`` or an out-of-memory kill would, with no chance to
clean up. The points sit between the writes whose order makes the pipeline crash-safe (a batch before its report,
parts before the manifest, the manifest before the index), so the tests can check that a crash at each of them
leaves nothing half-done visible and that the next run recovers.
"""

from __future__ import annotations

import os
import signal

from catalog.settings import Settings

#: Read once: the variable is set for a whole process by the test that starts it.
_ARMED = Settings.read().failpoint

#: Every failpoint, in pipeline order (the tests kill a run at each of them).
FAILPOINTS = (
    "ingest:batch-written",  # raw batch and quarantine written, run report not yet
    "ingest:report-written",  # run report written, cursor not yet advanced
    "clean:documents-written",  # clean documents and drops written, clean report not yet
    "anonymise:documents-written",  # anonymised documents written, report not yet
    "release:parts-written",  # release parts written, manifest not yet
    "release:manifest-written",  # manifest written, near-duplicate index not yet committed
)


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL if ``CORPUSFABRIEK_FAILPOINT`` names this point; otherwise do nothing."""
    if _ARMED and _ARMED == name:
        os.kill(os.getpid(), signal.SIGKILL)
