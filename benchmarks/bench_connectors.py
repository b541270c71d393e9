"""Benchmark: the ``rss`` and ``warc`` source connectors on the real evaluation data in ``../shared/data``.

Parts (each is skipped with a message when its data is missing):

1. **RSS** — the real officielebekendmakingen.nl feed (150 items) is served from a local ``http.server`` on
   127.0.0.1 (random free port; ``/robots.txt`` answers 404) and ingested with ``ingest_source``:

   - *feed-only*: ``rss.fetch_articles: false``; the item links (officielebekendmakingen.nl) are never fetched;
   - *articles*: a served copy of the feed whose item links are rewritten to ``/artikel/N``, where a small
     Dutch HTML page with navigation boilerplate waits; ``fetch_articles: true`` at the highest rate a spec
     allows (50 requests/s). The time the fetcher spends in politeness waits is measured and reported, so
     throughput is shown with and without it.

   Each mode is followed by an incremental run on the same storage (expected: 0 new items, feed 304).
2. **WARC** — every ``warc/*.warc.gz`` through ``WarcConnector`` via ``ingest_source`` (and the connector
   alone, without the Parquet writing), plus a bare warcio ``ArchiveIterator`` pass over the same files
   (records iterated, content read) to show the cost of extraction (trafilatura) over plain parsing.
3. A summary table.

No traffic leaves 127.0.0.1: the fetcher used here refuses every other host before resolving it, and an
audit hook refuses any socket connection or name lookup that is not for 127.0.0.1.

    python benchmarks/bench_connectors.py                  # 3 RSS runs, 5 WARC runs per measurement
    python benchmarks/bench_connectors.py --repeat 5 --warc-repeat 20
    python benchmarks/bench_connectors.py --data /path/to/shared/data

Times are medians over the repeats (fresh storage each time); counts come from the first run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import os
import re
import socketserver
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
FEED_NAME = "officielebekendmakingen_rss_2022-05-02.xml"
LOOPBACK = "127.0.0.1"
#: The highest ``politeness.rate_limit_per_second`` a source spec accepts.
MAX_RATE = 50.0

# -- network containment -------------------------------------------------------------------------------

BLOCKED: list[str] = []
CONNECTS: Counter[str] = Counter()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Refuse every socket connection and name lookup that is not for 127.0.0.1 (unix sockets aside)."""
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple):
            host = str(address[0])
            if host != LOOPBACK:
                BLOCKED.append(f"connect {host}:{address[1]}")
                raise ConnectionRefusedError(f"benchmark: connection to {host} refused (127.0.0.1 only)")
            CONNECTS[host] += 1
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host not in (None, LOOPBACK):
            BLOCKED.append(f"{event} {host}")
            raise OSError(f"benchmark: name lookup of {host} refused (127.0.0.1 only)")


def local_only_fetcher_class() -> type:
    """Return a Fetcher that refuses every host but 127.0.0.1 before resolving it (a clean quarantine)."""
    from catalog.fetch import Fetcher, FetchError

    class LocalOnlyFetcher(Fetcher):
        def _resolve(self, host: str, port: int) -> str:
            if host != LOOPBACK:
                BLOCKED.append(f"fetch {host}")
                raise FetchError("address_refused", f"benchmark: {host} is not the local test server")
            return super()._resolve(host, port)

    return LocalOnlyFetcher


@contextlib.contextmanager
def allow_loopback() -> Iterator[None]:
    """Allow-list 127.0.0.1/32 for the address guard while the local server is used, then restore."""
    from catalog.settings import ENV_ALLOW_NETWORKS

    previous = os.environ.get(ENV_ALLOW_NETWORKS)
    os.environ[ENV_ALLOW_NETWORKS] = f"{LOOPBACK}/32"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_ALLOW_NETWORKS, None)
        else:
            os.environ[ENV_ALLOW_NETWORKS] = previous


# -- helpers --------------------------------------------------------------------------------------------


def spec_for(source_id: str, kind: str, location: str, **extra: Any) -> Any:
    from catalog.sources import parse_spec

    data = {
        "id": source_id,
        "name": f"benchmark {source_id}",
        "owner": {"organisation": "corpusfabriek benchmark", "contact": "bench@example.org"},
        "kind": kind,
        "location": location,
        "licence": "CC0-1.0",
        "legal_basis": "public-task",
        "personal_data": "expected",
        "sector": "public-sector",
        **extra,
    }
    return parse_spec(data, origin=f"<bench {source_id}>")


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def fmt_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"


def rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def warm_up() -> None:
    """Import the heavy libraries and run one extraction, so the first timed run pays no import cost."""
    import feedparser  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import trafilatura

    trafilatura.extract(article_page(0, "Opwarmen", "Een korte beschrijving van de publicatie."))


# -- part 1: RSS ------------------------------------------------------------------------------------------

FILLER = [
    "Deze publicatie is opgenomen in de officiële bekendmakingen van de Staat der Nederlanden.",
    "De tekst is vastgesteld door het bevoegde bestuursorgaan en treedt in werking op de dag na uitgifte.",
    "Belanghebbenden kunnen binnen zes weken na de dag van bekendmaking bezwaar maken bij het bestuursorgaan.",
    "Het besluit ligt gedurende de bezwaartermijn ter inzage bij het gemeentehuis en is ook digitaal beschikbaar.",
    "Voor vragen over deze bekendmaking kunt u contact opnemen met het klantcontactcentrum van de organisatie.",
]


def article_page(number: int, title: str, description: str) -> str:
    """Return a small Dutch article page with header, navigation, sidebar and footer boilerplate."""
    paragraphs = [description, *FILLER[number % 2 :], f"Dit is bekendmaking nummer {number} in deze reeks."]
    body = "\n".join(f"      <p>{html.escape(p)}</p>" for p in paragraphs)
    menu = "".join(
        f'<li><a href="/{slug}">{label}</a></li>'
        for slug, label in [("", "Home"), ("zoeken", "Zoeken"), ("over", "Over deze site"), ("hulp", "Hulp")]
    )
    return f"""<!doctype html>
<html lang="nl">
<head><meta charset="utf-8"><title>{html.escape(title)} | Officiële bekendmakingen</title></head>
<body>
  <header><a href="/">Officiële bekendmakingen</a><nav><ul>{menu}</ul></nav></header>
  <div class="breadcrumb"><a href="/">Home</a> &gt; <a href="/zoeken">Zoekresultaten</a> &gt; Publicatie</div>
  <main>
    <article>
      <h1>{html.escape(title)}</h1>
{body}
    </article>
  </main>
  <aside><h2>Gerelateerd</h2><ul><li><a href="/zoeken?q=kamerstuk">Meer kamerstukken</a></li></ul></aside>
  <footer><p>Cookiebeleid | Privacyverklaring | Toegankelijkheid</p><p>Copyright www.overheid.nl</p></footer>
</body>
</html>
"""


BOILERPLATE_MARKERS = ("Cookiebeleid", "Privacyverklaring", "Zoekresultaten", "Over deze site")


class FeedSite:
    """The local web site: the real feed, a copy with local article links, the article pages; counts requests."""

    def __init__(self, feed: bytes) -> None:
        self.feed = feed
        self.items: list[tuple[str, str]] = []  # (title, description) per item, for the article pages
        self.local_feed = b""
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        """Start serving on a free port of 127.0.0.1; return the base URL."""
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are written separately: with Nagle on, each response would wait ~40 ms for
            # the client's delayed ACK, and the benchmark would measure that instead of the connector.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in ("/feed.xml", "/feed-local.xml"):
                    body = site.feed if path == "/feed.xml" else site.local_feed
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == etag:
                        self._send(304, "feed 304", b"", etag=etag)
                    else:
                        self._send(200, "feed 200", body, "application/rss+xml; charset=utf-8", etag)
                    return
                match = re.fullmatch(r"/artikel/(\d+)", path)
                if match and 0 < int(match.group(1)) <= len(site.items):
                    number = int(match.group(1))
                    page = article_page(number, *site.items[number - 1]).encode("utf-8")
                    self._send(200, "article 200", page, "text/html; charset=utf-8")
                    return
                self._send(404, "robots.txt 404" if path == "/robots.txt" else "other 404", b"Not Found")

            def _send(self, status: int, label: str, body: bytes, ctype: str = "text/plain", etag: str = "") -> None:
                with site._lock:
                    site.requests[label] += 1
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                if status != 304:
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def server_bind(self) -> None:  # skip HTTPServer's getfqdn() lookup
                socketserver.TCPServer.server_bind(self)
                self.server_name, self.server_port = self.server_address[:2]

        self._server = Server((LOOPBACK, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        base = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._rewrite(base)
        return base

    def _rewrite(self, base: str) -> None:
        """Point every item's link at a local article page (the channel link is left alone)."""
        text = self.feed.decode("utf-8")

        def item(match: re.Match[str]) -> str:
            block = match.group(0)
            title = re.search(r"<title>(.*?)</title>", block, re.DOTALL)
            description = re.search(r"<description>(.*?)</description>", block, re.DOTALL)
            self.items.append(
                (
                    html.unescape(title.group(1).strip()) if title else "Bekendmaking",
                    html.unescape(description.group(1).strip()) if description else "",
                )
            )
            link = f"{base}/artikel/{len(self.items)}"
            return re.sub(r"<link>.*?</link>", f"<link>{link}</link>", block, count=1, flags=re.DOTALL)

        self.local_feed = re.sub(r"<item\b.*?</item>", item, text, flags=re.DOTALL).encode("utf-8")

    def snapshot(self) -> Counter[str]:
        """Return the request counts so far (by route and status)."""
        with self._lock:
            return Counter(self.requests)

    def stop(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def documents_text(storage: Any, source_id: str) -> list[str]:
    import pyarrow.parquet as pq

    texts: list[str] = []
    for rel in storage.glob(f"raw/{source_id}/batches/*.parquet"):
        with storage.open_input(rel) as handle:
            texts += pq.read_table(handle, columns=["text"]).column("text").to_pylist()
    return texts


def rss_mode(site: FeedSite, base: str, mode: str, repeat: int, tmp: Path) -> dict[str, Any]:
    """Ingest the feed ``repeat`` times on fresh storage, then once more incrementally; return the figures."""
    from catalog.storage import Storage
    from stages.ingest import ingest_source

    articles = mode == "articles"
    location = f"{base}/feed-local.xml" if articles else f"{base}/feed.xml"
    spec = spec_for(
        f"bench-rss-{mode}",
        "rss",
        location,
        rss={"fetch_articles": articles},
        politeness={"rate_limit_per_second": MAX_RATE, "retries": 0},
    )
    fetcher_class = local_only_fetcher_class()
    slept = [0.0]

    def fetcher() -> Any:
        f = fetcher_class.for_spec(spec)

        def sleep(seconds: float) -> None:
            slept[0] += seconds
            time.sleep(seconds)

        f.sleep = sleep
        return f

    walls, waits = [], []
    first: dict[str, Any] = {}
    requests: Counter[str] = Counter()
    storage = None
    for run in range(repeat):
        storage = Storage(str(tmp / f"rss-{mode}-{run}"))
        before, slept[0] = site.snapshot(), 0.0
        wall, report = timed(ingest_source, storage, spec, fetcher())
        walls.append(wall)
        waits.append(slept[0])
        if run == 0:
            first, requests = report, site.snapshot() - before
    texts = documents_text(storage, spec.id)
    leaked = sum(any(marker in text for marker in BOILERPLATE_MARKERS) for text in texts)
    before, slept[0] = site.snapshot(), 0.0
    inc_wall, inc = timed(ingest_source, storage, spec, fetcher())
    return {
        "mode": mode,
        "report": first,
        "requests": requests,
        "wall": statistics.median(walls),
        "wait": statistics.median(waits),
        "mean_chars": statistics.mean(len(t) for t in texts) if texts else 0.0,
        "leaked": leaked,
        "incremental": inc,
        "inc_wall": inc_wall,
        "inc_requests": site.snapshot() - before,
    }


def part_rss(data: Path, repeat: int, tmp: Path) -> list[dict[str, Any]]:
    print("\n== 1. RSS connector: officielebekendmakingen.nl feed served from 127.0.0.1 ==")
    feed_path = data / "feeds" / FEED_NAME
    if not feed_path.is_file():
        print(f"RSS: skipped: the feed {feed_path} is missing")
        return []
    feed = feed_path.read_bytes()
    print(f"feed: {feed_path.name}, {len(feed) / 1e3:.1f} KB, {feed.count(b'<item')} items; {repeat} run(s) per mode")
    site = FeedSite(feed)
    base = site.start()
    results = []
    try:
        with allow_loopback():
            for mode in ("feed-only", "articles"):
                r = rss_mode(site, base, mode, repeat, tmp)
                results.append(r)
                rep, inc = r["report"], r["incremental"]
                label = (
                    "fetch_articles: false (item links not fetched)"
                    if mode == "feed-only"
                    else f"fetch_articles: true, local /artikel/N pages, {MAX_RATE:.0f} req/s"
                )
                print(f"\n[{mode}] {label}")
                print(f"  items read     {rep['records_read']}")
                print(
                    f"  documents      {rep['documents']}  (fetch modes: {fmt_counts(rep['documents_by_fetch_mode'])})"
                )
                print(f"  quarantined    {rep['quarantined']}  (by reason: {fmt_counts(rep['quarantined_by_reason'])})")
                print(f"  requests       {fmt_counts(r['requests'])}")
                print(
                    f"  wall time      {r['wall']:.3f} s  ->  {rate(rep['records_read'], r['wall']):,.0f} items/s"
                    f"   (mean text {r['mean_chars']:,.0f} chars/doc)"
                )
                if mode == "articles":
                    busy = r["wall"] - r["wait"]
                    print(
                        f"  politeness     {r['wait']:.3f} s waiting; without it {busy:.3f} s  ->  "
                        f"{rate(rep['records_read'], busy):,.0f} items/s"
                    )
                    print(f"  boilerplate    in {r['leaked']} of {rep['documents']} extracted texts")
                print(
                    f"  incremental    {r['inc_wall']:.3f} s, items read {inc['records_read']} "
                    f"(documents {inc['documents']}, quarantined {inc['quarantined']}); "
                    f"requests: {fmt_counts(r['inc_requests'])}"
                )
    finally:
        site.stop()
    return results


# -- part 2: WARC -----------------------------------------------------------------------------------------


def bare_warcio(path: Path) -> int:
    """Iterate every record of an archive and read its content; return the record count."""
    from warcio.archiveiterator import ArchiveIterator

    count = 0
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle, arc2warc=True):
            record.content_stream().read()
            count += 1
    return count


def connector_only(spec: Any, fetcher: Any) -> int:
    from catalog.connectors import connector_for

    connector = connector_for(spec, fetcher, {})
    return sum(1 for _ in connector.read())


def part_warc(data: Path, repeat: int, tmp: Path) -> list[dict[str, Any]]:
    from catalog.storage import Storage
    from stages.ingest import ingest_source

    print("\n== 2. WARC connector: shared WARC files (local path) ==")
    files = sorted((data / "warc").glob("*.warc.gz"))
    if not files:
        print(f"WARC: skipped: no *.warc.gz files in {data / 'warc'}")
        return []
    print(f"{len(files)} file(s); {repeat} run(s) per measurement; MB = compressed WARC bytes on disk")
    fetcher_class = local_only_fetcher_class()
    results = []
    for number, path in enumerate(files, start=1):
        size_mb = path.stat().st_size / 1e6
        spec = spec_for(f"bench-warc-{number}", "warc", str(path))
        walls, conn_walls, bare_walls = [], [], []
        first: dict[str, Any] = {}
        storage = None
        for run in range(repeat):
            storage = Storage(str(tmp / f"warc-{number}-{run}"))
            wall, report = timed(ingest_source, storage, spec, fetcher_class.for_spec(spec))
            walls.append(wall)
            first = first or report
            conn_wall, yielded = timed(connector_only, spec, fetcher_class.for_spec(spec))
            conn_walls.append(conn_wall)
            bare_wall, records = timed(bare_warcio, path)
            bare_walls.append(bare_wall)
        inc_wall, inc = timed(ingest_source, storage, spec, fetcher_class.for_spec(spec))
        r = {
            "file": path.name,
            "mb": size_mb,
            "report": first,
            "yielded": yielded,
            "records": records,
            "wall": statistics.median(walls),
            "conn_wall": statistics.median(conn_walls),
            "bare_wall": statistics.median(bare_walls),
            "incremental": inc,
            "inc_wall": inc_wall,
        }
        results.append(r)
        rep = r["report"]
        print(f"\n[{path.name}] {size_mb * 1e3:.1f} KB, {records} WARC records in all")
        print(f"  records yielded {rep['records_read']}  (connector alone: {yielded})")
        print(f"  documents       {rep['documents']}  (fetch modes: {fmt_counts(rep['documents_by_fetch_mode'])})")
        print(f"  quarantined     {rep['quarantined']}  (by reason: {fmt_counts(rep['quarantined_by_reason'])})")
        print(
            f"  ingest_source   {r['wall'] * 1e3:8.1f} ms  ->  {rate(size_mb, r['wall']):6.2f} MB/s, "
            f"{rate(rep['records_read'], r['wall']):,.0f} items/s"
        )
        print(f"  connector only  {r['conn_wall'] * 1e3:8.1f} ms  ->  {rate(size_mb, r['conn_wall']):6.2f} MB/s")
        print(
            f"  bare warcio     {r['bare_wall'] * 1e3:8.1f} ms  ->  {rate(size_mb, r['bare_wall']):6.2f} MB/s  "
            f"(connector/bare x{rate(r['conn_wall'], r['bare_wall']):.1f}, "
            f"ingest/bare x{rate(r['wall'], r['bare_wall']):.1f})"
        )
        print(
            f"  incremental     {inc_wall * 1e3:8.1f} ms, records yielded {inc['records_read']} "
            f"(documents {inc['documents']}, quarantined {inc['quarantined']})"
        )
    return results


# -- part 3: summary --------------------------------------------------------------------------------------


def summary(rss: list[dict[str, Any]], warc: list[dict[str, Any]]) -> None:
    print("\n== 3. Summary ==")
    if not rss and not warc:
        print("nothing was measured (no data)")
        return
    header = (
        f"{'part':<36} {'items':>6} {'docs':>5} {'quar.':>5} {'wall s':>8} {'items/s':>9} {'MB/s':>7} {'re-run':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rss:
        rep = r["report"]
        print(
            f"{'rss ' + r['mode']:<36} {rep['records_read']:>6} {rep['documents']:>5} {rep['quarantined']:>5} "
            f"{r['wall']:>8.3f} {rate(rep['records_read'], r['wall']):>9,.0f} {'':>7} "
            f"{r['incremental']['records_read']:>7}"
        )
        if r["mode"] == "articles":
            busy = r["wall"] - r["wait"]
            print(
                f"{'rss articles (politeness waits out)':<36} {'':>6} {'':>5} {'':>5} {busy:>8.3f} "
                f"{rate(rep['records_read'], busy):>9,.0f}"
            )
    if warc:
        items = sum(r["report"]["records_read"] for r in warc)
        docs = sum(r["report"]["documents"] for r in warc)
        quar = sum(r["report"]["quarantined"] for r in warc)
        wall = sum(r["wall"] for r in warc)
        conn = sum(r["conn_wall"] for r in warc)
        bare = sum(r["bare_wall"] for r in warc)
        mb = sum(r["mb"] for r in warc)
        again = sum(r["incremental"]["records_read"] for r in warc)
        print(
            f"{f'warc ingest_source ({len(warc)} files)':<36} {items:>6} {docs:>5} {quar:>5} {wall:>8.3f} "
            f"{rate(items, wall):>9,.0f} {rate(mb, wall):>7.2f} {again:>7}"
        )
        print(
            f"{'warc connector only':<36} {items:>6} {'':>5} {'':>5} {conn:>8.3f} {rate(items, conn):>9,.0f} "
            f"{rate(mb, conn):>7.2f}"
        )
        records = sum(r["records"] for r in warc)
        print(
            f"{'warc bare warcio (all records)':<36} {records:>6} {'':>5} {'':>5} {bare:>8.3f} "
            f"{rate(records, bare):>9,.0f} {rate(mb, bare):>7.2f}"
        )
        print(f"warc overhead vs bare warcio: connector x{rate(conn, bare):.1f}, ingest_source x{rate(wall, bare):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared evaluation data folder")
    parser.add_argument("--repeat", type=int, default=3, help="RSS runs per mode (median wall time)")
    parser.add_argument("--warc-repeat", type=int, default=5, help="WARC runs per measurement (median)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    sys.addaudithook(_audit)
    started = time.perf_counter()
    print(f"data: {args.data}; network: 127.0.0.1 only; one process (the test server is a thread in it)")
    if not args.data.is_dir():
        print(f"data folder {args.data} is missing: every part is skipped")
    # The data folder is where this run's partner files lie: declared as a drop folder, as an operator would.
    declared = [part for part in os.environ.get("CORPUSFABRIEK_DROP_FOLDERS", "").split(os.pathsep) if part]
    os.environ["CORPUSFABRIEK_DROP_FOLDERS"] = os.pathsep.join([*declared, str(args.data.resolve())])
    warm_up()
    with tempfile.TemporaryDirectory(prefix="cf-bench-connectors-") as tmp:
        rss = part_rss(args.data, max(1, args.repeat), Path(tmp))
        warc = part_warc(args.data, max(1, args.warc_repeat), Path(tmp))
    summary(rss, warc)
    print(
        f"\nnetwork: {sum(CONNECTS.values())} connection(s), all to {LOOPBACK}; "
        f"refused non-local attempts: {len(BLOCKED)}{' (' + ', '.join(BLOCKED[:5]) + ')' if BLOCKED else ''}"
    )
    print(f"total runtime {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
