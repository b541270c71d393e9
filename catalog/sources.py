"""Source specs: a partner source is data (a validated YAML file), never code.

A spec names the source, its owner, where its data lives, under which licence it may be used and how
its fields map to the document model. Validation reports every problem at once, each with its field
path and a hint. The registry finds specs in folders; adding a source means adding a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"

ENV_SOURCES = "CORPUSFABRIEK_SOURCES"


class SpecError(ValueError):
    """A source spec is invalid; ``problems`` lists ``(field path, message)`` pairs, all of them."""

    def __init__(self, origin: str, problems: list[tuple[str, str]]) -> None:
        self.origin = origin
        self.problems = problems
        lines = "; ".join(f"{path}: {message}" for path, message in problems)
        super().__init__(f"invalid source spec {origin}: {lines}")


class FieldMapping(BaseModel):
    """Which field of a dropped record holds which part of a document (``None``: the record has none)."""

    model_config = ConfigDict(extra="forbid")

    native_id: str | None = Field("id", description="the source's own id; the URL is used when absent")
    text: str = "text"
    title: str | None = "title"
    url: str | None = "url"
    published_at: str | None = "published_at"


class SourceSpec(BaseModel):
    """A registered partner source (the subset of the spec that the file-drop ingest needs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SOURCE_ID_PATTERN, description="slug; the Dagster partition key")
    name: str = Field(min_length=1)
    owner: str = Field(min_length=1, description="owner organisation")
    kind: Literal["files"]
    format: Literal["jsonl", "csv", "parquet"]
    location: str = Field(min_length=1, description="path or glob, relative to the spec file, or s3:// URL")
    licence: str = Field(min_length=1, description="SPDX id or a contract reference")
    languages: list[str] = Field(default_factory=lambda: ["nl"], min_length=1)
    personal_data: Literal["none", "expected", "special-category"]
    status: Literal["sandbox", "approved", "suspended"] = "sandbox"
    timezone: str = Field("Europe/Amsterdam", description="for timestamps written without an offset")
    fields: FieldMapping = Field(default_factory=FieldMapping)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Amsterdam") from exc
        return value

    @property
    def releasable(self) -> bool:
        """Only approved sources enter a release; sandbox sources are processed but held back."""
        return self.status == "approved"

    @property
    def fetchable(self) -> bool:
        """Suspended sources are not fetched."""
        return self.status != "suspended"


_HINTS = {
    "missing": "add this field",
    "extra_forbidden": "unknown field; check its spelling",
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "use lower-case letters, digits and hyphens (3-64 characters)",
}


def parse_spec(data: Mapping[str, object], origin: str = "<spec>", base_dir: Path | None = None) -> SourceSpec:
    """Validate a spec mapping; raise :class:`SpecError` listing every problem with its field path.

    A relative ``location`` is resolved against ``base_dir`` (the folder of the spec file).
    """
    if not isinstance(data, Mapping):
        raise SpecError(origin, [("(document)", "a source spec must be a YAML mapping of fields")])
    try:
        spec = SourceSpec.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"]) or "(document)"
            hint = _HINTS.get(error["type"])
            message = error["msg"] + (f" (hint: {hint})" if hint else "")
            problems.append((path, message))
        raise SpecError(origin, problems) from None
    if base_dir is not None and "://" not in spec.location and not os.path.isabs(spec.location):
        spec = spec.model_copy(update={"location": str((base_dir / spec.location).resolve())})
    return spec


def load_spec(path: str | Path) -> SourceSpec:
    """Read and validate one YAML spec file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), [("(file)", f"cannot read: {exc.__class__.__name__}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise SpecError(str(path), [(where, "not valid YAML")]) from None
    return parse_spec(data, str(path), path.parent)


def bundled_sources_dir() -> Path:
    """Return the folder of the sample sources shipped with the package."""
    return Path(str(resources.files("catalog") / "samples" / "sources"))


class SourceRegistry:
    """The registered sources: every ``*.yaml`` spec in a set of folders, keyed by source id."""

    def __init__(self, folders: Iterable[str | Path]) -> None:
        self.folders = [Path(folder) for folder in folders]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SourceRegistry:
        """Folders from ``CORPUSFABRIEK_SOURCES`` (path-separated), else the bundled sample sources."""
        env = os.environ if env is None else env
        value = env.get(ENV_SOURCES, "")
        folders = [part for part in value.split(os.pathsep) if part] or [bundled_sources_dir()]
        return cls(folders)

    def specs(self) -> dict[str, SourceSpec]:
        """Load every spec; raise :class:`SpecError` for the first invalid file or a duplicate id."""
        found: dict[str, SourceSpec] = {}
        origins: dict[str, Path] = {}
        for folder in self.folders:
            if not folder.is_dir():
                raise SpecError(str(folder), [("(folder)", "source folder does not exist")])
            for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
                spec = load_spec(path)
                if spec.id in found:
                    raise SpecError(str(path), [("id", f"source id {spec.id!r} is also used by {origins[spec.id]}")])
                found[spec.id] = spec
                origins[spec.id] = path
        return found

    def get(self, source_id: str) -> SourceSpec:
        """Return one spec by id."""
        specs = self.specs()
        if source_id not in specs:
            raise KeyError(f"no registered source {source_id!r}; known: {', '.join(sorted(specs)) or 'none'}")
        return specs[source_id]
