"""Text normalisation: the canonical form whose SHA-256 is a document's ``content_sha256``.

The rules are conservative on purpose: they only remove differences that carry no meaning for a reader
(encoding form, line endings, invisible characters, runs of blanks) and undo mojibake (UTF-8 decoded as
Windows-1252 or Latin-1: ``cafÃ©`` becomes ``café``, with ftfy), so two deliveries of the same text hash
the same while no correctly encoded word is ever changed.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
import ftfy.badness

# C0/C1 controls except the whitespace ones (tab, newlines, vertical tab, form feed), plus invisible
# format characters that break tokenisation
# (zero-width space/joiners, word joiner, BOM, soft hyphen, bidi marks).
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Unicode space separators other than the plain space (no-break space, thin space, ...) and tabs.
_ODD_BLANKS = re.compile("[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_SPACES = re.compile(" {2,}")
# Page and line separators (form feed from PDF extraction, vertical tab) break lines; they never join words.
_ODD_BREAKS = re.compile("[\r\x0b\x0c\u2028\u2029\x85]")
_SPACE_AROUND_NEWLINE = re.compile(" *\n *")
_MANY_NEWLINES = re.compile("\n{3,}")
# Lead characters of UTF-8 sequences as they look when decoded as Windows-1252/Latin-1 ("Ã©", "â€™",
# "Â "): ftfy's badness test (slower) runs only on texts that contain one.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00c5\u00e2\u00c3]"
    "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2022\u2026\u2030"
    "\u2039\u203a\u20ac\u2122]"
)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded with a single-byte codepage (``Ã©`` → ``é``); other text is unchanged."""
    if _MOJIBAKE_HINT.search(text) is None or not ftfy.badness.is_bad(text):
        return text
    return ftfy.fix_encoding(text)


def normalise_text(text: str) -> str:
    """Return the canonical form of a text.

    Mojibake repaired, NFC, newline line endings, no invisible characters, single spaces, at most one
    empty line between paragraphs, no leading or trailing blanks. The function is idempotent:
    ``normalise_text(normalise_text(t)) == normalise_text(t)``.
    """
    # Each rewrite runs only when a cheap substring test says it can change something: most text is
    # already clean, and a regex pass over every character costs more than the tests.
    text = repair_mojibake(text)
    text = _ODD_BREAKS.sub("\n", text.replace("\r\n", "\n"))
    # Invisible characters go before NFC: one between a letter and its accent would block composition.
    text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = _ODD_BLANKS.sub(" ", text)
    if "  " in text:
        text = _SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    if "\n\n\n" in text:
        text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()
