"""The secret key of surrogates and hashes: the one length check (:func:`check_key`) and its error."""

from __future__ import annotations

#: The shortest secret key accepted; :func:`check_key` is the only place that enforces it.
MIN_KEY_BYTES = 16


class AnonymisationKeyError(ValueError):
    """The anonymisation key is missing or too short (the message never contains the key)."""


def check_key(key: bytes, what: str = "key") -> bytes:
    """Return ``key`` if it is long enough to be a secret key of surrogates and hashes.

    The one place that checks the key length: the operators call it, and so does whoever resolves a key
    (``catalog.keys`` gets it passed in, since the catalog layer cannot import this library).

    :param what: how the message names the key's origin (``"environment variable X"``, a key file).
    :raises AnonymisationKeyError: shorter than :data:`MIN_KEY_BYTES`; the message names ``what``, never the key.
    """
    if not isinstance(key, bytes | bytearray):
        raise TypeError("key must be bytes")
    if len(key) < MIN_KEY_BYTES:
        raise AnonymisationKeyError(f"{what} must hold at least {MIN_KEY_BYTES} bytes")
    return bytes(key)
