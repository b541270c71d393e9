from __future__ import annotations

import hashlib
import re
from datetime import UTC

import pyarrow as pa
import pytest

from catalog.documents import (
    ANNOTATIONS,
    CLEAN_ANNOTATION,
    DOCUMENT_SCHEMA,
    EXCLUDED_SCHEMA,
    QUARANTINE_SCHEMA,
    RAW_ANNOTATION,
    SCHEMA_VERSION,
    TIMESTAMP,
    content_sha256,
    make_doc_id,
    utc_now,
)

ISSUE_FIELDS = [
    "doc_id",
    "source_id",
    "url",
    "title",
    "text",
    "lang",
    "published_at",
    "fetched_at",
    "licence",
    "content_sha256",
    "annotations",
]


def test_doc_id_is_stable_and_short_hex() -> None:
    first = make_doc_id("nieuws-dagblad", "ND-2026-0001")
    assert first == make_doc_id("nieuws-dagblad", "ND-2026-0001")
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    expected = hashlib.sha256(b"nieuws-dagblad\x1fND-2026-0001").hexdigest()[:32]
    assert first == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("bron-a", "1"), ("bron-b", "1")),  # same native id, other source
        (("bron-a", "1"), ("bron-a", "2")),  # same source, other native id
        (("bron-a", "b-1"), ("bron-a-b", "1")),  # concatenation would collide without a separator
        (("bron-a", "https://x.example/1"), ("bron-a", "https://x.example/1/")),
    ],
)
def test_doc_id_differs_per_source_and_native_id(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert make_doc_id(*a) != make_doc_id(*b)


@pytest.mark.parametrize(("source_id", "native_id"), [("", "1"), ("bron", ""), ("", "")])
def test_doc_id_requires_source_and_native_id(source_id: str, native_id: str) -> None:
    with pytest.raises(ValueError, match="source id and a native id"):
        make_doc_id(source_id, native_id)


def test_content_sha256_is_hex_sha256_of_utf8() -> None:
    text = "Café aan de Grote Markt — ƒ 12,50"
    assert content_sha256(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert content_sha256("") == hashlib.sha256(b"").hexdigest()
    # It hashes exactly what it gets: normalising is the caller's job.
    assert content_sha256("Cafe\u0301") != content_sha256("Caf\u00e9")


def test_document_schema_has_the_issue_fields_in_order() -> None:
    names = DOCUMENT_SCHEMA.names
    assert set(ISSUE_FIELDS) <= set(names)
    assert [n for n in names if n in ISSUE_FIELDS] == ISSUE_FIELDS
    # the one extra column keeps the source's own id next to the derived doc_id
    assert set(names) - set(ISSUE_FIELDS) == {"native_id"}
    assert DOCUMENT_SCHEMA.metadata == {b"corpusfabriek.schema_version": SCHEMA_VERSION.encode()}


def test_document_schema_types_and_nullability() -> None:
    schema = DOCUMENT_SCHEMA
    for name in ("doc_id", "source_id", "native_id", "text", "licence", "content_sha256"):
        assert schema.field(name).type == pa.string()
        assert not schema.field(name).nullable, name
    for name in ("url", "title", "lang"):
        assert schema.field(name).nullable, name
    assert schema.field("published_at").type == TIMESTAMP
    assert schema.field("published_at").nullable
    assert schema.field("fetched_at").type == TIMESTAMP
    assert not schema.field("fetched_at").nullable
    assert TIMESTAMP == pa.timestamp("us", tz="UTC")
    assert schema.field("annotations").type == ANNOTATIONS
    assert [f.name for f in ANNOTATIONS] == ["raw", "clean", "anonymised"]


def test_schema_version_five_has_provenance_quality_and_anonymisation_annotations() -> None:
    assert SCHEMA_VERSION == "5"
    anonymised = ANNOTATIONS.field("anonymised").type
    assert [f.name for f in anonymised] == [
        "code_version", "operator", "entities", "kept_names", "replacements", "title_replacements",
        "fields_pseudonymised",
    ]  # fmt: skip
    # offsets, types and counts only: no field can hold an original value
    assert [f.name for f in anonymised.field("replacements").type.value_type] == ["entity", "start", "end"]
    assert anonymised.field("fields_pseudonymised").type == pa.map_(pa.string(), pa.int32())
    assert ANNOTATIONS.field("raw").type == RAW_ANNOTATION
    assert ANNOTATIONS.field("clean").type == CLEAN_ANNOTATION
    assert [(f.name, f.type) for f in RAW_ANNOTATION] == [
        ("ingest_id", pa.string()),
        ("location", pa.string()),
        ("record", pa.string()),
        ("code_version", pa.string()),
        ("fetch_mode", pa.string()),
        ("ocr_confidence", pa.float64()),
        ("source_metadata", pa.string()),  # a JSON object as text: one schema for every kind of source
    ]
    assert [f.name for f in CLEAN_ANNOTATION] == [
        "code_version", "text_changed", "chars_before", "chars_after", "lang_score", "quality"
    ]  # fmt: skip
    # statistics by name: the set of n-gram rules is configuration, so a map rather than a struct
    assert CLEAN_ANNOTATION.field("quality").type == pa.map_(pa.string(), pa.float64())


def test_excluded_schema_is_document_schema_plus_reasons() -> None:
    assert EXCLUDED_SCHEMA.names == [*DOCUMENT_SCHEMA.names, "excluded_stage", "excluded_reason", "duplicate_of"]
    for field in DOCUMENT_SCHEMA:
        assert EXCLUDED_SCHEMA.field(field.name) == field
    assert not EXCLUDED_SCHEMA.field("excluded_stage").nullable
    assert not EXCLUDED_SCHEMA.field("excluded_reason").nullable
    assert EXCLUDED_SCHEMA.field("duplicate_of").nullable


def test_quarantine_schema() -> None:
    assert QUARANTINE_SCHEMA.names == [
        "source_id",
        "ingest_id",
        "location",
        "record",
        "reason",
        "detail",
        "raw_bytes",
        "quarantined_at",
    ]
    assert QUARANTINE_SCHEMA.field("raw_bytes").type == pa.binary()
    assert QUARANTINE_SCHEMA.field("quarantined_at").type == TIMESTAMP
    assert QUARANTINE_SCHEMA.field("detail").nullable
    assert not QUARANTINE_SCHEMA.field("reason").nullable
    # quarantine holds no document text column: only raw bytes in the restricted zone
    assert "text" not in QUARANTINE_SCHEMA.names


def test_a_document_row_round_trips_through_the_schema() -> None:
    now = utc_now()
    row = {
        "doc_id": make_doc_id("bron", "1"),
        "source_id": "bron",
        "native_id": "1",
        "url": None,
        "title": None,
        "text": "Hallo",
        "lang": None,
        "published_at": None,
        "fetched_at": now,
        "licence": "EUPL-1.2",
        "content_sha256": content_sha256("Hallo"),
        "annotations": {
            "raw": {
                "ingest_id": "i",
                "location": "alto/1897-p1.xml",
                "record": "page 1",
                "code_version": "v",
                "fetch_mode": "ocr",
                "ocr_confidence": 0.91,
                "source_metadata": '{"krant": "Provinciale Courant"}',
            }
        },
    }
    table = pa.Table.from_pylist([row], schema=DOCUMENT_SCHEMA)
    back = table.to_pylist()[0]
    assert back["fetched_at"] == now
    assert back["annotations"]["raw"] == row["annotations"]["raw"]
    assert back["annotations"]["clean"] is None


def test_utc_now_is_aware_utc() -> None:
    now = utc_now()
    assert now.tzinfo is not None
    assert now.utcoffset() == UTC.utcoffset(None)
