"""A randomly initialised tiny STAR (ResNet-18 at width 8, 4 frames of 64 x 32) exported to ONNX, for tests and
benchmarks that need a real model but not a trained one. Exported in a child process: MindSpore cannot be
imported into a process that has loaded MediaPipe (their protobuf descriptors clash)."""
from __future__ import annotations

import json
import subprocess
import sys

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


def export_tiny(prefix: str, timeout_s: float = 600) -> str:
    """Export the tiny model to prefix + '.onnx' (batch 1); returns the path. RuntimeError with the
    child's error output if the export fails."""
    out = subprocess.run([sys.executable, "-c", _EXPORT, prefix, json.dumps(TINY_MODEL)], capture_output=True,
                         text=True, timeout=timeout_s)
    if out.returncode:
        raise RuntimeError(f"exporting the tiny model failed: {out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]
