"""Keyed pseudonyms for the short fields of a document: ids, URLs and paths, and values in metadata.

Texts get realistic surrogates, and the anonymised zone records where each one is, so the residual scan can
tell a surrogate from a missed value. The short fields (``native_id``, ``url``, the raw annotation's
``location``, ``record`` and ``source_metadata``) carry no such offsets, so what replaces an identifier in
them must look like no identifier at all. Everything here is therefore a keyed token:

* :class:`KeyedToken` -> ``x`` + 16 hex of HMAC-SHA256(key, namespace, value). The leading letter keeps a
  run of hex digits from ever reading as a BSN, phone or card number to the recognizers;
* :class:`IdPseudonymiser` -> ``id-`` + 32 hex, for native ids and ids inside metadata;
* :class:`TokenOperator` -> ``<EMAIL:x...>``: an :class:`~anonymisation.operators.Operator` for values found
  in metadata;
* :class:`UrlPseudonymiser` keeps a URL's scheme, host, port and path shape and replaces the identifying
  parts: user info and fragment dropped, every query value a token, a path segment a token when it holds an
  identifier or a value that was replaced in the same document's text;
* :class:`ReplacedValues`: what was replaced in a document, to recognise it again in its URL or metadata
  (held in memory for one document only; it has no method that hands a value out).

All are deterministic for a key (the same key gives the same release) and unpredictable without it. Nothing
here logs, and no error message contains a value or the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from anonymisation.operators.formats import _normalise
from anonymisation.operators.keys import check_key
from anonymisation.operators.labels import label_for
from anonymisation.vocabulary import PARTICLES

__all__ = [
    "URL_ENTITIES",
    "IdPseudonymiser",
    "KeyedToken",
    "PseudonymisedUrl",
    "ReplacedValues",
    "TokenOperator",
    "UrlPseudonymiser",
    "is_url",
    "path_lines",
    "slug",
    "spaced",
]

#: Entity types looked for in URL paths and query names by default: the structured identifiers. Person names
#: are matched through the document's replaced values instead (the name engine is too costly per segment and
#: needs the document's context anyway); URLs and dates of birth do not occur as path segments.
URL_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IBAN_CODE",
    "CREDIT_CARD",
    "NL_BSN",
    "NL_POSTCODE",
    "NL_ADDRESS",
    "NL_LICENSE_PLATE",
    "NL_KVK",
    "NL_BTW",
    "IP_ADDRESS",
)

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SEPARATORS = re.compile(r"[-_.+]")
_NON_WORD = re.compile(r"[\W_]+")
# A file extension kept on a replaced path segment: short and alphanumeric (".html", ".pdf", ".jsonl").
_EXTENSION = re.compile(r"(\.[A-Za-z0-9]{1,5})$")
_MIN_VALUE_CHARS = 2
_FIND_CACHE = 1024


def is_url(value: str) -> bool:
    """Tell whether ``value`` starts like an absolute URL (``scheme://``)."""
    return _SCHEME.match(value) is not None


def spaced(text: str) -> str:
    """Return ``text`` with ``- _ . +`` as spaces: same length, so offsets stay valid.

    Slugs and file names join words with these; recognizers look for identifiers between word boundaries
    (``bel-06-12345678`` holds a phone number only when read as ``bel 06 12345678``).
    """
    return _SEPARATORS.sub(" ", text)


def path_lines(text: str) -> str:
    """Return ``text`` with every ``/`` as a line break: same length, and no pattern reads across a segment."""
    return text.replace("/", "\n")


def slug(text: str) -> str:
    """Normalise for matching across notations: no accents, case-folded, every non-word run one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", bare.casefold()).strip()


class KeyedToken:
    """A deterministic token for a value: ``x`` + hex of HMAC-SHA256(key, namespace, value).

    :param key: secret of at least 16 bytes.
    :param namespace: keeps tokens of different uses apart (the same value gives different tokens).
    :param hex_chars: length of the hex part (16 hex = 64 bits).
    """

    def __init__(self, key: bytes, *, namespace: str, hex_chars: int = 16, prefix: str = "x") -> None:
        self._key = check_key(key)
        self._namespace = namespace.encode()
        self._hex_chars = hex_chars
        self._prefix = prefix

    def __repr__(self) -> str:
        return f"KeyedToken(key=<hidden>, namespace={self._namespace.decode()!r})"

    def token(self, value: str) -> str:
        """Return the token of ``value``."""
        digest = hmac.new(self._key, self._namespace + b"\x1f" + value.encode("utf-8"), hashlib.sha256).hexdigest()
        return self._prefix + digest[: self._hex_chars]


class IdPseudonymiser:
    """Replace an identifier by ``id-`` + 32 hex of HMAC-SHA256(key, value): the same id, the same pseudonym.

    :param key: secret of at least 16 bytes.
    """

    def __init__(self, key: bytes, *, prefix: str = "id-", hex_chars: int = 32) -> None:
        self._token = KeyedToken(key, namespace="native-id", hex_chars=hex_chars, prefix=prefix)

    def __repr__(self) -> str:
        return "IdPseudonymiser(key=<hidden>)"

    def pseudonymise(self, value: str) -> str:
        """Return the pseudonym of ``value``."""
        return self._token.token(value)


class TokenOperator:
    """An operator that replaces a value by ``<LABEL:token>`` (``<EMAIL:x3f2a...>``), deterministic for the key.

    Used in fields without replacement offsets, where a realistic surrogate could not be told from a missed
    value. The value is normalised as for keyed hashes (``NL91 ABNA ...`` and ``NL91ABNA...`` alike).

    :param key: secret of at least 16 bytes.
    """

    def __init__(self, key: bytes) -> None:
        self._token = KeyedToken(key, namespace="field-value")

    def __repr__(self) -> str:
        return "TokenOperator(key=<hidden>)"

    def replace(self, entity: str, original: str) -> str:
        """Return ``<LABEL:token>``."""
        label = label_for(entity)
        return f"<{label}:{self._token.token(label + chr(0x1F) + _normalise(label, original))}>"


class ReplacedValues:
    """What was replaced in one document, to recognise it again in the document's short fields.

    Values are compared as :func:`slug` forms, whole words only: ``Jan de Vries`` is found in
    ``/nieuws/jan-de-vries-wint``. A person's surname counts on its own too, with and without its
    tussenvoegsel (``de vries``, ``vries``), as it does for the name finder's propagation.

    Holds originals of one document in memory: do not keep it longer than the document. It never hands a
    value out; it only answers where one occurs.

    :param values: ``(entity, original)`` pairs.
    """

    def __init__(self, values: Iterable[tuple[str, str]] = ()) -> None:
        forms: dict[str, str] = {}
        for entity, original in values:
            for form in _forms(entity, original):
                if len(form) >= _MIN_VALUE_CHARS:
                    forms.setdefault(form, entity)
        self._forms = forms
        self._pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"ReplacedValues({len(self._forms)} forms)"

    def __bool__(self) -> bool:
        return bool(self._forms)

    def occurs_in(self, text: str) -> bool:
        """Tell whether any value occurs in ``text`` as whole words (after :func:`slug` on both sides)."""
        if not self._forms:
            return False
        padded = f" {slug(text)} "
        return any(f" {form} " in padded for form in self._forms)

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """Return ``(entity, start, end)`` of every occurrence in ``text`` (case and separators ignored).

        Accents must match here (offsets are into ``text`` itself); every other non-word run between words
        matches any other.
        """
        if not self._forms:
            return []
        if self._pattern is None:
            alternatives = sorted(self._forms, key=len, reverse=True)
            words = (r"[\W_]+".join(re.escape(word) for word in form.split()) for form in alternatives)
            self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)
        out = []
        for match in self._pattern.finditer(text):
            entity = self._forms.get(slug(match.group()), "PERSON")
            out.append((entity, match.start(), match.end()))
        return out


def _forms(entity: str, original: str) -> list[str]:
    form = slug(original)
    if not form:
        return []
    forms = [form]
    words = form.split()
    if entity == "PERSON" and len(words) > 1 and len(words[-1]) > 2:
        # the surname with its tussenvoegsel ("de vries") and without ("vries")
        first_particle = next((i for i in range(1, len(words) - 1) if words[i] in PARTICLES), None)
        if first_particle is not None:
            forms.append(" ".join(words[first_particle:]))
        forms.append(words[-1])
    return forms


@dataclass(frozen=True, slots=True)
class PseudonymisedUrl:
    """A pseudonymised URL or path, and how many of its parts were replaced or dropped."""

    text: str
    replaced: int


@cache
def _structured_recognizers(entities: tuple[str, ...]) -> tuple[Any, ...]:
    from anonymisation.recognizers import dutch_recognizers

    wanted = set(entities)
    return tuple(
        r for r in dutch_recognizers() if set(r.supported_entities) & wanted and "PERSON" not in r.supported_entities
    )


class UrlPseudonymiser:
    """Pseudonymise a URL or a path, keeping its shape.

    * scheme, host (lower case) and port are kept; user info and the fragment are dropped;
    * every query value becomes a keyed token under its own name (``?bsn=x3f...&iban=x9a...``); a query name
      that holds an identifier becomes a token too; values in ``keep`` (public ids already judged clean) stay;
    * a path segment is replaced by a keyed token (its file extension kept) when it holds an identifier: found
      by the structured recognizers on the percent-decoded path, read as it is and with ``- _ . +`` as
      spaces, or a value replaced in the same document (:class:`ReplacedValues`). Other segments stay as
      they are, so the path keeps its number of segments.

    A value without ``scheme://`` is treated as a path (a local file, an archive member).

    :param key: secret of at least 16 bytes.
    :param entities: entity types looked for in paths and query names (default :data:`URL_ENTITIES`).
    :param recognizers: recognizers to use instead of the Dutch structured ones (each with ``analyze``).
    """

    def __init__(
        self, key: bytes, *, entities: Sequence[str] = URL_ENTITIES, recognizers: Sequence[Any] | None = None
    ) -> None:
        self._query = KeyedToken(key, namespace="url-query")
        self._segment = KeyedToken(key, namespace="url-path")
        self._entities = list(entities)
        self._recognizers = (
            tuple(recognizers) if recognizers is not None else _structured_recognizers(tuple(sorted(entities)))
        )
        # A source repeats its locations (one feed, one endpoint, one folder) in every document: remember
        # what was found in recent paths. The results hold offsets only.
        self._find = lru_cache(maxsize=_FIND_CACHE)(self._find)  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return f"UrlPseudonymiser(key=<hidden>, entities={self._entities!r})"

    def pseudonymise(
        self, url: str, values: ReplacedValues | None = None, keep: Collection[str] = ()
    ) -> PseudonymisedUrl:
        """Return ``url`` with its identifying parts replaced (see the class docstring)."""
        if is_url(url):
            parts = urlsplit(url)
            prefix, dropped = _authority(parts.scheme, parts.netloc)
            path, query, fragment = parts.path, parts.query, parts.fragment
        else:  # a path: "?" and "#" are characters of a file name (or a glob) there
            prefix, dropped, path, query, fragment = "", 0, url, "", ""
        segments = path.split("/")
        params = [p.split("=", 1) if "=" in p else [p] for p in query.split("&")] if query else []
        flagged_segments, flagged_names = self._flagged(segments, [p[0] for p in params], values)
        replaced = dropped + bool(fragment) + len(flagged_segments) + len(flagged_names)
        for index in flagged_segments:
            segments[index] = self._replace_segment(segments[index])
        new_params = []
        for index, param in enumerate(params):
            if len(param) == 1:  # a bare parameter ("?12345"): data, not a name
                bare = unquote_plus(param[0])
                new_params.append(self._query.token(bare) if bare and bare not in keep else param[0])
                replaced += bool(bare and bare not in keep) and index not in flagged_names
                continue
            name = self._query.token(unquote_plus(param[0])) if index in flagged_names else param[0]
            value = unquote_plus(param[1])
            if value and value not in keep:
                new_params.append(f"{name}={self._query.token(value)}")
                replaced += 1
            else:
                new_params.append(f"{name}={param[1]}")
        text = prefix + "/".join(segments) + ("?" + "&".join(new_params) if new_params else "")
        return PseudonymisedUrl(text, replaced)

    def _flagged(
        self, segments: list[str], names: list[str], values: ReplacedValues | None
    ) -> tuple[set[int], set[int]]:
        """Return the indices of path segments and query names that hold an identifier."""
        decoded = [unquote(s) for s in segments]
        decoded_names = [unquote_plus(n) for n in names]
        flagged = {i for i, s in enumerate(decoded) if s and values and values.occurs_in(s)}
        flagged_names = {i for i, n in enumerate(decoded_names) if n and values and values.occurs_in(n)}
        # One probe text per URL: the decoded path segments, then the query names, one a line (an identifier
        # never spans a "/"; read across it, "klant/jan@example.nl" would be one e-mail address); read as is
        # and with separators as spaces. The residual scan reads URLs the same way (see path_lines).
        path = path_lines("/".join(decoded))
        probe = path + "\n" + "\n".join(decoded_names)
        bounds: list[tuple[int, int, str, int]] = []
        at = 0
        for i, s in enumerate(decoded):
            bounds.append((at, at + len(s), "segment", i))
            at += len(s) + 1
        at = len(path) + 1
        for i, n in enumerate(decoded_names):
            bounds.append((at, at + len(n), "name", i))
            at += len(n) + 1
        for start, end in self._find(probe):
            for lo, hi, kind, i in bounds:
                if start < hi and lo < end:
                    (flagged if kind == "segment" else flagged_names).add(i)
        return flagged, flagged_names

    def _find(self, probe: str) -> tuple[tuple[int, int], ...]:
        """Return the spans of identifiers in ``probe`` read as is and with separators as spaces."""
        if not probe.strip():
            return ()
        alternative = spaced(probe)
        # both readings in one text (one pass per recognizer), a line apart: no pattern crosses a line
        text = probe if alternative == probe else probe + "\n" + alternative
        offset = len(probe) + 1
        spans = []
        for recognizer in self._recognizers:
            for result in recognizer.analyze(text, self._entities):
                start, end = result.start, result.end
                spans.append((start - offset, end - offset) if start >= offset else (start, end))
        return tuple(spans)

    def _replace_segment(self, segment: str) -> str:
        decoded = unquote(segment)
        match = _EXTENSION.search(segment)
        if match and match.start() > 0:
            return self._segment.token(decoded) + match.group(1)
        return self._segment.token(decoded)


def _authority(scheme: str, netloc: str) -> tuple[str, int]:
    """Return ``scheme://host[:port]`` (host in lower case, user info dropped) and 1 if user info was dropped."""
    _userinfo, at, hostport = netloc.rpartition("@")
    return f"{scheme.lower()}://{hostport.lower()}", int(bool(at))
