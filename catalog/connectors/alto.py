r"""The ``alto`` connector: OCR pages in ALTO XML (v2, v3, v4 or without namespace), one document per file.

Text is rebuilt in reading order: the blocks named by the ``ReadingOrder`` element when the file has one
(blocks it does not name follow in document order, so no text is lost), else the ``TextBlock`` elements in
document order. Words (``String/@CONTENT``) are joined by spaces, lines by ``"\n"``, blocks by ``"\n\n"``.
A word hyphenated over two lines (a ``String`` followed by ``HYP``, or ``SUBS_TYPE="HypPart1"``/
``"HypPart2"``) becomes one word at the end of the first line: ``SUBS_CONTENT`` when present, else the two
parts without the hyphen. ``ocr_confidence`` is the mean word confidence (``String/@WC``; a joined word
counts once with the mean of its parts).

- ``native_id`` is the input's stable name: the file's path relative to the fixed part of the location
  (``1921/01/05/page-0003.xml`` for ``drop/**/*.xml``), or its URL for HTTP inputs. It does not change when
  the drop folder moves, and it is the same on every re-run.
- A page without words yields a RawRecord with text ``""``; the ingest stage quarantines it as
  ``empty_text`` (one place decides what blank means).
- Well-formed XML whose root is not ``alto`` is quarantined as ``unexpected_document``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from catalog.connectors.locations import Input, InputSource, read_xml
from catalog.connectors.records import Quarantined, RawRecord, capped
from catalog.xmlsafe import XmlError, local_name

if TYPE_CHECKING:
    from catalog.drops import DropPolicy
    from catalog.fetch import Fetcher
    from catalog.sources import SourceSpec

_VERSION_IN_NAMESPACE = re.compile(r"alto/ns-v(\d+)#?$")
#: Characters OCR engines leave at the end of the first part of a hyphenated word.
_HYPHENS = "-\u00ac\u00ad\u2010\u2011"


class NotAltoError(ValueError):
    """Well-formed XML that is not an ALTO document."""


@dataclass
class AltoPage:
    """The text and statistics of one ALTO file."""

    text: str
    words: int
    confidence: float | None
    version: str | None
    page_id: str | None
    pages: int
    source_image: str | None


def parse_alto(root: Element) -> AltoPage:
    """Rebuild the text of a parsed ALTO document; raise :class:`NotAltoError` for another root."""
    if local_name(root.tag) != "alto":
        raise NotAltoError(f"root element is {local_name(root.tag)!r}, not 'alto'")
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    match = _VERSION_IN_NAMESPACE.search(namespace)
    version = root.get("SCHEMAVERSION") or (match.group(1) if match else None)
    pages = [el for el in root.iter() if local_name(el.tag) == "Page"]
    source_image = next((el.text.strip() for el in root.iter() if local_name(el.tag) == "fileName" and el.text), None)
    words = _WordJoiner()
    blocks = [words.block(block) for block in _blocks_in_reading_order(root)]
    words.finish()
    text = "\n\n".join(b for b in ("\n".join(" ".join(line) for line in block if line) for block in blocks) if b)
    return AltoPage(
        text=text,
        words=words.count,
        confidence=words.mean_confidence(),
        version=version,
        page_id=pages[0].get("ID") if pages else None,
        pages=len(pages),
        source_image=source_image or None,
    )


def _blocks_in_reading_order(root: Element) -> list[Element]:
    """Return the TextBlocks in reading order (ReadingOrder element first, then document order)."""
    in_document_order = [el for el in root.iter() if local_name(el.tag) == "TextBlock"]
    reading_order = next((el for el in root.iter() if local_name(el.tag) == "ReadingOrder"), None)
    if reading_order is None:
        return in_document_order
    by_id = {el.get("ID"): el for el in root.iter() if el.get("ID")}
    ordered: list[Element] = []
    seen: set[int] = set()
    for ref in reading_order.iter():
        if local_name(ref.tag) != "ElementRef":
            continue
        target = by_id.get(ref.get("REF"))
        if target is None:
            continue
        # A reference may name a ComposedBlock (or a line's block container): take its TextBlocks.
        candidates = [target] if local_name(target.tag) == "TextBlock" else list(target.iter())
        for block in candidates:
            if local_name(block.tag) == "TextBlock" and id(block) not in seen:
                seen.add(id(block))
                ordered.append(block)
    return ordered + [block for block in in_document_order if id(block) not in seen]


@dataclass
class _Pending:
    """The first part of a hyphenated word, waiting for its second part."""

    line: list[str]
    index: int
    content: str
    subs: str | None
    hyp: str
    confidences: list[float] = field(default_factory=list)


class _WordJoiner:
    """Collects words line by line, joining hyphenated words, and their confidences."""

    def __init__(self) -> None:
        self.count = 0
        self._confidences: list[float] = []
        self._pending: _Pending | None = None

    def block(self, block: Element) -> list[list[str]]:
        """Return the lines (lists of words) of one TextBlock."""
        lines: list[list[str]] = []
        for line in (el for el in block if local_name(el.tag) == "TextLine"):
            words: list[str] = []
            children = [el for el in line if local_name(el.tag) in ("String", "HYP")]
            for position, el in enumerate(children):
                if local_name(el.tag) == "String":
                    self._string(el, words, children[position + 1 : position + 2])
            lines.append(words)
        return lines

    def _string(self, el: Element, words: list[str], following: list[Element]) -> None:
        content = (el.get("CONTENT") or "").strip()
        if not content:
            return
        confidence = _confidence(el)
        if self._pending is not None:  # this String is the second part of a hyphenated word
            pending, self._pending = self._pending, None
            joined = pending.subs or (pending.content.rstrip(_HYPHENS) + content)
            self._complete(pending, joined, [*pending.confidences, *confidence])
            return
        hyp = following[0] if following and local_name(following[0].tag) == "HYP" else None
        if hyp is not None or el.get("SUBS_TYPE") == "HypPart1":
            # Keep the word's place at the end of this line; it is filled when the second part arrives.
            words.append(content)
            hyphen = (hyp.get("CONTENT") or "-") if hyp is not None else ""
            self._pending = _Pending(words, len(words) - 1, content, el.get("SUBS_CONTENT") or None, hyphen)
            self._pending.confidences.extend(confidence)
            return
        words.append(content)
        self._count(confidence)

    def finish(self) -> None:
        """Close a hyphenated word whose second part never came (end of page)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._complete(pending, pending.subs or pending.content + pending.hyp, pending.confidences)

    def _complete(self, pending: _Pending, word: str, confidences: list[float]) -> None:
        pending.line[pending.index] = word
        self._count([sum(confidences) / len(confidences)] if confidences else [])

    def _count(self, confidence: list[float]) -> None:
        self.count += 1
        self._confidences.extend(confidence)

    def mean_confidence(self) -> float | None:
        """Return the mean word confidence, or ``None`` when no word has one."""
        return sum(self._confidences) / len(self._confidences) if self._confidences else None


def _confidence(el: Element) -> list[float]:
    """Return ``[WC]`` when the String has a usable word confidence in [0, 1], else ``[]``."""
    try:
        value = float(el.get("WC", ""))
    except ValueError:
        return []
    return [value] if 0.0 <= value <= 1.0 else []


class AltoConnector:
    """Read the ALTO pages of a ``kind: alto`` source: local or S3 files, an HTTP file, or a URL list."""

    def __init__(
        self, spec: SourceSpec, fetcher: Fetcher, cursor: Mapping[str, Any], *, drops: DropPolicy | None = None
    ) -> None:
        self.spec = spec
        self.inputs = InputSource(spec, fetcher, (cursor or {}).get("files"), drops=drops)

    def read(self) -> Iterator[RawRecord | Quarantined]:
        """Yield one RawRecord per new or changed ALTO file, or a Quarantined for a broken one."""
        for item in self.inputs:
            yield item if isinstance(item, Quarantined) else self._page(item)

    def next_cursor(self) -> dict[str, Any]:
        """Return the cursor: the state of every input file seen (size and mtime, ETag or SHA-256)."""
        return {"files": self.inputs.cursor}

    def _page(self, item: Input) -> RawRecord | Quarantined:
        data = item.data or b""
        try:
            page = parse_alto(read_xml(data))
        except XmlError as exc:
            return Quarantined(item.location, "page 1", exc.reason, exc.detail, capped(data))
        except NotAltoError as exc:
            return Quarantined(item.location, "page 1", "unexpected_document", str(exc), capped(data))
        metadata = {"words": str(page.words), "pages": str(page.pages)}
        optional = {"alto_version": page.version, "page_id": page.page_id, "source_image": page.source_image}
        metadata.update({key: value for key, value in optional.items() if value})
        return RawRecord(
            native_id=item.name,
            text=page.text,
            title=None,  # ALTO names no title; sourceImageInformation/fileName is an image file name
            url=item.url,
            published_at=None,  # ALTO records processing dates only, not the publication date
            location=item.location,
            record="page 1",
            raw_bytes=capped(data),
            fetch_mode="ocr",
            ocr_confidence=page.confidence,
            metadata=metadata,
        )
