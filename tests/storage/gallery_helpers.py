"""Shared pieces of the gallery tests: tracklets with synthetic embeddings, a gallery in a thread."""
from __future__ import annotations

import threading
import time

import numpy as np
import redis

from starreid.contracts import wire
from starreid.storage.connect import connect
from starreid.storage.keys import Keys
from starreid.storage.resolver import Resolver
from starreid.storage.service import GalleryService

THRESHOLDS = {"rgb_rgb": 0.65, "ir_ir": 0.65, "rgb_ir": 0.58}
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
    """A GalleryService on free 127.0.0.1 ports, run in a thread until stop()."""

    def __init__(self, url: str, prefix: str = "test", thresholds=None, **kwargs):
        self.keys = Keys(prefix)
        resolver_args = {k: kwargs.pop(k) for k in ("min_transit_s", "exact_below", "exemplars") if k in kwargs}
        self.service = GalleryService(
            connect=lambda: connect(url, socket_timeout_s=2.0), keys=self.keys,
            make_resolver=lambda: Resolver(thresholds or THRESHOLDS, **resolver_args),
            tracklets_endpoint="tcp://127.0.0.1:*", events_endpoint="tcp://127.0.0.1:*", **kwargs)
        self.thread = threading.Thread(target=self.service.run, daemon=True)
        self.thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self.service.request_stop()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "gallery did not stop"


def wait_for(predicate, timeout_s: float = 30.0, step_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


def processed_tracklets(client: redis.Redis, keys: Keys) -> list[str]:
    """Tracklet ids in the events stream, one per processed tracklet (repeats would be double processing)."""
    return [f[b"tid"].decode() for _, f in client.xrange(keys.events)]


def metric(name: str, **labels) -> float:
    from starreid.contracts.metrics import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def free_tcp() -> str:
    from starreid.storage.redis_server import free_port

    return f"tcp://127.0.0.1:{free_port()}"


def write_config(path, redis_url: str | None, tracklets: str, events: str, gallery: dict | None = None,
                 redis_extra: dict | None = None, extra: dict | None = None) -> str:
    """A deployment config for a gallery subprocess (metrics on a free port, Redis by URL or embedded)."""
    import yaml

    cfg = {
        "kind": "deployment",
        "cameras": [{"id": "cam0", "source": "/dev/null", "modality": "rgb"}],
        "gallery": {"thresholds": THRESHOLDS, **(gallery or {})},
        "redis": {"url": redis_url, "key_prefix": "test", **(redis_extra or {})},
        "zmq": {"tracklets": tracklets, "events": events},
        "metrics": {"host": "127.0.0.1", "gallery_port": 0},
        "logging": {"level": "INFO"},
        **(extra or {}),
    }
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def start_gallery_process(config: str, log_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "starreid", "gallery", "--config", config],
                            stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, env=env)
