"""Shared pieces of the gallery tests: tracklets with synthetic embeddings, a gallery in a thread."""
from __future__ import annotations

import threading
import time

import numpy as np
import redis

from starreid.contracts import wire
from starreid.storage.connect import connect
from support.net import free_tcp  # noqa: F401  (for the gallery tests)
from support.waiting import wait_for  # noqa: F401
from starreid.storage.keys import Keys
from starreid.storage.service import GalleryService
from support.deployment import THRESHOLDS, start, write_deployment

MODEL = "synthetic:test"


def tracklet(tid: str, vector: np.ndarray | None, camera: str = "cam0", modality: str = "rgb",
             t: float = 0.0, frames: int = 4, model: str = MODEL) -> wire.Tracklet:
    kp = np.zeros((frames, 17, 3), np.float32)
    kp[..., 2] = 0.9
    emb = None if vector is None else wire.Embedding(np.asarray(vector, np.float32), model)
    crops = None if vector is not None else wire.encode_crops(np.zeros((frames, 16, 8, 3), np.uint8))
    return wire.Tracklet(id=tid, camera=camera, modality=modality, track_id=1, start_ts=t, end_ts=t + 2.4,
                         keypoints=kp, valid=np.ones(frames, bool), crops=crops, embedding=emb)


def unit(rng: np.random.Generator, dim: int = 64) -> np.ndarray:
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


class RunningGallery:
    """A GalleryService built from a gallery config section (the test thresholds, then `gallery` overrides)
    on free 127.0.0.1 ports, run in a thread until stop()."""

    def __init__(self, url: str, prefix: str = "test", embed=None, **gallery):
        self.keys = Keys(prefix)
        self.service = self.build(url, prefix, embed, **gallery)
        self.thread = threading.Thread(target=self.service.run, daemon=True)
        self.thread.start()

    @staticmethod
    def build(url: str, prefix: str = "test", embed=None, **gallery) -> GalleryService:
        from starreid.app.config.gallery import GalleryConfig
        from starreid.app.config.model import ModelConfig
        from starreid.app.config.zmq import ZmqConfig

        section = GalleryConfig.model_validate({"thresholds": THRESHOLDS, **gallery})
        endpoints = ZmqConfig(tracklets="tcp://127.0.0.1:*", events="tcp://127.0.0.1:*")
        return GalleryService.from_config(section, endpoints, ModelConfig(),
                                          connect=lambda: connect(url, socket_timeout_s=2.0), keys=Keys(prefix),
                                          embed=embed)

    def stop(self, timeout_s: float = 30.0) -> None:
        self.service.request_stop()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "gallery did not stop"


def processed_tracklets(client: redis.Redis, keys: Keys) -> list[str]:
    """Tracklet ids in the events stream, one per processed tracklet (repeats would be double processing)."""
    return [f[b"tid"].decode() for _, f in client.xrange(keys.events)]


def metric(name: str, **labels) -> float:
    from starreid.contracts.metrics import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def write_config(path, redis_url: str | None, tracklets: str, events: str, gallery: dict | None = None,
                 redis_extra: dict | None = None, extra: dict | None = None) -> str:
    """A deployment config for a gallery subprocess (metrics on a free port, Redis by URL or embedded)."""
    return write_deployment(path, gallery=gallery or {}, redis={"url": redis_url, "key_prefix": "test",
                                                                **(redis_extra or {})},
                            zmq={"tracklets": tracklets, "events": events}, **(extra or {}))


def start_gallery_process(config: str, log_path):
    return start("gallery", config, log=log_path)
