"""A small read-only HTTP server of a storage root's Data Docs (``corpusfabriek docs serve``).

It serves :data:`catalog.zones.DATA_DOCS` and nothing else: a request path is decoded once and checked
segment by segment (no ``..``, no hidden names, no backslashes or control characters, no percent sign
left after decoding, so neither plain nor encoded traversal leaves the folder), then read through
:class:`~catalog.storage.Storage`, so a root on S3 is served like a local one. Only GET and HEAD are
answered; the pages are sent with a Content-Security-Policy that lets them load nothing from another
host and run no script, whatever a page holds.
"""

from __future__ import annotations

import logging
import mimetypes
import posixpath
import socket
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from catalog.storage import Storage, StorageError
from catalog.zones import DATA_DOCS

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

#: Types of the files Data Docs hold; anything else is sent as bytes to save, never sniffed.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".otf": "font/otf",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

#: Only files of this root, no script, no frames, no forms: a stored page cannot reach out from a browser.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class BadRequestPath(ValueError):
    """A request path that could name something outside the Data Docs folder (refused with 400)."""


def content_type(name: str) -> str:
    """Return the Content-Type of a served file from its name."""
    extension = posixpath.splitext(name)[1].lower()
    return CONTENT_TYPES.get(extension) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def docs_relative_path(target: str) -> str:
    """Return the file a request target names, relative to the Data Docs folder.

    A path ending in ``/`` names the ``index.html`` in it. The query and fragment are ignored.

    :raises BadRequestPath: for anything that is not a plain relative path inside the folder: ``..`` or
        ``.`` segments (also percent-encoded, or encoded twice), hidden names, empty segments, backslashes,
        control characters, or a path that is not absolute in the request.
    """
    path = urllib.parse.urlsplit(target).path
    if not path.startswith("/"):
        raise BadRequestPath("the request path must start with /")
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise BadRequestPath("the request path is not UTF-8") from None
    # A percent sign left after one decoding is an encoding twice over: none of our files has one in its name.
    if "%" in decoded or "\\" in decoded or any(ord(char) < 32 or ord(char) == 127 for char in decoded):
        raise BadRequestPath("the request path holds characters no Data Docs file has")
    segments = decoded[1:].split("/")
    directory = segments[-1] == ""
    if directory:
        segments = segments[:-1]
    for segment in segments:
        if segment == "" or segment.startswith("."):
            raise BadRequestPath("the request path has an empty, relative or hidden segment")
    rel = "/".join(segments)
    return posixpath.join(rel, "index.html") if directory else rel


class DocsRequestHandler(BaseHTTPRequestHandler):
    """Answer GET and HEAD with files of the Data Docs folder; refuse every other method with 405."""

    server: DocsServer
    server_version = "corpusfabriek-docs"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Send a file of the Data Docs folder."""
        self._send_file(body=True)

    def do_HEAD(self) -> None:
        """Send the headers of a file of the Data Docs folder."""
        self._send_file(body=False)

    def _refuse_method(self) -> None:
        self._send_text(HTTPStatus.METHOD_NOT_ALLOWED, "read-only: only GET and HEAD\n", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def _send_file(self, *, body: bool) -> None:
        try:
            rel = docs_relative_path(self.path)
        except BadRequestPath as exc:
            self._send_text(HTTPStatus.BAD_REQUEST, f"bad request: {exc}\n", body=body)
            return
        storage, folder = self.server.storage, self.server.folder
        path = posixpath.join(folder, rel)
        try:
            if not rel.endswith("index.html") and storage.is_dir(path):
                # a folder named without its slash: relative links inside its page need the slash
                location = urllib.parse.urlsplit(self.path).path + "/"
                self._send_text(HTTPStatus.MOVED_PERMANENTLY, "moved\n", {"Location": location}, body=body)
                return
            if not storage.exists(path) or storage.is_dir(path):
                self._send_text(HTTPStatus.NOT_FOUND, "not found\n", body=body)
                return
            content = storage.read_bytes(path) if body else b""
            size = len(content) if body else storage.size(path)
        except (StorageError, FileNotFoundError, OSError) as exc:
            log.warning("Data Docs: cannot read %s: %s", path, exc)
            self._send_text(HTTPStatus.NOT_FOUND, "not found\n", body=body)
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type(rel))
        self.send_header("Content-Length", str(size))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(content)

    def _send_text(
        self, status: HTTPStatus, text: str, headers: dict[str, str] | None = None, *, body: bool = True
    ) -> None:
        payload = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Log requests through :mod:`logging` instead of writing them to stderr."""
        log.info("%s %s", self.address_string(), format % args)


class DocsServer(ThreadingHTTPServer):
    """The Data Docs of one storage root over HTTP; ``port=0`` picks a free port (see :attr:`url`)."""

    daemon_threads = True

    def __init__(self, storage: Storage, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.storage = storage
        self.folder = DATA_DOCS
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), DocsRequestHandler)

    @property
    def url(self) -> str:
        """The base URL the server answers at (``http://127.0.0.1:8765``)."""
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}"

    def start(self) -> threading.Thread:
        """Serve in a background thread (stop with :meth:`stop`); return the thread."""
        # a short poll: stop() waits for the loop to notice, and tests start and stop many servers
        thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="data-docs-server", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
