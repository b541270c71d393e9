"""The fetcher against a real HTTP server on 127.0.0.1, and its address guard with faked name resolution."""

import gzip
import ipaddress
import socket

import pytest

from catalog.fetch import CredentialError, Fetcher, FetchError, address_refused, default_user_agent, parse_networks
from catalog.sources import Credentials, Politeness
from tests.conftest import Route

LOOPBACK = parse_networks("127.0.0.1/32")


def fast(**overrides):
    settings = {"rate_limit_per_second": 50, "retries": 0, "backoff_seconds": 0, "read_timeout_seconds": 2}
    settings.update(overrides)
    return Politeness(**settings)


def fetcher(**overrides) -> Fetcher:
    return Fetcher(fast(**overrides), allow_networks=LOOPBACK)


# -- address guard -----------------------------------------------------------------------------------


@pytest.fixture
def no_connections(monkeypatch):
    """Fail loudly on any connection attempt; return the list of attempts (must stay empty)."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    import urllib3.util.connection

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    return attempts


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    def getaddrinfo(host, port, *args, **kwargs):
        family = socket.AF_INET6
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in answers[host]
        ] or [(family, socket.SOCK_STREAM, 6, "", ("::", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.10",
        "127.0.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address the guard must refuse, nothing binds to it
        "::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fe80::1",
        "::ffff:10.0.0.1",  # IPv4-mapped private address
        "224.0.0.1",
    ],
)
def test_guard_refuses_non_public_addresses_before_connecting(monkeypatch, no_connections, address):
    fake_dns(monkeypatch, {"nieuws.example": [address]})
    with pytest.raises(FetchError) as error:
        Fetcher(fast(respect_robots=False)).get("http://nieuws.example/artikel")
    assert error.value.reason == "address_refused"
    assert no_connections == []


def test_guard_refuses_when_any_answer_is_private(monkeypatch, no_connections):
    fake_dns(monkeypatch, {"mixed.example": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(FetchError) as error:
        Fetcher(fast(respect_robots=False)).get("https://mixed.example/")
    assert error.value.reason == "address_refused"
    assert no_connections == []


def test_guard_also_protects_the_robots_txt_request(monkeypatch, no_connections):
    fake_dns(monkeypatch, {"intern.example": ["192.168.0.2"]})
    with pytest.raises(FetchError) as error:
        Fetcher(fast()).get("http://intern.example/feed.xml")
    assert error.value.reason == "address_refused"
    assert no_connections == []


def test_public_addresses_pass_and_allow_list_opens_a_network():
    public = ipaddress.ip_address("93.184.216.34")
    assert not address_refused(public)
    assert address_refused(ipaddress.ip_address("127.0.0.1"))
    assert not address_refused(ipaddress.ip_address("127.0.0.1"), LOOPBACK)
    assert address_refused(ipaddress.ip_address("127.0.0.2"), LOOPBACK)


def test_redirect_to_a_private_address_is_refused(http_server, monkeypatch):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/go"] = Route(b"", 302, {"Location": "http://metadata.example/latest/meta-data/"})
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "metadata.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(FetchError) as error:
        fetcher().get(http_server.url("/go"))
    assert error.value.reason == "address_refused"
    assert http_server.paths() == ["/robots.txt", "/go"]


def test_loopback_needs_the_operator_allow_list(http_server):
    http_server.routes["/a"] = Route(b"x")
    with pytest.raises(FetchError) as error:
        Fetcher(fast()).get(http_server.url("/a"))
    assert error.value.reason == "address_refused"
    assert http_server.requests == []


def test_for_spec_reads_the_allow_list_from_the_environment(allow_loopback, http_server):
    from catalog.sources import parse_spec

    http_server.routes["/feed"] = Route(b"<rss/>")
    spec = parse_spec(
        {
            "id": "feed-test",
            "name": "Feed",
            "owner": {"organisation": "Test", "contact": "data@test.example"},
            "kind": "rss",
            "location": http_server.url("/feed"),
            "licence": "CC0-1.0",
            "legal_basis": "not-applicable",
            "personal_data": "none",
            "sector": "news",
            "politeness": {"respect_robots": False, "robots_override_reason": "test server without robots.txt"},
        }
    )
    assert Fetcher.for_spec(spec).get(spec.location).body == b"<rss/>"


# -- politeness ---------------------------------------------------------------------------------------


def test_identifying_user_agent_is_sent(http_server):
    http_server.routes["/a"] = Route(b"ok")
    fetcher().get(http_server.url("/a"))
    agents = {headers["user-agent"] for _, headers in http_server.requests}
    assert agents == {default_user_agent()}
    assert default_user_agent().startswith("corpusfabriek/")


def test_robots_txt_is_respected_and_fetched_once_per_host(http_server):
    http_server.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /prive/\n")
    http_server.routes["/open"] = Route(b"open")
    f = fetcher()
    assert f.get(http_server.url("/open")).body == b"open"
    with pytest.raises(FetchError) as error:
        f.get(http_server.url("/prive/dossier"))
    assert error.value.reason == "robots_disallowed"
    assert http_server.paths() == ["/robots.txt", "/open"]


def test_unreachable_robots_txt_means_disallow_and_missing_means_allow(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 503)
    http_server.routes["/a"] = Route(b"a")
    with pytest.raises(FetchError) as error:
        fetcher().get(http_server.url("/a"))
    assert error.value.reason == "robots_disallowed"
    http_server.routes["/robots.txt"] = Route(b"", 404)
    assert fetcher().get(http_server.url("/a")).body == b"a"


def test_robots_override_skips_robots_txt(http_server):
    http_server.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /\n")
    http_server.routes["/a"] = Route(b"a")
    assert (
        fetcher(respect_robots=False, robots_override_reason="agreed with the partner").get(http_server.url("/a")).body
        == b"a"
    )
    assert "/robots.txt" not in http_server.paths()


def test_rate_limit_spaces_requests_per_host(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/a"] = Route(b"a")
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    f = Fetcher(fast(rate_limit_per_second=2), allow_networks=LOOPBACK, sleep=sleep, clock=lambda: now[0])
    for _ in range(3):
        f.get(http_server.url("/a"))
    # robots.txt + 3 pages at 2 per second: three waits of half a second
    assert slept == [0.5, 0.5, 0.5]


def test_crawl_delay_from_robots_txt_slows_down(http_server):
    http_server.routes["/robots.txt"] = Route(b"User-agent: *\nCrawl-delay: 3\n")
    http_server.routes["/a"] = Route(b"a")
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    f = Fetcher(fast(rate_limit_per_second=10), allow_networks=LOOPBACK, sleep=sleep, clock=lambda: now[0])
    f.get(http_server.url("/a"))
    f.get(http_server.url("/a"))
    assert slept[-1] == pytest.approx(3.0)


def test_retries_with_backoff_on_503_then_success(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    answers = iter([Route(b"", 503), Route(b"", 503), Route(b"eindelijk")])
    http_server.routes["/flaky"] = lambda path, headers: next(answers)
    slept = []
    f = Fetcher(fast(retries=3, backoff_seconds=0.5), allow_networks=LOOPBACK, sleep=slept.append)
    assert f.get(http_server.url("/flaky")).body == b"eindelijk"
    assert [s for s in slept if s >= 0.5] == [0.5, 1.0]


def test_retry_after_header_is_honoured(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    answers = iter([Route(b"", 429, {"Retry-After": "7"}), Route(b"ok")])
    http_server.routes["/busy"] = lambda path, headers: next(answers)
    slept = []
    f = Fetcher(fast(retries=1), allow_networks=LOOPBACK, sleep=slept.append)
    assert f.get(http_server.url("/busy")).body == b"ok"
    assert 7.0 in slept


def test_http_errors_after_retries(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/kapot"] = Route(b"", 500)
    http_server.routes["/weg"] = Route(b"", 404)
    f = Fetcher(fast(retries=2), allow_networks=LOOPBACK, sleep=lambda s: None)
    with pytest.raises(FetchError) as error:
        f.get(http_server.url("/kapot"))
    assert (error.value.reason, error.value.status) == ("http_error", 500)
    assert http_server.paths().count("/kapot") == 3
    with pytest.raises(FetchError) as error:
        f.get(http_server.url("/weg"))
    assert (error.value.reason, error.value.status) == ("http_error", 404)
    assert http_server.paths().count("/weg") == 1  # a 404 is not retried


def test_read_timeout(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/traag"] = Route(b"te laat", delay=3.0)
    with pytest.raises(FetchError) as error:
        fetcher(read_timeout_seconds=0.9).get(http_server.url("/traag"))
    assert error.value.reason == "timeout"


def test_connection_refused_is_a_connection_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(FetchError) as error:
        fetcher(respect_robots=False, robots_override_reason="no server at all").get(f"http://127.0.0.1:{port}/")
    assert error.value.reason == "connection_error"


# -- bounds ---------------------------------------------------------------------------------------------


def test_oversized_response_is_refused(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/groot"] = Route(b"x" * 5000)
    with pytest.raises(FetchError) as error:
        fetcher(max_response_bytes=1000).get(http_server.url("/groot"))
    assert error.value.reason == "response_too_large"


def test_gzip_bomb_stops_at_the_limit(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 30_000
    http_server.routes["/bom"] = Route(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError) as error:
        fetcher(max_response_bytes=1_000_000).get(http_server.url("/bom"))
    assert error.value.reason == "decompressed_too_large"


def test_gzip_bodies_are_decoded(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/gz"] = Route(gzip.compress(b"Groningen" * 10), headers={"Content-Encoding": "gzip"})
    assert fetcher().get(http_server.url("/gz")).body == b"Groningen" * 10


def test_download_streams_to_a_file_with_the_same_limits(http_server, tmp_path):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/archief.warc.gz"] = Route(b"w" * 3000)
    target = tmp_path / "archief.warc.gz"
    response = fetcher().download(http_server.url("/archief.warc.gz"), str(target))
    assert response.body == b"" and target.read_bytes() == b"w" * 3000
    with pytest.raises(FetchError):
        fetcher(max_response_bytes=100).download(http_server.url("/archief.warc.gz"), str(target))


def test_conditional_requests_with_etag_and_last_modified(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)

    def feed(path, headers):
        if (
            headers.get("if-none-match") == '"v1"'
            or headers.get("if-modified-since") == "Mon, 02 May 2022 10:00:00 GMT"
        ):
            return Route(b"", 304)
        return Route(b"feed", headers={"ETag": '"v1"', "Last-Modified": "Mon, 02 May 2022 10:00:00 GMT"})

    http_server.routes["/feed"] = feed
    f = fetcher()
    first = f.get(http_server.url("/feed"))
    assert (first.etag, first.last_modified) == ('"v1"', "Mon, 02 May 2022 10:00:00 GMT")
    assert f.get(http_server.url("/feed"), etag=first.etag).not_modified
    assert f.get(http_server.url("/feed"), last_modified=first.last_modified).not_modified


def test_invalid_urls_are_refused():
    for url in (
        "ftp://example.org/x",
        "file:///etc/passwd",
        "/relative",
        "http:///nohost",
        "http://x:99999/",
        "http://[::1/",
    ):
        with pytest.raises(FetchError) as error:
            fetcher().get(url)
        assert error.value.reason == "invalid_url"


# -- credentials ------------------------------------------------------------------------------------------


def test_credentials_come_from_the_environment_and_stay_on_the_source_host(http_server, monkeypatch):
    monkeypatch.setenv("SOURCE_PARTNER_TOKEN", "token-for-test-only")
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/data"] = Route(b"data")
    creds = Credentials(token_env="SOURCE_PARTNER_TOKEN")
    own = Fetcher(
        fast(), allow_networks=LOOPBACK, credentials=creds, credential_origin=("http", "127.0.0.1", http_server.port)
    )
    own.get(http_server.url("/data"))
    other = Fetcher(
        fast(),
        allow_networks=LOOPBACK,
        credentials=creds,
        credential_origin=("http", "partner.example", http_server.port),
    )
    other.get(http_server.url("/data"))
    sent = [headers.get("authorization") for path, headers in http_server.requests if path == "/data"]
    assert sent == ["Bearer token-for-test-only", None]


def test_missing_credential_variable_names_the_variable_not_a_value(http_server, monkeypatch):
    monkeypatch.delenv("SOURCE_PARTNER_TOKEN", raising=False)
    http_server.routes["/robots.txt"] = Route(b"", 404)
    creds = Credentials(token_env="SOURCE_PARTNER_TOKEN")
    f = Fetcher(
        fast(), allow_networks=LOOPBACK, credentials=creds, credential_origin=("http", "127.0.0.1", http_server.port)
    )
    with pytest.raises(CredentialError, match="SOURCE_PARTNER_TOKEN is not set"):
        f.get(http_server.url("/data"))


def test_error_messages_never_carry_query_strings(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    with pytest.raises(FetchError) as error:
        fetcher().get(http_server.url("/zoek?naam=Jan+de+Vries&bsn=123"))
    assert "Vries" not in str(error.value) and "bsn" not in str(error.value)


def test_robots_txt_redirect_is_followed(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 301, {"Location": "/echte-robots.txt"})
    http_server.routes["/echte-robots.txt"] = Route(b"User-agent: *\nDisallow: /geheim/\n")
    http_server.routes["/open"] = Route(b"open")
    f = fetcher()
    assert f.get(http_server.url("/open")).body == b"open"
    with pytest.raises(FetchError) as error:
        f.get(http_server.url("/geheim/x"))
    assert error.value.reason == "robots_disallowed"


def test_retry_after_as_http_date(http_server):
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    http_server.routes["/robots.txt"] = Route(b"", 404)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    answers = iter([Route(b"", 503, {"Retry-After": later}), Route(b"ok")])
    http_server.routes["/druk"] = lambda path, headers: next(answers)
    slept = []
    assert (
        Fetcher(fast(retries=1), allow_networks=LOOPBACK, sleep=slept.append).get(http_server.url("/druk")).body
        == b"ok"
    )
    assert any(20 <= s <= 31 for s in slept)


def test_a_failed_read_never_leaks_into_the_next_response(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/groot"] = Route(b"G" * 5000)
    http_server.routes["/klein"] = Route(b"klein")
    f = fetcher(max_response_bytes=2000)
    for _ in range(3):
        with pytest.raises(FetchError):
            f.get(http_server.url("/groot"))
        assert f.get(http_server.url("/klein")).body == b"klein"


def test_a_retried_download_starts_the_file_afresh(http_server, tmp_path):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    answers = iter([Route(b"x" * 1000, delay=3.0), Route(b"y" * 200)])
    http_server.routes["/stuk"] = lambda path, headers: next(answers)
    target = tmp_path / "stuk"
    f = Fetcher(fast(retries=1, read_timeout_seconds=0.9), allow_networks=LOOPBACK, sleep=lambda s: None)
    f.download(http_server.url("/stuk"), str(target))
    assert target.read_bytes() == b"y" * 200


def test_multi_member_gzip_is_read_whole_and_a_cut_off_stream_is_refused(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    members = gzip.compress(b"een\n") + gzip.compress(b"twee\n") + gzip.compress(b"drie\n")
    http_server.routes["/leden"] = Route(members, headers={"Content-Encoding": "gzip"})
    assert fetcher().get(http_server.url("/leden")).body == b"een\ntwee\ndrie\n"
    cut = gzip.compress(b"een lange tekst " * 500)[:-20]
    http_server.routes["/afgekapt"] = Route(cut, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError) as error:
        fetcher().get(http_server.url("/afgekapt"))
    assert error.value.reason == "connection_error"


def test_unparseable_redirect_and_host_names_are_invalid_urls(http_server):
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/omleiding"] = Route(b"", 302, {"Location": "http://[oops/"})
    with pytest.raises(FetchError) as error:
        fetcher().get(http_server.url("/omleiding"))
    assert error.value.reason == "invalid_url"
    with pytest.raises(FetchError) as error:
        fetcher().get("http://a..b/x")
    assert error.value.reason == "invalid_url"


@pytest.mark.parametrize(
    "address", ["2002:7f00:1::", "64:ff9b::7f00:1", "::7f00:1", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "fec0::1"]
)
def test_ipv6_forms_that_embed_a_private_ipv4_address_are_refused(address):
    assert address_refused(ipaddress.ip_address(address))


def test_internationalised_host_names_are_sent_in_ascii(monkeypatch, http_server):
    ascii_host = "rëgio.example".encode("idna").decode()
    assert ascii_host.startswith("xn--")
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "127.0.0.1":  # urllib3 resolves the checked address itself when it connects
            assert host == ascii_host  # the IDNA form is resolved, never the raw Unicode name
        return real("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    http_server.routes["/robots.txt"] = Route(b"", 404)
    http_server.routes["/"] = Route(b"welkom")
    url = f"http://rëgio.example:{http_server.port}/"
    assert fetcher().get(url).body == b"welkom"
    assert {headers["host"] for _, headers in http_server.requests} == {f"{ascii_host}:{http_server.port}"}


@pytest.mark.parametrize("encoding", ["shift_jis", "euc-jp", "utf-7", "idna"])
def test_xml_in_encodings_expat_refuses_is_an_encoding_error(encoding):
    from catalog.xmlsafe import XmlError, parse_xml

    with pytest.raises(XmlError) as error:
        parse_xml(f'<?xml version="1.0" encoding="{encoding}"?><a>tekst</a>'.encode())
    assert error.value.reason == "encoding_error"
