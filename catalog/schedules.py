"""How fresh the zones and the releases should be, derived from the sources' cron schedules (UTC).

Sources are data, so freshness is too: the expected gap between two ingests comes from the specs' own
schedules, not from a constant in the code location. A run takes time and a tick may be missed once
without anyone needing to act, so a window warns after one gap (plus :data:`GRACE`) and fails after two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from catalog.sources import SourceSpec

#: Time a run may take after its tick before the data counts as late.
GRACE = timedelta(hours=1)
#: Ticks looked at to find a schedule's longest gap (covers weekday-only and monthly crons).
TICKS = 40
#: The reference start of the ticks: a fixed date, so a window never depends on when it is computed.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FreshnessWindow:
    """Warn when the newest data is older than ``warn``, fail when it is older than ``fail``."""

    warn: timedelta
    fail: timedelta

    @classmethod
    def for_gap(cls, gap: timedelta) -> FreshnessWindow:
        """Return the window of data expected at least once per ``gap``."""
        return cls(warn=gap + GRACE, fail=2 * gap + GRACE)


def longest_gap(cron: str, *, start: datetime = EPOCH, ticks: int = TICKS) -> timedelta:
    """Return the longest time between two consecutive ticks of a cron schedule (UTC)."""
    from croniter import croniter

    times = croniter(cron, start)
    previous = times.get_next(datetime)
    gap = timedelta(0)
    for _ in range(ticks):
        current = times.get_next(datetime)
        gap = max(gap, current - previous)
        previous = current
    return gap


def _gaps(specs: Iterable[SourceSpec]) -> list[timedelta]:
    return [longest_gap(spec.schedule) for spec in specs if spec.schedule]


def ingest_freshness(specs: Mapping[str, SourceSpec]) -> FreshnessWindow | None:
    """Return the raw zone's window: the most often scheduled source sets it (None: nothing is scheduled).

    Every scheduled run materialises a partition, so when nothing at all arrived within that source's gap,
    the schedule itself has stopped (a source that is merely late shows in its partner report).
    """
    gaps = _gaps(spec for spec in specs.values() if spec.fetchable)
    return FreshnessWindow.for_gap(min(gaps)) if gaps else None


def release_freshness(specs: Mapping[str, SourceSpec]) -> FreshnessWindow | None:
    """Return the releases' window: one at least as often as the slowest approved, scheduled source delivers."""
    gaps = _gaps(spec for spec in specs.values() if spec.releasable)
    return FreshnessWindow.for_gap(max(gaps)) if gaps else None
