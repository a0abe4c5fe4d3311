"""Export the STAR inference graph (clips, keypoints, modality -> embedding) to ONNX and MindIR."""
from __future__ import annotations

import os

import numpy as np

FORMATS = {"onnx": ("ONNX", ".onnx"), "mindir": ("MINDIR", ".mindir")}


def build_inference_net(model, weights: str | None = None):
    """EmbeddingNet of a model config section in inference mode, with weights loaded strictly from a .ckpt
    when given."""
    from starreid.reid.models import EmbeddingNet, build_star
    from starreid.reid.models.checkpoint import load_weights

    star = build_star(model)
    if weights is not None:
        load_weights(star, weights)
    net = EmbeddingNet(star)
    net.set_train(False)
    return net


def example_inputs(batch: int, seq_len: int, height: int, width: int):
    """Tensors with the inference graph's input shapes and dtypes (values do not matter for export)."""
    import mindspore as ms

    rng = np.random.default_rng(0)
    clips = rng.standard_normal((batch, seq_len, 3, height, width)).astype(np.float32)
    keypoints = rng.random((batch, seq_len, 17, 3)).astype(np.float32)
    modality = (np.arange(batch) % 2).astype(np.int32)
    return ms.Tensor(clips), ms.Tensor(keypoints), ms.Tensor(modality)


def _tag_onnx(path: str, metadata: dict) -> None:
    """Record the architecture in the ONNX file so a runtime can check it matches what it was told."""
    import onnx

    model = onnx.load(path)
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(model, path)


def export_model(net, out_prefix: str, fmt: str, batch: int, seq_len: int, height: int, width: int,
                 metadata: dict | None = None) -> str:
    """Write out_prefix + .onnx or .mindir with a fixed input batch; returns the written path."""
    import mindspore as ms

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    ms_format, ext = FORMATS[fmt]
    os.makedirs(os.path.dirname(os.path.abspath(out_prefix)), exist_ok=True)
    ms.export(net, *example_inputs(batch, seq_len, height, width), file_name=out_prefix, file_format=ms_format)
    path = out_prefix + ext
    if not os.path.isfile(path):
        raise RuntimeError(f"export to {fmt} wrote no file at {path}")
    if fmt == "onnx" and metadata:
        _tag_onnx(path, metadata)
    return path
