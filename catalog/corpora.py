"""Corpus views: release lines that select sources by licence, sector or id, cut from the same anonymised zone.

The main corpus (``CORPUSFABRIEK_CORPUS``, default ``nl-main``) releases every approved source. A view is
another corpus name with a selection, for example the openly licensed sources for a public release beside
the full corpus for internal training. Each view is its own versioned release line
(``releases/<view>/<version>/``) with its own manifest, datasheet, Croissant file and near-duplicate index,
built from the anonymised zone the main corpus reads: nothing is cleaned or anonymised again.

Views are declared in a YAML file named by ``CORPUSFABRIEK_CORPUS_VIEWS``::

    views:
      - name: nl-open
        description: openly licensed sources, for public release
        licences: [CC0-1.0, CC-BY-4.0, CC-BY-SA-4.0]
      - name: nl-news
        sectors: [news]
        exclude_sources: [aggregator-x]

A source is in a view when it is approved (only approved sources are released at all) and matches every
criterion the view sets: its licence is listed, its sector is listed, it is listed by id, it is not
excluded. A criterion left out selects every source.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.sources import SourceSpec

#: A corpus name: also a folder name under ``releases/``.
CORPUS_NAME = r"^[a-z0-9][a-z0-9-]*$"


class CorpusViewError(ValueError):
    """The views file is missing, unreadable or invalid (the message names the file and the problem)."""


class CorpusView(BaseModel):
    """One release line that selects sources (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=CORPUS_NAME, description="the view's corpus name: its release line")
    description: str = ""
    licences: list[str] | None = Field(None, description="licences selected (SPDX ids as in the specs); none: any")
    sectors: list[str] | None = Field(None, description="sectors selected; none: any")
    sources: list[str] | None = Field(None, description="source ids selected; none: any")
    exclude_sources: list[str] = Field(default_factory=list, description="source ids never in the view")

    def selects(self, spec: SourceSpec) -> bool:
        """Tell whether a source belongs in this view (approval is checked by the release, not here)."""
        return (
            (self.licences is None or spec.licence in self.licences)
            and (self.sectors is None or spec.sector in self.sectors)
            and (self.sources is None or spec.id in self.sources)
            and spec.id not in self.exclude_sources
        )


class _ViewsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    views: list[CorpusView] = Field(default_factory=list)


def load_views(path: str | None, main_corpus: str) -> list[CorpusView]:
    """Return the views declared in the file at ``path`` (none without a path).

    :raises CorpusViewError: the file cannot be read or parsed, a view is invalid, or two views (or a view
        and the main corpus) share a name.
    """
    if not path:
        return []
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        views = _ViewsFile.model_validate(data).views
    except OSError as exc:
        raise CorpusViewError(f"corpus views file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise CorpusViewError(f"corpus views file {path}: not YAML ({type(exc).__name__})") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CorpusViewError(f"corpus views file {path}: {problems}") from None
    names = [view.name for view in views]
    repeated = sorted({name for name in names if names.count(name) > 1 or name == main_corpus})
    if repeated:
        raise CorpusViewError(f"corpus views file {path}: names used twice (or the main corpus's): {repeated}")
    return views


def selected_sources(view: CorpusView, specs: Sequence[SourceSpec]) -> list[str]:
    """Return the ids of the sources a view selects, sorted."""
    return sorted(spec.id for spec in specs if view.selects(spec))
