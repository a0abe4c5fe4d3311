"""Running real worker processes: config files, free ports, /metrics scrapes, a ZeroMQ PULL on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from starreid.storage.redis_server import free_port  # noqa: F401  (re-exported for the worker tests)

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def write_config(path: Path, source: str, tracklets_port: int, metrics_port: int, modality: str = "rgb",
                 **tracker) -> Path:
    cfg = {
        "cameras": [{"id": "cam0", "source": source, "modality": modality, "reconnect_max_s": 0.5}],
        "tracker": tracker,
        "zmq": {"tracklets": f"tcp://127.0.0.1:{tracklets_port}"},
        "metrics": {"host": "127.0.0.1", "worker_port_base": metrics_port},
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def start_worker(config: Path, camera: str = "cam0") -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "starreid", "worker", "--config", str(config),
                             "--camera", camera], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def scrape(port: int) -> dict[str, float]:
    """Sample name -> value for the cam0 series (labels dropped)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("camera", "cam0") == "cam0":
                out[sample.name] = sample.value
    return out


def wait_for(predicate, timeout: float, interval: float = 0.05):
    """Polls until predicate() is truthy (returns it) or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:  # metrics server not up yet
            value = None
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


def stop_worker(proc: subprocess.Popen, timeout: float = 20.0) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out.decode(errors="replace")
