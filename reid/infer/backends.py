"""Runtimes for the STAR inference graph, each with a fixed batch: ONNX Runtime, MindSpore, MindSpore Lite.

run(clips (n, T, 3, H, W) float32, keypoints (n, T, 17, 3) float32, modality (n,) int32) -> (n, D) with
n <= batch; short batches are padded with their last item.
"""
from __future__ import annotations

import logging
import os
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)


@runtime_checkable
class Backend(Protocol):
    """The embedder backend contract: run one batch of at most `batch` tracklets through the inference graph.

    run(clips (n, T, 3, H, W) float32 normalised, keypoints (n, T, 17, 3) float32, modality (n,) int32)
    -> (n, D) float32 embeddings, for 1 <= n <= batch."""

    batch: int

    def run(self, clips: np.ndarray, keypoints: np.ndarray, modality: np.ndarray) -> np.ndarray: ...


def _pad(arrays, batch: int):
    n = arrays[0].shape[0]
    if n == batch:
        return arrays
    return [np.concatenate([a, np.repeat(a[-1:], batch - n, axis=0)]) for a in arrays]


class OnnxBackend:
    def __init__(self, path: str, device: str, seq_len: int, height: int, width: int, arch):
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device == "GPU" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(path, providers=providers)
        except Exception as exc:
            raise ValueError(f"cannot load ONNX model {path}: {exc}") from exc
        inputs = self.session.get_inputs()
        shapes = {i.name: tuple(i.shape) for i in inputs}
        want = {"clips": (seq_len, 3, height, width), "keypoints": (seq_len, 17, 3), "modality": ()}
        if len(inputs) != 3 or [tuple(s[1:]) for s in shapes.values()] != list(want.values()):
            raise ValueError(f"ONNX model {path} has inputs {shapes}; expected (batch, ...) of "
                             f"{want} for seq_len={seq_len}, height={height}, width={width}")
        self.names = [i.name for i in inputs]
        self.batch = int(inputs[0].shape[0])
        meta = self.session.get_modelmeta().custom_metadata_map
        for key, value in (("depth", arch.depth), ("variant", arch.variant)):
            if key in meta and meta[key] != str(value):
                raise ValueError(f"ONNX model {path} was exported with {key}={meta[key]}, not {value}")

    def run(self, clips, keypoints, modality):
        n = clips.shape[0]
        feed = dict(zip(self.names, _pad([clips, keypoints, modality], self.batch)))
        return self.session.run(None, feed)[0][:n]


class MindSporeBackend:
    def __init__(self, path: str, device: str, arch, batch: int):
        import mindspore as ms

        from starreid.reid.export import build_inference_net

        ms.set_device(device)
        self.batch = batch
        self.graph = path.endswith(".mindir")
        if self.graph:  # an exported graph: batch_size must be the exported batch
            self.net = ms.nn.GraphCell(ms.load(path))
        else:
            self.net = build_inference_net(arch, weights=path)
        net = self.net

        def forward(clips, keypoints, modality):
            return net(clips, keypoints, modality)

        self._forward = ms.jit(forward)  # graph mode for this call only; the process stays in its own mode
        self._ms = ms

    def run(self, clips, keypoints, modality):
        n = clips.shape[0]
        t = self._ms.Tensor
        inputs = [t(a) for a in _pad([clips, keypoints, modality], self.batch)]
        if not self.graph:
            return self._forward(*inputs).asnumpy()[:n]
        try:
            return self.net(*inputs).asnumpy()[:n]
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"MindIR graph rejected inputs {[tuple(a.shape) for a in inputs]} (batch_size, "
                             f"seq_len, height and width must match the export): {exc}") from exc


class LiteBackend:
    def __init__(self, path: str, device: str, batch: int):
        try:
            import mindspore_lite as mslite
        except ImportError as exc:
            raise RuntimeError("the 'lite' backend needs the mindspore_lite package, which is not installed "
                               "(it has no wheel for this Python); use backend 'onnx' or 'mindspore'") from exc
        context = mslite.Context()
        context.target = [{"CPU": "cpu", "GPU": "gpu", "Ascend": "ascend"}[device]]
        self.model = mslite.Model()
        self.model.build_from_file(path, mslite.ModelType.MINDIR, context)
        self.batch = batch

    def run(self, clips, keypoints, modality):
        n = clips.shape[0]
        inputs = self.model.get_inputs()
        for tensor, array in zip(inputs, _pad([clips, keypoints, modality], self.batch)):
            tensor.set_data_from_numpy(np.ascontiguousarray(array))
        return self.model.predict(inputs)[0].get_data_to_numpy()[:n]


def open_backend(kind: str, path: str, device: str, seq_len: int, height: int, width: int, arch, batch: int):
    """arch: the model section (depth, variant, seq_len, sizes()); the mindspore backend builds it."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model weights not found: {path}")
    if kind == "onnx":
        return OnnxBackend(path, device, seq_len, height, width, arch)
    if kind == "mindspore":
        return MindSporeBackend(path, device, arch, batch)
    if kind == "lite":
        return LiteBackend(path, device, batch)
    raise ValueError(f"backend must be 'onnx', 'mindspore' or 'lite', got {kind!r}")
