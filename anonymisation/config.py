"""The operator's choices for the anonymisation library, set once by the top layer.

The library reads no environment itself: the command line and the Dagster code location read the
settings (``catalog.settings``) and hand them over with :func:`configure`. Until then the defaults hold:
the shipped name model, and the user's cache folder for the blank spaCy pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Configuration:
    """What :func:`configure` set.

    :ivar name_model: the person-name model: a ``.crfsuite`` path, ``none`` (the rules alone), or empty
        (the shipped model).
    :ivar cache_dir: where the blank spaCy pipeline is cached (``None``: the user cache folder).
    """

    name_model: str = ""
    cache_dir: str | None = None


_current = Configuration()


def configure(*, name_model: str = "", cache_dir: str | None = None) -> None:
    """Set the library's configuration for this process (the top layer calls it with the settings)."""
    global _current
    _current = Configuration(name_model=name_model.strip(), cache_dir=cache_dir)


def current() -> Configuration:
    """Return the configuration in force."""
    return _current
