"""Export the inference graph of STAR or IBAN (clips, keypoints, modality -> embedding) to ONNX and MindIR."""
from __future__ import annotations

import os

import numpy as np

FORMATS = {"onnx": ("ONNX", ".onnx"), "mindir": ("MINDIR", ".mindir")}


def input_normalisation() -> str:
    """What the graph's clips input must hold: the one normalisation of training, export and the Embedder
    (reid.preprocess), which is also what the ImageNet weights were trained with."""
    from starreid.reid.preprocess import IMAGENET_MEAN, IMAGENET_STD

    mean, std = (", ".join(f"{v:.3f}" for v in a) for a in (IMAGENET_MEAN, IMAGENET_STD))
    return f"RGB / 255, minus mean ({mean}), divided by std ({std})"


def architecture_metadata(model) -> dict:
    """The ONNX metadata of an exported model section: arch, backbone, variant (STAR), seq_len, the sizes, the
    input."""
    if model.arch == "iban":
        return {"arch": "iban", "backbone": model.backbone, "seq_len": model.seq_len,
                "base_width": model.base_width, "last_stride": model.last_stride, "lstm_hidden": model.lstm_hidden,
                "input": input_normalisation()}
    return {"arch": "star", "backbone": model.backbone, "variant": model.variant, "seq_len": model.seq_len,
            **model.sizes(), "input": input_normalisation()}


def build_inference_net(model, weights: str | None = None, pretrained: str | None = None):
    """EmbeddingNet of a model config section in inference mode: weights loaded strictly from a .ckpt, or the
    backbone alone from pretrained weights ('imagenet' or a weight file; the heads keep their random
    initialisation), or neither (random)."""
    from starreid.reid.models import EmbeddingNet, build_model
    from starreid.reid.models.checkpoint import load_weights
    from starreid.reid.models.pretrained import load_pretrained

    if weights is not None and pretrained is not None:
        raise ValueError("give trained weights or a pretrained backbone, not both")
    star = build_model(model)  # STAR or IBAN (the attribute keeps its name: EmbeddingNet(x).star is the model)
    if weights is not None:
        load_weights(star, weights, skip_prefixes=star.TRAINING_ONLY)
    elif pretrained is not None:
        load_pretrained(star, pretrained)
    net = EmbeddingNet(star)
    net.set_train(False)
    return net


def example_inputs(batch: int | None, seq_len: int, height: int, width: int):
    """Tensors with the inference graph's input shapes and dtypes (values do not matter for export); batch None:
    placeholders whose batch dimension is dynamic."""
    import mindspore as ms

    shapes = ((seq_len, 3, height, width), (seq_len, 17, 3), ())
    dtypes = (ms.float32, ms.float32, ms.int32)
    if batch is None:
        return tuple(ms.Tensor(shape=[None, *s], dtype=d) for s, d in zip(shapes, dtypes))
    rng = np.random.default_rng(0)
    clips = rng.standard_normal((batch, *shapes[0])).astype(np.float32)
    keypoints = rng.random((batch, *shapes[1])).astype(np.float32)
    modality = (np.arange(batch) % 2).astype(np.int32)
    return ms.Tensor(clips), ms.Tensor(keypoints), ms.Tensor(modality)


def _finish_onnx(path: str, metadata: dict | None, dynamic: bool) -> None:
    """Make the batch dimension dynamic (reid.onnx_batch) and record the architecture, so a runtime can check
    it matches what it was told."""
    import onnx

    model = onnx.load(path)
    if dynamic:
        from starreid.reid.onnx_batch import dynamic_batch

        model = dynamic_batch(model)
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(model, path)


def export_model(net, out_prefix: str, fmt: str, batch: int | None, seq_len: int, height: int, width: int,
                 metadata: dict | None = None) -> str:
    """Write out_prefix + .onnx or .mindir; returns the written path. batch None: any batch size (ONNX: the
    batch-1 graph looped over the batch, since MindSpore exports ONNX with fixed shapes only; MindIR: a
    dynamic input shape); an int: that fixed batch."""
    import mindspore as ms

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    ms_format, ext = FORMATS[fmt]
    os.makedirs(os.path.dirname(os.path.abspath(out_prefix)), exist_ok=True)
    traced = 1 if batch is None and fmt == "onnx" else batch
    ms.export(net, *example_inputs(traced, seq_len, height, width), file_name=out_prefix, file_format=ms_format)
    path = out_prefix + ext
    if not os.path.isfile(path):
        raise RuntimeError(f"export to {fmt} wrote no file at {path}")
    if fmt == "onnx":
        _finish_onnx(path, metadata, dynamic=batch is None)
    return path
