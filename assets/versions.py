"""Code versions of the assets: a digest of the source files each stage runs, so "Unsynced" means a change.

A version per asset, not the project's commit: editing the release stage leaves the ingested and cleaned
zones in sync, and editing the anonymisation library marks the anonymised zone and the release, not the
raw zone. Read once when the definitions load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

#: The source folders and files each asset's stage runs (the shared bottom layer counts for all).
SOURCES: dict[str, tuple[str, ...]] = {
    "raw_documents": ("catalog", "stages/ingest.py", "quality/normalise.py"),
    "clean_documents": ("catalog", "stages/clean.py", "stages/validate.py", "stages/report.py", "quality"),
    "anonymised_documents": ("catalog", "stages/anonymise.py", "stages/validate.py", "anonymisation"),
    "corpus_release": ("catalog", "stages/release.py", "stages/release_format.py", "quality"),
    "partner_reports": ("catalog", "stages/report.py", "stages/ingest.py"),
}


def source_digest(paths: tuple[str, ...], root: Path = REPO) -> str:
    """Return a short SHA-256 of the Python files and models under ``paths`` (relative to ``root``)."""
    digest = hashlib.sha256()
    for rel in paths:
        target = root / rel
        files = sorted(target.rglob("*")) if target.is_dir() else [target]
        for path in files:
            if path.is_file() and path.suffix in (".py", ".crfsuite") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


#: The code version of each asset.
CODE_VERSIONS = {name: source_digest(paths) for name, paths in SOURCES.items()}


#: The fields of each stage's report that say what the zone holds (not when or how fast it was written).
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    # records_read counts every record of every committed ingest run: it grows exactly when input came in
    "clean_documents": ("code_version", "records_read", "kept", "dropped", "dropped_by_reason", "quarantined"),
    "anonymised_documents": (
        "code_version", "clean_code_version", "key_id", "operator", "native_id_policy", "name_model",
        "documents_out", "replacements_by_entity",
    ),
}  # fmt: skip


def data_version(report: Mapping[str, Any], fields: Iterable[str], upstream: str = "") -> str:
    """Return a digest of what a stage report says its zone holds, made from ``upstream`` (the input's version).

    The same input processed the same way gives the same version: an ingest run that brought nothing leaves
    every zone in sync.
    """
    content = {"upstream": upstream, **{name: report.get(name) for name in fields}}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def raw_data_version(ingests: Iterable[Mapping[str, Any]]) -> str:
    """Return the raw snapshot's version: the ingest runs that brought anything (an empty run changes nothing)."""
    runs = [r["ingest_id"] for r in ingests if r.get("records_read")]
    return hashlib.sha256(json.dumps(runs).encode()).hexdigest()[:16]
