"""The ``rss`` connector: RSS 2.0, RSS 1.0 and Atom feeds, optionally with each article page's main text.

The feed is fetched conditionally (ETag / Last-Modified from the cursor), checked by
:func:`catalog.xmlsafe.parse_xml` before any feed parser sees it, and parsed with feedparser. Each new
entry becomes a :class:`RawRecord`: with the article page's main text (trafilatura) when the spec asks for
articles and the page can be fetched, else with the feed's own text ("feed-only"). Entries already seen in
an earlier run (a bounded set of native ids in the cursor) are skipped.

An entry that failed with a transient fetch error (no text, the article page timed out or answered with
an HTTP error) is not added to the seen ids, so the next run retries it. That run must get the feed again:
so after such a failure the feed's new ETag / Last-Modified are *not* stored (the old validators stay),
else the server would answer 304 Not Modified and the entry would never be retried.

A feed that lists the same native id twice: the first entry is read, every later one is quarantined as
``unexpected_document`` ("duplicate entry id in the feed"), so nothing disappears unaccounted. A duplicate
is not a normal artefact to count away: the two entries may differ, and which one is the real one is for a
reviewer to tell. Ids already seen in an earlier run are skipped without a record, duplicates included, so a
duplicate is quarantined once, not on every run.

Linked pages are fetched and extracted by :mod:`catalog.connectors.web`, shared with the OAI-PMH connector.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from catalog.connectors.records import MAX_QUARANTINE_BYTES, Quarantined, RawRecord, capped
from catalog.connectors.web import FETCH_REASONS, TRANSIENT_REASONS, PageText, PageTextFetcher, html_to_text
from catalog.fetch import Fetcher, FetchError
from catalog.sources import SourceSpec
from catalog.xmlsafe import XmlError, parse_xml

#: Native ids remembered between runs; a feed shows far fewer items, so older ids can be forgotten.
MAX_SEEN_IDS = 50_000

# -- feed text ---------------------------------------------------------------------------------------


def detail_text(detail: Mapping[str, Any] | None) -> str:
    """Return the text of a feedparser text construct (``*_detail`` or a ``content`` item)."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    if "html" in (detail.get("type") or ""):
        return html_to_text(value)
    return value.strip()


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
        self._read_ids: set[str] = set()  # native ids read from this feed in this run (duplicates)
        self._retry = False  # an entry failed transiently: the feed must be fetched again next run

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield the feed's entries that are new since the cursor."""
        try:
            response = self.fetcher.get(
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
            yield Quarantined(self.feed_url, "feed", exc.reason, exc.detail, capped(response.body))
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
                self.feed_url,
                "feed",
                "unexpected_document",
                "not an RSS 1.0, RSS 2.0 or Atom feed",
                capped(response.body),
            )
            return
        lang = (feed.feed.get("language") or "").strip() or None
        for number, entry in enumerate(feed.entries, start=1):
            item = self._entry(entry, f"item {number}", lang)
            if item is not None:
                yield item
        if self._retry:  # keep the old validators: a 304 next run would hide the entries to retry
            validators = {"etag": self._cursor.get("etag"), "last_modified": self._cursor.get("last_modified")}
        else:
            validators = {"etag": response.etag, "last_modified": response.last_modified}
        self._next = {**validators, "seen": self._seen.to_list()}

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
        if native_id in self._read_ids:
            detail = "duplicate entry id in the feed"
            return Quarantined(self.feed_url, record, "unexpected_document", detail, _raw(entry))
        if native_id in self._seen:
            return None
        self._read_ids.add(native_id)
        metadata = {"feed_url": self.feed_url}
        if guid:
            metadata["guid"] = guid
        text, fetch_mode, failure = self._text(entry, link)
        if not text:
            reason = failure.error if failure and failure.error in FETCH_REASONS else "missing_text"
            if reason in TRANSIENT_REASONS:
                self._retry = True  # retried next run (not seen), so the feed must not come back as 304
            else:
                self._seen.add(native_id)  # permanent for this entry
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
