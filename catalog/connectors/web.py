"""Linked web pages: fetch through the guarded fetcher and extract the main text (shared by connectors).

Used by the RSS connector (article pages) and the OAI-PMH connector (linked full texts).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html.parser import HTMLParser

from catalog.fetch import Fetcher, FetchError, Response

logger = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: The reasons of :class:`catalog.fetch.FetchError` (each is also a quarantine reason).
FETCH_REASONS = frozenset(
    {
        "http_error",
        "timeout",
        "connection_error",
        "response_too_large",
        "decompressed_too_large",
        "address_refused",
        "robots_disallowed",
        "invalid_url",
    }
)
#: Fetch errors worth retrying on a later run; other failures of an entry are permanent for its content.
TRANSIENT_REASONS = frozenset({"timeout", "connection_error", "http_error"})


# -- HTML to text -------------------------------------------------------------------------------------


class _TextCollector(HTMLParser):
    """Collect the visible text of an HTML fragment, one line per block element."""

    BLOCKS = frozenset(
        "address article aside blockquote br dd div dl dt figcaption footer h1 h2 h3 h4 h5 h6 header hr li "
        "main nav ol p pre section table td th tr ul".split()
    )
    HIDDEN = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden_depth += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the text of an HTML fragment: tags dropped, block elements on their own lines."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.parts).splitlines())
    return "\n".join(line for line in lines if line)


# -- linked pages -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageText:
    """The main text of a linked page, or why there is none.

    ``error`` is a :class:`~catalog.fetch.FetchError` reason, ``not_html``, ``encoding_error``,
    ``empty_text`` (nothing extracted) or ``no_link``; ``detail`` never quotes the page.
    """

    text: str | None
    error: str | None = None
    detail: str = ""


class PageTextFetcher:
    """Fetch a linked page through the fetcher and extract its main text.

    HTML goes through trafilatura (boilerplate such as menus and footers removed); ``text/plain`` is taken
    as is. Every failure is returned as a :class:`PageText` with an error, never raised.
    """

    def __init__(self, fetcher: Fetcher, *, favor_precision: bool = True, include_comments: bool = False) -> None:
        self.fetcher = fetcher
        self.favor_precision = favor_precision
        self.include_comments = include_comments

    def fetch(self, url: str) -> PageText:
        """Return the main text of the page at ``url``."""
        try:
            response = self.fetcher.get(url)
        except FetchError as exc:
            return PageText(None, exc.reason, exc.detail)
        content_type = response.content_type
        if content_type == "text/plain":
            return self._plain_text(response)
        # A server that names no type mostly serves HTML; trafilatura returns nothing for anything else.
        if content_type and content_type not in HTML_TYPES:
            return PageText(None, "not_html", f"content type {content_type}")
        return self._extract(response)

    def _plain_text(self, response: Response) -> PageText:
        charset = _charset(response.headers.get("content-type", "")) or "utf-8"
        try:
            text = response.body.decode(charset).strip()
        except (UnicodeDecodeError, LookupError):
            return PageText(None, "encoding_error", f"the body is not valid {charset}")
        return PageText(text) if text else PageText(None, "empty_text", "the page is empty")

    def _extract(self, response: Response) -> PageText:
        import trafilatura

        try:
            text = trafilatura.extract(
                response.body,
                url=response.url,
                favor_precision=self.favor_precision,
                include_comments=self.include_comments,
            )
        except Exception as exc:  # a third-party parser on untrusted HTML: one bad page must not end the run
            logger.warning("trafilatura failed on a page: %s", type(exc).__name__)
            text = None
        text = (text or "").strip()
        return PageText(text) if text else PageText(None, "empty_text", "no main text found on the page")


def _charset(content_type: str) -> str | None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None
