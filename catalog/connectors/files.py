r"""The ``files`` connector: JSONL, CSV and Parquet drops, local or on S3, mapped by the spec's fields.

Records stream one at a time (JSONL lines, CSV rows, Parquet batches), so a drop of any size is read in
constant memory. Every input record is yielded either as a :class:`RawRecord` or as a
:class:`Quarantined` with a reason: nothing is skipped silently (blank JSONL lines are not records).

The location is a file, a folder (every file below it) or a glob, local or ``s3://``. Local files are
read only inside the operator's drop folders and never from the storage root or system folders (see
:mod:`catalog.drops`): a file that is refused is quarantined as ``location_refused``, unread. S3 is
reached with the storage root's endpoint, region and keys.

A record that parses but cannot become a document is quarantined, never fatal: JSON nested deeper than
the parser can follow (``malformed_json``), a string with a lone surrogate (``invalid_text``: JSON may
escape one, as ``\ud800``, but no document can store it), a Parquet value Python cannot represent.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import fsspec

from catalog.connectors.records import MAX_QUARANTINE_BYTES, Quarantined, RawRecord, lone_surrogate_detail
from catalog.drops import DropPolicy, FileRefusedError, LocationRefusedError, expand_location, location_kind
from catalog.drops import storage_options as fsspec_options
from catalog.sources import SourceSpec

#: Mapped fields whose values become strings of the document (the others are dates).
_STRING_FIELDS = ("native_id", "title", "url")
#: A JSON string literal (escapes included), to count nesting outside strings.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


class FilesConnector:
    """Read a file drop described by a ``kind: files`` spec, skipping files already ingested unchanged."""

    def __init__(
        self,
        spec: SourceSpec,
        fetcher: object = None,
        cursor: dict[str, Any] | None = None,
        *,
        drops: DropPolicy | None = None,
    ) -> None:
        # The fetcher is unused: file drops are local or on S3 (fsspec), never fetched over HTTP.
        self.spec = spec
        self.mapping = spec.fields
        self.tz = ZoneInfo(spec.timezone)
        self.drops = drops or DropPolicy.from_env()
        self._local = location_kind(spec.location) == "local"
        self._seen: dict[str, str] = dict((cursor or {}).get("files", {}))
        self._done: dict[str, str] = {}

    def locations(self) -> list[str]:
        """Return the files of the drop, sorted, as ``s3://`` URLs or local paths."""
        return list(self._files())

    def _files(self) -> dict[str, str]:
        """Return the drop's files (location -> fingerprint); raise when the location may not be read."""
        problem = self.drops.folder_problem(self.spec.location)
        if problem:
            raise LocationRefusedError(f"source {self.spec.id}: its location {problem}")
        try:
            fs, files, _ = expand_location(self.spec.location)
        except FileNotFoundError:
            raise FileNotFoundError(f"source {self.spec.id}: no files match its location") from None
        return {(path if self._local else fs.unstrip_protocol(path)): _fingerprint(i) for path, i in files.items()}

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield every record of every new or changed file of the drop."""
        reader = {"jsonl": self._read_jsonl, "csv": self._read_csv, "parquet": self._read_parquet}[
            self.spec.format or ""
        ]
        for location, fingerprint in self._files().items():
            refused = self.drops.file_problem(location)
            if refused:  # never read; not remembered either, so it is reported again until it is fixed
                yield self._quarantine(location, "file", "location_refused", refused)
                continue
            if self._seen.get(location) == fingerprint:
                continue  # ingested before and unchanged
            try:
                yield from reader(location)
            except FileRefusedError as exc:  # a file swapped for a link between listing and opening
                yield self._quarantine(location, "file", "location_refused", str(exc))
                continue
            self._done[location] = fingerprint

    def next_cursor(self) -> dict[str, Any]:
        """Return the files ingested so far with their size and modification stamp."""
        return {"files": {**self._seen, **self._done}}

    # -- formats -----------------------------------------------------------------------------------

    def _open(self, location: str) -> BinaryIO:
        """Open a file of the drop: a local one only after the drop policy's checks, S3 with the root's keys."""
        if self._local:
            return self.drops.open_file(location)
        return fsspec.open(location, "rb", **fsspec_options(location)).open()

    def _read_jsonl(self, location: str) -> Iterator[RawRecord | Quarantined]:
        with self._open(location) as handle:
            for number, line in enumerate(handle, start=1):
                record = f"line {number}"
                if number == 1:
                    line = line.removeprefix(codecs.BOM_UTF8)  # spreadsheet exports often start with one
                if not line.strip():
                    continue
                try:
                    decoded = line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield self._quarantine(
                        location, record, "invalid_utf8", f"invalid byte at offset {exc.start}", line
                    )
                    continue
                try:
                    obj = json.loads(decoded)
                except json.JSONDecodeError as exc:
                    yield self._quarantine(location, record, "malformed_json", f"{exc.msg} at column {exc.colno}", line)
                    continue
                except RecursionError:
                    depth = _nesting_depth(decoded)
                    yield self._quarantine(location, record, "malformed_json", f"nested {depth} levels deep", line)
                    continue
                yield self._map(obj, location, record, line)

    def _read_csv(self, location: str) -> Iterator[RawRecord | Quarantined]:
        csv.field_size_limit(sys.maxsize)
        with self._open(location) as raw:
            # surrogateescape keeps undecodable bytes visible per row instead of failing the whole file.
            # utf-8-sig drops a leading byte-order mark, which would otherwise rename the first column.
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
            reader = csv.DictReader(text)
            row_number = 0
            try:
                for row in reader:
                    row_number += 1
                    record = f"row {row_number} (line {reader.line_num})"
                    values = list(row.values())
                    if any(isinstance(v, str) and _has_surrogates(v) for v in values):
                        raw_row = "\x1f".join(str(v) for v in values).encode("utf-8", "surrogateescape")
                        yield self._quarantine(location, record, "invalid_utf8", "undecodable bytes in row", raw_row)
                        continue
                    yield self._map(row, location, record, None)
            except csv.Error as exc:
                yield self._quarantine(location, f"row {row_number + 1}", "unreadable_file", f"CSV error: {exc}", None)

    def _read_parquet(self, location: str) -> Iterator[RawRecord | Quarantined]:
        import pyarrow.parquet as pq

        with self._open(location) as handle:
            try:
                parquet = pq.ParquetFile(handle)
            except Exception as exc:  # pyarrow raises several types for a corrupt file
                yield self._quarantine(location, "file", "unreadable_file", f"not a Parquet file: {type(exc).__name__}")
                return
            # Only the mapped columns are read: an odd value in a column nobody uses cannot stop a row.
            mapped = {getattr(self.mapping, name) for name in ("text", "published_at", *_STRING_FIELDS)}
            columns = [name for name in parquet.schema_arrow.names if name in mapped]
            number = 0
            for batch in parquet.iter_batches(batch_size=1024, columns=columns):
                for row in _rows(batch):
                    number += 1
                    if isinstance(row, str):  # the column holding a value Python cannot represent
                        reason = "invalid_published_at" if row == self.mapping.published_at else "invalid_field_type"
                        yield self._quarantine(
                            location, f"row {number}", reason, f"{row!r} holds a value out of range", None
                        )
                        continue
                    yield self._map(row, location, f"row {number}", None)

    # -- mapping -----------------------------------------------------------------------------------

    def _map(self, obj: Any, location: str, record: str, raw: bytes | None) -> RawRecord | Quarantined:
        # Blank text is detected by the ingest stage, which normalises every text once anyway.
        def keep_raw() -> bytes:
            return raw if raw is not None else json.dumps(obj, default=str, ensure_ascii=False).encode()

        if not isinstance(obj, Mapping):
            return self._quarantine(location, record, "not_an_object", f"got {type(obj).__name__}", keep_raw())
        m = self.mapping
        text = obj.get(m.text)
        if text is None:
            return self._quarantine(location, record, "missing_text", f"no field {m.text!r}", keep_raw())
        if not isinstance(text, str):
            return self._quarantine(
                location, record, "invalid_field_type", f"{m.text!r} is {type(text).__name__}", keep_raw()
            )
        fields: dict[str, str | None] = {}
        strings = {m.text: text}
        for name in _STRING_FIELDS:
            key = getattr(m, name)
            value = obj.get(key) if key else None
            if value is not None and not isinstance(value, str | int):
                return self._quarantine(
                    location, record, "invalid_field_type", f"{key!r} is {type(value).__name__}", keep_raw()
                )
            fields[name] = str(value) if value not in (None, "") else None
            if isinstance(value, str) and key:
                strings[key] = value
        for key, value in strings.items():
            # JSON may escape a lone surrogate ("\\ud800"); no document can store one (it is not Unicode text).
            problem = lone_surrogate_detail(key, value)
            if problem:
                return self._quarantine(location, record, "invalid_text", problem, keep_raw())
        native_id = fields["native_id"] or fields["url"]
        if not native_id:
            return self._quarantine(location, record, "missing_id", "no native id and no URL", keep_raw())
        published_raw = obj.get(m.published_at) if m.published_at else None
        try:
            published_at = self._timestamp(published_raw)
        except ValueError:
            return self._quarantine(
                location, record, "invalid_published_at", f"{m.published_at!r} is not an ISO date", keep_raw()
            )
        return RawRecord(
            native_id=native_id,
            text=text,
            title=fields["title"],
            url=fields["url"],
            published_at=published_at,
            location=location,
            record=record,
            raw_bytes=raw,
        )

    def _timestamp(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        else:
            raise ValueError("unsupported date value")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.tz)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:  # e.g. 0001-01-01 in a zone east of UTC
            raise ValueError("date outside the representable range") from exc

    def _quarantine(
        self, location: str, record: str, reason: str, detail: str, raw: bytes | None = None
    ) -> Quarantined:
        return Quarantined(location, record, reason, detail, raw[:MAX_QUARANTINE_BYTES] if raw else None)


def _fingerprint(info: Mapping[str, Any]) -> str:
    """Return size and modification stamp (mtime locally, ETag on S3) of a file: changes when it changes."""
    stamp = info.get("mtime") or info.get("ETag") or info.get("LastModified") or info.get("created") or ""
    return f"{info.get('size')}:{stamp}"


def _rows(batch: Any) -> Iterator[dict[str, Any] | str]:
    """Yield a record batch's rows as dicts; for a row with a value Python cannot hold, that column's name."""
    try:
        yield from batch.to_pylist()
        return
    except (OverflowError, ValueError):  # e.g. a timestamp beyond the year 9999: find the row, keep the rest
        pass
    for index in range(batch.num_rows):
        row = batch.slice(index, 1)
        try:
            yield row.to_pylist()[0]
        except (OverflowError, ValueError):
            yield next(name for name in row.schema.names if not _convertible(row.column(name)))


def _convertible(column: Any) -> bool:
    try:
        column.to_pylist()
    except (OverflowError, ValueError):
        return False
    return True


def _nesting_depth(text: str) -> int:
    """Return how deeply JSON brackets nest in a text (brackets inside strings do not count)."""
    without_strings = _JSON_STRING.sub('""', text)
    depth = deepest = 0
    for char in without_strings:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)
