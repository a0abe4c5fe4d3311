"""Shared pieces of the gallery tests: tracklets with synthetic embeddings, a gallery in a thread."""
from __future__ import annotations

import threading
import time

import numpy as np
import redis

from starreid.contracts import wire
from support.redis_admin import gallery_connect, redis_section
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
    on free 127.0.0.1 ports (zmq: more of the zmq section), run in a thread until stop(). redis: a URL or a
    test server (one server or a LocalCluster)."""

    def __init__(self, redis, prefix: str = "test", embed=None, zmq: dict | None = None, **gallery):
        self.keys = Keys(prefix)
        self.service = self.build(redis, prefix, embed, zmq, **gallery)
        self.thread = threading.Thread(target=self.service.run, daemon=True)
        self.thread.start()

    @staticmethod
    def build(redis, prefix: str = "test", embed=None, zmq: dict | None = None, **gallery) -> GalleryService:
        from starreid.app.config.gallery import GalleryConfig
        from starreid.app.config.model import ModelConfig
        from starreid.app.config.zmq import ZmqConfig

        section = GalleryConfig.model_validate({"thresholds": THRESHOLDS, **gallery})
        endpoints = ZmqConfig.model_validate({"tracklets": "tcp://127.0.0.1:*", "events": "tcp://127.0.0.1:*",
                                              **(zmq or {})})
        return GalleryService.from_config(section, endpoints, ModelConfig(), connect=gallery_connect(redis),
                                          keys=Keys(prefix), embed=embed)

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


def write_config(path, redis_url, tracklets: str, events: str, gallery: dict | None = None,
                 redis_extra: dict | None = None, extra: dict | None = None) -> str:
    """A deployment config for a gallery subprocess (metrics on a free port, Redis by URL, test server or
    embedded: None)."""
    return write_deployment(path, gallery=gallery or {}, redis={**redis_section(redis_url), "key_prefix": "test",
                                                                **(redis_extra or {})},
                            zmq={"tracklets": tracklets, "events": events}, **(extra or {}))


def start_gallery_process(config: str, log_path):
    return start("gallery", config, log=log_path)
