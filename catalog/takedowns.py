"""Takedown and opt-out requests: an append-only list in storage that every later release honours.

A request names what to take out: one document (``doc_id``), a page (``url``), everything under a URL
prefix (``url_prefix``) or a whole source (``source``). Each request is its own file,
``catalog/takedowns/<recorded at>-<id>.json``, written once and never changed or removed: the list is its
own audit trail (what, why, for whom, recorded by whom and when).

Every release built after a request leaves its documents out (excluded with reason ``takedown``), and so
does every later one: a re-delivery of the same item has the same ``doc_id`` and URL, so it is taken out
again. URLs are matched against the documents' original URLs in the restricted clean zone (a release holds
pseudonymised URLs): exactly for ``url``, by their beginning for ``url_prefix``. The request files sit
under ``catalog/`` (not published): a URL can itself be personal data.
"""

from __future__ import annotations

import getpass
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from catalog.documents import utc_now
from catalog.releases import Manifest, read_parts_sql
from catalog.storage import Storage, sql_quote
from catalog.zones import clean_path

#: Folder of the request files.
TAKEDOWNS = "catalog/takedowns"
#: What a request can name.
KINDS = ("doc_id", "url", "url_prefix", "source")
#: The reason of a document a release leaves out for a request.
TAKEDOWN = "takedown"


class TakedownError(ValueError):
    """A takedown request is malformed, or a stored one cannot be read."""


@dataclass(frozen=True)
class Takedown:
    """One recorded request: what it names (``kind``, ``value``), why, for whom, and who recorded it when."""

    id: str
    recorded_at: str
    kind: str
    value: str
    reason: str
    requester: str | None
    recorded_by: str


def _recorder() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def record_takedown(
    storage: Storage,
    kind: str,
    value: str,
    reason: str,
    requester: str | None = None,
    *,
    now: datetime | None = None,
) -> Takedown:
    """Append a request to the list; return it.

    :raises TakedownError: an unknown kind, an empty value or reason, or a URL that is not http(s).
    """
    value, reason = value.strip(), reason.strip()
    if kind not in KINDS:
        raise TakedownError(f"unknown takedown kind {kind!r}: one of {', '.join(KINDS)}")
    if not value:
        raise TakedownError(f"a takedown by {kind} needs a value")
    if not reason:
        raise TakedownError("a takedown needs a reason (--reason)")
    if kind in ("url", "url_prefix") and not value.lower().startswith(("http://", "https://")):
        raise TakedownError(f"a takedown by {kind} needs an http(s) URL")
    moment = now or utc_now()
    request = Takedown(
        id=uuid.uuid4().hex[:12],
        recorded_at=moment.isoformat(timespec="microseconds"),
        kind=kind,
        value=value,
        reason=reason,
        requester=(requester or "").strip() or None,
        recorded_by=_recorder(),
    )
    path = f"{TAKEDOWNS}/{moment.strftime('%Y%m%dT%H%M%S%fZ')}-{request.id}.json"
    storage.write_json(path, asdict(request))
    return request


def list_takedowns(storage: Storage, *, before: str | None = None, after: str | None = None) -> list[Takedown]:
    """Return the recorded requests, oldest first (only those recorded before / after an ISO time, if given).

    :raises TakedownError: a request file that is not a request (the list must never be ignored in part).
    """
    requests = []
    for path in storage.glob(f"{TAKEDOWNS}/*.json"):
        try:
            request = Takedown(**storage.read_json(path))
        except (TypeError, ValueError) as exc:
            raise TakedownError(f"{path}: not a takedown request ({type(exc).__name__})") from exc
        if before is not None and _instant(request.recorded_at) >= _instant(before):
            continue
        if after is not None and _instant(request.recorded_at) < _instant(after):
            continue
        requests.append(request)
    return sorted(requests, key=lambda r: (_instant(r.recorded_at), r.id))


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def takedowns_digest(requests: Iterable[Takedown]) -> list[str]:
    """Return what a release's inputs digest records of the list: the ids of the requests, in order."""
    return [request.id for request in requests]


def source_takedowns(requests: Sequence[Takedown]) -> dict[str, str]:
    """Return ``{source_id: request id}`` of the requests that take a whole source out (the oldest wins)."""
    return {r.value: r.id for r in reversed(requests) if r.kind == "source"}


def matched_documents(
    storage: Storage, con: Any, requests: Sequence[Takedown], sources: Sequence[str]
) -> dict[str, str]:
    """Return ``{doc_id: request id}`` of the sources' documents the requests name (the oldest request wins).

    Reads ``doc_id``, ``source_id`` and ``url`` of the sources' clean zones (where the original URLs are);
    a ``doc_id`` request names its document even when no clean zone holds it any more.
    """
    order = {request.id: n for n, request in enumerate(requests)}
    found: dict[str, int] = {}  # doc_id -> the position of the oldest request naming it
    for n, request in enumerate(requests):
        if request.kind == "doc_id":
            found.setdefault(request.value, n)
    zones = [storage.url(clean_path(source)) for source in sources if storage.exists(clean_path(source))]
    wanted = [r for r in requests if r.kind != "doc_id"]
    if zones and wanted:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE takedown_requests (n INTEGER, id VARCHAR, kind VARCHAR, value VARCHAR)"
        )
        con.executemany(
            "INSERT INTO takedown_requests VALUES (?, ?, ?, ?)", [(order[r.id], r.id, r.kind, r.value) for r in wanted]
        )
        rows = con.execute(
            f"""
            SELECT c.doc_id, min(t.n)
            FROM read_parquet([{", ".join(sql_quote(zone) for zone in zones)}]) c
            JOIN takedown_requests t
              ON (t.kind = 'url' AND c.url = t.value)
              OR (t.kind = 'url_prefix' AND starts_with(c.url, t.value))
              OR (t.kind = 'source' AND c.source_id = t.value)
            GROUP BY c.doc_id
            """
        ).fetchall()
        for doc_id, n in rows:
            found[doc_id] = min(n, found.get(doc_id, n))
    return {doc_id: requests[n].id for doc_id, n in found.items()}


def taken_down_in(storage: Storage, con: Any, manifest: Manifest, requests: Sequence[Takedown]) -> list[dict[str, Any]]:
    """Return the documents of a release that the requests name: ``doc_id``, ``source_id``, ``takedown``.

    Compares ids only (never texts), over the release's parts.
    """
    if not requests or not manifest["files"]:
        return []
    sources = [source["source_id"] for source in manifest["sources"]]
    matched = matched_documents(storage, con, requests, sources)
    whole = source_takedowns(requests)
    con.execute("CREATE OR REPLACE TEMP TABLE takedown_matches (doc_id VARCHAR, request VARCHAR)")
    if matched:
        con.executemany("INSERT INTO takedown_matches VALUES (?, ?)", list(matched.items()))
    con.execute("CREATE OR REPLACE TEMP TABLE takedown_sources (source_id VARCHAR, request VARCHAR)")
    if whole:
        con.executemany("INSERT INTO takedown_sources VALUES (?, ?)", list(whole.items()))
    rows = con.execute(
        f"""
        SELECT p.doc_id, p.source_id, coalesce(m.request, s.request)
        FROM {read_parts_sql(storage, manifest)} p
        LEFT JOIN takedown_matches m ON m.doc_id = p.doc_id
        LEFT JOIN takedown_sources s ON s.source_id = p.source_id
        WHERE m.request IS NOT NULL OR s.request IS NOT NULL
        ORDER BY p.source_id, p.doc_id
        """
    ).fetchall()
    return [{"doc_id": doc, "source_id": source, "takedown": request} for doc, source, request in rows]
