"""What a connector yields: a record that can become a document, or a quarantined piece of input."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Machine-readable quarantine reasons used by the connectors.
QUARANTINE_REASONS = {
    "invalid_utf8": "the bytes are not valid UTF-8",
    "malformed_json": "the line is not valid JSON",
    "not_an_object": "the record is not a JSON object / mapping",
    "missing_text": "the record has no text field",
    "empty_text": "the text is empty after normalisation",
    "invalid_field_type": "a mapped field has the wrong type",
    "missing_id": "the record has neither a native id nor a URL",
    "invalid_published_at": "the publication date cannot be parsed",
    "unreadable_file": "the file cannot be read or parsed at all",
}


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
