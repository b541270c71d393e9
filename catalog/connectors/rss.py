"""The ``rss`` connector: RSS 2.0, RSS 1.0 and Atom feeds, optionally with each article page's main text.

The feed is fetched conditionally (ETag / Last-Modified from the cursor), checked by
:func:`catalog.xmlsafe.parse_xml` before any feed parser sees it, and parsed with feedparser. Each new
entry becomes a :class:`RawRecord`: with the article page's main text (trafilatura) when the spec asks for
articles and the page can be fetched, else with the feed's own text ("feed-only"). Entries already seen in
an earlier run (a bounded set of native ids in the cursor) are skipped.

The page-text helpers (:class:`PageTextFetcher`, :func:`html_to_text`, :func:`safe_get`) are shared with the
OAI-PMH connector, which fetches linked full texts the same way.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import feedparser

from catalog.connectors.records import Quarantined, RawRecord
from catalog.fetch import Fetcher, FetchError, Response
from catalog.sources import SourceSpec
from catalog.xmlsafe import XmlError, parse_xml

logger = logging.getLogger(__name__)

#: Raw bytes kept for review in quarantine are capped so one huge broken feed cannot bloat the zone.
MAX_QUARANTINE_BYTES = 64 * 1024
#: Native ids remembered between runs; a feed shows far fewer items, so older ids can be forgotten.
MAX_SEEN_IDS = 50_000

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: The reasons of :class:`catalog.fetch.FetchError` (each is also a quarantine reason).
FETCH_REASONS = frozenset(
    {
        "http_error",
        "timeout",
        "connection_error",
        "response_too_large",
        "decompressed_too_large",
        "address_refused",
        "robots_disallowed",
        "invalid_url",
    }
)
#: Fetch errors worth retrying on a later run; other failures of an entry are permanent for its content.
TRANSIENT_REASONS = frozenset({"timeout", "connection_error", "http_error"})


def cap(raw: bytes | None) -> bytes | None:
    """Return at most :data:`MAX_QUARANTINE_BYTES` of ``raw`` (``None`` stays ``None``)."""
    return raw[:MAX_QUARANTINE_BYTES] if raw else None


def safe_get(fetcher: Fetcher, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Response:
    """``fetcher.get`` that reports every bad URL as a :class:`FetchError` (``invalid_url``).

    ``urllib.parse`` raises ``ValueError`` for some malformed URLs (a port out of range, a broken IPv6
    literal); those come from untrusted feeds and records and must not end a run.
    """
    try:
        return fetcher.get(url, etag=etag, last_modified=last_modified)
    except (ValueError, UnicodeError):
        raise FetchError("invalid_url", "the URL cannot be parsed") from None


# -- HTML to text -------------------------------------------------------------------------------------


class _TextCollector(HTMLParser):
    """Collect the visible text of an HTML fragment, one line per block element."""

    BLOCKS = frozenset(
        "address article aside blockquote br dd div dl dt figcaption footer h1 h2 h3 h4 h5 h6 header hr li "
        "main nav ol p pre section table td th tr ul".split()
    )
    HIDDEN = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden_depth += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the text of an HTML fragment: tags dropped, block elements on their own lines."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.parts).splitlines())
    return "\n".join(line for line in lines if line)


def detail_text(detail: Mapping[str, Any] | None) -> str:
    """Return the text of a feedparser text construct (``*_detail`` or a ``content`` item)."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    if "html" in (detail.get("type") or ""):
        return html_to_text(value)
    return value.strip()


# -- linked pages -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageText:
    """The main text of a linked page, or why there is none.

    ``error`` is a :class:`~catalog.fetch.FetchError` reason, ``not_html``, ``encoding_error``,
    ``empty_text`` (nothing extracted) or ``no_link``; ``detail`` never quotes the page.
    """

    text: str | None
    error: str | None = None
    detail: str = ""


class PageTextFetcher:
    """Fetch a linked page through the fetcher and extract its main text.

    HTML goes through trafilatura (boilerplate such as menus and footers removed); ``text/plain`` is taken
    as is. Every failure is returned as a :class:`PageText` with an error, never raised.
    """

    def __init__(self, fetcher: Fetcher, *, favor_precision: bool = True, include_comments: bool = False) -> None:
        self.fetcher = fetcher
        self.favor_precision = favor_precision
        self.include_comments = include_comments

    def fetch(self, url: str) -> PageText:
        """Return the main text of the page at ``url``."""
        try:
            response = safe_get(self.fetcher, url)
        except FetchError as exc:
            return PageText(None, exc.reason, exc.detail)
        content_type = response.content_type
        if content_type == "text/plain":
            return self._plain_text(response)
        # A server that names no type mostly serves HTML; trafilatura returns nothing for anything else.
        if content_type and content_type not in HTML_TYPES:
            return PageText(None, "not_html", f"content type {content_type}")
        return self._extract(response)

    def _plain_text(self, response: Response) -> PageText:
        charset = _charset(response.headers.get("content-type", "")) or "utf-8"
        try:
            text = response.body.decode(charset).strip()
        except (UnicodeDecodeError, LookupError):
            return PageText(None, "encoding_error", f"the body is not valid {charset}")
        return PageText(text) if text else PageText(None, "empty_text", "the page is empty")

    def _extract(self, response: Response) -> PageText:
        import trafilatura

        try:
            text = trafilatura.extract(
                response.body,
                url=response.url,
                favor_precision=self.favor_precision,
                include_comments=self.include_comments,
            )
        except Exception as exc:  # a third-party parser on untrusted HTML: one bad page must not end the run
            logger.warning("trafilatura failed on a page: %s", type(exc).__name__)
            text = None
        text = (text or "").strip()
        return PageText(text) if text else PageText(None, "empty_text", "no main text found on the page")


def _charset(content_type: str) -> str | None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


# -- the cursor ---------------------------------------------------------------------------------------


class SeenIds:
    """An insertion-ordered set of native ids that forgets the oldest beyond ``limit``."""

    def __init__(self, ids: Iterable[str], limit: int) -> None:
        self.limit = limit
        self._ids: dict[str, None] = dict.fromkeys(str(i) for i in ids)

    def __contains__(self, native_id: object) -> bool:
        return native_id in self._ids

    def add(self, native_id: str) -> None:
        """Remember an id (as the most recent)."""
        self._ids.pop(native_id, None)
        self._ids[native_id] = None

    def to_list(self) -> list[str]:
        """Return the most recent ``limit`` ids, oldest first."""
        ids = list(self._ids)
        return ids[-self.limit :] if self.limit else []


# -- the connector ------------------------------------------------------------------------------------


class RssConnector:
    """Read a ``kind: rss`` source: an RSS 2.0, RSS 1.0 or Atom feed at ``spec.location``.

    The cursor holds the feed's ``etag`` and ``last_modified`` validators and the ``seen`` native ids.
    """

    def __init__(
        self,
        spec: SourceSpec,
        fetcher: Fetcher,
        cursor: Mapping[str, Any] | None = None,
        *,
        max_seen: int = MAX_SEEN_IDS,
    ) -> None:
        self.spec = spec
        self.fetcher = fetcher
        self.feed_url = spec.location
        self.fetch_articles = spec.rss.fetch_articles
        self.pages = PageTextFetcher(fetcher)
        cursor = dict(cursor or {})
        self._cursor = cursor
        self._seen = SeenIds(cursor.get("seen") or [], max_seen)
        self._next: dict[str, Any] = dict(cursor)

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield the feed's entries that are new since the cursor."""
        try:
            response = safe_get(
                self.fetcher,
                self.feed_url,
                etag=self._cursor.get("etag"),
                last_modified=self._cursor.get("last_modified"),
            )
        except FetchError as exc:
            yield Quarantined(self.feed_url, "feed", exc.reason, exc.detail)
            return
        if response.not_modified:
            return
        try:
            # The safety gate: entity bombs and external entities are refused before feedparser runs.
            parse_xml(response.body)
        except XmlError as exc:
            yield Quarantined(self.feed_url, "feed", exc.reason, exc.detail, cap(response.body))
            return
        feed = feedparser.parse(
            # A stream, not bytes: feedparser tries to open() a bytes argument as a file name first.
            io.BytesIO(response.body),
            response_headers={
                "content-location": response.url,  # the base for relative links
                "content-type": response.headers.get("content-type", "application/xml"),
            },
        )
        if not feed.get("version"):
            yield Quarantined(
                self.feed_url, "feed", "unexpected_document", "not an RSS 1.0, RSS 2.0 or Atom feed", cap(response.body)
            )
            return
        lang = (feed.feed.get("language") or "").strip() or None
        for number, entry in enumerate(feed.entries, start=1):
            item = self._entry(entry, f"item {number}", lang)
            if item is not None:
                yield item
        self._next = {"etag": response.etag, "last_modified": response.last_modified, "seen": self._seen.to_list()}

    def next_cursor(self) -> dict[str, Any]:
        """Return the validators and seen ids to store after ``read()`` (unchanged if nothing was read)."""
        return dict(self._next)

    # -- entries -----------------------------------------------------------------------------------

    def _entry(self, entry: Mapping[str, Any], record: str, lang: str | None) -> RawRecord | Quarantined | None:
        guid = (entry.get("id") or "").strip()
        link = (entry.get("link") or "").strip()
        native_id = guid or link
        if not native_id:
            # Remembered by a content hash, so an unchanged id-less entry is quarantined once, not every run.
            key = "sha256:" + hashlib.sha256(_raw(entry, limit=None) or b"").hexdigest()
            if key in self._seen:
                return None
            self._seen.add(key)
            return Quarantined(
                self.feed_url, record, "missing_id", "the entry has neither a guid/id nor a link", _raw(entry)
            )
        if native_id in self._seen:
            return None
        metadata = {"feed_url": self.feed_url}
        if guid:
            metadata["guid"] = guid
        text, fetch_mode, failure = self._text(entry, link)
        if not text:
            reason = failure.error if failure and failure.error in FETCH_REASONS else "missing_text"
            if reason not in TRANSIENT_REASONS:
                self._seen.add(native_id)  # permanent for this entry; transient failures are retried next run
            detail = "no article text and no text in the feed"
            if failure:
                detail += f" ({failure.error}: {failure.detail})"
            return Quarantined(self.feed_url, record, reason, detail, _raw(entry))
        if failure:
            metadata["article_fetch_error"] = failure.error or "unknown"
        self._seen.add(native_id)
        return RawRecord(
            native_id=native_id,
            text=text,
            title=_title(entry),
            url=link or None,
            published_at=_published(entry),
            location=self.feed_url,
            record=record,
            fetch_mode=fetch_mode,
            lang=lang,
            metadata=metadata,
        )

    def _text(self, entry: Mapping[str, Any], link: str) -> tuple[str, str, PageText | None]:
        """Return ``(text, fetch_mode, article failure)``: the article's text, else the feed's own text."""
        feed_text = _feed_text(entry)
        if not self.fetch_articles:
            return feed_text, "record", None
        page = self.pages.fetch(link) if link else PageText(None, "no_link", "the entry has no link")
        if page.text:
            return page.text, "article", None
        return feed_text, "feed-only", page


def _feed_text(entry: Mapping[str, Any]) -> str:
    """Return the entry's own text: ``content:encoded`` / Atom content first, else summary/description."""
    for content in entry.get("content") or []:
        text = detail_text(content)
        if text:
            return text
    return detail_text(entry.get("summary_detail")) or html_to_text(entry.get("summary") or "")


def _title(entry: Mapping[str, Any]) -> str | None:
    title = detail_text(entry.get("title_detail")) or (entry.get("title") or "").strip()
    return title or None


def _published(entry: Mapping[str, Any]) -> datetime | None:
    """Return the entry's publication (else update) time in UTC; feedparser gives UTC struct_times."""
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime(*parsed[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None


def _raw(entry: Mapping[str, Any], limit: int | None = MAX_QUARANTINE_BYTES) -> bytes | None:
    """Return the parsed entry as JSON bytes for review in quarantine (feedparser keeps no raw item XML)."""
    raw = json.dumps(entry, default=str, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return raw[:limit] if limit is not None else raw
