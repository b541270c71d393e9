"""Keep a benchmark offline: every socket connection attempt fails loudly."""

from __future__ import annotations

import socket


def block_network(name: str) -> None:
    """Make every socket connection fail with an error naming the benchmark ``name``."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{name} must not touch the network")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
