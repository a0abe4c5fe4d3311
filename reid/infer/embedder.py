"""Embedder: tracklets (uint8 RGB crops + keypoints + modality) -> L2-normalised STAR embeddings."""
from __future__ import annotations

import logging

import numpy as np

from starreid.reid.infer.backends import open_backend
from starreid.reid.infer.sampler import frame_indices, modality_codes, normalize_clips, resize_clips

log = logging.getLogger(__name__)


def backbone_tag(backbone: str) -> str:
    """The short name of a backbone in model ids: resnet50 -> r50 (the ids of ResNet models are those they had
    before backbones had names), mobilenetv2 -> mbv2."""
    if backbone.startswith("resnet"):
        return "r" + backbone[len("resnet"):]
    return {"mobilenetv2": "mbv2"}.get(backbone, backbone)


def _file_digest(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_id(arch, weights: str | None = None) -> str:
    """"star-{backbone tag}-{variant}:" (or "iban-{backbone tag}:") + the first 12 hex digits of the weight
    file's sha256, e.g. "star-mbv2-baseline:0123456789ab". arch is a model config section (arch, backbone,
    variant, weights)."""
    name = f"iban-{backbone_tag(arch.backbone)}" if arch.arch == "iban" else \
        f"star-{backbone_tag(arch.backbone)}-{arch.variant}"
    return f"{name}:{_file_digest(weights or arch.weights)[:12]}"


class Embedder:
    """Embeds batches of tracklets with one backend: 'onnx' (a .onnx file), 'mindspore' (a .ckpt, or an
    exported .mindir) or 'lite' (a .mindir, only where mindspore_lite imports).

    model_id = "star-{backbone tag}-{variant}:" + the first 12 hex digits of the weight file's sha256 (tags r18,
    r34, r50, mbv2: e.g. "star-mbv2-full:..."); the gallery never compares embeddings of different model ids.
    arch is the architecture (a model config section: backbone, variant, sizes()), which a .ckpt needs to be
    built and an ONNX graph is checked against.
    """

    def __init__(self, weights: str, *, backend: str, device: str, seq_len: int, height: int, width: int,
                 batch_size: int, threads: int, arch):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.seq_len, self.height, self.width = seq_len, height, width
        self.backend = open_backend(backend, weights, device, seq_len, height, width, arch, batch_size, threads)
        self.batch_size = self.backend.batch
        if self.batch_size != batch_size:
            log.info("model %s has a fixed batch of %d; batching by that", weights, self.batch_size)
        self.model_id = model_id(arch, weights)

    @classmethod
    def from_config(cls, model) -> "Embedder":
        """From a deployment `model` section (weights, backend, device, seq_len, height, width, batch_size,
        threads and the architecture)."""
        return cls(model.weights, backend=model.backend, device=model.device, seq_len=model.seq_len,
                   height=model.height, width=model.width, batch_size=model.batch_size, threads=model.threads,
                   arch=model)

    def _check(self, clips: np.ndarray, keypoints: np.ndarray) -> None:
        if clips.ndim != 5 or clips.shape[-1] != 3 or clips.dtype != np.uint8:
            raise ValueError(f"clips must be uint8 RGB (B, T, H, W, 3), got {clips.dtype} {clips.shape}")
        if keypoints.shape != (clips.shape[0], clips.shape[1], 17, 3):
            raise ValueError(f"keypoints must be (B, T, 17, 3) = {(clips.shape[0], clips.shape[1], 17, 3)}, "
                             f"got {keypoints.shape}")

    def _sampled(self, clips, keypoints):
        """Each tracklet's seq_len test-sampled frames; a list allows tracklets of different lengths."""
        if isinstance(clips, (list, tuple)):
            if len(clips) != len(keypoints) or not clips:
                raise ValueError(f"got {len(clips)} clips and {len(keypoints)} keypoint arrays")
            pairs = [self._sampled(np.asarray(c)[None], np.asarray(k)[None]) for c, k in zip(clips, keypoints)]
            crops = [resize_clips(p[0], self.height, self.width) for p in pairs]
            return np.concatenate(crops), np.concatenate([p[1] for p in pairs])
        clips, keypoints = np.asarray(clips), np.asarray(keypoints, dtype=np.float32)
        self._check(clips, keypoints)
        idx = frame_indices(clips.shape[1], self.seq_len)
        return clips[:, idx], np.ascontiguousarray(keypoints[:, idx])

    def embed(self, clips, keypoints, modality) -> np.ndarray:
        """clips uint8 (B, T, H, W, 3) RGB (or a list of B arrays (T_i, H, W, 3)); keypoints (B, T, 17, 3)
        (or a list of (T_i, 17, 3)); modality (B,) 'rgb'/'ir' or 0/1 -> float32 (B, D), rows of unit length."""
        clips, keypoints = self._sampled(clips, keypoints)
        b = clips.shape[0]
        codes = modality_codes(modality, b)
        out = []
        for s in range(0, b, self.batch_size):
            e = slice(s, s + self.batch_size)
            x = normalize_clips(clips[e], self.height, self.width)
            out.append(np.asarray(self.backend.run(x, keypoints[e], codes[e]), dtype=np.float32))
        emb = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
        # Re-normalise in float32 so every backend returns exactly unit rows.
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
