"""The ``warc`` connector: web archives (WARC and ARC, plain or gzipped), local, on S3 or over HTTP.

Each ``response`` or ``resource`` record is one input item:

- HTTP 200 with an HTML media type (``text/html``, ``application/xhtml+xml``; sniffed when undeclared):
  the main text is extracted with trafilatura (comments left out, precision favoured), with the title and
  date it finds; ``native_id`` and ``url`` are the ``WARC-Target-URI``. A page that yields no text becomes a
  RawRecord with ``""`` (the ingest stage quarantines it as ``empty_text``).
- any other media type: Quarantined ``not_html`` (the media type in ``detail``, no bytes kept);
- an archived HTTP error (4xx, 5xx): Quarantined ``http_error`` (no bytes kept);
- a payload larger than the source's ``max_response_bytes``: Quarantined ``response_too_large``.

Records that hold no document are skipped without a trace: ``request``, ``metadata``, ``warcinfo``,
``revisit`` and ``conversion`` records, and archived responses that are neither a page nor an error
(redirects, 304, 204, 206): they point elsewhere or carry no page.

warcio reads a cut-off archive without complaint (a record just ends early, or the last gzip member is
ignored), so the connector checks itself: a record shorter than its ``Content-Length``, a record of unknown
type, or a gzip member that never ends marks the file as truncated. Every record read before that point is
kept; the rest of the file becomes one Quarantined ``truncated_warc``, and the next file follows.

HTTP archives are downloaded to a temporary file first (they can be large). The cursor holds, per file,
its size and mtime (or ETag / SHA-256 for URLs), so a re-run skips unchanged archives.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

import trafilatura
from warcio.archiveiterator import ArchiveIterator

from catalog.connectors.locations import Input, InputSource, to_utc
from catalog.connectors.records import Quarantined, RawRecord, capped
from catalog.drops import FileRefusedError

if TYPE_CHECKING:
    from warcio.recordloader import ArcWarcRecord

    from catalog.drops import DropPolicy
    from catalog.fetch import Fetcher
    from catalog.sources import SourceSpec

HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
DOCUMENT_RECORDS = frozenset({"response", "resource"})
#: Record types that are part of a valid archive but hold no document.
OTHER_RECORDS = frozenset({"request", "metadata", "warcinfo", "revisit", "conversion", "continuation"})
_SNIFF = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE | re.DOTALL)
_BLOCK = 64 * 1024


class TruncatedArchiveError(Exception):
    """The archive ends inside a record or is corrupt; the message says where (never the content).

    ``in_record``: the record being processed is cut off (else: what follows the last complete record).
    """

    def __init__(self, message: str, *, in_record: bool = False) -> None:
        super().__init__(message)
        self.in_record = in_record


class WarcConnector:
    """Read the web archives of a ``kind: warc`` source."""

    def __init__(
        self, spec: SourceSpec, fetcher: Fetcher, cursor: Mapping[str, Any], *, drops: DropPolicy | None = None
    ) -> None:
        self.spec = spec
        self.inputs = InputSource(spec, fetcher, (cursor or {}).get("files"), to_file=True, drops=drops)
        #: The largest payload extracted: the same bound the source's HTTP fetches have.
        self.max_record_bytes = spec.politeness.max_response_bytes

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield every document record of every new or changed archive, or a Quarantined for it."""
        for item in self.inputs:
            if isinstance(item, Quarantined):
                yield item
            else:
                yield from self._archive(item)

    def next_cursor(self) -> dict[str, Any]:
        """Return the cursor: the state of every archive seen."""
        return {"files": self.inputs.cursor}

    def _archive(self, item: Input) -> Iterator[RawRecord | Quarantined]:
        try:
            handle = item.open()
        except FileRefusedError as exc:
            yield Quarantined(item.location, "file", "location_refused", str(exc))
            return
        except OSError as exc:
            yield Quarantined(item.location, "file", "unreadable_file", f"cannot open: {type(exc).__name__}")
            return
        with handle:
            stream = _CheckingReader(handle)
            archive = ArchiveIterator(stream, arc2warc=True)
            records = iter(archive)
            position = 0  # of the record being read, counting every record (also those skipped)
            while True:
                try:
                    record = _next_record(records, position)
                    if record is None:
                        stream.check_complete(position, archive.offset)
                        return
                    position += 1
                    result = self._record(record, item, position)
                except TruncatedArchiveError as exc:
                    # The broken record is the one being processed, or else the next one.
                    broken = position if exc.in_record else position + 1
                    yield Quarantined(item.location, f"record {broken} onwards", "truncated_warc", str(exc))
                    return
                if result is not None:
                    yield result

    def _record(self, record: ArcWarcRecord, item: Input, position: int) -> RawRecord | Quarantined | None:
        """Turn one archive record into an item, or ``None`` for a record that holds no document."""
        rec_type = record.rec_type
        if rec_type not in DOCUMENT_RECORDS:
            _drain(record, position)
            return None
        where = f"record {position}"
        status, media_type, charset = _http_facts(record)
        if status != 200:
            _drain(record, position)
            if status >= 400:
                return Quarantined(item.location, where, "http_error", f"archived HTTP {status}")
            return None
        payload = _read_payload(record, self.max_record_bytes, position)
        _drain(record, position)
        if payload is None:
            return Quarantined(
                item.location, where, "response_too_large", f"payload over {self.max_record_bytes} bytes"
            )
        if media_type is None and _SNIFF.match(payload[:1024]):
            media_type = "text/html"
        if media_type not in HTML_MEDIA_TYPES:
            return Quarantined(item.location, where, "not_html", f"media type {media_type or 'missing'}", None)
        url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip()
        if not url:
            return Quarantined(item.location, where, "missing_id", "no WARC-Target-URI", capped(payload))
        try:
            text, title, published = _extract(payload, charset, url)
        except Exception as exc:  # lxml/trafilatura on hostile markup: one page must not stop the archive
            return Quarantined(
                item.location,
                where,
                "unreadable_file",
                f"HTML extraction failed ({type(exc).__name__})",
                capped(payload),
            )
        metadata = {
            "warc_record_id": record.rec_headers.get_header("WARC-Record-ID") or "",
            "warc_date": record.rec_headers.get_header("WARC-Date") or "",
            "warc_file": item.name,
        }
        return RawRecord(
            native_id=url,
            text=text,
            title=title,
            url=url,
            published_at=to_utc(published, self.spec.timezone),
            location=item.location,
            record=where,
            raw_bytes=capped(payload),
            fetch_mode="archive",
            metadata={k: v for k, v in metadata.items() if v},
        )


def _next_record(records: Iterator[ArcWarcRecord], position: int) -> ArcWarcRecord | None:
    """Return the next record, ``None`` at the end; any parse failure means a truncated or corrupt file."""
    try:
        record = next(records)
    except StopIteration:
        return None
    except Exception as exc:  # warcio raises ArchiveLoadFailed, EOFError, zlib.error, even AttributeError
        raise TruncatedArchiveError(f"unreadable after {position} records ({type(exc).__name__})") from None
    if record.rec_type not in DOCUMENT_RECORDS | OTHER_RECORDS:
        # A cut-off gzip member decompresses to a fragment that parses as a record without a type.
        raise TruncatedArchiveError(f"record {position + 1} has no valid WARC type")
    declared = record.rec_headers.get_header("Content-Length")
    if record.length is None or (declared is not None and not declared.strip().isdigit()):
        # Content-Length is mandatory: the header block was cut off before or inside it.
        raise TruncatedArchiveError(f"record {position + 1} has no valid Content-Length")
    return record


def _http_facts(record: ArcWarcRecord) -> tuple[int, str | None, str | None]:
    """Return the HTTP status (200 for resource records), the media type and its charset parameter."""
    http = record.http_headers
    if record.rec_type == "response" and http is not None:
        try:
            status = int(http.get_statuscode() or 0)
        except ValueError:
            status = 0
        content_type = http.get_header("Content-Type")
    else:  # a resource record, or a non-HTTP response (dns:): the WARC header types the block
        status = 200
        content_type = record.rec_headers.get_header("Content-Type")
    if not content_type:
        return status, None, None
    media_type, _, params = content_type.partition(";")
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", params, re.IGNORECASE)
    return status, media_type.strip().lower() or None, match.group(1) if match else None


def _read_payload(record: ArcWarcRecord, limit: int, position: int) -> bytes | None:
    """Return the (HTTP-decoded) payload, or ``None`` when it is larger than ``limit``."""
    try:
        payload = record.content_stream().read(limit + 1)
    except Exception as exc:  # a cut-off chunked or gzipped body fails inside warcio's decoders
        raise TruncatedArchiveError(f"record {position} is cut off ({type(exc).__name__})", in_record=True) from None
    return None if len(payload) > limit else payload


def _drain(record: ArcWarcRecord, position: int) -> None:
    """Read the rest of a record and check it is as long as its ``Content-Length`` says."""
    raw = record.raw_stream
    try:
        while raw.read(_BLOCK):
            pass
    except Exception as exc:
        raise TruncatedArchiveError(f"record {position} is cut off ({type(exc).__name__})", in_record=True) from None
    if getattr(raw, "limit", 0) > 0:  # warcio's LimitReader counts down the bytes still owed
        raise TruncatedArchiveError(f"record {position} ends {raw.limit} bytes early", in_record=True)


def _extract(payload: bytes, charset: str | None, url: str) -> tuple[str, str | None, str | None]:
    """Return the main text, title and date (``YYYY-MM-DD``) of an HTML page (text ``""`` if none)."""
    html: str | bytes = payload
    if charset:
        try:
            html = payload.decode(codecs.lookup(charset).name)
        except (LookupError, UnicodeDecodeError):
            html = payload  # a wrong declaration: let trafilatura detect the encoding
    # bare_extraction is what trafilatura.extract runs; it returns text and metadata from one parse.
    document = trafilatura.bare_extraction(
        html, url=url, include_comments=False, favor_precision=True, with_metadata=True
    )
    if document is None:
        return "", None, None
    return document.text or "", document.title or None, document.date or None


class _CheckingReader:
    """Pass an archive through to warcio unchanged, noticing where warcio would miss a cut-off end.

    warcio ends silently when the last gzip member, or the header of the last plain record, is cut off.
    Gzipped files are decompressed alongside (cheap next to parsing) to see whether the file ends on a
    member boundary; for plain files, every byte must belong to a record warcio parsed.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._offset = 0
        self._gzip: bool | None = None
        self._member: Any = None  # the decompressor of the gzip member in progress

    def read(self, size: int = -1) -> bytes:
        """Read from the file, following gzip member boundaries."""
        data = self._handle.read(size)
        if self._gzip is None and data:
            self._gzip = data[:2] == b"\x1f\x8b"
        if self._gzip:
            self._follow(data)
        self._offset += len(data)
        return data

    def tell(self) -> int:
        """Return the offset read so far (warcio records offsets with it)."""
        return self._offset

    def _follow(self, data: bytes) -> None:
        while data and self._member is not _BROKEN:
            if self._member is None:
                self._member = zlib.decompressobj(zlib.MAX_WBITS | 16)
            try:
                while data and not self._member.eof:
                    self._member.decompress(data, _BLOCK)  # output discarded: only the boundaries matter
                    data = self._member.unconsumed_tail
            except zlib.error:
                self._member = _BROKEN
                return
            if self._member.eof:
                data = self._member.unused_data
                self._member = None

    def check_complete(self, position: int, parsed_up_to: int) -> None:
        """Raise :class:`TruncatedArchiveError` unless the file ended where its last record ended.

        ``parsed_up_to`` is warcio's offset after the last complete record (plain files).
        """
        while self.read(_BLOCK):  # warcio may stop before the end of the file; follow it to the end
            pass
        if self._gzip and self._member is not None:
            raise TruncatedArchiveError(f"the gzip member after record {position} is cut off")
        if not self._gzip and self._offset > parsed_up_to:
            raise TruncatedArchiveError(f"{self._offset - parsed_up_to} bytes after record {position} are no record")


class _Broken:
    """Marks a gzip stream that cannot be decompressed: the file is corrupt from there on."""

    eof = False


_BROKEN = _Broken()
