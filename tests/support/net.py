"""Ports on 127.0.0.1 for test servers."""
from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now (the caller binds it soon after; fine for tests, racy for anything else)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def free_tcp() -> str:
    return f"tcp://127.0.0.1:{free_port()}"
