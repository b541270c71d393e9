"""Deterministic randomness: draws seeded by HMAC-SHA256(key, namespace, normalised value, attempt).

The same key and value always give the same draw; :class:`_DocumentDeriver` in addition keeps the values
of different originals of one document apart.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

_MAX_ATTEMPTS = 64

T = TypeVar("T")


class _Stream:
    """Deterministic random draws from HMAC-SHA256(key, namespace, normalised value, attempt)."""

    def __init__(self, key: bytes, namespace: str, norm: str, attempt: int):
        message = b"\x1f".join([b"surrogate", namespace.encode(), norm.encode(), str(attempt).encode()])
        self._seed = hmac.new(key, message, hashlib.sha256).digest()
        self._counter = 0
        self._buffer = b""

    def _take(self, count: int) -> bytes:
        while len(self._buffer) < count:
            block = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
            self._buffer += block
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken

    def below(self, n: int) -> int:
        """Return a uniform integer in ``[0, n)`` (rejection sampling, no modulo bias)."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            value = int.from_bytes(self._take(8), "big")
            if value < limit:
                return value % n

    def between(self, low: int, high: int) -> int:
        """Return a uniform integer in ``[low, high]``."""
        return low + self.below(high - low + 1)

    def choice(self, items: tuple[T, ...] | list[T] | str) -> Any:
        """Return one item."""
        return items[self.below(len(items))]

    def digits(self, count: int) -> str:
        """Return ``count`` random decimal digits."""
        return "".join(str(self.below(10)) for _ in range(count))


class _Deriver:
    """Stateless: the same (namespace, normalised value) always gives the same value."""

    def __init__(self, key: bytes):
        self._key = key

    def derive(
        self,
        namespace: str,
        norm: str,
        make: Callable[[_Stream], T],
        reject: Callable[[T], bool] | None = None,
        *,
        unique: bool = True,
    ) -> T:
        """Draw a value for (namespace, norm); retry while ``reject``s it or (unique) it is taken."""
        value = make(_Stream(self._key, namespace, norm, 0))
        for attempt in range(1, _MAX_ATTEMPTS):
            if not (reject and reject(value)) and (not unique or self._accept(namespace, value)):
                break
            value = make(_Stream(self._key, namespace, norm, attempt))
        self._remember(namespace, norm, value, unique)
        return value

    def _accept(self, namespace: str, value: Any) -> bool:
        return True

    def _remember(self, namespace: str, norm: str, value: Any, unique: bool) -> None:
        return None


class _DocumentDeriver(_Deriver):
    """Remembers each value of a document and keeps surrogates of different originals apart."""

    def __init__(self, key: bytes):
        super().__init__(key)
        self._memo: dict[tuple[str, str], Any] = {}
        self._used: dict[str, set[Any]] = {}

    def derive(
        self,
        namespace: str,
        norm: str,
        make: Callable[[_Stream], T],
        reject: Callable[[T], bool] | None = None,
        *,
        unique: bool = True,
    ) -> T:
        """Return the value remembered for (namespace, norm), or draw one no other original has."""
        if (namespace, norm) in self._memo:
            return self._memo[(namespace, norm)]
        return super().derive(namespace, norm, make, reject, unique=unique)

    def _accept(self, namespace: str, value: Any) -> bool:
        return value not in self._used.get(namespace, set())

    def _remember(self, namespace: str, norm: str, value: Any, unique: bool) -> None:
        self._memo[(namespace, norm)] = value
        if unique:
            self._used.setdefault(namespace, set()).add(value)
