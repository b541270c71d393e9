"""Replacement operators for detected personal data, and ``anonymise_text`` to apply them by offsets.

Each operator is a small class with its settings in the constructor and one method
``replace(entity, original) -> str``:

* :class:`PlaceholderOperator` -> ``<PERSOON>``, ``<IBAN>``, ... (Dutch labels from :data:`ENTITY_LABELS`).
* :class:`HashOperator` -> ``<NL_BSN:3f2a9c0d11e4b7a2>``: keyed HMAC-SHA256, deterministic for the key.
* :class:`SurrogateOperator` -> realistic Dutch values of the same kind and format (a BSN that passes
  the 11-proef, an IBAN with valid check digits, a phone number in the same notation, a name with the
  same pattern of initials, tussenvoegsel and title, ...). The choice is seeded by
  HMAC-SHA256(key, label + normalised original), so it is deterministic for a key and unpredictable
  without it. :meth:`SurrogateOperator.for_document` returns a per-document mapping that, in addition,
  never gives two different originals of a document the same surrogate.

Realistic surrogates can coincide with a real person's data (a random valid BSN, IBAN or 06-number
may exist); e-mail addresses, URLs and IP addresses use reserved example domains and documentation
ranges instead. Nothing here logs, and error messages never contain the original text or a key.

The package's rooms: :mod:`~anonymisation.operators.keys` (the key check), :mod:`~anonymisation.operators.labels`
(entity name -> Dutch label), :mod:`~anonymisation.operators.draws` (keyed deterministic draws),
:mod:`~anonymisation.operators.wordlists` (what surrogates draw from), :mod:`~anonymisation.operators.formats`
(format helpers and the normal form of a value), :mod:`~anonymisation.operators.surrogates` and
:mod:`~anonymisation.operators.person_names` (the generators), :mod:`~anonymisation.operators.apply`
(replacing findings by offsets). The operator classes live here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from anonymisation.operators.apply import Operator, anonymise_text, anonymise_with_spans
from anonymisation.operators.draws import _Deriver, _DocumentDeriver
from anonymisation.operators.formats import _normalise
from anonymisation.operators.keys import MIN_KEY_BYTES, AnonymisationKeyError, check_key
from anonymisation.operators.labels import ENTITY_LABELS, label_for
from anonymisation.operators.surrogates import _surrogate

__all__ = [
    "ENTITY_LABELS",
    "MIN_KEY_BYTES",
    "AnonymisationKeyError",
    "DocumentSurrogates",
    "HashOperator",
    "Operator",
    "PlaceholderOperator",
    "SurrogateOperator",
    "anonymise_text",
    "anonymise_with_spans",
    "check_key",
    "label_for",
]


class PlaceholderOperator:
    """Replace every value by its Dutch label: ``<PERSOON>``, ``<EMAIL>``, ``<BSN>``, ...

    :param labels: extra or overriding entity name -> label entries.
    """

    def __init__(self, labels: Mapping[str, str] | None = None):
        self._labels = {k.upper(): v for k, v in (labels or {}).items()}

    def replace(self, entity: str, original: str) -> str:
        """Return ``<LABEL>`` for the entity (``original`` is not used)."""
        name = entity.strip().upper()
        return f"<{self._labels.get(name) or label_for(name)}>"


class HashOperator:
    """Replace a value by ``<ENTITY:first 16 hex of HMAC-SHA256>``, deterministic for the key.

    The value is normalised first (case, whitespace, and separators in numbers), so ``NL91 ABNA ...`` and
    ``NL91ABNA...`` hash alike. Without the key the hash cannot be recomputed from guessed values.

    :param key: secret of at least 16 bytes (see :func:`check_key`).
    """

    def __init__(self, key: bytes, *, hex_chars: int = 16):
        self._key = check_key(key)
        self._hex_chars = hex_chars

    def __repr__(self) -> str:
        return f"HashOperator(key=<hidden>, hex_chars={self._hex_chars})"

    def replace(self, entity: str, original: str) -> str:
        """Return ``<ENTITY:hex>``."""
        label = label_for(entity)
        message = b"\x1f".join([b"hash", label.encode(), _normalise(label, original).encode()])
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return f"<{entity.strip().upper()}:{digest[: self._hex_chars]}>"


class SurrogateOperator:
    """Replace values by realistic Dutch surrogates of the same kind and format, deterministic for the key.

    The same original (ignoring case, whitespace and, for numbers, separators) always gets the same
    surrogate for a key, in any document and process. Entities without a generator (e.g. ORGANIZATION)
    get their placeholder. Use :meth:`for_document` per document so that two different originals of one
    document never share a surrogate.

    :param key: secret of at least 16 bytes (see :func:`check_key`).
    """

    def __init__(self, key: bytes):
        self._key = check_key(key)
        self._deriver = _Deriver(self._key)

    def __repr__(self) -> str:
        return "SurrogateOperator(key=<hidden>)"

    def replace(self, entity: str, original: str) -> str:
        """Return the surrogate for ``original`` (pure: depends on key, entity and value only)."""
        return _surrogate(self._deriver, entity, original)

    def for_document(self) -> DocumentSurrogates:
        """Return a fresh per-document mapping with the same key."""
        return DocumentSurrogates(self._key)


class DocumentSurrogates:
    """Surrogates for one document: consistent per value, and different values get different surrogates.

    Starts from the same deterministic choices as :class:`SurrogateOperator`; only when a surrogate (or a
    name part) is already taken by another original of this document is a further choice drawn. It holds
    the originals of one document in memory: do not keep it longer than the document.
    """

    def __init__(self, key: bytes):
        self._deriver = _DocumentDeriver(check_key(key))

    def __repr__(self) -> str:
        return "DocumentSurrogates(key=<hidden>)"

    def replace(self, entity: str, original: str) -> str:
        """Return the surrogate for ``original`` in this document."""
        return _surrogate(self._deriver, entity, original)
