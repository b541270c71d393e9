"""The document model: one Arrow schema for every zone, and the identities derived from it.

Every zone (raw, clean, excluded, anonymised, releases) stores documents with exactly this schema, so a
document can be followed from its partner source to a release without conversions. Stages do not add
columns; they fill their own field of ``annotations`` (a struct, so it stays typed and queryable in
polars and DuckDB alike).
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pyarrow as pa

SCHEMA_VERSION = "5"

#: Annotations written at ingest: where exactly the document came from.
RAW_ANNOTATION = pa.struct(
    [
        pa.field("ingest_id", pa.string()),  # one ingest run of one source
        pa.field("location", pa.string()),  # file or URL the record was read from
        pa.field("record", pa.string()),  # position inside that location (line, row, item)
        pa.field("code_version", pa.string()),
        # how the text was obtained: record, article, feed-only, ocr, archive
        pa.field("fetch_mode", pa.string()),
        pa.field("ocr_confidence", pa.float64()),  # mean OCR word confidence in [0, 1], when known
        pa.field("source_metadata", pa.string()),  # JSON object: ECLI, court, OAI identifier, WARC id, ...
    ]
)

#: Annotations written by the clean stage.
CLEAN_ANNOTATION = pa.struct(
    [
        pa.field("code_version", pa.string()),
        pa.field("text_changed", pa.bool_()),  # normalisation changed the text
        pa.field("chars_before", pa.int64()),
        pa.field("chars_after", pa.int64()),
        # language ID probability of the document's ``lang`` (null when the quality gate did not run)
        pa.field("lang_score", pa.float64()),
        # the statistics the quality filters decided on, by name (quality.filters.text_stats)
        pa.field("quality", pa.map_(pa.string(), pa.float64())),
    ]
)

#: One replacement made by the anonymisation stage, with offsets into the *anonymised* text.
REPLACEMENT = pa.struct([pa.field("entity", pa.string()), pa.field("start", pa.int32()), pa.field("end", pa.int32())])

#: Annotations written by the anonymisation stage: types, counts and offsets only, never values.
ANONYMISED_ANNOTATION = pa.struct(
    [
        pa.field("code_version", pa.string()),
        pa.field("operator", pa.string()),  # default operator of the source's policy
        pa.field("entities", pa.map_(pa.string(), pa.int32())),  # replacements per entity type
        pa.field("kept_names", pa.int32()),  # allow-listed names left in the text
        pa.field("replacements", pa.list_(REPLACEMENT)),
        pa.field("title_replacements", pa.list_(REPLACEMENT)),
        # per short field (native_id, url, location, record, source_metadata): parts replaced by keyed
        # pseudonyms or tokens; absent fields had nothing replaced
        pa.field("fields_pseudonymised", pa.map_(pa.string(), pa.int32())),
    ]
)

ANNOTATIONS = pa.struct(
    [
        pa.field("raw", RAW_ANNOTATION),
        pa.field("clean", CLEAN_ANNOTATION),
        pa.field("anonymised", ANONYMISED_ANNOTATION),
    ]
)

TIMESTAMP = pa.timestamp("us", tz="UTC")

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("native_id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("published_at", TIMESTAMP),
        pa.field("fetched_at", TIMESTAMP, nullable=False),
        pa.field("licence", pa.string(), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("annotations", ANNOTATIONS),
    ],
    metadata={"corpusfabriek.schema_version": SCHEMA_VERSION},
)

#: What each column of :data:`DOCUMENT_SCHEMA` holds (shown as the column schema of every zone and release).
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "doc_id": "stable id: hash of source id and native id (or URL)",
    "source_id": "the partner source (its spec's id)",
    "native_id": "the source's own id; pseudonymised (keyed) from the anonymised zone on",
    "url": "where the document was published; query values and identifying path parts pseudonymised",
    "title": "title; personal data replaced from the anonymised zone on",
    "text": "normalised text; personal data replaced in context from the anonymised zone on",
    "lang": "detected language (ISO 639-1)",
    "published_at": "publication time given by the source (UTC)",
    "fetched_at": "when the pipeline fetched it (UTC)",
    "licence": "licence or usage terms of the source",
    "content_sha256": "SHA-256 of the text as fetched",
    "annotations": "provenance and what each stage did: raw, clean, anonymised (types, counts, offsets)",
}

#: Documents dropped by a stage: the document itself plus why, kept reviewable in ``excluded/``.
EXCLUDED_SCHEMA = (
    DOCUMENT_SCHEMA.append(pa.field("excluded_stage", pa.string(), nullable=False))
    .append(pa.field("excluded_reason", pa.string(), nullable=False))
    .append(pa.field("duplicate_of", pa.string()))
)

#: Input that could not become a document at all; raw bytes kept for review in the restricted zone.
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("record", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        # A description of the problem that never quotes the content (it may hold personal data).
        pa.field("detail", pa.string()),
        pa.field("raw_bytes", pa.binary()),
        pa.field("quarantined_at", TIMESTAMP, nullable=False),
    ]
)

PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 6


def make_doc_id(source_id: str, native_id: str) -> str:
    """Return the stable id of a document: the same source and native id always give the same id.

    The native id is the source's own identifier, or the document's URL when it has none. A 128-bit
    prefix of SHA-256 keeps ids short while collisions stay out of reach for any realistic corpus.
    """
    if not source_id or not native_id:
        raise ValueError("a document id needs both a source id and a native id or URL")
    digest = hashlib.sha256(f"{source_id}\x1f{native_id}".encode()).hexdigest()
    return digest[:32]


def content_sha256(normalised_text: str) -> str:
    """Return the hex SHA-256 of normalised text (the key of exact deduplication)."""
    return hashlib.sha256(normalised_text.encode("utf-8")).hexdigest()


def utc_now() -> datetime:
    """Return the current time in UTC with microsecond precision (the schema's timestamp unit)."""
    return datetime.now(UTC)


@cache
def code_version() -> str:
    """Return the code version stamped on every zone: the git commit when available, else the package version.

    A ``+dirty`` suffix marks a working tree with uncommitted changes, so a release built from one can
    be told apart from a reproducible build.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("corpusfabriek")
    except PackageNotFoundError:  # running from a source tree without installation
        package = "0+unknown"
    repo = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return package
    return f"{package}+g{commit[:12]}" + (".dirty" if dirty else "")
