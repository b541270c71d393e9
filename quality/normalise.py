"""Text normalisation: the canonical form whose SHA-256 is a document's ``content_sha256``.

The rules are conservative on purpose: they only remove differences that carry no meaning for a reader
(encoding form, line endings, invisible characters, runs of blanks), so two deliveries of the same text
hash the same while no word is ever changed.
"""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls except tab and newline, plus invisible format characters that break tokenisation
# (zero-width space/joiners, word joiner, BOM, soft hyphen, bidi marks).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Every Unicode space separator (no-break space, thin space, ...) and tabs become one plain space.
_BLANKS = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_TRAILING = re.compile(r" *\n *")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """Return the canonical form of a text.

    NFC, newline line endings, no invisible characters, single spaces, at most one empty line between
    paragraphs, no leading or trailing blanks.

    The function is idempotent: ``normalise_text(normalise_text(t)) == normalise_text(t)``.
    """
    text = _LINE_BREAKS.sub("\n", text)
    # Invisible characters go before NFC: one between a letter and its accent would block composition.
    text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = _BLANKS.sub(" ", text)
    text = _TRAILING.sub("\n", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()
