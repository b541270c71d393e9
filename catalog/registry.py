"""The source registry: which sources exist, as validated specs, without any code change.

Specs come from two places, later overriding earlier by id:

1. spec folders the operator declares (``CORPUSFABRIEK_SOURCES``; default: the bundled samples);
2. the catalog zone of the storage root, where ``corpusfabriek sources register`` stores specs:
   ``catalog/sources/<id>.yaml``, every earlier version and every status change kept under
   ``catalog/sources/history/<id>/`` so that what was registered, changed or suspended, when and why,
   can always be explained.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from catalog.documents import utc_now
from catalog.drops import check_spec_location
from catalog.settings import Settings
from catalog.sources import SourceSpec, SpecError, bundled_sources_dir, load_spec, parse_spec
from catalog.storage import Storage
from catalog.zones import CATALOG_SOURCES


class UnknownSourceError(LookupError):
    """No source spec has this id (a partition or command names a source nobody registered)."""


def spec_digest(spec: SourceSpec) -> str:
    """Return a digest of a spec's content: it changes whenever any field changes."""
    canonical = json.dumps(spec.to_data(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def spec_yaml(spec: SourceSpec) -> str:
    """Return a spec as YAML (defaults included, so the stored spec says everything explicitly)."""
    return yaml.safe_dump(spec.to_data(), sort_keys=False, allow_unicode=True)


class SourceRegistry:
    """Registered sources: spec folders overlaid with the specs registered in the storage catalog."""

    def __init__(self, folders: Iterable[str | Path], storage: Storage | None = None) -> None:
        self.folders = [Path(folder) for folder in folders]
        self.storage = storage

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, storage: Storage | None = None) -> SourceRegistry:
        """Folders from ``CORPUSFABRIEK_SOURCES`` (path-separated), else the bundled samples; plus storage."""
        folders = list(Settings.read(env).sources) or [bundled_sources_dir()]
        return cls(folders, storage)

    # -- reading -----------------------------------------------------------------------------------

    def specs(self, *, strict: bool = True) -> dict[str, SourceSpec]:
        """Load every spec, sorted by id.

        ``strict``: raise :class:`SpecError` for the first invalid file or duplicate id. Otherwise skip
        invalid specs and list them in :attr:`problems`, so one partner's broken spec cannot stop every
        other source (the sensors, the assets and an emergency ``suspend`` use this).
        """
        self.problems: list[SpecError] = []
        found: dict[str, SourceSpec] = {}
        origins: dict[str, str] = {}
        for folder in self.folders:
            if not folder.is_dir():
                raise SpecError(str(folder), [("(folder)", "source folder does not exist")])
            for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
                try:
                    spec = load_spec(path)
                    if spec.id in found:
                        raise SpecError(
                            str(path), [("id", f"source id {spec.id!r} is also used by {origins[spec.id]}")]
                        )
                except SpecError as exc:
                    if strict:
                        raise
                    self.problems.append(exc)
                    continue
                found[spec.id] = spec
                origins[spec.id] = str(path)
        for spec in self._registered(strict):
            found[spec.id] = spec  # a registration overrides a folder spec of the same id
        return dict(sorted(found.items()))

    def get(self, source_id: str) -> SourceSpec:
        """Return one spec by id (other sources' invalid specs do not stand in the way)."""
        specs = self.specs(strict=False)
        if source_id not in specs:
            for problem in self.problems:  # the source's own spec is the broken one: say why
                if problem.origin.endswith((f"/{source_id}.yaml", f"/{source_id}.yml")):
                    raise problem
            broken = f"; {len(self.problems)} invalid spec(s) skipped" if self.problems else ""
            raise UnknownSourceError(f"no registered source {source_id!r}; known: {', '.join(specs) or 'none'}{broken}")
        return specs[source_id]

    def history(self, source_id: str) -> list[dict[str, Any]]:
        """Return the registration events of a source, oldest first."""
        folder = f"{CATALOG_SOURCES}/history/{source_id}/events"
        if self.storage is None:
            return []
        names = sorted(name for name in self.storage.ls(folder) if name.endswith(".json"))
        return [self.storage.read_json(f"{folder}/{name}") for name in names]

    def _registered(self, strict: bool = True) -> list[SourceSpec]:
        if self.storage is None:
            return []
        specs = []
        for name in self.storage.ls(CATALOG_SOURCES):
            if not name.endswith(".yaml"):
                continue
            path = f"{CATALOG_SOURCES}/{name}"
            try:
                try:
                    data = yaml.safe_load(self.storage.read_bytes(path))
                except yaml.YAMLError as exc:
                    mark = getattr(exc, "problem_mark", None)
                    where = f"line {mark.line + 1}" if mark else "(file)"
                    raise SpecError(self.storage.url(path), [(where, "not valid YAML")]) from None
                specs.append(parse_spec(data, origin=self.storage.url(path)))
            except SpecError as exc:
                if strict:
                    raise
                self.problems.append(exc)
        return specs

    # -- changing ----------------------------------------------------------------------------------

    def register(self, path: str | Path, *, actor: str = "cli") -> tuple[SourceSpec, str]:
        """Validate a spec file and store it in the catalog; return the spec and ``created``/``updated``/``unchanged``.

        A relative location is resolved against the spec file's folder before it is stored. The file's
        ``status`` is ignored (new sources start in sandbox; known ones keep theirs). A location a run on
        this storage would refuse (see :mod:`catalog.drops`) is refused here already, as a ``location``
        problem of the spec.
        """
        if self.storage is None:
            raise RuntimeError("registering a source needs a storage root")
        spec = load_spec(path)
        check_spec_location(spec, str(path), storage_root=self.storage.url())
        # The status is not the partner's to set: a new source starts in sandbox, a known one keeps its
        # status, and only set_status (approve, suspend) changes it, with a recorded reason.
        current = self.specs(strict=False).get(spec.id)
        status = current.status if current is not None else "sandbox"
        if spec.status != status:
            spec = parse_spec({**spec.to_data(), "status": status}, origin=str(path))
        return spec, self._store(spec, action=None, actor=actor, reason=None)

    def set_status(self, source_id: str, status: str, *, reason: str, actor: str = "cli") -> SourceSpec:
        """Change a source's status (e.g. suspend it), recording who, when and why."""
        if not reason.strip():
            raise ValueError("a status change needs a reason")
        current = self.get(source_id)
        data = current.to_data()
        data["status"] = status
        spec = parse_spec(data, origin=f"<{source_id} status change>")
        self._store(spec, action=f"status:{status}", actor=actor, reason=reason)
        return spec

    def _store(self, spec: SourceSpec, *, action: str | None, actor: str, reason: str | None) -> str:
        if self.storage is None:
            raise RuntimeError("registering a source needs a storage root")
        # Compared with the catalog only: a registration identical to a folder spec is still recorded, so
        # the source stays registered (with its history) if that folder is dropped later.
        existing = {s.id: s for s in self._registered()}.get(spec.id)
        digest = spec_digest(spec)
        if existing is not None and spec_digest(existing) == digest:
            return "unchanged"
        outcome = "updated" if existing is not None else "created"
        now = utc_now()
        stamp = f"{now:%Y%m%dT%H%M%S%fZ}"
        history = f"{CATALOG_SOURCES}/history/{spec.id}"
        text = spec_yaml(spec)
        self.storage.write_bytes(f"{history}/{stamp}-{digest}.yaml", text.encode("utf-8"))
        event = {
            "at": now.isoformat(),
            "action": action or outcome,
            "actor": actor,
            "digest": digest,
            "status": spec.status,
            "reason": reason,
        }
        # The active spec first, then its event: one object per event (never a read-modify-write of a
        # shared log, which concurrent changes would overwrite; S3 has no locks).
        self.storage.write_bytes(f"{CATALOG_SOURCES}/{spec.id}.yaml", text.encode("utf-8"))
        self.storage.write_json(f"{history}/events/{stamp}-{uuid.uuid4().hex[:8]}.json", event)
        return outcome
