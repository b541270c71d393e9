"""The only way connectors reach the network: polite, bounded and address-guarded HTTP.

- **Address guard.** Host names are resolved first; if any address is loopback, private, link-local,
  multicast, reserved, a cloud metadata address or otherwise not globally routable, the request is
  refused before a connection is attempted, unless the operator allow-listed that network
  (``CORPUSFABRIEK_ALLOW_NETWORKS``, comma-separated CIDRs). The connection then goes to the address that
  was checked (TLS still verifies the host name), so a second DNS answer cannot redirect it (rebinding).
  Every redirect hop is checked again.
- **Politeness.** An identifying user agent; robots.txt respected (RFC 9309: unreachable robots.txt means
  disallow, a missing one allows; ``Crawl-delay`` honoured); a minimum interval per host; retries with
  exponential backoff on timeouts, connection errors, 429 and 5xx (``Retry-After`` honoured up to 60 s).
- **Bounds.** Connect and read timeouts; a maximum response size checked while streaming; compressed
  bodies decompressed incrementally with the same limit (compression bombs stop early).
- **Credentials** come from the environment variables a spec names and are sent only to the source's own
  host, never to a redirect target or linked page elsewhere.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
import time
import urllib.robotparser
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from catalog.settings import ENV_ALLOW_NETWORKS, Settings

if TYPE_CHECKING:
    from catalog.sources import Credentials, Politeness, SourceSpec

ROBOTS_AGENT = "corpusfabriek"
MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024

#: Cloud metadata endpoints; most are link-local already, listed so the intent is explicit.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def default_user_agent() -> str:
    """Return the identifying user agent (``CORPUSFABRIEK_USER_AGENT`` overrides it)."""
    settings = Settings.read()
    if settings.user_agent:
        return settings.user_agent
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("corpusfabriek")
    except PackageNotFoundError:
        package = "0"
    contact = f"; contact: {settings.contact}" if settings.contact else ""
    return f"corpusfabriek/{package} (Dutch AI factory corpus pipeline; respects robots.txt{contact})"


class FetchError(Exception):
    """A fetch failed; ``reason`` is a machine-readable quarantine reason, ``detail`` a safe description."""

    def __init__(self, reason: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.status = status


@dataclass
class Response:
    """An HTTP response with its body decoded (gzip/deflate) and size-limited."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""

    @property
    def etag(self) -> str | None:
        """The ETag validator, if the server sent one."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """The Last-Modified validator, if the server sent one."""
        return self.headers.get("last-modified")

    @property
    def not_modified(self) -> bool:
        """True for 304 Not Modified (the conditional request found nothing new)."""
        return self.status == 304

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case (``text/html``)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_networks(value: str | Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parse an allow-list of CIDRs (a comma-separated string or an iterable)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def address_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    allow: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
) -> bool:
    """Tell whether an address may not be contacted (not globally routable, or a metadata endpoint)."""
    if any(address in network for network in allow):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo, NAT64, IPv4-compatible) are judged
        # by that address: Python treats several of them as global.
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and (address in _NAT64 or address in _IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refused(embedded, allow)
        if address in _SITE_LOCAL:
            return True
    return address in METADATA_ADDRESSES or not address.is_global or address.is_multicast


@dataclass
class _HostState:
    next_allowed: float = 0.0
    robots: urllib.robotparser.RobotFileParser | None = None
    crawl_delay: float = 0.0


@dataclass
class Fetcher:
    """A polite, bounded, address-guarded HTTP client for one source."""

    politeness: Politeness
    user_agent: str = field(default_factory=default_user_agent)
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    credentials: Credentials | None = None
    credential_origin: tuple[str, str, int] | None = None  # (scheme, host, port) the credentials belong to
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _hosts: dict[str, _HostState] = field(default_factory=dict, repr=False)
    _pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = field(default_factory=dict, repr=False)

    @classmethod
    def for_spec(cls, spec: SourceSpec, env: Mapping[str, str] | None = None) -> Fetcher:
        """Build the fetcher of a source: its politeness and credentials, the operator's allow-list."""
        origin = _split(spec.location)[:3] if spec.is_remote else None
        return cls(
            politeness=spec.politeness,
            allow_networks=parse_networks(Settings.read(env).allow_networks),
            credentials=spec.credentials,
            credential_origin=origin,
        )

    # -- public --------------------------------------------------------------------------------------

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET a URL into memory, following redirects; raise :class:`FetchError` on any failure."""
        return self._fetch(url, etag=etag, last_modified=last_modified, sink=None)

    def download(self, url: str, path: str, *, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET a URL into a local file (for large inputs such as WARC files); ``body`` stays empty."""
        with open(path, "wb") as sink:
            return self._fetch(url, etag=etag, last_modified=last_modified, sink=sink)

    # -- the request loop ----------------------------------------------------------------------------

    def _fetch(self, url: str, *, etag: str | None, last_modified: str | None, sink: BinaryIO | None) -> Response:
        for _hop in range(MAX_REDIRECTS + 1):
            if self.politeness.respect_robots and not self._robots_allow(url):
                raise FetchError("robots_disallowed", f"robots.txt disallows {_safe_url(url)}")
            response = self._with_retries(url, etag=etag, last_modified=last_modified, sink=sink)
            if response.status in REDIRECT_STATUSES and "location" in response.headers:
                url = _join(url, response.headers["location"])
                etag = last_modified = None  # validators belong to the original URL
                if sink is not None:
                    sink.seek(0)
                    sink.truncate()
                continue
            if response.status >= 400:
                raise FetchError("http_error", f"HTTP {response.status} from {_safe_url(url)}", response.status)
            return response
        raise FetchError("http_error", f"more than {MAX_REDIRECTS} redirects from {_safe_url(url)}")

    def _with_retries(
        self, url: str, *, etag: str | None, last_modified: str | None, sink: BinaryIO | None
    ) -> Response:
        attempts = self.politeness.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._request(url, etag=etag, last_modified=last_modified, sink=sink)
            except FetchError as exc:
                if exc.reason not in ("timeout", "connection_error") or last:
                    raise
                if sink is not None:  # the retry starts the file afresh, never appends to a partial body
                    sink.seek(0)
                    sink.truncate()
                self.sleep(self.politeness.backoff_seconds * 2**attempt)
                continue
            if response.status in RETRY_STATUSES and not last:
                self.sleep(self._retry_delay(response, attempt))
                if sink is not None:
                    sink.seek(0)
                    sink.truncate()
                continue
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_delay(self, response: Response, attempt: int) -> float:
        retry_after = response.headers.get("retry-after", "").strip()
        if retry_after.isdigit():
            return min(float(retry_after), 60.0)
        if retry_after:
            from email.utils import parsedate_to_datetime

            try:
                wait = (parsedate_to_datetime(retry_after) - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                wait = -1.0
            if wait >= 0:
                return min(wait, 60.0)
        return self.politeness.backoff_seconds * 2**attempt

    def _request(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        sink: BinaryIO | None,
    ) -> Response:
        scheme, host, port, netloc, path = _split(url)
        address = self._resolve(host, port)
        self._wait_turn(host)
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate", "Host": netloc}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        headers.update(self._auth_headers(scheme, host, port))
        pool = self._pool(scheme, host, port, address)
        try:
            raw = pool.urlopen(
                "GET",
                path,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                assert_same_host=False,
            )
        except NewConnectionError as exc:  # checked first: urllib3 derives it from ConnectTimeoutError
            raise FetchError("connection_error", f"{type(exc).__name__} for {_safe_url(url)}") from None
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise FetchError("timeout", f"{type(exc).__name__} for {_safe_url(url)}") from None
        except MaxRetryError as exc:
            timed_out = isinstance(exc.reason, ConnectTimeoutError | ReadTimeoutError) and not isinstance(
                exc.reason, NewConnectionError
            )
            reason = "timeout" if timed_out else "connection_error"
            raise FetchError(reason, f"{type(exc.reason).__name__} for {_safe_url(url)}") from None
        except (ProtocolError, HTTPError, OSError) as exc:
            raise FetchError("connection_error", f"{type(exc).__name__} for {_safe_url(url)}") from None
        complete = False
        try:
            response_headers = {k.lower(): v for k, v in raw.headers.items()}
            body = self._read_body(raw, response_headers, sink, url)
            complete = True
        except (ReadTimeoutError, TimeoutError) as exc:
            raise FetchError("timeout", f"{type(exc).__name__} while reading {_safe_url(url)}") from None
        except (ProtocolError, HTTPError, OSError) as exc:
            raise FetchError("connection_error", f"{type(exc).__name__} while reading {_safe_url(url)}") from None
        finally:
            if not complete:
                # Unread bytes would be served as the next response on a reused connection: close it.
                raw.close()
            raw.release_conn()
        return Response(url=url, status=raw.status, headers=response_headers, body=body)

    # -- pieces --------------------------------------------------------------------------------------

    def _resolve(self, host: str, port: int) -> str:
        """Resolve and check every address of a host; return the one to connect to."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise FetchError("connection_error", f"cannot resolve host {host}") from None
        except UnicodeError:  # a host name IDNA cannot encode (empty or overlong label)
            raise FetchError("invalid_url", "the host name is not valid") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        refused = [a for a in addresses if address_refused(a, self.allow_networks)]
        if not addresses or refused:
            raise FetchError(
                "address_refused",
                f"{host} resolves to a non-public address ({refused[0] if refused else 'none'}); "
                f"allow-list it in {ENV_ALLOW_NETWORKS} if this is intended",
            )
        return str(addresses[0])

    def _pool(self, scheme: str, host: str, port: int, address: str) -> urllib3.HTTPConnectionPool:
        key = (scheme, host, port, address)
        if key not in self._pools:
            timeout = urllib3.Timeout(
                connect=self.politeness.connect_timeout_seconds, read=self.politeness.read_timeout_seconds
            )
            if scheme == "https":
                import certifi

                self._pools[key] = urllib3.HTTPSConnectionPool(
                    address,
                    port,
                    timeout=timeout,
                    maxsize=1,
                    server_hostname=host,
                    assert_hostname=host,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=certifi.where(),
                )
            else:
                self._pools[key] = urllib3.HTTPConnectionPool(address, port, timeout=timeout, maxsize=1)
        return self._pools[key]

    def _wait_turn(self, host: str) -> None:
        state = self._hosts.setdefault(host, _HostState())
        now = self.clock()
        if state.next_allowed > now:
            self.sleep(state.next_allowed - now)
        interval = max(1.0 / self.politeness.rate_limit_per_second, state.crawl_delay)
        state.next_allowed = max(now, state.next_allowed) + interval

    def _auth_headers(self, scheme: str, host: str, port: int) -> dict[str, str]:
        creds = self.credentials
        # Same scheme, host and port only: never to another port, a downgrade to http, or a linked site.
        if creds is None or (scheme, host, port) != self.credential_origin:
            return {}
        if creds.token_env:
            return {"Authorization": f"Bearer {_env_value(creds.token_env)}"}
        if creds.username_env and creds.password_env:
            pair = f"{_env_value(creds.username_env)}:{_env_value(creds.password_env)}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {}

    def _robots_allow(self, url: str) -> bool:
        scheme, host, _port, netloc, _path = _split(url)
        state = self._hosts.setdefault(host, _HostState())
        if state.robots is None:
            state.robots = self._load_robots(f"{scheme}://{netloc}/robots.txt")
            delay = state.robots.crawl_delay(ROBOTS_AGENT)
            state.crawl_delay = min(float(delay), 60.0) if delay else 0.0
        return state.robots.can_fetch(ROBOTS_AGENT, url)

    def _load_robots(self, robots_url: str) -> urllib.robotparser.RobotFileParser:
        """Fetch and parse robots.txt per RFC 9309 (redirects followed, unreachable means disallow)."""
        parser = urllib.robotparser.RobotFileParser()
        url = robots_url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                response = self._with_retries(url, etag=None, last_modified=None, sink=None)
                if response.status in REDIRECT_STATUSES and "location" in response.headers:
                    url = _join(url, response.headers["location"])
                    continue
                break
            else:
                parser.disallow_all = True
                return parser
        except FetchError as exc:
            if exc.reason in ("address_refused", "invalid_url"):
                raise  # a property of the host, not of its robots.txt
            parser.disallow_all = True
            return parser
        if response.status in (401, 403) or response.status >= 500 or response.status in REDIRECT_STATUSES:
            parser.disallow_all = True
        elif response.status >= 400:
            parser.allow_all = True
        else:
            parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
        return parser

    def _read_body(
        self, raw: urllib3.BaseHTTPResponse, headers: dict[str, str], sink: BinaryIO | None, url: str
    ) -> bytes:
        limit = self.politeness.max_response_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError("response_too_large", f"{declared} bytes declared, limit {limit}")
        encoding = headers.get("content-encoding", "").strip().lower()
        inflater = _Inflater() if encoding in ("gzip", "x-gzip", "deflate") else None
        buffer = bytearray()
        received = written = 0
        for chunk in raw.stream(CHUNK, decode_content=False):
            received += len(chunk)
            if received > limit:
                raise FetchError("response_too_large", f"more than {limit} bytes from {_safe_url(url)}")
            for piece in inflater.feed(chunk) if inflater else (chunk,):
                written += len(piece)
                if written > limit:
                    raise FetchError("decompressed_too_large", f"decompresses past {limit} bytes: {_safe_url(url)}")
                if sink is not None:
                    sink.write(piece)
                else:
                    buffer += piece
        if inflater is not None and received:
            inflater.finish()
        return bytes(buffer)


class _Inflater:
    """Incremental gzip/deflate decoding that follows every gzip member and notices a cut-off stream."""

    def __init__(self) -> None:
        self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)

    def feed(self, chunk: bytes) -> Iterable[bytes]:
        """Yield decoded pieces of at most CHUNK bytes."""
        data = chunk
        try:
            while data:
                yield self._decoder.decompress(data, CHUNK)
                data = self._decoder.unconsumed_tail
                if self._decoder.eof and self._decoder.unused_data:
                    # A multi-member gzip body (concatenated members, as WARC files are): start the next.
                    data = self._decoder.unused_data
                    self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)
        except zlib.error:
            raise FetchError("connection_error", "the compressed body is corrupt") from None

    def finish(self) -> None:
        """Refuse a body whose compressed stream ended early (a silently truncated response)."""
        if not self._decoder.eof:
            raise FetchError("connection_error", "the compressed body ends before its end marker")


class CredentialError(RuntimeError):
    """A credential a spec names is missing from the environment: a configuration error, not bad input."""


def _split(url: str) -> tuple[str, str, int, str, str]:
    """Return scheme, host, port, netloc and path+query of an absolute http(s) URL; refuse anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # e.g. a port out of range or a broken IPv6 literal
        raise FetchError("invalid_url", "the URL cannot be parsed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("invalid_url", "only absolute http(s) URLs are fetched")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        # Host header and connection use the ASCII (IDNA) form of an internationalised host name.
        host = parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
    except UnicodeError:
        raise FetchError("invalid_url", "the host name is not valid") from None
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host:  # an IPv6 literal keeps its brackets
        netloc = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    return parts.scheme, host, port, netloc, path


def _join(base: str, location: str) -> str:
    """Resolve a redirect target; a target that cannot be parsed is an invalid URL, not a crash."""
    try:
        return urljoin(base, location)
    except ValueError:
        raise FetchError("invalid_url", "the redirect target cannot be parsed") from None


def _env_value(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise CredentialError(f"credential environment variable {name} is not set")
    return value


def _safe_url(url: str) -> str:
    """Return a URL fit for messages: scheme, host and path (queries may carry tokens or personal data)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
