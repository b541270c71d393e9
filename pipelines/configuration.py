"""Hand the operator's settings to the libraries that take them from the top (no Dagster here).

The command line and the code location both call :func:`apply_settings` with what
:meth:`catalog.settings.Settings.read` found, so a setting means the same in a terminal and in the UI.
"""

from __future__ import annotations

from anonymisation.config import configure
from catalog.settings import Settings


def apply_settings(settings: Settings) -> None:
    """Configure the anonymisation library (name model, cache folder) from the settings."""
    configure(name_model=settings.name_model, cache_dir=settings.cache_dir)
