r"""The ``rechtspraak`` connector: Dutch court rulings in the Rechtspraak open-data XML format.

A document (root ``open-rechtspraak``) holds RDF metadata (``rdf:Description`` with ``dcterms:identifier``
= the ECLI, ``dcterms:date``, ``dcterms:creator``, ``dcterms:title``, ...) and the text in an ``uitspraak``
(ruling) or ``conclusie`` (advisory opinion) element. The text is the ruling's paragraphs (``para``,
``title``, ``bridgehead``, table rows, ...) in document order, separated by ``"\n\n"``; a paragraph
number (``nr``) is put before its paragraph. The summary (``inhoudsindicatie``) is not part of the text.

The location is either

- files: a local or S3 glob, an http(s) file or a URL list (see :mod:`catalog.connectors.locations`);
  the cursor remembers each file's state; or
- the open-data search API, ``https://data.rechtspraak.nl/uitspraken/zoeken?<filters>``: an Atom feed of
  ECLIs, paged with ``from``/``max``; each ruling is fetched from ``/uitspraken/content?id=<ECLI>`` on the
  same host (put ``return=DOC`` in the query, or rulings without text come back as ``unexpected_document``).
  The cursor remembers every ECLI fetched with the ``updated`` time of its feed entry (a ruling that is
  modified is fetched again), the ECLIs whose fetch failed (retried next run), and the time of the last
  complete search, sent as ``modified=`` so the server lists only rulings changed since.

``native_id`` is the ECLI; ``url`` the public deeplink. A document without an ECLI is quarantined as
``missing_id``; one with neither ``uitspraak`` nor ``conclusie`` (metadata only) as ``unexpected_document``.
A search-feed entry without an ``id`` is quarantined as ``missing_id`` too (record ``feed page <n> entry <m>``);
it still counts towards the page size, so it never makes a full page look like the last one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, tostring

from catalog.connectors.locations import InputSource, read_xml, to_utc
from catalog.connectors.records import Quarantined, RawRecord, capped
from catalog.fetch import FetchError
from catalog.xmlsafe import XmlError, local_name

if TYPE_CHECKING:
    from catalog.drops import DropPolicy
    from catalog.fetch import Fetcher
    from catalog.sources import SourceSpec

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DCTERMS = "{http://purl.org/dc/terms/}"
PSI = "{http://psi.rechtspraak.nl/}"
ATOM = "{http://www.w3.org/2005/Atom}"
DEEPLINK = "https://uitspraken.rechtspraak.nl/details?id="
SEARCH_PATH = "/uitspraken/zoeken"
CONTENT_PATH = "/uitspraken/content"
#: Page size of the search API when the location names none (the API's maximum).
DEFAULT_PAGE_SIZE = 1000

#: Elements whose text is one paragraph of the ruling.
_PARAGRAPHS = frozenset({"para", "title", "bridgehead", "subtitle", "al", "row"})
#: Elements that hold no running text.
_NOT_TEXT = frozenset({"footnote-ref", "mediaobject", "inlinemediaobject", "imageobject", "imagedata", "colspec"})


class RulingError(ValueError):
    """A well-formed document that cannot become a ruling; ``reason`` is a quarantine reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Ruling:
    """The parts of a Rechtspraak document the pipeline keeps."""

    ecli: str
    text: str
    title: str | None
    date: str | None
    issued: str | None
    language: str | None
    metadata: dict[str, str]


def parse_ruling(root: Element) -> Ruling:
    """Extract ECLI, metadata and text from a parsed ``open-rechtspraak`` document."""
    if local_name(root.tag) != "open-rechtspraak":
        raise RulingError("unexpected_document", f"root element is {local_name(root.tag)!r}, not 'open-rechtspraak'")
    descriptions = list(root.iter(f"{RDF}Description"))

    def values(tag: str) -> list[str]:
        found = (" ".join(el.itertext()).strip() for d in descriptions for el in d.findall(tag))
        return list(dict.fromkeys(v for v in found if v))  # distinct, in document order

    def first(tag: str) -> str | None:
        return next(iter(values(tag)), None)

    # The second Description is about the deeplink; its identifier is a URL, the document's is the ECLI.
    ecli = next((v for v in values(f"{DCTERMS}identifier") if v.upper().startswith("ECLI:")), None)
    if ecli is None:
        raise RulingError("missing_id", "no dcterms:identifier with an ECLI")
    body = next((el for el in root.iter() if local_name(el.tag) in ("uitspraak", "conclusie")), None)
    if body is None:
        raise RulingError("unexpected_document", "neither uitspraak nor conclusie (metadata only)")
    fields = {
        "ecli": ecli,
        "court": first(f"{DCTERMS}creator"),
        "date": first(f"{DCTERMS}date"),
        "issued": first(f"{DCTERMS}issued"),
        "modified": first(f"{DCTERMS}modified"),
        "type": first(f"{DCTERMS}type"),
        "procedure": "; ".join(values(f"{PSI}procedure")) or None,
        "subject": "; ".join(values(f"{DCTERMS}subject")) or None,
        "case_number": "; ".join(values(f"{PSI}zaaknummer")) or None,
        "document": local_name(body.tag),
    }
    return Ruling(
        ecli=ecli,
        text="\n\n".join(_paragraphs(body)),
        title=first(f"{DCTERMS}title"),
        date=fields["date"],
        issued=fields["issued"],
        language=first(f"{DCTERMS}language"),
        metadata={key: value for key, value in fields.items() if value},
    )


def _paragraphs(container: Element) -> list[str]:
    """Return the paragraphs below an element, in document order; a ``nr`` prefixes the next paragraph.

    Iterative (an explicit stack, not recursion): a document nested thousands of levels deep is read like
    any other, in time linear in its size.
    """
    with_paragraphs = _with_paragraphs(container)
    paragraphs: list[str] = []
    # One frame per open container: its children, the paragraph index its own paragraphs start at, and
    # the pending ``nr`` that prefixes its next paragraph.
    stack: list[_Frame] = [_Frame(iter(container), 0)]
    while stack:
        frame = stack[-1]
        child = next(frame.children, None)
        if child is None:  # the container is done: a trailing number is a paragraph of its own
            stack.pop()
            if frame.number:
                paragraphs.append(frame.number)
            if stack:
                parent = stack[-1]
                if parent.number and len(paragraphs) > frame.start:
                    paragraphs[frame.start] = f"{parent.number} {paragraphs[frame.start]}"
                    parent.number = ""
            continue
        name = local_name(child.tag)
        if name in _NOT_TEXT:
            continue
        if name == "nr":
            frame.number = _inline_text(child)
            continue
        if name in _PARAGRAPHS or child not in with_paragraphs:
            text = _inline_text(child)
            if text:
                paragraphs.append(f"{frame.number} {text}" if frame.number else text)
                frame.number = ""
        else:  # section, parablock, paragroup, lists, tables, uitspraak.info, footnotes: descend
            stack.append(_Frame(iter(child), len(paragraphs)))
    return paragraphs


@dataclass
class _Frame:
    """An open container of :func:`_paragraphs`."""

    children: Iterator[Element]
    start: int
    number: str = ""


def _with_paragraphs(container: Element) -> set[Element]:
    """Return the elements below ``container`` (and itself) that have a paragraph element below them."""
    parents = {child: parent for parent in container.iter() for child in parent}
    found: set[Element] = set()
    for element in container.iter():
        if local_name(element.tag) in _PARAGRAPHS:
            parent = parents.get(element)
            while parent is not None and parent not in found:  # ancestors already found: done
                found.add(parent)
                parent = parents.get(parent)
    return found


def _inline_text(element: Element) -> str:
    """Return an element's text with whitespace collapsed; a number and table cells stay separated."""
    pieces: list[str] = []
    # (element, closing): an element is opened (its text, then its children) and closed (its tail).
    stack: list[tuple[Element, bool]] = [(element, False)]
    while stack:
        el, closing = stack.pop()
        name = local_name(el.tag)
        if not closing:
            if name in _NOT_TEXT:
                pieces.append(" ")
            else:
                pieces.append(el.text or "")
                stack.append((el, True))
                stack.extend((child, False) for child in reversed(list(el)))
                continue
        if name in ("nr", "entry", "footnote"):
            pieces.append(" ")  # <nr>1.</nr>De procedure: a number is a word of its own
        if el is not element:
            pieces.append(el.tail or "")
    return " ".join("".join(pieces).split())


class RechtspraakConnector:
    """Read the rulings of a ``kind: rechtspraak`` source: files, or the open-data search API."""

    def __init__(
        self, spec: SourceSpec, fetcher: Fetcher, cursor: Mapping[str, Any], *, drops: DropPolicy | None = None
    ) -> None:
        self.spec = spec
        self.fetcher = fetcher
        self.cursor = dict(cursor or {})
        self.api = spec.is_remote and urlsplit(spec.location).path.rstrip("/").endswith(SEARCH_PATH)
        self.inputs = None if self.api else InputSource(spec, fetcher, self.cursor.get("files"), drops=drops)
        self._next: dict[str, Any] = {}

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield one RawRecord per new or changed ruling, or a Quarantined for one that cannot be read."""
        if self.inputs is not None:
            for item in self.inputs:
                if isinstance(item, Quarantined):
                    yield item
                else:
                    yield self.ruling_record(item.data or b"", item.location, "document", item.url)
            self._next = {"files": self.inputs.cursor}
            return
        search = _SearchRun(self, self.cursor)
        yield from search.read()
        self._next = search.next_cursor()

    def next_cursor(self) -> dict[str, Any]:
        """Return the cursor: file states, or the fetched ECLIs and the last complete search time."""
        return dict(self._next or self.cursor)

    def ruling_record(self, data: bytes, location: str, record: str, url: str | None) -> RawRecord | Quarantined:
        """Map one document's bytes to a RawRecord, or a Quarantined with the reason it cannot be used."""
        try:
            ruling = parse_ruling(read_xml(data))
        except (XmlError, RulingError) as exc:
            return Quarantined(location, record, exc.reason, exc.detail, capped(data))
        published = ruling.date or ruling.issued
        return RawRecord(
            native_id=ruling.ecli,
            text=ruling.text,
            title=ruling.title,
            url=DEEPLINK + ruling.ecli,
            # An unparseable date is kept in metadata["date"]; the ruling itself is still usable.
            published_at=to_utc(published, self.spec.timezone),
            location=location,
            record=record,
            raw_bytes=capped(data),
            fetch_mode="record",
            lang=ruling.language,
            metadata=ruling.metadata,
        )


class _SearchRun:
    """One incremental run over the search API: feed pages, then each new or modified ruling."""

    def __init__(self, connector: RechtspraakConnector, cursor: Mapping[str, Any]) -> None:
        self.connector = connector
        self.fetcher = connector.fetcher
        self.location = connector.spec.location
        self.known: dict[str, str] = dict(cursor.get("eclis") or {})
        self.failed: dict[str, str] = dict(cursor.get("failed") or {})
        self.modified: str | None = cursor.get("modified")
        self._new_modified: str | None = None

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield the rulings the search lists as new or modified, plus those that failed last time."""
        listed, problems = self._search()
        yield from problems
        candidates = {ecli: updated for ecli, updated in listed.items() if self.known.get(ecli) != updated}
        for ecli, updated in self.failed.items():
            candidates.setdefault(ecli, updated)
        self.failed = {}
        parts = urlsplit(self.location)
        for position, (ecli, updated) in enumerate(candidates.items(), start=1):
            url = urlunsplit((parts.scheme, parts.netloc, CONTENT_PATH, f"id={quote(ecli, safe=':')}", ""))
            record = f"entry {position}"
            try:
                response = self.fetcher.get(url)
            except FetchError as exc:
                self.failed[ecli] = updated
                yield Quarantined(url, record, exc.reason, exc.detail)
                continue
            yield self.connector.ruling_record(response.body, url, record, url)
            # A document that parsed badly is not fetched again until the search lists a new version.
            self.known[ecli] = updated

    def next_cursor(self) -> dict[str, Any]:
        """Return the state after :meth:`read`: known ECLIs, failed ECLIs, the next ``modified`` value."""
        cursor: dict[str, Any] = {"eclis": self.known, "failed": self.failed}
        modified = self._new_modified or self.modified
        if modified:
            cursor["modified"] = modified
        return cursor

    def _search(self) -> tuple[dict[str, str], list[Quarantined]]:
        """Page through the search feed; return ECLI -> entry ``updated``, and what was quarantined.

        The quarantined are the entries without an id and, last, the page the search broke off at (then
        ``modified`` does not move).
        """
        query = [(k, v) for k, v in parse_qsl(urlsplit(self.location).query, keep_blank_values=True)]
        if self.modified:  # only rulings changed since the last complete search
            query = [(k, v) for k, v in query if k != "modified"] + [("modified", self.modified)]
        size = next((int(v) for k, v in query if k == "max" and v.isdigit() and int(v) > 0), DEFAULT_PAGE_SIZE)
        query = [(k, v) for k, v in query if k not in ("max", "from")] + [("max", str(size))]
        started = datetime.now(UTC)
        listed: dict[str, str] = {}
        problems: list[Quarantined] = []
        pages_met: set[bytes] = set()
        feed_updated: str | None = None
        offset, page = 0, 1
        while True:
            url = self._page_url(query + ([("from", str(offset))] if offset else []))
            try:
                root = read_xml(self.fetcher.get(url).body)
                entries, updated = _feed_entries(root)
            except FetchError as exc:
                return listed, [*problems, Quarantined(url, f"feed page {page}", exc.reason, exc.detail)]
            except (XmlError, RulingError) as exc:
                return listed, [*problems, Quarantined(url, f"feed page {page}", exc.reason, exc.detail)]
            # The same entries again mean the server ignores ``from`` (also for a page of id-less entries).
            fingerprint = hashlib.sha256(b"\0".join(tostring(entry) for entry in entries)).digest()
            if fingerprint in pages_met:
                break
            pages_met.add(fingerprint)
            feed_updated = feed_updated or updated
            eclis: list[tuple[str, str]] = []
            for position, entry in enumerate(entries, start=1):
                ecli = (entry.findtext(f"{ATOM}id") or "").strip()
                if ecli:
                    eclis.append((ecli, (entry.findtext(f"{ATOM}updated") or "").strip()))
                else:  # kept for review; the detail never quotes the entry (its title names the parties)
                    record = f"feed page {page} entry {position}"
                    detail = "the search feed entry has no id (ECLI)"
                    problems.append(Quarantined(url, record, "missing_id", detail, capped(tostring(entry))))
            new = {ecli: stamp for ecli, stamp in eclis if ecli not in listed}
            listed.update(new)
            # A short page (counted in raw entries, with or without id) is the last; a page whose ECLIs are
            # all listed already means the server ignores ``from``.
            if len(entries) < size or (eclis and not new):
                break
            offset += size
            page += 1
        # The server's own clock (the feed's updated) avoids skew with ours; ours is the fallback.
        self._new_modified = _search_timestamp(feed_updated) or started.strftime("%Y-%m-%dT%H:%M:%S")
        return listed, problems

    def _page_url(self, query: list[tuple[str, str]]) -> str:
        parts = urlsplit(self.location)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe=":"), ""))


def _feed_entries(root: Element) -> tuple[list[Element], str | None]:
    """Return every ``entry`` element of an Atom search feed (with or without id), and the feed's updated time."""
    if root.tag != f"{ATOM}feed":
        raise RulingError("unexpected_document", f"search answer is {local_name(root.tag)!r}, not an Atom feed")
    return root.findall(f"{ATOM}entry"), (root.findtext(f"{ATOM}updated") or "").strip() or None


def _search_timestamp(value: str | None) -> str | None:
    """Return a feed time as the API's ``modified`` value (UTC, ``YYYY-MM-DDTHH:MM:SS``).

    Should the API read the value as Dutch local time, the window only starts earlier: rulings already
    fetched are recognised by their ECLI and entry time, so nothing is fetched twice and nothing is missed.
    """
    parsed = to_utc(value, "UTC")
    return parsed.strftime("%Y-%m-%dT%H:%M:%S") if parsed else None
