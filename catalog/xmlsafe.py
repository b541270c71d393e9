"""XML parsing without entity expansion, DTDs or external resources (defusedxml).

Every XML input of a partner source (feeds, OAI-PMH, ALTO, Rechtspraak) goes through :func:`parse_xml`,
so an entity bomb or an external-entity reference is refused before anything is expanded.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET


class XmlError(ValueError):
    """Unsafe or broken XML; ``reason`` is a quarantine reason, ``detail`` never quotes the content."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_xml(data: bytes) -> Element:
    """Parse XML bytes safely; raise :class:`XmlError` (``malformed_xml`` or ``xml_entities_forbidden``)."""
    try:
        return SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise XmlError("xml_entities_forbidden", type(exc).__name__) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise XmlError("malformed_xml", f"not well-formed at line {line}, column {column}") from None
    except (UnicodeError, LookupError, ValueError) as exc:
        # expat refuses multi-byte encodings such as shift_jis with a ValueError; idna gives UnicodeError.
        raise XmlError("encoding_error", type(exc).__name__) from None


def local_name(tag: str) -> str:
    """Return an element tag without its namespace (``{ns}String`` -> ``String``)."""
    return tag.rsplit("}", 1)[-1]
