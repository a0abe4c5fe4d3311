"""Deployments for fault tests under `starreid run` and the counting the reliability table needs: what the
workers emitted (their final log lines), what the gallery committed (its events stream), what was lost or
processed twice, and how long recovery took."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import redis

from support.deployment import children_of, scrape, write_deployment
from support.footage import VTEST
from support.net import free_port, free_tcp
from support.redis_admin import admin

TRACKER = {"detect_scale": 1.3, "tracklet_len": 12, "tracklet_stride": 12, "min_frames": 4}
PREFIX = "test"
EVENTS = "{%s}:events" % PREFIX
STOPPED = re.compile(r"camera (\S+): stopped after (\d+) tracklets \((\d+) sent, (\d+) confirmed, (\d+) resent, "
                     r"(\d+) from an earlier run's spool, (\d+) unconfirmed: kept in .* for the next start, "
                     r"(\d+) lost\)")


def clip(path: Path, frames: int, start: int = 0) -> str:
    """The first `frames` frames of vtest.avi (after `start`) as an MJPG file."""
    reader = cv2.VideoCapture(str(VTEST))
    for _ in range(start):
        reader.read()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (768, 576))
    for _ in range(frames):
        ok, image = reader.read()
        if not ok:
            break
        writer.write(image)
    writer.release()
    return str(path)


def worker_runs(text: str) -> list[dict]:
    """Every worker run that ended with its final line: camera, emitted, sent, confirmed, resent, from_spool,
    kept, lost."""
    keys = ("emitted", "sent", "confirmed", "resent", "from_spool", "kept", "lost")
    return [{"camera": m.group(1), **dict(zip(keys, map(int, m.groups()[1:])))} for m in STOPPED.finditer(text)]


def tally(stored: list[str], emitted: int | set) -> dict:
    """committed / lost / duplicated from the events stream's tracklet ids and what was emitted (a count, or the
    set of ids when they are known)."""
    unique = set(stored)
    lost = len(emitted - unique) if isinstance(emitted, set) else max(0, emitted - len(unique))
    return {"emitted": len(emitted) if isinstance(emitted, set) else emitted, "committed": len(unique),
            "lost": lost, "duplicated": len(stored) - len(unique)}


class Deployment:
    """A config for `starreid run` on a vtest clip (or another source): the embedded Redis (or `redis`, a
    section reaching an external one), the gallery, one worker (the tiny model)."""

    def __init__(self, tmp_path: Path, model: dict, frames: int = 200, source: str | None = None,
                 redis: dict | None = None, cameras: list[dict] | None = None, gallery: dict | None = None,
                 tracker: dict | None = None):
        self.tmp, self.redis_port = tmp_path, free_port()
        self.metrics = {"gallery_port": free_port(), "worker_port_base": free_port(), "supervisor_port": free_port()}
        cameras = cameras or [{"id": "cam0", "source": source or clip(tmp_path / "clip.avi", frames),
                               "modality": "rgb"}]
        section = {"data_dir": str(tmp_path / "redis"), "port": self.redis_port, "key_prefix": PREFIX}
        self.external = redis is not None
        self.config = write_deployment(
            tmp_path / "deploy.yaml", model=model, tracker={**TRACKER, **(tracker or {})}, metrics=self.metrics,
            cameras=cameras, redis={**section, **(redis or {})}, gallery=gallery or {},
            zmq={"tracklets": free_tcp(), "events": free_tcp()})
        self.url = redis["url"] if redis else f"redis://127.0.0.1:{self.redis_port}/0"
        self.log = tmp_path / "run.log"

    def run(self, *args: str) -> subprocess.Popen:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        return subprocess.Popen([sys.executable, "-m", "starreid", "run", "--config", self.config, *args],
                                stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # its own process group, as a terminal gives it

    def events(self) -> list[str]:
        """Tracklet ids in the events stream, in order ([] while Redis is away)."""
        try:
            return [f[b"tid"].decode() for _, f in admin(self.url).xrange(EVENTS)]
        except (OSError, redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return []

    def stored_after_stop(self) -> list[str]:
        """The events stream once the run has stopped its embedded Redis: start that Redis alone to read it."""
        from starreid.storage.redis_server import ping
        from support.deployment import start, stop
        from support.waiting import wait_for

        server = start("redis", self.config, log=self.tmp / "redis.out")
        try:
            wait_for(lambda: ping("127.0.0.1", self.redis_port), timeout_s=20)
            return self.events()
        finally:
            stop(server)

    def child(self, proc, word: str) -> int:
        """The supervised child by role ('redis' has exec'd redis-server, so its command line names that)."""
        needle = "redis-server" if word == "redis" else f" {word} "
        return next(pid for pid, cmd in children_of(proc.pid).items() if needle in f" {cmd} ")

    def runs(self) -> list[dict]:
        return worker_runs(self.log.read_text())

    def sent(self) -> int:
        """Tracklets the worker sent, from the final line of each of its runs (a restarted worker has several)."""
        runs = self.runs()
        assert runs, self.log.read_text()[-3000:]
        return sum(r["sent"] for r in runs)

    def stored_once(self) -> list[str]:
        stored = self.events()
        repeats = [t for t, n in Counter(stored).items() if n > 1]
        assert repeats == [], f"processed twice: {repeats}"
        return stored

    def worker_frames(self, index: int = 0) -> float:
        """Frames processed by the worker of camera `index`, from its metrics (0 while it is down)."""
        try:
            return scrape(self.metrics["worker_port_base"] + index, camera=None).get(
                "starreid_worker_frames_processed_total", 0.0)
        except OSError:
            return 0.0


def wait_until(predicate, timeout_s: float, step_s: float = 0.1):
    """Seconds until predicate() held; AssertionError after timeout_s (a predicate that raises OSError, a Redis
    connection error or StopIteration (a child not there yet) counts as not yet)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if predicate():
                return time.monotonic() - start
        except (OSError, redis.ConnectionError, StopIteration):
            pass
        time.sleep(step_s)
    raise AssertionError(f"condition not met within {timeout_s} s")
