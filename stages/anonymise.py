"""The anonymisation stage for one source, and the residual scan that guards what it wrote.

Zone layout for a source ``S``:

- ``anonymised/S/documents.parquet``: the clean documents with personal data replaced in every string field
  that reaches a release: ``title`` and ``text`` (surrogates, one document so a name is found and replaced
  alike in both), ``native_id`` (a keyed pseudonym), ``url`` (shape kept, identifying parts replaced by keyed
  tokens) and the raw annotation's ``location``, ``record`` and ``source_metadata``
  (:mod:`anonymisation.document`); ``content_sha256`` recomputed, ``doc_id`` unchanged (the identity used by
  deduplication and releases), and ``annotations.anonymised`` filled: entity counts, kept names, the offsets
  of every replacement in the new title and text, and the parts pseudonymised per field (never the values);
- ``anonymised/S/inputs.parquet``: per ``doc_id`` the digest of what the anonymiser read of the clean
  document, and (in the file's footer) the key id, policy digest, anonymiser code and name model it was made
  with; written after the documents;
- ``anonymised/S/anonymised.json``: the stage report, written last (the partition's commit marker).

Runs are incremental: a document whose input digest is unchanged, under the same key, policy, anonymiser code
and name model, is reused from the previous snapshot; only new and changed documents are anonymised, in
input shards of bounded size (``clean/S/anonymise-shards/``, restricted: they hold clean text) that run in
this process or as shard workers (:mod:`stages.shard_worker`, kind ``anonymise``) through an executor
(:mod:`stages.executors`). The zone holds what a run from scratch would write.

Every clean document comes out again (anonymisation drops nothing), so the accounting identity of the
clean stage carries over unchanged: ``documents_in == documents_out`` is part of the report.

:func:`residual_scan` re-reads every released string field of the anonymised file with the structured
recognizers and reports any e-mail, IBAN, BSN, phone or credit card number that is *not* one of the recorded
replacements. Surrogates pass checksums on purpose, so the recorded offsets are what tells them apart from a
value that was missed (for example an entity type a source's policy left out); the short fields have no
recorded replacements (their replacements are tokens that match no recognizer), so any finding there counts.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from anonymisation.entities import RESIDUAL_ENTITIES
from catalog.documents import DOCUMENT_SCHEMA, RAW_ANNOTATION, code_version, content_sha256
from catalog.failpoints import failpoint
from catalog.parquet import DEFAULT_BATCH_ROWS, BatchWriter, iter_batches
from catalog.storage import Storage, StorageError, sql_quote
from catalog.zones import (
    anonymise_shards_folder,
    anonymised_inputs_path,
    anonymised_path,
    anonymised_report_path,
    clean_path,
)
from stages.executors import (
    Executor,
    ShardProgress,
    ShardSize,
    ShardTask,
    row_group_ranges,
    run_stage_shards,
    write_shards,
)

if TYPE_CHECKING:  # the engine imports Presidio, the clean stage polars: import them only to run
    from anonymisation.anonymiser import Anonymiser
    from anonymisation.document import AnonymisedDocument, DocumentAnonymiser
    from anonymisation.engine import Finding
    from catalog.sources import AnonymisationPolicy
    from stages.clean import CleanReport

STAGE = "anonymise"

#: The short string fields that reach a release besides title and text (the last three in annotations.raw).
SHORT_FIELDS = ("native_id", "url", "location", "record", "source_metadata")


#: Fields of ``annotations.raw`` that reach a release as strings.
RAW_STRING_FIELDS = ("location", "record", "source_metadata")


def _replacement_spans(replacements: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"entity": e, "start": s, "end": t} for e, s, t in replacements]


class AnonymisationReport(TypedDict):
    """The anonymisation stage's report of one source (``anonymised/<source>/anonymised.json``, the commit).

    Counts and types only, never a value.
    """

    source_id: str
    ingest_id: str
    ingested_at: str
    licence: str
    code_version: str
    clean_code_version: str
    operator: str
    key_id: str | None
    native_id_policy: str
    name_model: str
    policy_digest: str | None
    anonymiser_version: str
    generation: str
    documents_in: int
    documents_out: int
    documents_reused: int
    documents_anonymised: int
    reprocessed_reason: str | None
    shards: int
    executor: str
    documents_with_personal_data: int
    replacements: int
    replacements_by_entity: dict[str, int]
    kept_names: int
    fields_pseudonymised: dict[str, int]
    chars: int
    duration_s: float
    mb_per_s: float | None


def _annotation(version: str, operator: str, document: AnonymisedDocument) -> dict[str, Any]:
    title, text = document.title, document.text
    counts = Counter(text.replaced)
    kept = sum(text.kept.values())
    if title is not None:
        counts.update(title.replaced)
        kept += sum(title.kept.values())
    return {
        "code_version": version,
        "operator": operator,
        "entities": sorted(counts.items()),
        "kept_names": kept,
        "replacements": _replacement_spans(text.replacements),
        "title_replacements": _replacement_spans(title.replacements if title else []),
        "fields_pseudonymised": sorted(document.pseudonymised.items()),
    }


def anonymise_batch(
    batch: pa.RecordBatch, documents: DocumentAnonymiser, operator: str, version: str
) -> tuple[pa.RecordBatch, Counter[str], int, int, Counter[str]]:
    """Anonymise every released string field of a batch of clean documents.

    Returns the new batch, replacements per entity type (title and text), kept allow-listed names, how many
    documents had at least one replacement in title or text, and per field how many documents had parts of
    it pseudonymised.
    """
    from anonymisation.document import DocumentFields

    rows = batch.to_pylist()
    totals: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    kept = touched = 0
    for row in rows:
        annotations = dict(row["annotations"] or {})
        raw = dict(annotations.get("raw") or {})
        document = documents.anonymise(
            DocumentFields(
                native_id=row["native_id"],
                text=row["text"],
                title=row["title"],
                url=row["url"],
                **{name: raw.get(name) for name in RAW_STRING_FIELDS},
            )
        )
        new = document.fields
        row.update(native_id=new.native_id, url=new.url, title=new.title, text=new.text)
        row["content_sha256"] = content_sha256(new.text)
        if annotations.get("raw") is not None:
            raw.update({name: getattr(new, name) for name in RAW_STRING_FIELDS})
            annotations["raw"] = raw
        annotation = _annotation(version, operator, document)
        annotations["anonymised"] = annotation
        row["annotations"] = annotations
        totals.update(dict(annotation["entities"]))
        fields.update(document.pseudonymised.keys())
        kept += annotation["kept_names"]
        touched += bool(annotation["entities"])
    return pa.RecordBatch.from_pylist(rows, schema=DOCUMENT_SCHEMA), totals, kept, touched, fields


# -- incremental, sharded runs -------------------------------------------------------------------------------

#: The columns the anonymiser rewrites (with ``annotations.raw``'s string fields and ``annotations.anonymised``);
#: a reused document takes these from the previous snapshot and every other column from the clean zone.
ANONYMISED_COLUMNS = ("native_id", "url", "title", "text", "content_sha256")

#: Parquet footer key of the input digests file: what its snapshot was made with (ids and digests only).
_INPUTS_METADATA_KEY = b"corpusfabriek.anonymised_inputs"
#: The input digests file: one row per document of the snapshot.
INPUTS_SCHEMA = pa.schema([pa.field("doc_id", pa.string(), nullable=False), pa.field("input_digest", pa.string())])

#: The source files whose change re-anonymises every document (the anonymiser and the document schema).
_ANONYMISER_SOURCES = ("anonymisation", "stages/anonymise.py", "catalog/documents.py")


@dataclass(frozen=True)
class Fingerprint:
    """What, besides a document's own input, decides its anonymisation: a change re-anonymises every document."""

    key_id: str | None
    policy: str | None
    anonymiser_version: str
    name_model: str

    def changes_since(self, previous: dict[str, Any]) -> list[str]:
        """Name what differs from a previous snapshot's fingerprint (empty: its documents can be reused)."""
        reasons = []
        if self.key_id is None:
            reasons.append("no key id given")
        elif previous.get("key_id") != self.key_id:
            reasons.append(f"key changed ({previous.get('key_id')} -> {self.key_id})")
        if self.policy is None:
            reasons.append("no anonymisation policy given")
        elif previous.get("policy") != self.policy:
            reasons.append("anonymisation policy changed")
        if previous.get("anonymiser_version") != self.anonymiser_version:
            reasons.append("anonymiser code changed")
        if previous.get("name_model") != self.name_model:
            reasons.append(f"name model changed ({previous.get('name_model')} -> {self.name_model})")
        return reasons


def policy_digest(policy: AnonymisationPolicy) -> str:
    """Return a short digest of a source's anonymisation policy (names in it never leave as text)."""
    text = json.dumps(policy.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@cache
def anonymiser_version() -> str:
    """Return a digest of the anonymiser's source files and data: a change re-anonymises every document.

    Not the project's commit (``code_version``): an unrelated commit must not re-anonymise an archive.
    """
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for rel in _ANONYMISER_SOURCES:
        target = root / rel
        for path in sorted(target.rglob("*")) if target.is_dir() else [target]:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".md":
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _input_digest_sql(alias: str) -> str:
    """Return the SQL of a document's input digest: every clean field the anonymiser reads, unambiguously encoded."""
    raw = f"{alias}.annotations.raw"
    fields = ", ".join(
        [f"'{name}': {alias}.{name}" for name in ("native_id", "title", "text", "url")]
        + [f"'{name}': {raw}.\"{name}\"" for name in RAW_STRING_FIELDS]
    )
    return f"sha256(to_json({{{fields}}}))"


def _reused_select() -> str:
    """Return the SQL columns of a reused document: anonymised fields from ``p`` (previous), the rest from ``c``."""
    raw = ", ".join(
        f"'{name}': {'p' if name in RAW_STRING_FIELDS else 'c'}.annotations.raw.\"{name}\""
        for name in RAW_ANNOTATION.names
    )
    annotations = (
        f"{{'raw': CASE WHEN c.annotations.raw IS NULL THEN NULL ELSE {{{raw}}} END, "
        "'clean': c.annotations.clean, 'anonymised': p.annotations.anonymised} AS annotations"
    )
    return ", ".join(
        annotations if name == "annotations" else f'{"p" if name in ANONYMISED_COLUMNS else "c"}."{name}"'
        for name in DOCUMENT_SCHEMA.names
    )


def _sql_path(storage: Storage, rel: str) -> str:
    return sql_quote(storage.url(rel))


def _previous_fingerprint(storage: Storage, source_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """Return the previous snapshot's fingerprint, or why there is none that can be trusted."""
    report_path, documents, inputs = (
        anonymised_report_path(source_id),
        anonymised_path(source_id),
        anonymised_inputs_path(source_id),
    )
    if not storage.exists(report_path) or not storage.exists(documents):
        return None, "no previous anonymised snapshot"
    if not storage.exists(inputs):
        return None, "the previous snapshot has no input digests"
    with storage.open_input(inputs) as handle:
        metadata = pq.ParquetFile(handle).schema_arrow.metadata or {}
    previous = json.loads(metadata.get(_INPUTS_METADATA_KEY, b"{}"))
    # the digests describe the documents file next to them only if the same run wrote both and committed
    report = storage.read_json(report_path)
    if previous.get("generation") != report.get("generation") or previous.get("documents_bytes") != storage.size(
        documents
    ):
        return None, "the previous run did not complete"
    return previous, None


class _Counts:
    """The report's per-document totals, summed over shards and reused documents."""

    def __init__(self) -> None:
        self.entities: Counter[str] = Counter()
        self.fields: Counter[str] = Counter()
        self.kept = 0
        self.touched = 0

    def add(self, counts: dict[str, Any]) -> None:
        self.entities.update(counts["replacements_by_entity"])
        self.fields.update(counts["fields_pseudonymised"])
        self.kept += counts["kept_names"]
        self.touched += counts["documents_with_personal_data"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "replacements_by_entity": dict(self.entities),
            "fields_pseudonymised": dict(self.fields),
            "kept_names": self.kept,
            "documents_with_personal_data": self.touched,
        }


def _reused_counts(con: Any, previous_documents: str) -> dict[str, Any]:
    """Sum the recorded counts of the reused documents (read from their annotations, out of core)."""
    reused = (
        f"SELECT annotations.anonymised AS a FROM read_parquet({previous_documents}) "
        "WHERE doc_id IN (SELECT doc_id FROM reused)"
    )
    entities = con.execute(
        f"SELECT k, sum(v)::BIGINT FROM (SELECT unnest(map_keys(a.entities)) AS k, "
        f"unnest(map_values(a.entities)) AS v FROM ({reused})) GROUP BY k"
    ).fetchall()
    fields = con.execute(
        f"SELECT k, count(*) FROM (SELECT unnest(map_keys(a.fields_pseudonymised)) AS k FROM ({reused})) GROUP BY k"
    ).fetchall()
    kept, touched = con.execute(
        f"SELECT coalesce(sum(a.kept_names), 0)::BIGINT, count(*) FILTER (WHERE cardinality(a.entities) > 0) "
        f"FROM ({reused})"
    ).fetchall()[0]
    return {
        "replacements_by_entity": dict(entities),
        "fields_pseudonymised": dict(fields),
        "kept_names": kept,
        "documents_with_personal_data": touched,
    }


def _shard_counts_path(output: str) -> str:
    return output.removesuffix(".parquet") + ".json"


def anonymise_shard(
    storage: Storage,
    input_path: str,
    output_path: str,
    documents: DocumentAnonymiser,
    operator: str,
    version: str | None = None,
) -> dict[str, Any]:
    """Anonymise one input shard into ``output_path``, then write its counts next to it; return the counts.

    The counts file (entity types and numbers only) is written last: a shard is done when it exists.

    :param version: the code version stamped on the documents: the stage's, so that every document of a
        snapshot carries the one its report names (default: this process's).
    """
    started = time.perf_counter()
    version = version or code_version()
    counts = _Counts()
    chars = 0
    with (
        storage.open_input(input_path) as handle,
        storage.staged_file(output_path) as local,
        BatchWriter(local, DOCUMENT_SCHEMA) as writer,
    ):
        for batch in iter_batches(handle):
            chars += sum(len(t) for t in batch.column("text").to_pylist())
            out, entities, kept, touched, fields = anonymise_batch(batch, documents, operator, version)
            writer.write_batch(out)
            counts.add(
                {
                    "replacements_by_entity": entities,
                    "fields_pseudonymised": fields,
                    "kept_names": kept,
                    "documents_with_personal_data": touched,
                }
            )
    result = {
        **counts.as_dict(),
        "documents": writer.rows_written,
        "chars": chars,
        "seconds": round(time.perf_counter() - started, 3),
    }
    storage.write_json(_shard_counts_path(output_path), result)
    return result


def run_anonymise_shard(
    root: str,
    source_id: str,
    input_path: str,
    output_path: str,
    *,
    policy_path: str,
    key_id: str,
    expected_anonymiser_version: str,
    name_model_setting: str,
    expected_name_model: str,
    code_version: str | None = None,
) -> dict[str, Any]:
    """Anonymise one shard in a worker process: rebuild the source's anonymiser as the stage did, then run it.

    The secret key comes from the environment or the root's key file, never from the command line; the
    worker refuses to run when its key, code or name model differ from the ones the stage planned with,
    so a shard can never mix surrogates of two keys into one snapshot. The documents carry the stage's
    ``code_version``: a node's checkout may be another commit with the same anonymiser code.
    """
    from anonymisation.anonymiser import Anonymiser
    from anonymisation.config import configure, current
    from anonymisation.document import DocumentAnonymiser
    from anonymisation.operators import check_key
    from catalog.keys import root_key
    from catalog.sources import AnonymisationPolicy

    storage = Storage.from_env(root)
    configure(name_model=name_model_setting, cache_dir=current().cache_dir)
    key = root_key(storage, check=check_key)
    if key.key_id != key_id:
        raise SystemExit(f"shard {input_path}: this worker's key is {key.key_id}, the stage planned with {key_id}")
    if anonymiser_version() != expected_anonymiser_version:
        raise SystemExit(f"shard {input_path}: this worker runs other anonymiser code than the stage")
    if _name_model_id() != expected_name_model:
        raise SystemExit(
            f"shard {input_path}: this worker's name model is {_name_model_id()}, not {expected_name_model}"
        )
    policy = AnonymisationPolicy(**storage.read_json(policy_path))
    documents = DocumentAnonymiser(Anonymiser.from_policy(policy, key.secret))
    return anonymise_shard(storage, input_path, output_path, documents, policy.operator, code_version)


def _shard_task(
    storage: Storage, source_id: str, input_path: str, policy_path: str, fingerprint: Fingerprint, version: str
) -> ShardTask:
    from anonymisation.config import current

    name = input_path.rsplit("/", 1)[-1].removesuffix(".parquet")
    argv = (
        "anonymise",
        "--root",
        storage.root,
        "--source",
        source_id,
        "--input",
        input_path,
        "--output",
        input_path.replace("/in/", "/out/"),
        "--policy",
        policy_path,
        "--key-id",
        fingerprint.key_id or "",
        "--anonymiser-version",
        fingerprint.anonymiser_version,
        "--name-model",
        current().name_model,
        "--expected-name-model",
        fingerprint.name_model,
        "--code-version",
        version,
    )
    return ShardTask(f"{source_id}/{name}", argv)


def anonymise_source(
    storage: Storage,
    source_id: str,
    anonymiser: Anonymiser,
    *,
    operator: str,
    clean_report: CleanReport,
    key_id: str | None = None,
    policy: AnonymisationPolicy | None = None,
    executor: Executor | None = None,
    shard_size: ShardSize | None = None,
    progress: Callable[[ShardProgress], None] | None = None,
) -> AnonymisationReport:
    """Anonymise one source's clean documents into the anonymised zone, reusing what is unchanged; return the report.

    A document is reused from the previous snapshot when its anonymisation input (the clean fields the
    anonymiser reads) has the digest recorded for it and the key, policy, anonymiser code and name model are
    the ones the snapshot was made with; every other document is written to input shards of bounded size
    and anonymised, in this process (``executor=None``) or by the shard workers an executor runs. The zone
    then holds what a run from scratch would write (row order aside): reused documents take their anonymised
    fields from the snapshot and every other column from the clean zone. Matching and assembly are joins
    over Parquet files (DuckDB, spilling to disk), so memory does not grow with the source.

    :param anonymiser: the source's anonymiser; it must hold the secret key (ids, URLs and metadata are
        pseudonymised with it whatever the operator).
    :param operator: the policy's default operator name, recorded in annotations and the report.
    :param clean_report: the clean partition's report (its ingest id and licence are carried forward).
    :param key_id: the short salted fingerprint of the anonymiser's key (``catalog.keys``); recorded so that a
        release never mixes sources anonymised with other keys. Without it nothing is reused.
    :param policy: the source's anonymisation policy (what ``anonymiser`` was built from); without it nothing
        is reused. Shard workers rebuild the anonymiser from it and the root's key.
    :param executor: runs the shards as worker processes or cluster jobs; ``None``: in this process, one
        after the other, with ``anonymiser`` (no process start-up, no model loading per shard).
    :param shard_size: bounds of one shard (default :class:`ShardSize`).
    :param progress: called with a :class:`~stages.executors.ShardProgress` (counts and times only) per finished
        shard.
    :raises AnonymisationKeyError: the anonymiser has no key.
    :raises ShardFailure: a shard failed (after the executor's retries); the zone is left as it was.
    """
    from anonymisation.document import DocumentAnonymiser

    documents = DocumentAnonymiser(anonymiser)  # fails before anything is read when the key is missing
    if not storage.exists(clean_path(source_id)):
        raise StorageError(f"source {source_id} has no clean documents: materialise clean_documents first")
    if executor is not None and (policy is None or key_id is None):
        raise ValueError("shard workers rebuild the anonymiser from the policy and the root's key: pass both")
    started = time.perf_counter()
    version = code_version()
    size = shard_size or ShardSize()
    fingerprint = Fingerprint(
        key_id, policy_digest(policy) if policy is not None else None, anonymiser_version(), _name_model_id()
    )
    generation = uuid.uuid4().hex[:16]
    staging = anonymise_shards_folder(source_id)
    storage.delete(staging, recursive=True)  # what a crashed run left (the caller holds the root's lease)
    folder = f"{staging}/{generation}"
    previous, reason = _previous_fingerprint(storage, source_id)
    if previous is not None:
        reason = "; ".join(fingerprint.changes_since(previous)) or None
    clean = _sql_path(storage, clean_path(source_id))
    before = _sql_path(storage, anonymised_path(source_id))
    con = storage.duckdb()
    try:
        con.execute(
            f"CREATE TEMP TABLE digests AS SELECT doc_id, {_input_digest_sql('c')} AS input_digest, "
            f"length(c.text) AS chars FROM read_parquet({clean}) c"
        )
        documents_in, chars = con.execute("SELECT count(*), coalesce(sum(chars), 0)::BIGINT FROM digests").fetchall()[0]
        if reason is None:
            inputs = _sql_path(storage, anonymised_inputs_path(source_id))
            # reused: same input as recorded, and really in the previous documents file
            con.execute(
                f"CREATE TEMP TABLE reused AS SELECT d.doc_id FROM digests d "
                f"JOIN read_parquet({inputs}) i ON i.doc_id = d.doc_id AND i.input_digest = d.input_digest "
                f"WHERE d.doc_id IN (SELECT doc_id FROM read_parquet({before}))"
            )
        else:
            con.execute("CREATE TEMP TABLE reused (doc_id VARCHAR)")
        (reused,) = con.execute("SELECT count(*) FROM reused").fetchall()[0]
        if executor is not None:
            size = size.balanced(documents_in - reused, getattr(executor, "workers", None))
        if reused == 0:
            # nothing to join: stream the clean file as it is (its order, no type round trip)
            with storage.open_input(clean_path(source_id)) as handle:
                shards = write_shards(storage, iter_batches(handle), folder, size, DOCUMENT_SCHEMA)
        else:
            todo = con.sql(
                f"SELECT * FROM read_parquet({clean}) WHERE doc_id NOT IN (SELECT doc_id FROM reused)"
            ).to_arrow_reader(DEFAULT_BATCH_ROWS)
            shards = write_shards(storage, (_as_documents(b) for b in todo), folder, size, DOCUMENT_SCHEMA)
        counts = _Counts()
        if reused:
            counts.add(_reused_counts(con, before))
        outputs = _run_shards(
            storage, source_id, shards, documents, operator, executor, folder, policy, fingerprint, version, progress
        )
        with storage.staged_file(anonymised_path(source_id)) as local, BatchWriter(local, DOCUMENT_SCHEMA) as writer:
            if reused:
                stream = con.sql(
                    f"SELECT {_reused_select()} FROM read_parquet({clean}) c "
                    f"JOIN read_parquet({before}) p ON p.doc_id = c.doc_id "
                    "WHERE c.doc_id IN (SELECT doc_id FROM reused)"
                ).to_arrow_reader(DEFAULT_BATCH_ROWS)
                for batch in stream:
                    writer.write_batch(_as_documents(batch))
            for output in outputs:
                counts.add(storage.read_json(_shard_counts_path(output)))
                with storage.open_input(output) as handle:
                    for batch in iter_batches(handle):
                        writer.write_batch(batch)
        _write_inputs(storage, source_id, con, fingerprint, generation)
    finally:
        con.close()
        storage.delete(staging, recursive=True)
    duration = time.perf_counter() - started
    totals = counts.as_dict()
    report: AnonymisationReport = {
        "source_id": source_id,
        "ingest_id": clean_report["ingest_id"],
        "ingested_at": clean_report["ingested_at"],
        "licence": clean_report["licence"],
        "code_version": version,
        "clean_code_version": clean_report["code_version"],
        "operator": operator,
        "key_id": key_id,
        "native_id_policy": anonymiser.native_id,
        # which person-name model found the names (the rules alone: "none"); its card is in the package
        "name_model": fingerprint.name_model,
        "policy_digest": fingerprint.policy,
        "anonymiser_version": fingerprint.anonymiser_version,
        "generation": generation,
        "documents_in": documents_in,
        "documents_out": writer.rows_written,
        "documents_reused": reused,
        "documents_anonymised": writer.rows_written - reused,
        # why nothing of the previous snapshot was reused (None: only new and changed documents were anonymised)
        "reprocessed_reason": reason,
        "shards": len(shards),
        "executor": _executor_name(executor),
        "documents_with_personal_data": totals["documents_with_personal_data"],
        "replacements": sum(totals["replacements_by_entity"].values()),
        "replacements_by_entity": dict(sorted(totals["replacements_by_entity"].items())),
        "kept_names": totals["kept_names"],
        # documents with parts of a short field replaced by keyed pseudonyms, per field
        "fields_pseudonymised": {name: totals["fields_pseudonymised"].get(name, 0) for name in SHORT_FIELDS},
        "chars": chars,
        "duration_s": round(duration, 3),
        "mb_per_s": round(chars / 1e6 / duration, 3) if duration > 0 else None,
    }
    failpoint("anonymise:documents-written")
    storage.write_json(anonymised_report_path(source_id), report)
    return report


def _executor_name(executor: Executor | None) -> str:
    if executor is None:
        return "in-process"
    workers = getattr(executor, "workers", None)
    name = type(executor).__name__.removesuffix("Executor").lower() or "executor"
    return f"{name} ({workers} workers)" if workers else name


def _as_documents(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Cast a batch DuckDB returned back to the document schema exactly (time zone, struct and map types)."""
    table = pa.Table.from_batches([batch]).select(DOCUMENT_SCHEMA.names).cast(DOCUMENT_SCHEMA)
    return table.combine_chunks().to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist([], DOCUMENT_SCHEMA)


def _run_shards(
    storage: Storage,
    source_id: str,
    shards: list[tuple[str, int]],
    documents: DocumentAnonymiser,
    operator: str,
    executor: Executor | None,
    folder: str,
    policy: AnonymisationPolicy | None,
    fingerprint: Fingerprint,
    version: str,
    progress: Callable[[ShardProgress], None] | None,
) -> list[str]:
    """Anonymise every input shard, stamping the stage's code ``version``; return the output paths in shard order.

    :raises ShardFailure: naming the failed shards with the end of their logs.
    """
    outputs = [path.replace("/in/", "/out/") for path, _ in shards]
    total = len(shards)
    if executor is None:
        for n, ((path, rows), output) in enumerate(zip(shards, outputs, strict=True), start=1):
            counts = anonymise_shard(storage, path, output, documents, operator, version)
            if progress:
                progress(
                    ShardProgress(STAGE, source_id, n, total, detail=f"({rows} documents, {counts['seconds']:.1f} s)")
                )
        return outputs
    assert policy is not None  # checked by the caller: workers rebuild the anonymiser from it
    policy_path = f"{folder}/policy.json"
    storage.write_json(policy_path, policy.model_dump(mode="json"))
    tasks = [_shard_task(storage, source_id, path, policy_path, fingerprint, version) for path, _ in shards]
    counts = [_shard_counts_path(output) for output in outputs]
    run_stage_shards(executor, tasks, counts, storage, stage=STAGE, source_id=source_id, progress=progress)
    return outputs


def _write_inputs(storage: Storage, source_id: str, con: Any, fingerprint: Fingerprint, generation: str) -> None:
    """Write the input digests of the new snapshot, with what it was made with, after its documents file."""
    metadata = {
        "generation": generation,
        "key_id": fingerprint.key_id,
        "policy": fingerprint.policy,
        "anonymiser_version": fingerprint.anonymiser_version,
        "name_model": fingerprint.name_model,
        # ties the digests to this documents file: a run that died between the two is not trusted
        "documents_bytes": storage.size(anonymised_path(source_id)),
    }
    schema = INPUTS_SCHEMA.with_metadata({_INPUTS_METADATA_KEY: json.dumps(metadata, sort_keys=True).encode()})
    stream = con.sql("SELECT doc_id, input_digest FROM digests").to_arrow_reader(DEFAULT_BATCH_ROWS)
    with storage.staged_file(anonymised_inputs_path(source_id)) as local, BatchWriter(local, schema) as writer:
        for batch in stream:
            writer.write_batch(batch)


def residual_analyzer() -> Any:
    """Build an analyzer with only the structured recognizers the residual scan looks for."""
    from anonymisation.engine import build_analyzer
    from anonymisation.recognizers import dutch_recognizers

    wanted = set(RESIDUAL_ENTITIES)
    return build_analyzer([r for r in dutch_recognizers() if set(r.supported_entities) & wanted])


def _unrecorded(findings: Iterable[Finding], recorded: list[dict[str, Any]]) -> Iterator[Finding]:
    spans = [(r["start"], r["end"]) for r in recorded or ()]
    for finding in findings:
        if not any(start <= finding.start and finding.end <= end for start, end in spans):
            yield finding


#: Between the short fields read in one pass: no residual pattern crosses a line, and the gap is wider than
#: any recognizer's context window, so a context word of one field ("?bsn=") never counts for another.
_PIECE_SEPARATOR = "\n" * 128
#: Metadata keys named in the scan's output as they are (connector-defined names, never values).
_SAFE_KEY = re.compile(r"^[a-z][a-z0-9_:-]{0,39}$")


def _released_strings(row: dict[str, Any]) -> Iterator[tuple[str, str, list[dict[str, Any]] | None]]:
    """Yield ``(field name, value, recorded replacements or None)`` for every released string of a row."""
    annotations = row["annotations"] or {}
    anonymised = annotations.get("anonymised") or {}
    raw = annotations.get("raw") or {}
    yield "text", row["text"], anonymised.get("replacements") or []
    yield "title", row["title"], anonymised.get("title_replacements") or []
    yield "native_id", row["native_id"], None
    yield "url", row["url"], None
    yield "location", raw.get("location"), None
    yield "record", raw.get("record"), None
    metadata = raw.get("source_metadata")
    if not metadata:
        return
    try:
        parsed = json.loads(metadata)
    except ValueError:
        yield "source_metadata", metadata, None
        return
    for key, value in _json_strings(parsed, ""):
        yield ("source_metadata." + key if _SAFE_KEY.match(key) else "source_metadata"), value, None


def _json_strings(value: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _json_strings(v, key or str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v, key)


def _scan_texts(name: str, value: str) -> list[str]:
    """Return what the scan reads of a field: a URL or path decoded, a segment a line, also with ``- _ . +`` as spaces.

    The URL pseudonymiser reads paths the same ways, so the scan is exactly as strict as what it checks;
    offsets of findings in such fields are into the decoded value.
    """
    from anonymisation.pseudonyms import is_url, path_lines, spaced

    if name in ("url", "location") or is_url(value):
        decoded = path_lines(unquote(value))
        alternative = spaced(decoded)
        return [decoded] if alternative == decoded else [decoded, alternative]
    return [value]


def _findings(engine: Any, text: str) -> list[Finding]:
    from anonymisation.engine import LANGUAGE, Finding, resolve_overlaps

    results = engine.analyze(text=text, language=LANGUAGE, entities=list(RESIDUAL_ENTITIES))
    return resolve_overlaps(Finding(r.entity_type, r.start, r.end, float(r.score)) for r in results)


def _residuals(engine: Any, row: dict[str, Any]) -> Iterator[tuple[str, Finding]]:
    """Yield ``(field name, finding)`` for every identifier in a row that is not a recorded replacement.

    The short fields are read in one pass, far apart (see ``_PIECE_SEPARATOR``): one analyzer call per
    document for them, not one per field.
    """
    from anonymisation.engine import Finding

    pieces: list[tuple[str, int, str]] = []  # (field name, start in the joined text, text read)
    at = 0
    for field_name, value, recorded in _released_strings(row):
        if not value:
            continue
        if recorded is not None:  # title and text: replacements recorded by offset
            for finding in _unrecorded(_findings(engine, value), recorded):
                yield field_name, finding
            continue
        for text in _scan_texts(field_name, value):
            pieces.append((field_name, at, text))
            at += len(text) + len(_PIECE_SEPARATOR)
    if not pieces:
        return
    starts = [start for _, start, _ in pieces]
    seen: set[tuple[str, str, int, int]] = set()
    for finding in _findings(engine, _PIECE_SEPARATOR.join(text for _, _, text in pieces)):
        field_name, start, _ = pieces[bisect_right(starts, finding.start) - 1]
        local = Finding(finding.entity, finding.start - start, finding.end - start, finding.score)
        key = (field_name, local.entity, local.start, local.end)  # both readings of a URL find the same
        if key not in seen:
            seen.add(key)
            yield field_name, local


#: The columns the residual scan reads.
_SCAN_COLUMNS = ["doc_id", "native_id", "url", "title", "text", "annotations"]
#: Fewer documents than this are scanned in the step's own process: a worker's start-up would cost more.
RESIDUAL_SHARD_MIN_DOCUMENTS = 20_000


def _scan_batches(engine: Any, source_id: str, batches: Iterable[pa.RecordBatch], max_examples: int) -> dict[str, Any]:
    """Scan rows for residual identifiers; return the scan's result (see :func:`residual_scan`)."""
    by_entity: Counter[str] = Counter()
    by_field: Counter[str] = Counter()
    by_document: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    documents = 0
    for batch in batches:
        for row in batch.to_pylist():
            documents += 1
            for field_name, finding in _residuals(engine, row):
                by_entity[finding.entity] += 1
                by_field[field_name.split(".")[0]] += 1
                by_document[row["doc_id"]] += 1
                if len(examples) < max_examples:
                    examples.append(
                        {
                            "doc_id": row["doc_id"],
                            "field": field_name,
                            "entity": finding.entity,
                            "start": finding.start,
                            "end": finding.end,
                        }
                    )
    return {
        "source_id": source_id,
        "documents": documents,
        "residuals": sum(by_entity.values()),
        "by_entity": {entity: by_entity.get(entity, 0) for entity in RESIDUAL_ENTITIES},
        "by_field": {name: by_field.get(name, 0) for name in ("text", "title", *SHORT_FIELDS)},
        "by_document": dict(by_document),
        "examples": examples,
    }


def _merge_scans(source_id: str, parts: list[dict[str, Any]], max_examples: int) -> dict[str, Any]:
    """Return one scan's result from the results of its row-group ranges, in file order."""
    by_document: Counter[str] = Counter()
    for part in parts:
        by_document.update(part["by_document"])
    return {
        "source_id": source_id,
        "documents": sum(part["documents"] for part in parts),
        "residuals": sum(part["residuals"] for part in parts),
        "by_entity": {e: sum(part["by_entity"][e] for part in parts) for e in RESIDUAL_ENTITIES},
        "by_field": {f: sum(part["by_field"][f] for part in parts) for f in ("text", "title", *SHORT_FIELDS)},
        "by_document": dict(by_document),
        "examples": [example for part in parts for example in part["examples"]][:max_examples],
    }


def residual_scan(
    storage: Storage,
    source_id: str,
    analyzer: Any = None,
    *,
    max_examples: int = 20,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Scan every released string field of a source's anonymised documents for unreplaced identifiers.

    Fields: ``text``, ``title`` (recorded replacements are not residuals), ``native_id``, ``url``, and the raw
    annotation's ``location``, ``record`` and every string value of ``source_metadata`` (named
    ``source_metadata.<key>``). A pseudonymised field counts as clean only if nothing is found in it.

    With an ``executor`` (and at least :data:`RESIDUAL_SHARD_MIN_DOCUMENTS` documents) the file's row groups
    are cut into one contiguous range per worker, scanned by shard workers; the result is the same.

    Returns ``{"documents": n, "residuals": total, "by_entity": {...}, "by_field": {...},
    "by_document": {doc_id: n}, "examples": [{doc_id, field, entity, start, end}]}``: types, field names,
    document ids and offsets only, never the values found.

    :raises ShardFailure: a scan shard failed (after the executor's retries).
    """
    path = anonymised_path(source_id)
    with storage.open_input(path) as handle:
        metadata = pq.ParquetFile(handle).metadata
        rows = [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
    if executor is not None and sum(rows) >= RESIDUAL_SHARD_MIN_DOCUMENTS:
        ranges = row_group_ranges(rows, getattr(executor, "workers", None) or 2)
        if len(ranges) > 1:
            return _scan_in_shards(storage, source_id, executor, ranges, sum(rows), max_examples)
    engine = analyzer or residual_analyzer()
    with storage.open_input(path) as handle:
        return _scan_batches(engine, source_id, iter_batches(handle, columns=_SCAN_COLUMNS), max_examples)


def _scan_in_shards(
    storage: Storage,
    source_id: str,
    executor: Executor,
    ranges: list[tuple[int, int]],
    documents: int,
    max_examples: int,
) -> dict[str, Any]:
    folder = f"{anonymise_shards_folder(source_id)}/residual-{uuid.uuid4().hex[:16]}"
    outputs = [f"{folder}/{n:05d}.json" for n in range(len(ranges))]
    tasks = [
        ShardTask(
            f"{source_id}/residual-{n:05d}",
            (
                *("residual", "--root", storage.root, "--source", source_id, "--row-groups", f"{first}:{last}"),
                *("--documents", str(documents), "--output", output),
            ),
        )
        for n, ((first, last), output) in enumerate(zip(ranges, outputs, strict=True))
    ]
    try:
        run_stage_shards(executor, tasks, outputs, storage, stage="residual scan", source_id=source_id)
        return _merge_scans(source_id, [storage.read_json(output) for output in outputs], max_examples)
    finally:
        storage.delete(folder, recursive=True)


def run_residual_shard(root: str, source_id: str, first: int, last: int, documents: int, output: str) -> int:
    """Scan row groups ``first`` to ``last`` (exclusive) of a source's anonymised documents; return documents read.

    :raises RuntimeError: the file does not hold ``documents`` rows (it changed since the scan was planned).
    """
    storage = Storage.from_env(root)
    with storage.open_input(anonymised_path(source_id)) as handle:
        parquet = pq.ParquetFile(handle)
        if parquet.metadata.num_rows != documents:
            raise RuntimeError(
                f"{source_id}: the anonymised file holds {parquet.metadata.num_rows} documents, the scan planned "
                f"{documents}: it changed since"
            )
        batches = parquet.iter_batches(row_groups=range(first, last), columns=_SCAN_COLUMNS)
        result = _scan_batches(residual_analyzer(), source_id, batches, max_examples=20)
    storage.write_json(output, result)
    return result["documents"]


__all__ = [
    "RESIDUAL_ENTITIES",
    "SHORT_FIELDS",
    "anonymise_batch",
    "anonymise_source",
    "anonymised_path",
    "anonymised_report_path",
    "residual_analyzer",
    "residual_scan",
    "run_residual_shard",
]


def _name_model_id() -> str:
    from anonymisation.persons import model_id  # imported here: this module stays light for path helpers

    return model_id()
