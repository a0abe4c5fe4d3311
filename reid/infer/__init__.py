"""Tracklet embedding at inference time (ONNX Runtime, MindSpore, MindSpore Lite)."""
from starreid.reid.infer.embedder import Embedder, model_id
from starreid.reid.infer.sampler import frame_indices

__all__ = ["Embedder", "frame_indices", "model_id"]
