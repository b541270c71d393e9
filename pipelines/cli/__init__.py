"""The ``corpusfabriek`` command line: run the pipeline, inspect sources and releases.

Exit codes: 0 on success, 1 on a failure (one line ``error: ...`` on stderr), 2 on wrong usage.

The commands live by family: :mod:`pipelines.cli.run`, :mod:`~pipelines.cli.releases`, :mod:`~pipelines.cli.keys`,
:mod:`~pipelines.cli.sources` and the JSONL text tools in :mod:`~pipelines.cli.jsonl`; :mod:`~pipelines.cli.parser`
wires them into the argument parser, :mod:`~pipelines.cli.common` holds what they share.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from catalog.lease import LeaseError
from catalog.registry import UnknownSourceError
from catalog.releases import ReleaseError
from catalog.settings import Settings
from catalog.sources import SpecError
from catalog.storage import StorageError
from pipelines.cli.common import CommandError
from pipelines.cli.parser import build_parser
from pipelines.configuration import apply_settings

__all__ = ["CommandError", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``corpusfabriek`` console script."""
    args = build_parser().parse_args(argv)
    apply_settings(Settings.read())
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a reader that went away shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`... | head -1`): what it read is all it wanted, nothing to report. Point stdout at
        # devnull so the interpreter's final flush does not raise again, and exit like a program killed by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (
        CommandError,
        LeaseError,
        ReleaseError,
        SpecError,
        StorageError,
        UnknownSourceError,
        KeyError,
        FileNotFoundError,
        ValueError,
    ) as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"error: {message.splitlines()[0] if message else type(exc).__name__}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unforeseen still ends in one line; the traceback on request
        if os.environ.get("CORPUSFABRIEK_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"error: unexpected {type(exc).__name__}: {first} (set CORPUSFABRIEK_DEBUG=1 for details)", file=sys.stderr
        )
        return 1
