"""The ``oai-pmh`` connector: OAI-PMH 2.0 ``ListRecords`` harvesting with Dublin Core mapping.

Protocol logic (resumption tokens, OAI error codes, record and header parsing) is sickle's. Its transport
is not: :class:`FetcherSickle` sends every request through the source's :class:`~catalog.fetch.Fetcher`
(robots.txt, rate limit, address guard, size limits) and checks every response with
:func:`catalog.xmlsafe.parse_xml` before lxml parses it without entities, DTDs or network access.

Incremental harvesting: after a *complete* harvest the cursor's ``from`` is the ``responseDate`` of that
harvest's first response, in the repository's granularity (day granularity, which every repository must
accept, when no datestamp shows which one it uses), and never earlier than the ``from`` it had, nor later
than our own clock. Not the largest datestamp seen: a record stamped ahead of the server's clock would
then hide every record changed in between. A change after the first response gets a datestamp at or after
that ``responseDate``, so it is listed by the next harvest. OAI-PMH's ``from`` is inclusive, so the cursor
also keeps the ``(identifier, datestamp)`` pairs already emitted at or after the new ``from`` (``seen``),
and a record is skipped when its pair was seen. A complete harvest without a usable ``responseDate``
leaves ``from`` where it was.

When a harvest breaks off (a page cannot be fetched or parsed, or sickle fails on it), ``from`` does not
move: the records of the complete pages are added to ``seen`` instead, so the re-run fetches the rest
without gaps and skips what was already emitted. A page sickle cannot make sense of (an OAI ``error``
with an empty code raises ``IndexError`` inside sickle) is quarantined as ``unexpected_document``;
exceptions from our own transport (a missing credential: :class:`catalog.fetch.CredentialError`)
propagate, they are configuration errors, not bad input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from lxml import etree
from sickle import Sickle, oaiexceptions
from sickle.app import DEFAULT_CLASS_MAP
from sickle.models import Record
from sickle.response import OAIResponse

from catalog.connectors.records import Quarantined, RawRecord, capped
from catalog.connectors.web import PageText, PageTextFetcher
from catalog.fetch import Fetcher, FetchError, Response
from catalog.sources import SourceSpec
from catalog.xmlsafe import XmlError, parse_xml

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
#: ``(identifier, datestamp)`` pairs remembered for a broken-off harvest; beyond this the oldest are
#: forgotten, which can only cause duplicates (later deduplicated by native id), never gaps.
MAX_SEEN = 200_000
#: Deleted identifiers kept for takedowns (most recent last).
MAX_DELETED = 50_000

#: OAI-PMH error codes other than ``noRecordsMatch``: the request or the repository is at fault.
OAI_ERRORS: tuple[type[Exception], ...] = (
    oaiexceptions.BadArgument,
    oaiexceptions.BadVerb,
    oaiexceptions.BadResumptionToken,
    oaiexceptions.CannotDisseminateFormat,
    oaiexceptions.IdDoesNotExist,
    oaiexceptions.NoSetHierarchy,
    oaiexceptions.NoMetadataFormat,
    oaiexceptions.OAIError,
)


class HarvestError(Exception):
    """A page of the harvest cannot be used; ``reason`` is a quarantine reason, ``raw`` the page's bytes."""

    def __init__(self, reason: str, detail: str, raw: bytes | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.raw = raw


# -- transport: sickle over the fetcher ---------------------------------------------------------------


def oai_url(endpoint: str, params: Mapping[str, str]) -> str:
    """Return the GET URL of an OAI-PMH request (parameters URL-encoded, as sickle would send them)."""
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)


def _safe_lxml_parser() -> etree.XMLParser:
    # recover=False: a broken page must fail, not be silently repaired into fewer records (sickle's default).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=False,
        remove_blank_text=True,
        remove_comments=True,
        remove_pis=True,
    )


class SafeOAIResponse(OAIResponse):
    """An OAI-PMH response from the fetcher, parsed once: safety gate first, then lxml without entities."""

    def __init__(self, http_response: Response, params: Mapping[str, str]) -> None:
        super().__init__(http_response, dict(params))
        body = http_response.body
        try:
            parse_xml(body)
        except XmlError as exc:
            raise HarvestError(exc.reason, exc.detail, body) from None
        try:
            self._xml = etree.fromstring(body, parser=_safe_lxml_parser())
        except etree.XMLSyntaxError:
            raise HarvestError("malformed_xml", "lxml cannot parse the response", body) from None
        if self._xml.tag != f"{{{OAI_NS}}}OAI-PMH":
            raise HarvestError("unexpected_document", "the response is not an OAI-PMH 2.0 document", body)

    @property
    def raw(self) -> str:
        """The response body as text."""
        return self.http_response.body.decode("utf-8", errors="replace")

    @property
    def xml(self) -> etree._Element:
        """The parsed response (sickle reads it several times per page; it is parsed once)."""
        return self._xml


class FetcherSickle(Sickle):
    """A sickle client whose requests all go through a :class:`~catalog.fetch.Fetcher`, never ``requests``.

    ``pages`` counts the responses requested so far, for quarantine records. A resumption token that comes
    back a second time would loop forever; it is reported as an ``unexpected_document``.
    """

    def __init__(self, endpoint: str, fetcher: Fetcher, record_mapper: Callable[[Any], Any] = Record) -> None:
        # Retries are the fetcher's job (with its backoff and Retry-After handling), not sickle's.
        super().__init__(endpoint, max_retries=0, class_mapping={**DEFAULT_CLASS_MAP, "ListRecords": record_mapper})
        self.fetcher = fetcher
        self.pages = 0
        self.last_response: SafeOAIResponse | None = None
        #: The ``responseDate`` of the first response (the harvest's start on the server's clock).
        self.response_date: str | None = None
        #: The last exception the fetcher raised that is not a :class:`~catalog.fetch.FetchError`: it propagates.
        self.transport_error: BaseException | None = None
        self._body: bytes | None = None
        self._tokens: set[str] = set()

    def error_code(self) -> str:
        """Return the OAI-PMH error code of the last response (sickle's exceptions do not carry it)."""
        xml = self.last_response.xml if self.last_response is not None else None
        error = xml.find(f"{{{OAI_NS}}}error") if xml is not None else None
        return (error.get("code") or "unknown") if error is not None else "unknown"

    def _request(self, kwargs: Mapping[str, str]) -> Response:
        try:
            response = self.fetcher.get(oai_url(self.endpoint, kwargs))
        except FetchError as exc:
            raise HarvestError(exc.reason, exc.detail) from None
        except BaseException as exc:  # e.g. CredentialError: ours, not the page's; marked so it propagates
            self.transport_error = exc
            raise
        self._body = response.body
        return response

    def harvest(self, **kwargs: str) -> SafeOAIResponse:
        """Fetch and parse one OAI-PMH response; raise :class:`HarvestError` when it cannot be used."""
        self.pages += 1
        token = kwargs.get("resumptionToken")
        if token is not None:
            if token in self._tokens:
                raise HarvestError("unexpected_document", "the repository repeated a resumption token")
            self._tokens.add(token)
        response = SafeOAIResponse(self._request(kwargs), kwargs)
        self.last_response = response
        if self.pages == 1:
            self.response_date = (response.xml.findtext(f"{{{OAI_NS}}}responseDate") or "").strip() or None
        return response

    def last_body(self) -> bytes | None:
        """Return the body of the last response received (for quarantine)."""
        return self._body


# -- records ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """A ``<record>`` element that sickle cannot map (no header, no metadata): quarantined, not fatal."""

    xml: Any
    detail: str
    deleted: bool = False


def map_record(element: Any) -> Record | UnreadableRecord:
    """Map a ``<record>`` element with sickle, returning an :class:`UnreadableRecord` instead of raising."""
    try:
        return Record(element)
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        return UnreadableRecord(element, f"the record cannot be read ({type(exc).__name__})")


def _values(metadata: Mapping[str, list[str | None]], name: str) -> list[str]:
    return [value.strip() for value in metadata.get(name) or [] if value and value.strip()]


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def parse_date(value: str, tz: tzinfo) -> datetime | None:
    """Parse an ISO 8601 date or date-time (``2024``, ``2024-05``, ``2024-05-01``, ``...T10:00:00Z``) to UTC.

    Values without an offset are read in ``tz``; a year or month alone means its first day.
    """
    value = value.strip()
    try:
        match = _PARTIAL_DATE.match(value)
        if match:
            year, month, day = (int(part) if part else 1 for part in match.groups())
            parsed = datetime.combine(date(year, month, day), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# -- the cursor ---------------------------------------------------------------------------------------


@dataclass
class HarvestCursor:
    """Incremental state: ``from`` datestamp, emitted ``(identifier, datestamp)`` pairs, deleted ids.

    Datestamps are compared as strings: OAI-PMH datestamps are UTC ISO 8601 in the repository's one
    granularity, so their lexical order is their time order (a day is a prefix of its seconds).
    """

    from_: str | None = None
    seen: dict[tuple[str, str], None] = field(default_factory=dict)
    deleted: dict[str, None] = field(default_factory=dict)
    sample: str | None = None  # a datestamp met in this run: shows the repository's granularity
    max_seen: int = MAX_SEEN
    max_deleted: int = MAX_DELETED

    @classmethod
    def load(
        cls, cursor: Mapping[str, Any], *, max_seen: int = MAX_SEEN, max_deleted: int = MAX_DELETED
    ) -> HarvestCursor:
        """Read a stored cursor (``{}`` for a first harvest)."""
        pairs = [pair for pair in cursor.get("seen") or [] if isinstance(pair, list | tuple) and len(pair) == 2]
        seen = {(str(identifier), str(datestamp)): None for identifier, datestamp in pairs}
        deleted = dict.fromkeys(str(i) for i in cursor.get("deleted") or [])
        return cls(cursor.get("from") or None, seen, deleted, max_seen=max_seen, max_deleted=max_deleted)

    def is_new(self, identifier: str, datestamp: str) -> bool:
        """Tell whether a record was not emitted before (a server ignoring ``from`` is tolerated too)."""
        if self.from_ and datestamp < self.from_:
            return False
        return (identifier, datestamp) not in self.seen

    def note(self, datestamp: str) -> None:
        """Remember a datestamp the repository listed in this run (it shows the repository's granularity)."""
        self.sample = datestamp

    def mark(self, identifier: str, datestamp: str, *, deleted: bool) -> None:
        """Record that a record (or deletion) has been handled in this run."""
        self.seen[(identifier, datestamp)] = None
        self.deleted.pop(identifier, None)
        if deleted:
            self.deleted[identifier] = None

    def next_from(self, response_date: str | None, now: datetime | None = None) -> str | None:
        """Return the ``from`` after a complete harvest whose first response had ``response_date``.

        The date is put in the repository's granularity, capped at ``now`` (a server date in the future
        must not hide later changes) and never moves ``from`` backwards; ``None`` keeps ``from``.
        """
        parsed = parse_date(response_date, UTC) if response_date else None
        if parsed is None:
            return self.from_
        parsed = min(parsed, now or datetime.now(UTC))
        example = self.sample or self.from_
        seconds = example is not None and len(example) > len("YYYY-MM-DD")
        stamp = parsed.strftime("%Y-%m-%dT%H:%M:%SZ" if seconds else "%Y-%m-%d")
        return stamp if self.from_ is None or stamp > self.from_ else self.from_

    def to_dict(self, *, complete: bool, response_date: str | None = None) -> dict[str, Any]:
        """Return the cursor to store; ``from`` advances (to ``response_date``) only after a complete harvest."""
        from_ = self.from_
        seen = list(self.seen)
        if complete:
            from_ = self.next_from(response_date)
        if complete and from_ is not None:
            # Only pairs at or after the new ``from`` can be listed again (``from`` is inclusive; a record
            # can be stamped ahead of the response date).
            seen = [pair for pair in seen if pair[1] >= from_]
        cursor: dict[str, Any] = {"seen": [list(pair) for pair in seen[-self.max_seen :]]}
        cursor["deleted"] = list(self.deleted)[-self.max_deleted :]
        if from_ is not None:
            cursor["from"] = from_
        return cursor


# -- the connector ------------------------------------------------------------------------------------


class OaiPmhConnector:
    """Harvest a ``kind: oai-pmh`` source (``ListRecords``) and map Dublin Core onto records.

    Full text comes from ``dc:description`` (``oai_pmh.fulltext: record``) or from the record's first
    http(s) ``dc:identifier``, fetched and extracted (``link``), falling back to ``dc:description``.
    """

    def __init__(
        self,
        spec: SourceSpec,
        fetcher: Fetcher,
        cursor: Mapping[str, Any] | None = None,
        *,
        max_seen: int = MAX_SEEN,
        max_deleted: int = MAX_DELETED,
    ) -> None:
        self.spec = spec
        self.fetcher = fetcher
        self.endpoint = spec.location
        self.options = spec.oai_pmh
        self.tz = ZoneInfo(spec.timezone)
        self.pages = PageTextFetcher(fetcher)
        self._state = HarvestCursor.load(cursor or {}, max_seen=max_seen, max_deleted=max_deleted)
        self._next: dict[str, Any] = dict(cursor or {})  # returned unchanged if read() is never run

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield every record that is new since the cursor; a broken page ends the harvest, quarantined."""
        params = {"metadataPrefix": self.options.metadata_prefix}
        if self.options.set:
            params["set"] = self.options.set
        if self._state.from_:
            params["from"] = self._state.from_
        client = FetcherSickle(self.endpoint, self.fetcher, map_record)
        complete = False
        problem: Quarantined | None = None
        records: Iterator[Record | UnreadableRecord] | None = None
        while True:
            # Only sickle's work (requests, parsing, paging) is guarded here; our handling of a record
            # (self._item) runs outside, so its errors are never mistaken for a broken page.
            try:
                if records is None:
                    records = client.ListRecords(**params)
                item = next(records)
            except StopIteration:
                complete = True
                break
            except oaiexceptions.NoRecordsMatch:
                complete = True  # the OAI way of saying "nothing new"
                break
            except HarvestError as exc:
                problem = Quarantined(self.endpoint, f"page {client.pages}", exc.reason, exc.detail, capped(exc.raw))
                break
            except OAI_ERRORS:
                # The error's text is the repository's and is not kept; the code says what went wrong.
                detail = f"OAI-PMH error {client.error_code()}"
                problem = Quarantined(self.endpoint, f"page {client.pages}", "unexpected_document", detail)
                break
            except Exception as exc:
                if exc is client.transport_error:
                    raise  # our transport (e.g. CredentialError): a configuration error, not a broken page
                # sickle failed on the page (an OAI error with an empty code raises IndexError): a broken page.
                detail = f"sickle cannot read the page ({type(exc).__name__})"
                problem = Quarantined(
                    self.endpoint, f"page {client.pages}", "unexpected_document", detail, capped(client.last_body())
                )
                break
            yield from self._item(item)
        if problem is not None:
            yield problem
        self._next = self._state.to_dict(complete=complete, response_date=client.response_date)

    def next_cursor(self) -> dict[str, Any]:
        """Return the cursor to store after ``read()``; a broken harvest keeps ``from`` where it was."""
        return dict(self._next)

    # -- one record --------------------------------------------------------------------------------

    def _item(self, item: Record | UnreadableRecord) -> Iterator[RawRecord | Quarantined]:
        if isinstance(item, UnreadableRecord):
            yield self._quarantine("record", "unexpected_document", item.detail, item.xml)
            return
        header = item.header
        identifier = (header.identifier or "").strip()
        datestamp = (header.datestamp or "").strip()
        if not identifier:
            yield self._quarantine("record", "missing_id", "the record header has no identifier", item.xml)
            return
        if not datestamp:
            # Without a datestamp the record cannot be placed in an incremental harvest.
            yield self._quarantine(
                f"record {identifier}", "unexpected_document", "the header has no datestamp", item.xml
            )
            return
        self._state.note(datestamp)
        if not self._state.is_new(identifier, datestamp):
            return
        self._state.mark(identifier, datestamp, deleted=item.deleted)
        if item.deleted:
            return  # not a document; listed in the cursor's "deleted" for takedowns
        yield self._map(item, identifier, datestamp)

    def _map(self, item: Record, identifier: str, datestamp: str) -> RawRecord | Quarantined:
        dc = item.metadata or {}
        record = f"record {identifier}"
        url = next((v for v in _values(dc, "identifier") if v.lower().startswith(("http://", "https://"))), None)
        description = "\n\n".join(_values(dc, "description"))
        metadata = self._metadata(dc, item.header, identifier, datestamp)
        text, fetch_mode = description, "record"
        if self.options.fulltext == "link":
            page = self.pages.fetch(url) if url else PageText(None, "no_link", "no http(s) dc:identifier")
            if page.text:
                text, fetch_mode = page.text, "article"
            else:
                metadata["fulltext_error"] = page.error or "unknown"
        if not text:
            error = metadata.get("fulltext_error")
            detail = "no dc:description" + (f" and no linked text ({error})" if error else "")
            return self._quarantine(record, "missing_text", detail, item.xml)
        titles = _values(dc, "title")
        languages = _values(dc, "language")
        return RawRecord(
            native_id=identifier,
            text=text,
            title=titles[0] if titles else None,
            url=url,
            published_at=self._published(dc, datestamp),
            location=self._record_url(identifier),
            record=record,
            fetch_mode=fetch_mode,
            lang=languages[0] if languages else None,
            metadata=metadata,
        )

    def _metadata(
        self, dc: Mapping[str, list[str | None]], header: Any, identifier: str, datestamp: str
    ) -> dict[str, str]:
        metadata = {"oai_identifier": identifier, "datestamp": datestamp}
        sets = [s for s in header.setSpecs if s] or ([self.options.set] if self.options.set else [])
        if sets:
            metadata["set"] = "; ".join(sets)
        for name in ("creator", "publisher", "type", "rights"):
            values = _values(dc, name)
            if values:
                metadata[name] = "; ".join(values)
        return metadata

    def _published(self, dc: Mapping[str, list[str | None]], datestamp: str) -> datetime | None:
        for value in _values(dc, "date"):
            parsed = parse_date(value, self.tz)
            if parsed is not None:
                return parsed
        return parse_date(datestamp, UTC)  # OAI datestamps are UTC by definition

    def _record_url(self, identifier: str) -> str:
        """Return the GetRecord URL of a record: a stable address to re-fetch exactly this record."""
        params = {"verb": "GetRecord", "identifier": identifier, "metadataPrefix": self.options.metadata_prefix}
        return oai_url(self.endpoint, params)

    def _quarantine(self, record: str, reason: str, detail: str, xml: Any) -> Quarantined:
        raw = etree.tostring(xml) if xml is not None else None
        return Quarantined(self.endpoint, record, reason, detail, capped(raw))
