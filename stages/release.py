"""The release stage: build an immutable, versioned Parquet corpus from the anonymised zone.

Layout: ``releases/<corpus>/<version>/part-00000.parquet ...`` and ``manifest.json``. The manifest is
the commit: a version folder without one is incomplete (a build that failed or is still running) and is
never trusted or listed as a release; :func:`clean_incomplete_releases` removes such leftovers (every build
does so first). Exact and near duplicates across sources are dropped here, with the persistent index.
Building again creates a new version when something changed, and none when nothing did. Reading,
listing and verifying releases is the catalog's (:mod:`catalog.releases`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.documents import DOCUMENT_SCHEMA, EXCLUDED_SCHEMA, SCHEMA_VERSION, code_version, utc_now
from catalog.failpoints import failpoint
from catalog.failures import current_failures, held_back_reason
from catalog.keys import previous_key_reason, recorded_key_id
from catalog.parquet import BatchWriter, iter_batches
from catalog.releases import (
    MANIFEST,
    MANIFEST_FORMAT,
    ReleaseError,
    latest_manifest,
    list_versions,
    release_digest,
    version_sort_key,
)
from catalog.sources import SourceSpec
from catalog.staging import temporary_directory
from catalog.storage import Storage, is_temp_file_name
from catalog.takedowns import (
    TAKEDOWN,
    Takedown,
    list_takedowns,
    matched_documents,
    source_takedowns,
    takedowns_digest,
)
from catalog.zones import (
    EXCLUDED_RELEASES,
    INDEX_FOLDER,
    anonymised_path,
    anonymised_report_path,
    corpus_folder,
    excluded_release_path,
    release_dir,
    validation_path,
)
from quality.dedup import DropCursor, duplicate_drops_sql, split_by_drops, with_exclusion
from quality.dedup_index import NEAR_DUPLICATE, NearDuplicateIndex, NearDuplicatePlan, part_release
from stages.croissant import croissant
from stages.datasheet import file_entry, write_datasheet
from stages.release_format import RELEASE_FORMATS, ReleaseFormat
from stages.validate import validation_matches

DEFAULT_ROWS_PER_PART = 250_000


#: The clean-up at the start of every build leaves incomplete builds younger than this alone: another
#: process (one that does not take the build lease, e.g. an older version) may still be writing them.
AUTO_CLEAN_MIN_AGE_S = 15 * 60


#: What every released document went through, in order (recorded in the manifest).
STAGES = (
    "ingest", "clean:normalise", "clean:quality-gate", "clean:exact-dedup", "clean:expectations",
    "anonymise", "anonymised:expectations", "release:exact-dedup", "release:near-dedup",
)  # fmt: skip


#: The order in which one copy of equal texts is kept across sources: the earliest publication wins,
#: then the earliest fetch; source and document id make the choice deterministic.
KEEP_ORDER = "published_at NULLS LAST, fetched_at, source_id, doc_id"


def new_version_id(storage: Storage, corpus: str, now: datetime | None = None) -> str:
    """Return a new, sortable version id (UTC build time) that no folder uses yet."""
    now = now or utc_now()
    base = f"v{now:%Y%m%dT%H%M%SZ}"
    candidate, n = base, 1
    while storage.exists(release_dir(corpus, candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class ReleaseManifest(dict[str, Any]):
    """A manifest as :func:`build_release` returns it, with what the build did besides.

    :ivar unchanged_since: when nothing changed since the latest release, its version (this is then *its*
        manifest, and no version was cut); ``None`` when a new version was built.
    :ivar cleaned_up: what the clean-up of earlier incomplete builds removed (:func:`clean_incomplete_releases`).
    """

    def __init__(
        self,
        manifest: dict[str, Any],
        *,
        unchanged_since: str | None = None,
        cleaned_up: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(manifest)
        self.unchanged_since = unchanged_since
        self.cleaned_up = cleaned_up if cleaned_up is not None else _empty_cleanup()


def inputs_digest(
    storage: Storage,
    corpus: str,
    partitions: Sequence[dict[str, Any]],
    *,
    rows_per_part: int,
    near_duplicates: NearDuplicateIndex | None,
    takedowns: Sequence[Takedown] = (),
) -> str:
    """Return one SHA-256 over everything a release is built from: equal digests build equal releases.

    Code version, schema, corpus, release settings (part size, near-duplicate scheme, parameters and
    priorities), per source the SHA-256 of its anonymised report (which changes with every new snapshot of
    the zone) and the id of the validation that let it in, and the takedown requests recorded so far.
    """
    payload = {
        "takedowns": takedowns_digest(takedowns),
        "format": MANIFEST_FORMAT,
        "code_version": code_version(),
        "schema_version": SCHEMA_VERSION,
        "corpus": corpus,
        "rows_per_part": rows_per_part,
        "near_duplicates": None
        if near_duplicates is None
        else {
            "index": near_duplicates.folder,
            "settings": dataclasses.asdict(near_duplicates.settings),
            "priority": sorted(near_duplicates.priority.items()),
        },
        "sources": [
            {
                "source_id": p["source_id"],
                "report_sha256": hashlib.sha256(storage.read_bytes(anonymised_report_path(p["source_id"]))).hexdigest(),
                "validation_id": (p.get("validation") or {}).get("validation_id"),
            }
            for p in sorted(partitions, key=lambda p: p["source_id"])
        ],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def build_release(
    storage: Storage,
    corpus: str,
    partitions: Sequence[dict[str, Any]],
    *,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
    memory_limit: str = "512MB",
    near_duplicates: NearDuplicateIndex | None = None,
    clean_min_age_s: float = AUTO_CLEAN_MIN_AGE_S,
    release_format: ReleaseFormat | None = None,
    specs: Mapping[str, SourceSpec] | None = None,
) -> ReleaseManifest:
    """Build a new release version from anonymised source partitions and return its manifest.

    ``partitions`` are the anonymisation reports (``anonymised/<source>/anonymised.json``) of the sources
    that go in: only anonymised text is ever released.
    Exact duplicates across sources are dropped (one copy kept by :data:`KEEP_ORDER`) and written to
    the excluded zone. With ``near_duplicates`` (the corpus's persistent index), near duplicates of what
    remains are dropped too (``near_duplicate``): only documents the index has not seen are hashed, a
    document an earlier release published is never replaced by a later copy, and a newer version of a
    published document replaces it. Parts are written first, the manifest last, the index part after it.

    No version is cut when nothing changed since the latest release: the same inputs (see
    :func:`inputs_digest`; not trusted for a ``.dirty`` code version) or, after building, the same
    content (``release_digest``). The latest manifest is then returned with ``unchanged_since`` set, and
    whatever the build wrote is removed. Incomplete builds older than ``clean_min_age_s`` are removed first
    (a caller holding the root's lease knows no other build runs and passes 0); a build that fails removes
    what it wrote. ``release_format`` writes the parts and the manifest (default: Parquet, see
    :data:`RELEASE_FORMATS`).
    """
    if not partitions:
        raise ReleaseError("no releasable source has anonymised documents: nothing to release")
    if rows_per_part <= 0:
        raise ReleaseError(f"rows_per_part must be positive, got {rows_per_part}")
    started = time.perf_counter()
    cleaned = clean_incomplete_releases(storage, corpus, min_age_s=clean_min_age_s)
    partitions = sorted(partitions, key=lambda p: p["source_id"])
    # the requests recorded before this build: a later one applies to the next release
    takedowns = list_takedowns(storage, before=utc_now().isoformat())
    digest = inputs_digest(
        storage, corpus, partitions, rows_per_part=rows_per_part, near_duplicates=near_duplicates, takedowns=takedowns
    )
    latest = latest_manifest(storage, corpus)
    # a dirty working tree has one code version for many codes: only the content comparison below counts
    if latest is not None and latest.get("inputs_digest") == digest and not latest["code_version"].endswith(".dirty"):
        return ReleaseManifest(latest, unchanged_since=latest["version"], cleaned_up=cleaned)
    created_at = utc_now()
    published = [v["version"] for v in list_versions(storage, corpus) if v["complete"]]
    version = new_version_id(storage, corpus, created_at)
    manifest_path = f"{release_dir(corpus, version)}/{MANIFEST}"
    release_format = release_format or RELEASE_FORMATS["parquet"]
    try:
        manifest, plan = _write_release(
            storage,
            corpus,
            version,
            partitions,
            rows_per_part,
            memory_limit,
            near_duplicates,
            published,
            release_format,
            takedowns,
        )
        manifest.update(
            created_at=created_at.isoformat(),
            inputs_digest=digest,
            build_duration_s=round(time.perf_counter() - started, 3),
        )
        if latest is not None and manifest["release_digest"] == latest["release_digest"]:
            _remove_build(storage, corpus, version)
            return ReleaseManifest(latest, unchanged_since=latest["version"], cleaned_up=cleaned)
        failpoint("release:parts-written")
        if plan is not None and near_duplicates is not None:
            # before the manifest: the parts count only once it exists, and a crash after it loses nothing
            near_duplicates.commit(plan, version)
        # the datasheet and the Croissant file describe the parts just written; the manifest lists them
        with temporary_directory("datasheet-") as local:
            _, documentation = write_datasheet(storage, manifest, specs, local)
            documentation.append(_write_json(local, "croissant.json", croissant(manifest, specs)))
            for entry in documentation:
                storage.put_file(os.path.join(local, entry["path"]), f"{release_dir(corpus, version)}/{entry['path']}")
        manifest["documentation"] = documentation
        release_format.write_manifest(storage, manifest_path, manifest)
    except BaseException:
        if not storage.exists(manifest_path):  # never remove a committed release
            _remove_build(storage, corpus, version, near_duplicates)
        raise
    failpoint("release:manifest-written")
    return ReleaseManifest(manifest, cleaned_up=cleaned)


def _write_json(folder: str, name: str, value: Any) -> dict[str, Any]:
    """Write a JSON file into a local folder; return its ``{path, bytes, sha256}`` entry for the manifest."""
    with open(os.path.join(folder, name), "wb") as out:
        out.write((json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return file_entry(folder, name)


def _remove_build(
    storage: Storage, corpus: str, version: str, near_duplicates: NearDuplicateIndex | None = None
) -> None:
    """Remove what an uncommitted build wrote (folder, excluded file, index parts), keeping the original error."""
    with contextlib.suppress(Exception):
        storage.delete(release_dir(corpus, version), recursive=True)
        storage.delete(excluded_release_path(corpus, version))
        if near_duplicates is not None:
            near_duplicates.remove(version)


def _write_release(
    storage: Storage,
    corpus: str,
    version: str,
    partitions: Sequence[dict[str, Any]],
    rows_per_part: int,
    memory_limit: str,
    near_duplicates: NearDuplicateIndex | None,
    published: Sequence[str],
    release_format: ReleaseFormat,
    takedowns: Sequence[Takedown] = (),
) -> tuple[dict[str, Any], NearDuplicatePlan | None]:
    """Write a version's parts and excluded file; return its manifest (without build times) and the plan."""
    folder = release_dir(corpus, version)
    inputs = [storage.url(anonymised_path(p["source_id"])) for p in partitions]
    con = storage.duckdb(memory_limit=memory_limit)
    taken = TakenDown.resolve(storage, con, takedowns, [p["source_id"] for p in partitions])
    exact = con.sql(duplicate_drops_sql(inputs, KEEP_ORDER)).to_arrow_reader(8_192)
    plan = None
    if near_duplicates is not None:
        # the exact decisions (dropped rows' keys only: small) are read once and applied in every pass
        decisions = exact.read_all()
        plan = near_duplicates.plan(
            lambda: _after_exact_dedup(storage, DropCursor.from_arrow(decisions.to_reader()), partitions, taken),
            releases=set(published),
        )
        exact = decisions.to_reader()
    drops = DropCursor.from_arrow(exact)
    per_source: dict[str, dict[str, int]] = {}
    near_total = taken_total = 0
    with (
        storage.staged_file(excluded_release_path(corpus, version)) as excluded_local,
        BatchWriter(excluded_local, EXCLUDED_SCHEMA) as excluded_writer,
        release_format.parts(storage, folder, rows_per_part) as parts,
    ):
        for index, partition in enumerate(partitions):
            counts = per_source.setdefault(
                partition["source_id"],
                {"documents": 0, "duplicates_dropped": 0, "near_duplicates_dropped": 0, "taken_down": 0},
            )
            with storage.open_input(anonymised_path(partition["source_id"])) as handle:
                for kept, dropped, why, duplicate_of in split_by_drops(iter_batches(handle), drops.for_file(index)):
                    kept, gone = taken.split(kept)
                    if gone.num_rows:
                        reasons, nobody = [TAKEDOWN] * gone.num_rows, [None] * gone.num_rows
                        excluded_writer.write_batch(with_exclusion(gone, "release", reasons, nobody))
                        counts["taken_down"] += gone.num_rows
                        taken_total += gone.num_rows
                    if plan is not None and plan.drops:
                        kept, near = _split_near(kept, plan.drops)
                        if near.num_rows:
                            near_of = [plan.drops[d] for d in near.column("doc_id").to_pylist()]
                            excluded_writer.write_batch(
                                with_exclusion(near, "release", [NEAR_DUPLICATE] * near.num_rows, near_of)
                            )
                            counts["near_duplicates_dropped"] += near.num_rows
                            near_total += near.num_rows
                    parts.write(kept)
                    excluded_writer.write_batch(with_exclusion(dropped, "release", why, duplicate_of))
                    counts["documents"] += kept.num_rows
                    counts["duplicates_dropped"] += dropped.num_rows
    con.close()
    if not drops.exhausted():
        raise ReleaseError("deduplication decisions were left unapplied: the input zone changed during the build")
    files = parts.files
    dropped_total = excluded_writer.rows_written - near_total - taken_total

    total = sum(f["rows"] for f in files)
    manifest = {
        "format": MANIFEST_FORMAT,
        "corpus": corpus,
        "version": version,
        "code_version": code_version(),
        "schema_version": SCHEMA_VERSION,
        "schema": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in DOCUMENT_SCHEMA],
        "stages": list(STAGES),
        # Every part is read from the anonymised zone; what was replaced is in each source's entry and in
        # annotations.anonymised of each document (types, counts and offsets, never values).
        "anonymised": True,
        "total_documents": total,
        "total_bytes": sum(f["bytes"] for f in files),
        "files": files,
        "release_digest": release_digest(files),
        "excluded": {
            "duplicate_content": dropped_total,
            "near_duplicate": near_total,
            TAKEDOWN: taken_total,
            "path": excluded_release_path(corpus, version),
        },
        # the takedown list as this build saw it: the requests recorded before it, and those it applied
        "takedowns": {
            "requests_recorded": len(takedowns),
            "requests_applied": sorted(taken.applied),
            "documents_taken_down": taken_total,
        },
        "near_duplicates": None
        if plan is None or near_duplicates is None
        else {
            "method": "minhash-lsh",
            "ngram": near_duplicates.settings.ngram,
            "bands": near_duplicates.settings.bands,
            "rows": near_duplicates.settings.rows,
            "threshold": near_duplicates.settings.threshold,
            "index": near_duplicates.folder,
            **plan.counts(),
            "dropped_by_source_pair": [
                {"source_id": a, "kept_copy_source_id": b, "documents": n}
                for (a, b), n in sorted(plan.by_source_pair.items(), key=lambda item: (str(item[0]), -item[1]))
            ],
        },
        "sources": [
            {
                "source_id": p["source_id"],
                "licence": p["licence"],
                "ingest_id": p["ingest_id"],
                "ingested_at": p["ingested_at"],
                "clean_code_version": p["clean_code_version"],
                "anonymise_code_version": p["code_version"],
                "anonymisation": {
                    "operator": p["operator"],
                    # which key generation made the surrogates (catalog.keys; None: no key used)
                    "key_id": p.get("key_id"),
                    "documents_with_personal_data": p["documents_with_personal_data"],
                    "replacements_by_entity": p["replacements_by_entity"],
                    "kept_names": p["kept_names"],
                    # documents whose native id, URL, location, record or source metadata had parts replaced
                    # by keyed pseudonyms (absent in reports of older code)
                    "native_id_policy": p.get("native_id_policy"),
                    "fields_pseudonymised": p.get("fields_pseudonymised"),
                    "name_model": p.get("name_model"),
                },
                # the Great Expectations validation of the anonymised snapshot this release read
                "expectations": p.get("validation"),
                "documents": per_source.get(p["source_id"], {}).get("documents", 0),
                "duplicates_dropped": per_source.get(p["source_id"], {}).get("duplicates_dropped", 0),
                "near_duplicates_dropped": per_source.get(p["source_id"], {}).get("near_duplicates_dropped", 0),
                "taken_down": per_source.get(p["source_id"], {}).get("taken_down", 0),
            }
            for p in partitions
        ],
    }
    return manifest, plan


def _after_exact_dedup(
    storage: Storage, drops: DropCursor, partitions: Sequence[dict[str, Any]], taken: TakenDown
) -> Iterator[pa.RecordBatch]:
    """Stream the release's documents that survive exact deduplication and takedowns (the near-duplicate candidates).

    A taken-down document is not published, so it must not enter the index as published.
    """
    for index, partition in enumerate(partitions):
        with storage.open_input(anonymised_path(partition["source_id"])) as handle:
            for kept, *_ in split_by_drops(iter_batches(handle), drops.for_file(index)):
                yield taken.split(kept)[0]


@dataclass
class TakenDown:
    """The documents a build leaves out for takedown requests, and the requests that named any of them."""

    #: doc_id -> the request that names it
    documents: dict[str, str]
    #: source_id -> the request that takes the whole source out
    sources: dict[str, str]
    applied: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    def resolve(cls, storage: Storage, con: Any, requests: Sequence[Takedown], sources: Sequence[str]) -> TakenDown:
        """Resolve the requests against the released sources (URLs from their clean zones)."""
        return cls(matched_documents(storage, con, requests, sources), source_takedowns(requests))

    def split(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """Split a batch into the rows to keep and the rows taken down; note the requests that applied."""
        if not (self.documents or self.sources) or not batch.num_rows:
            return batch, batch.slice(0, 0)
        requests = [
            self.sources.get(source) or self.documents.get(doc)
            for doc, source in zip(
                batch.column("doc_id").to_pylist(), batch.column("source_id").to_pylist(), strict=True
            )
        ]
        gone = pa.array([request is not None for request in requests], pa.bool_())
        self.applied.update(request for request in requests if request is not None)
        return batch.filter(pc.invert(gone)), batch.filter(gone)


def _split_near(batch: pa.RecordBatch, drops: dict[str, str]) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Split a batch into the rows to keep and the near duplicates to drop."""
    near = pa.array([doc in drops for doc in batch.column("doc_id").to_pylist()], pa.bool_())
    return batch.filter(pc.invert(near)), batch.filter(near)


def _empty_cleanup() -> dict[str, list[str]]:
    return {
        "incomplete_releases": [],
        "orphaned_excluded": [],
        "orphaned_index_parts": [],
        "temp_files": [],
        "kept_too_young": [],
    }


def clean_incomplete_releases(
    storage: Storage, corpus: str | None = None, *, min_age_s: float = 0.0, dry_run: bool = False
) -> dict[str, list[str]]:
    """Remove what failed builds left behind; return what was removed (with ``dry_run``: would be).

    - ``incomplete_releases``: version folders without a manifest (``corpus/version``), with their
      excluded file;
    - ``orphaned_excluded``: ``excluded/release/<corpus>/<version>.parquet`` files whose version has no
      complete release;
    - ``orphaned_index_parts``: near-duplicate index parts (``dedup/index/<corpus>/<scheme>/*-<version>.parquet``)
      of versions without a complete release (a build killed between its index parts and its manifest; readers
      ignore them already);
    - ``temp_files``: temporary files of interrupted atomic writes (``.<name>.tmp-...``, see
      :func:`catalog.storage.is_temp_file_name`) in complete release folders and the excluded folder. Nothing
      else in a complete release is ever touched (other unlisted files are for :func:`verify_release` to report).

    Anything written less than ``min_age_s`` seconds ago may belong to a build in progress: it is left
    alone and listed under ``kept_too_young``. Every list is sorted.
    """
    report = _empty_cleanup()
    now = time.time()

    def young(*paths: str) -> bool:
        stamps = [stamp for path in paths if (stamp := storage.modified(path)) is not None]
        return bool(stamps) and now - max(stamps) < min_age_s

    def remove(path: str, *, recursive: bool = False) -> None:
        if not dry_run:
            storage.delete(path, recursive=recursive)

    def sweep(path: str, kind: str) -> None:
        """Remove one leftover file under ``kind``, unless it may belong to a build in progress."""
        if young(path):
            report["kept_too_young"].append(path)
        else:
            report[kind].append(path)
            remove(path)

    corpora = (
        [corpus]
        if corpus
        else sorted(
            {
                *storage.ls("releases", dirs_only=True),
                *storage.ls(EXCLUDED_RELEASES, dirs_only=True),
                *storage.ls(INDEX_FOLDER, dirs_only=True),
            }
        )
    )
    for name in corpora:
        folders = set(storage.ls(corpus_folder(name), dirs_only=True))
        complete = {version for version in folders if storage.exists(f"{release_dir(name, version)}/{MANIFEST}")}
        excluded_folder = f"{EXCLUDED_RELEASES}/{name}"
        excluded = {f.removesuffix(".parquet") for f in storage.ls(excluded_folder) if f.endswith(".parquet")}
        for version in sorted((folders | excluded) - complete, key=version_sort_key):
            folder, excluded_file = release_dir(name, version), excluded_release_path(name, version)
            if young(folder, excluded_file):
                report["kept_too_young"].append(f"{name}/{version}")
                continue
            if version in folders:
                report["incomplete_releases"].append(f"{name}/{version}")
                remove(folder, recursive=True)
            if version in excluded:
                report["orphaned_excluded"].append(excluded_file)
                remove(excluded_file)
        for scheme in storage.ls(f"{INDEX_FOLDER}/{name}", dirs_only=True):
            for entry in storage.ls(f"{INDEX_FOLDER}/{name}/{scheme}"):
                release = part_release(entry)
                if release is not None and release not in complete:
                    sweep(f"{INDEX_FOLDER}/{name}/{scheme}/{entry}", "orphaned_index_parts")
        for folder in [release_dir(name, version) for version in sorted(complete, key=version_sort_key)] + [
            excluded_folder
        ]:
            for entry in storage.ls(folder, hidden=True):
                if is_temp_file_name(entry):
                    sweep(f"{folder}/{entry}", "temp_files")
    return {key: sorted(paths) for key, paths in report.items()}


@dataclass(frozen=True)
class Releasable:
    """Which sources a release takes, and why each other approved source is left out.

    :ivar partitions: the anonymisation reports of the sources taken, each with its validation summary.
    :ivar missing: approved sources without anonymised documents.
    :ivar failed: approved sources whose anonymised zone failed (or never ran) its expectations, with why.
    :ivar previous_key: sources anonymised with an earlier key (a release never mixes two keys' surrogates).
    :ivar failing: approved sources whose last run failed, with why.
    :ivar not_approved: sources whose status keeps them out of releases.
    """

    partitions: list[dict[str, Any]]
    missing: list[str]
    failed: dict[str, str]
    previous_key: dict[str, str]
    failing: dict[str, str]
    not_approved: list[str]


def releasable_partitions(storage: Storage, specs: Mapping[str, SourceSpec]) -> Releasable:
    """Decide which sources' anonymised zones a release is built from (``specs``: the registered sources).

    A source is taken when it is approved, did not fail its last run, has anonymised documents whose
    expectations passed on exactly that output, and was anonymised with the root's current key.
    """
    partitions: list[dict[str, Any]] = []
    missing: list[str] = []
    failed: dict[str, str] = {}
    previous_key: dict[str, str] = {}
    current_key_id = recorded_key_id(storage)
    failing = {source_id: held_back_reason(record) for source_id, record in current_failures(storage).items()}
    for source_id, spec in sorted(specs.items()):
        if not spec.releasable or source_id in failing:
            continue
        report_path = anonymised_report_path(source_id)
        if not storage.exists(report_path):
            missing.append(source_id)
            continue
        valid, why = validation_matches(storage, "anonymised", source_id, report_path)
        if not valid:  # a zone whose expectations failed (or were never run on it) is never released
            failed[source_id] = why
            continue
        report = storage.read_json(report_path)
        why = previous_key_reason(report, current_key_id)
        if why:  # a release never mixes surrogates of two keys
            previous_key[source_id] = why
            continue
        summary = storage.read_json(validation_path("anonymised", source_id))
        validation = {key: summary[key] for key in ("suite", "validation_id", "validated_at", "documents")}
        validation["evaluated_expectations"] = summary["evaluated_expectations"]
        validation["data_docs"] = summary["data_docs"]
        partitions.append({**report, "validation": validation})
    approved_failing = {s: why for s, why in failing.items() if s in specs and specs[s].releasable}
    return Releasable(
        partitions=partitions,
        missing=missing,
        failed=failed,
        previous_key=previous_key,
        failing=approved_failing,
        not_approved=sorted(source_id for source_id, spec in specs.items() if not spec.releasable),
    )
