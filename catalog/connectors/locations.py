"""Shared input handling of the file-based connectors (alto, rechtspraak, warc).

Where the input files of a source come from, decided by the spec's ``location``:

- **a local path or glob, or an ``s3://`` URL or glob** (``s3://bucket/drop/*.warc.gz``): every matching
  file, in sorted order. A folder means every file below it. Only files the operator's drop folders allow
  are read (see :mod:`catalog.drops`), and S3 is reached with the storage root's endpoint and keys;
- **an http(s) URL of one file**: that file;
- **an http(s) URL of a list**: a plain-text list of URLs, one per line (``#`` starts a comment; relative
  URLs are resolved against the list's URL). A URL is a list when its path ends in ``.txt`` or ``.lst``, or
  when the server answers ``Content-Type: text/plain`` and every line holds one word (a URL).

:class:`InputSource` yields every input that changed since the cursor as an :class:`Input` (its bytes, or a
local file for big inputs), or a :class:`~catalog.connectors.records.Quarantined` when it cannot be read
(fetch errors keep :class:`~catalog.fetch.FetchError`'s reason). Files are skipped when unchanged: local
and S3 files by size and modification time (or S3 ETag); HTTP inputs by a conditional request with the
ETag / Last-Modified of the last run, and by a SHA-256 of the body when the server sends no validators.

The module also holds the two helpers the XML connectors share: :func:`read_xml` (safe parsing that tells
a wrong encoding from broken XML) and :func:`to_utc` (dates written without a zone).
"""

from __future__ import annotations

import codecs
import hashlib
import inspect
import io
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

import fsspec

from catalog.connectors.records import Quarantined
from catalog.drops import (
    DropPolicy,
    FileRefusedError,
    LocationRefusedError,
    expand_location,
    location_kind,
    storage_options,
)
from catalog.fetch import FetchError
from catalog.staging import process_staging_dir
from catalog.xmlsafe import XmlError, parse_xml

if TYPE_CHECKING:
    from catalog.fetch import Fetcher, Response
    from catalog.sources import SourceSpec


#: URL path suffixes that mark a list of URLs rather than an input file.
LIST_SUFFIXES = (".txt", ".lst")
LIST_MEDIA_TYPE = "text/plain"

_HASH_BLOCK = 1024 * 1024
_LIST_SAMPLE = 64 * 1024

CursorFiles = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Input:
    """One input file of a source, ready to be read.

    ``name`` is stable across runs and machines: the path relative to the fixed (non-glob) part of the
    location for files, the URL for HTTP inputs. Connectors use it as the cursor key and may derive a
    ``native_id`` from it. ``location`` is where the file is (absolute path, ``s3://`` URL or http(s) URL).
    The content is either ``data`` (in memory) or ``path`` (a local file or fsspec URL).
    """

    name: str
    location: str
    data: bytes | None = None
    path: str | None = None
    #: The media type the server declared (HTTP inputs only), without parameters.
    content_type: str | None = None
    #: The URL the input was fetched from (``None`` for files).
    url: str | None = None
    #: For a partner's local file: the policy that checks it again when it is opened.
    drops: DropPolicy | None = field(default=None, compare=False, repr=False)

    def open(self) -> BinaryIO:
        """Open the content for streaming; raises ``OSError`` when a file cannot be read.

        A partner's local file that may not be read (any more) raises :class:`~catalog.drops.FileRefusedError`.
        """
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.path is None:
            raise OSError(f"input {self.name} has no content")
        if self.drops is not None:
            return self.drops.open_file(self.path)
        return fsspec.open(self.path, "rb", **storage_options(self.path)).open()

    def read(self) -> bytes:
        """Return the whole content; raises ``OSError`` when a file cannot be read."""
        if self.data is not None:
            return self.data
        with self.open() as handle:
            return handle.read()


class InputSource:
    """The inputs of one source's location that changed since the last run.

    Iterate once; afterwards :attr:`cursor` holds the state to pass as ``cursor_files`` next time (input
    name -> size and mtime/ETag for files; ETag, Last-Modified and SHA-256 for URLs). An input's new state
    is committed when the consumer asks for the next item, i.e. after it processed the input; an input that
    could not be fetched keeps its previous state, so it is tried again next time.

    ``to_file=True`` hands inputs over as a path instead of bytes in memory: HTTP inputs are downloaded to
    a temporary file (under ``temp_dir``; deleted once the consumer moves on). For WARC files, which can
    be large.

    Local files and S3 objects are read only where ``drops`` (default: from the environment) allows: a
    location whose fixed part is refused raises :class:`~catalog.drops.LocationRefusedError`; a single
    file that is refused is yielded as a Quarantined ``location_refused``, unread and not in the cursor.
    """

    def __init__(
        self,
        spec: SourceSpec,
        fetcher: Fetcher,
        cursor_files: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        to_file: bool = False,
        temp_dir: str | None = None,
        drops: DropPolicy | None = None,
    ) -> None:
        self.location = spec.location
        self.drops = drops or DropPolicy.from_env()
        self.max_bytes = spec.politeness.max_response_bytes
        self.fetcher = fetcher
        self.to_file = to_file
        self.temp_dir = temp_dir
        self._previous: CursorFiles = {k: dict(v) for k, v in (cursor_files or {}).items()}
        self._cursor: CursorFiles = {}

    @property
    def cursor(self) -> CursorFiles:
        """Return the per-input state to store (JSON-serialisable); complete once iteration ended."""
        return dict(self._cursor)

    def __iter__(self) -> Iterator[Input | Quarantined]:
        """Yield every new or changed input, or a Quarantined for one that cannot be read."""
        self._cursor = {}
        if self.location.startswith(("http://", "https://")):
            yield from self._http_location(self.location)
        else:
            yield from self._files()

    # -- local and fsspec files ----------------------------------------------------------------------

    def _files(self) -> Iterator[Input | Quarantined]:
        problem = self.drops.folder_problem(self.location)
        if problem:
            raise LocationRefusedError(f"the location {problem}")
        fs, files, base = expand_location(self.location)
        local = location_kind(self.location) == "local"
        for path, info in files.items():
            name = posixpath.relpath(path, base)
            location = path if local else fs.unstrip_protocol(path)
            refused = self.drops.file_problem(location)
            if refused:  # never read; not remembered either, so it is reported again until it is fixed
                yield Quarantined(location, "file", "location_refused", refused)
                continue
            state = _file_state(info)
            if self._previous.get(name) == state:
                self._cursor[name] = state
                continue
            checked = self.drops if local else None
            if self.to_file:
                yield Input(name, location, path=location, drops=checked)
            elif state.get("size", 0) > self.max_bytes:
                # Read into memory only up to the same cap as a fetched response.
                yield Quarantined(
                    location, "file", "response_too_large", f"{state['size']} bytes, limit {self.max_bytes}"
                )
            else:
                try:
                    with Input(name, location, path=location, drops=checked).open() as handle:
                        data = handle.read()
                except FileRefusedError as exc:
                    yield Quarantined(location, "file", "location_refused", str(exc))
                    continue
                except OSError as exc:
                    yield Quarantined(location, "file", "unreadable_file", f"cannot read: {type(exc).__name__}")
                    continue
                yield Input(name, location, data=data)
            self._cursor[name] = state

    # -- HTTP ------------------------------------------------------------------------------------------

    def _http_location(self, url: str) -> Iterator[Input | Quarantined]:
        """Read the location URL: one input file, or a list of URLs (decided by its path or media type)."""
        previous = self._previous.get(url, {})
        with self._temp_dir() as folder:
            try:
                fetched = self._fetch(url, previous, folder, may_be_list=True)
            except _FetchFailed as failed:
                # Nothing is known about the listed items: keep the whole previous state for the next run.
                self._cursor = dict(self._previous)
                yield failed.quarantined
                return
            if fetched.input is None:  # unchanged; an unchanged list still names items that may have changed
                self._cursor[url] = fetched.state
                urls = fetched.state.get("urls")
                if urls is None:
                    return
            elif fetched.is_list:
                urls, problems = _parse_list(fetched.input.data or b"", url)
                self._cursor[url] = {**fetched.state, "urls": urls}
                yield from problems
            else:
                yield fetched.input
                self._cursor[url] = fetched.state
                return
        for item_url in urls:
            yield from self._http_item(item_url)

    def _http_item(self, url: str) -> Iterator[Input | Quarantined]:
        previous = self._previous.get(url, {})
        with self._temp_dir() as folder:
            try:
                fetched = self._fetch(url, previous, folder, may_be_list=False)
            except _FetchFailed as failed:
                if previous:
                    self._cursor[url] = previous
                yield failed.quarantined
                return
            if fetched.input is not None:
                yield fetched.input
            self._cursor[url] = fetched.state

    def _temp_dir(self) -> _TempDir:
        return _TempDir(self.to_file, self.temp_dir)

    def _fetch(self, url: str, previous: Mapping[str, Any], folder: str | None, *, may_be_list: bool) -> _Fetched:
        """Fetch one URL (conditionally); its ``input`` is ``None`` when it is unchanged since ``previous``."""
        etag, last_modified = previous.get("etag"), previous.get("last_modified")
        listed_by_path = may_be_list and _is_list_url(url)
        data: bytes | None = None
        path: str | None = None
        try:
            if folder is not None and not listed_by_path:
                path = os.path.join(folder, "input")
                response = self._download(url, path, etag, last_modified)
                digest = None if response.not_modified else _file_sha256(path)
            else:
                response = self.fetcher.get(url, etag=etag, last_modified=last_modified)
                data = response.body
                digest = None if response.not_modified else hashlib.sha256(data).hexdigest()
        except FetchError as exc:
            raise _FetchFailed(Quarantined(url, "file", exc.reason, exc.detail)) from None
        if response.not_modified:
            return _Fetched(None, dict(previous), "urls" in previous)
        state: dict[str, Any] = {"sha256": digest}
        if response.etag:
            state["etag"] = response.etag
        if response.last_modified:
            state["last_modified"] = response.last_modified
        if digest == previous.get("sha256"):  # same content, perhaps new validators: keep those
            if "urls" in previous:
                state["urls"] = previous["urls"]
            return _Fetched(None, state, "urls" in previous)
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower() or None
        is_list = listed_by_path
        if may_be_list and not listed_by_path and media_type == LIST_MEDIA_TYPE:
            # A server may call any file text/plain: only lines that each hold one URL make a list.
            is_list = _looks_like_list(data if data is not None else _head(path))
        if is_list and data is None and path is not None:
            with open(path, "rb") as handle:  # small: the fetch's size limit applied to the download
                data = handle.read()
            path = None
        return _Fetched(Input(url, url, data=data, path=path, content_type=media_type, url=url), state, is_list)

    def _download(self, url: str, path: str, etag: str | None, last_modified: str | None) -> Response:
        # Fetcher.download takes no validators (yet); once it does, downloads become conditional. Until
        # then an unchanged file is recognised by its SHA-256 and not handed over again.
        if _accepts_validators(self.fetcher.download):
            return self.fetcher.download(url, path, etag=etag, last_modified=last_modified)  # type: ignore[call-arg]
        return self.fetcher.download(url, path)


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A fetched URL: its input (``None`` when unchanged), its new cursor state, and whether it is a list."""

    input: Input | None
    state: dict[str, Any]
    is_list: bool


class _FetchFailed(Exception):
    def __init__(self, quarantined: Quarantined) -> None:
        super().__init__(quarantined.reason)
        self.quarantined = quarantined


class _TempDir:
    """A temporary folder for one download, removed on exit; ``None`` when inputs stay in memory."""

    def __init__(self, enabled: bool, parent: str | None) -> None:
        self._enabled = enabled
        self._parent = parent
        self.path: str | None = None

    def __enter__(self) -> str | None:
        if self._enabled:
            self.path = tempfile.mkdtemp(prefix="input-", dir=self._parent or process_staging_dir())
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)


def _accepts_validators(download: Any) -> bool:
    try:
        parameters = inspect.signature(download).parameters
    except (TypeError, ValueError):
        return False
    return "etag" in parameters and "last_modified" in parameters


def _looks_like_list(data: bytes) -> bool:
    """Tell whether (the start of) a body is a URL list: UTF-8 text with one word per line."""
    try:
        # Incremental, so a sample cut inside a multi-byte character is not mistaken for bad UTF-8.
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(data[:_LIST_SAMPLE], final=False)
    except UnicodeDecodeError:
        return False
    lines = text.splitlines()[:-1] if len(data) > _LIST_SAMPLE else text.splitlines()
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return all(entry.isprintable() and len(entry.split()) == 1 for entry in entries)


def _head(path: str | None) -> bytes:
    if path is None:
        return b""
    with open(path, "rb") as handle:
        return handle.read(_LIST_SAMPLE + 1)


def _is_list_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(LIST_SUFFIXES)


def _parse_list(data: bytes, list_url: str) -> tuple[list[str], list[Quarantined]]:
    """Return the absolute http(s) URLs of a URL list, and a Quarantined per unusable line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Quarantined(list_url, "list", "encoding_error", f"the URL list is not UTF-8 (offset {exc.start})")]
    urls: list[str] = []
    quarantined: list[Quarantined] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):  # a "#" inside a URL is a fragment, not a comment
            continue
        absolute = urljoin(list_url, entry)
        # A remote list may only point at web URLs: never at local files or other file systems.
        if urlsplit(absolute).scheme not in ("http", "https"):
            quarantined.append(Quarantined(list_url, f"line {number}", "invalid_url", "not an http(s) URL"))
            continue
        if absolute not in urls:
            urls.append(absolute)
    return urls, quarantined


def _file_state(info: Mapping[str, Any]) -> dict[str, Any]:
    """Return what tells a changed file from an unchanged one: size and ETag, else modification time."""
    state: dict[str, Any] = {"size": int(info.get("size") or 0)}
    etag = info.get("ETag") or info.get("etag")
    if etag:
        state["etag"] = str(etag)
    else:
        modified = info.get("mtime") or info.get("LastModified") or info.get("created")
        state["mtime"] = modified.isoformat() if isinstance(modified, datetime) else modified
    return state


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# -- shared by the XML connectors ---------------------------------------------------------------------

_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def read_xml(data: bytes) -> Element:
    """Parse XML bytes with :func:`catalog.xmlsafe.parse_xml`, reporting a wrong encoding as such.

    Expat reports bytes that do not match the declared encoding (Latin-1 bytes in a UTF-8 file) as
    "not well-formed"; a second look turns that into ``encoding_error``, which tells the partner what to fix.
    """
    try:
        return parse_xml(data)
    except XmlError as exc:
        if exc.reason == "malformed_xml":
            problem = _encoding_problem(data)
            if problem:
                raise XmlError("encoding_error", problem) from None
        raise


def _encoding_problem(data: bytes) -> str | None:
    """Describe why the bytes do not decode in their declared encoding (UTF-8 when undeclared)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return None  # expat decodes these itself; a problem there is not a declaration mismatch
    match = _XML_DECLARATION.match(data)
    encoding = match.group(1).decode("ascii") if match else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        return f"unknown declared encoding {encoding!r}"
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return f"the bytes are not valid {encoding} (offset {exc.start})"
    except (UnicodeError, ValueError):
        return f"the declared encoding {encoding!r} cannot be used"
    return None


def to_utc(value: str | None, tz: str) -> datetime | None:
    """Parse an ISO date or timestamp; a value without a zone is local time in ``tz``. ``None`` if unusable."""
    if not value or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            return None
        parsed = datetime(day.year, day.month, day.day)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01 in a zone east of UTC
        return None
