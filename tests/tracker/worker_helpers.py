"""Running real worker processes: config files, free ports, /metrics scrapes, a ZeroMQ PULL on 127.0.0.1."""
from __future__ import annotations

from pathlib import Path

from support.deployment import scrape, start, stop, write_deployment
from support.footage import VTEST  # noqa: F401  (for the worker tests)
from support.net import free_port  # noqa: F401
from support.waiting import wait_for as _wait_for


def write_config(path: Path, source: str, tracklets_port: int, metrics_port: int, modality: str = "rgb",
                 **tracker) -> Path:
    write_deployment(path, cameras=[{"id": "cam0", "source": source, "modality": modality, "reconnect_max_s": 0.5}],
                     tracker=tracker, zmq={"tracklets": f"tcp://127.0.0.1:{tracklets_port}"},
                     metrics={"worker_port_base": metrics_port})
    return path


def start_worker(config: Path, camera: str = "cam0"):
    return start("worker", config, "--camera", camera)


def wait_for(predicate, timeout: float, interval: float = 0.05):
    return _wait_for(predicate, timeout, interval)


def stop_worker(proc, timeout: float = 20.0) -> tuple[int, str]:
    return stop(proc, timeout)
