"""Progress of ``corpusfabriek run`` on the terminal: one line per source step, and its shards as they finish.

A stage that works in shards reports each finished shard on the ``corpusfabriek.progress`` logger
(:func:`stages.executors.emit_progress`); :class:`StepProgress` listens there while a step runs. On a
terminal the shards draw a bar on the step's own line (rewritten in place); anywhere else (a log file, CI)
each shard gets a plain line of its own, so the output stays readable without control characters. A step
done in one shard prints nothing extra: its line reads exactly as without shards.
"""

from __future__ import annotations

import logging
from typing import IO

from stages.executors import PROGRESS_LOGGER, ShardProgress

#: Characters of the bar drawn on a terminal.
BAR_WIDTH = 24


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """Return ``[#####-----] done/total`` for a share of shards done."""
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total}"


class StepProgress(logging.Handler):
    """One step's line on ``stream``, with its shards' progress; use as a context manager around the step.

    ``start`` prints the step's heading (``[1/3] source: ingest, clean, anonymise ...``) without ending the
    line; ``finish`` ends it with the step's summary. Shards finishing in between either redraw the line
    with a bar (``terminal``) or get lines of their own, after which the summary goes on a line of its own.
    """

    def __init__(self, stream: IO[str], terminal: bool) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.terminal = terminal
        self.heading = ""
        self._line_open = False
        self._drawn = False

    def __enter__(self) -> StepProgress:
        logger = logging.getLogger(PROGRESS_LOGGER)
        logger.addHandler(self)
        # the progress logger is ours alone: its records need not reach the root logger's handlers as well
        self._previous = (logger.level, logger.propagate)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger(PROGRESS_LOGGER)
        logger.removeHandler(self)
        logger.setLevel(self._previous[0])
        logger.propagate = self._previous[1]
        if self._line_open:  # a step that raised: end its line so the error starts on a fresh one
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False

    def start(self, heading: str) -> None:
        """Print the step's heading, leaving the line open for its summary."""
        self.heading = heading
        self._drawn = False
        self.stream.write(f"{heading} ...")
        self.stream.flush()
        self._line_open = True

    def emit(self, record: logging.LogRecord) -> None:
        """Show one finished shard (called by :mod:`logging`; other records are ignored)."""
        event = getattr(record, "shard_progress", None)
        if not isinstance(event, ShardProgress) or event.total <= 1:
            return
        if self.terminal:
            # \r and "erase line": the heading with the bar replaces whatever the line showed before
            self.stream.write(
                f"\r\x1b[K{self.heading} ... {event.source_id} {event.stage} {bar(event.done, event.total)}"
            )
            self._drawn = True
        else:
            if self._line_open:
                self.stream.write("\n")
                self._line_open = False
            self.stream.write(f"    {event}\n")
        self.stream.flush()

    def finish(self, summary: str) -> None:
        """End the step's line with its summary (on a line of its own after plain shard lines)."""
        if self.terminal and self._drawn:
            self.stream.write(f"\r\x1b[K{self.heading} ... {summary}\n")
        elif self._line_open:
            self.stream.write(f" {summary}\n")
        else:
            self.stream.write(f"    -> {summary}\n")
        self.stream.flush()
        self._line_open = False
