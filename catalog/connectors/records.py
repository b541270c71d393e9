"""What a connector yields: a record that can become a document, or a quarantined piece of input."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Raw bytes kept for review in quarantine are capped so one huge broken input cannot bloat the zone.
MAX_QUARANTINE_BYTES = 64 * 1024


def capped(data: bytes | None) -> bytes | None:
    """Return at most :data:`MAX_QUARANTINE_BYTES` of ``data`` for the quarantine zone (None stays None)."""
    return data[:MAX_QUARANTINE_BYTES] if data else None


#: Machine-readable quarantine reasons used by the connectors.
QUARANTINE_REASONS = {
    "invalid_utf8": "the bytes are not valid UTF-8",
    "malformed_json": "the line is not valid JSON",
    "not_an_object": "the record is not a JSON object / mapping",
    "missing_text": "the record has no text field",
    "empty_text": "the text is empty after normalisation",
    "invalid_field_type": "a mapped field has the wrong type",
    "missing_id": "the record has neither a native id nor a URL",
    "invalid_published_at": "the publication date cannot be parsed or lies outside the years 1-9999",
    "invalid_text": "a text field holds a lone surrogate (JSON may escape one; it is not Unicode text)",
    "unstorable_record": "the record's fields cannot be stored as a document (a value of the wrong type)",
    "unreadable_file": "the file cannot be read or parsed at all",
    "location_refused": "the file lies outside the allowed drop folders, in the storage root or in a system "
    "folder (never read, no bytes kept)",
    # XML sources (rss, oai-pmh, alto, rechtspraak)
    "malformed_xml": "the XML is not well-formed",
    "xml_entities_forbidden": "the XML declares entities or a DTD (entity-expansion attack or unsafe input)",
    "unexpected_document": "well-formed input of the wrong kind (e.g. not ALTO, not a Rechtspraak document)",
    "encoding_error": "the declared or detected character encoding cannot decode the bytes",
    # fetching (see catalog.fetch.FetchError reasons)
    "http_error": "the server answered with an HTTP error status",
    "timeout": "the server did not answer within the timeouts",
    "connection_error": "no connection could be made",
    "response_too_large": "the response exceeds the source's maximum response size",
    "decompressed_too_large": "the decompressed response exceeds the maximum size (compression bomb)",
    "address_refused": "the host resolves to a loopback, private, link-local or metadata address",
    "robots_disallowed": "robots.txt disallows fetching this URL for our user agent",
    "invalid_url": "the URL is not an absolute http(s) URL",
    # web archives
    "truncated_warc": "the WARC/ARC file ends in the middle of a record or is corrupt",
    "not_html": "the archived response is not HTML (skipped; no bytes kept)",
}


def lone_surrogate_detail(name: str, value: str) -> str | None:
    """Describe where a string holds a lone surrogate (code point and offset, never the content), else None.

    Any surrogate code point in a Python string is a lone one (JSON decoding joins valid pairs), and the
    only thing UTF-8 cannot encode: trying to encode is the fast test (much faster than a regex search).
    """
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"{name!r} holds a lone surrogate (U+{ord(value[exc.start]):04X}) at offset {exc.start}"
    return None


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One input record mapped onto the document model, before normalisation."""

    native_id: str
    text: str
    title: str | None
    url: str | None
    published_at: datetime | None
    location: str
    record: str
    #: The input bytes of the record when the format has them at no cost (a JSONL line); kept only if a
    #: later step quarantines the record.
    raw_bytes: bytes | None = field(default=None, compare=False, repr=False)
    #: How the text was obtained: "record" (from the delivered record itself), "article" (page fetched
    #: and extracted), "feed-only" (the article page could not be fetched: feed summary used), "ocr".
    fetch_mode: str = "record"
    #: Mean OCR word confidence in [0, 1] (ALTO ``WC``), when the source has one.
    ocr_confidence: float | None = None
    #: Language declared by the source (e.g. ``dc:language``), not yet detected.
    lang: str | None = None
    #: Source-specific provenance (ECLI, court, OAI identifier and datestamp, WARC record id, ...).
    metadata: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """Input that cannot become a document. ``detail`` never quotes the content (it may be personal data)."""

    location: str
    record: str
    reason: str
    detail: str
    raw_bytes: bytes | None = None

    def __post_init__(self) -> None:
        if self.reason not in QUARANTINE_REASONS:
            raise ValueError(f"unknown quarantine reason {self.reason!r}")
