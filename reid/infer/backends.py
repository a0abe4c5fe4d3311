"""Runtimes for the STAR inference graph: ONNX Runtime, MindSpore, MindSpore Lite.

run(clips (n, T, 3, H, W) float32, keypoints (n, T, 17, 3) float32, modality (n,) int32) -> (n, D) with
n <= batch. A graph exported with a dynamic batch runs n items as they are; one with a fixed batch gets short
batches padded with their last item.
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
    def __init__(self, path: str, device: str, seq_len: int, height: int, width: int, arch, batch: int,
                 threads: int):
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device == "GPU" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads  # 0: ONNX Runtime's default (every core)
            self.session = ort.InferenceSession(path, options, providers=providers)
        except Exception as exc:
            raise ValueError(f"cannot load ONNX model {path}: {exc}") from exc
        inputs = self.session.get_inputs()
        shapes = {i.name: tuple(i.shape) for i in inputs}
        want = {"clips": (seq_len, 3, height, width), "keypoints": (seq_len, 17, 3), "modality": ()}
        if len(inputs) != 3 or [tuple(s[1:]) for s in shapes.values()] != list(want.values()):
            raise ValueError(f"ONNX model {path} has inputs {shapes}; expected (batch, ...) of "
                             f"{want} for seq_len={seq_len}, height={height}, width={width}")
        self.names = [i.name for i in inputs]
        exported = inputs[0].shape[0]
        self.dynamic = not isinstance(exported, int)  # a symbolic batch dimension: any batch runs
        self.batch = batch if self.dynamic else exported
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        if "backbone" not in meta and "depth" in meta:  # exported before backbones had names
            meta["backbone"] = f"resnet{meta['depth']}"
        from starreid.reid.export import input_normalisation

        meta.setdefault("arch", "star")  # exported before IBAN
        checks = [("arch", arch.arch), ("backbone", arch.backbone), ("last_stride", arch.last_stride),
                  ("input", input_normalisation())] + ([("variant", arch.variant)] if arch.arch == "star" else [])
        for key, value in checks:
            if key in meta and meta[key] != str(value):
                raise ValueError(f"ONNX model {path} was exported with {key}={meta[key]}, not {value}")

    def run(self, clips, keypoints, modality):
        n = clips.shape[0]
        arrays = [clips, keypoints, modality] if self.dynamic else _pad([clips, keypoints, modality], self.batch)
        feed = dict(zip(self.names, arrays))
        return self.session.run(None, feed)[0][:n]


class MindSporeBackend:
    def __init__(self, path: str, device: str, arch, batch: int):
        import mindspore as ms

        from starreid.reid.export import build_inference_net

        ms.set_device(device)
        self.batch = batch
        self.graph = path.endswith(".mindir")
        self.padded = None  # an exported graph: dynamic (run as given) or fixed (padded); learnt on a short batch
        if self.graph:
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
        if not self.graph:  # padded: jit compiles once for the batch shape, not once for every n
            return self._forward(*[t(a) for a in _pad([clips, keypoints, modality], self.batch)]).asnumpy()[:n]
        if self.padded is None and n < self.batch:
            try:  # a MindIR file does not say whether its batch is dynamic: the first short batch finds out
                out = self.net(*[t(a) for a in (clips, keypoints, modality)]).asnumpy()
                self.padded = False
                return out
            except (RuntimeError, ValueError):
                self.padded = True
        arrays = (clips, keypoints, modality) if self.padded is False else _pad([clips, keypoints, modality],
                                                                                 self.batch)
        try:
            return self.net(*[t(a) for a in arrays]).asnumpy()[:n]
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"MindIR graph rejected inputs {[tuple(a.shape) for a in arrays]} (seq_len, height, "
                             f"width and a fixed batch_size must match the export): {exc}") from exc


class LiteBackend:
    def __init__(self, path: str, device: str, batch: int, threads: int):
        try:
            import mindspore_lite as mslite
        except ImportError as exc:
            raise RuntimeError("the 'lite' backend needs the mindspore_lite package, which is not installed "
                               "(it has no wheel for this Python); use backend 'onnx' or 'mindspore'") from exc
        context = mslite.Context()
        context.target = [{"CPU": "cpu", "GPU": "gpu", "Ascend": "ascend"}[device]]
        if threads:
            context.cpu.thread_num = threads
        self.model = mslite.Model()
        self.model.build_from_file(path, mslite.ModelType.MINDIR, context)
        self.batch = batch

    def run(self, clips, keypoints, modality):
        n = clips.shape[0]
        inputs = self.model.get_inputs()
        for tensor, array in zip(inputs, _pad([clips, keypoints, modality], self.batch)):
            tensor.set_data_from_numpy(np.ascontiguousarray(array))
        return self.model.predict(inputs)[0].get_data_to_numpy()[:n]


def open_backend(kind: str, path: str, device: str, seq_len: int, height: int, width: int, arch, batch: int,
                 threads: int):
    """arch: the model section (backbone, variant, seq_len, sizes()); the mindspore backend builds it. threads:
    the CPU threads of ONNX Runtime and Lite (0: their default); MindSpore keeps its own setting."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model weights not found: {path}")
    if kind == "onnx":
        return OnnxBackend(path, device, seq_len, height, width, arch, batch, threads)
    if kind == "mindspore":
        return MindSporeBackend(path, device, arch, batch)
    if kind == "lite":
        return LiteBackend(path, device, batch, threads)
    raise ValueError(f"backend must be 'onnx', 'mindspore' or 'lite', got {kind!r}")
