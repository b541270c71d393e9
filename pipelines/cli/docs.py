"""``corpusfabriek docs serve``: the storage root's Data Docs over HTTP, read-only."""

from __future__ import annotations

import argparse
import ipaddress
import urllib.parse

from catalog.docs_server import DEFAULT_PORT, DocsServer
from catalog.settings import ENV_DATA_DOCS_URL, Settings
from catalog.zones import DATA_DOCS, DATA_DOCS_INDEX
from pipelines.cli.common import CommandError, _storage


def default_port(settings: Settings) -> int:
    """Return the port to serve on when none is given: the one of the Data Docs URL setting, else 8765."""
    if settings.data_docs_url:
        with_port = urllib.parse.urlsplit(settings.data_docs_url)
        try:
            if with_port.port:
                return with_port.port
        except ValueError:
            raise CommandError(f"{ENV_DATA_DOCS_URL} has no valid port: {settings.data_docs_url!r}") from None
    return DEFAULT_PORT


def cmd_docs_serve(args: argparse.Namespace) -> int:
    """Serve the Data Docs of the storage root until interrupted (Ctrl-C)."""
    storage = _storage(args)
    settings = Settings.read()
    port = default_port(settings) if args.port is None else args.port
    try:
        server = DocsServer(storage, args.host, port)
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{port}: {exc.strerror or exc}") from None
    try:
        print(f"serving the Data Docs of {storage.url(DATA_DOCS)} at {server.url}/ (Ctrl-C to stop)", flush=True)
        if not storage.exists(DATA_DOCS_INDEX):
            print("no Data Docs yet: they appear with the first validation of a zone (`corpusfabriek run`)")
        if not _is_loopback(args.host):
            print(f"note: anyone who can reach {args.host}:{server.server_address[1]} can read these pages (ids, "
                  "counts and codes of the documents, never their text)")  # fmt: skip
        if settings.data_docs_url and settings.data_docs_url != server.url:
            print(f"note: validations link their pages at {ENV_DATA_DOCS_URL}={settings.data_docs_url}")
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
