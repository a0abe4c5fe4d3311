"""Faults under `starreid run` on real footage, each checked for loss: Redis killed and not touched by hand,
the gallery killed, the supervisor killed, a terminal's Ctrl-C to the whole process group, SIGTERM to the
supervisor alone (systemd's stop with KillMode=mixed), and a worker killed with tracklets unconfirmed."""
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import pytest

from starreid.storage.redis_server import ping
from support.deployment import alive, children_of, scrape, start, stop, write_deployment
from support.footage import VTEST
from support.net import free_port, free_tcp
from support.redis_admin import admin
from support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi missing: opencv-doc")]
TRACKER = {"detect_scale": 1.3, "tracklet_len": 12, "tracklet_stride": 12, "min_frames": 4}


def clip(path: Path, frames: int) -> str:
    reader = cv2.VideoCapture(str(VTEST))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (768, 576))
    for _ in range(frames):
        writer.write(reader.read()[1])
    writer.release()
    return str(path)


class Deployment:
    """A config for `starreid run` on a vtest clip: the embedded Redis, the gallery, one worker (tiny model)."""

    def __init__(self, tmp_path: Path, model: dict, frames: int = 200, source: str | None = None):
        self.tmp, self.redis_port = tmp_path, free_port()
        self.metrics = {"gallery_port": free_port(), "worker_port_base": free_port()}
        self.config = write_deployment(
            tmp_path / "deploy.yaml", model=model, tracker=TRACKER, metrics=self.metrics,
            cameras=[{"id": "cam0", "source": source or clip(tmp_path / "clip.avi", frames), "modality": "rgb"}],
            redis={"data_dir": str(tmp_path / "redis"), "port": self.redis_port, "key_prefix": "test"},
            zmq={"tracklets": free_tcp(), "events": free_tcp()})
        self.log = tmp_path / "run.log"

    def run(self, *args: str) -> subprocess.Popen:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        return subprocess.Popen([sys.executable, "-m", "starreid", "run", "--config", self.config, *args],
                                stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # its own process group, as a terminal gives it

    def events(self) -> list[str]:
        try:
            return [f[b"tid"].decode() for _, f in admin(f"redis://127.0.0.1:{self.redis_port}/0").xrange("{test}:events")]
        except OSError:
            return []

    def child(self, proc, word: str) -> int:
        """The supervised child by role ('redis' has exec'd redis-server, so its command line names that)."""
        needle = "redis-server" if word == "redis" else f" {word} "
        return next(pid for pid, cmd in children_of(proc.pid).items() if needle in f" {cmd} ")

    def sent(self) -> int:
        """Tracklets the worker sent, from the final line of each of its runs (a restarted worker has several)."""
        runs = re.findall(r"stopped after \d+ tracklets \((\d+) sent", self.log.read_text())
        assert runs, self.log.read_text()[-3000:]
        return sum(map(int, runs))

    def stored_once(self) -> list[str]:
        stored = self.events()
        repeats = [t for t, n in Counter(stored).items() if n > 1]
        assert repeats == [], f"processed twice: {repeats}"
        return stored


@pytest.fixture
def model(tiny_onnx):
    return tiny_onnx.model_section


@pytest.mark.timeout(600)
def test_redis_killed_mid_run_is_restarted_and_nothing_is_lost(tmp_path, model):
    d = Deployment(tmp_path, model)
    proc = d.run("--until-done")
    try:
        wait_for(lambda: len(d.events()) >= 3, timeout_s=240, step_s=0.5)
        redis_pid = d.child(proc, "redis")
        os.kill(redis_pid, signal.SIGKILL)  # and nobody touches it: the supervisor must bring it back
        wait_for(lambda: ping("127.0.0.1", d.redis_port) and d.child(proc, "redis") != redis_pid, timeout_s=60)
        assert proc.wait(400) == 0, d.log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    stored = d.stored_once()
    assert len(set(stored)) == d.sent() > 3  # every tracklet sent is stored, once
    assert "redis exited with -9" in d.log.read_text()


@pytest.mark.timeout(600)
def test_gallery_killed_keeps_its_redis_and_a_killed_supervisor_leaves_no_orphan(tmp_path, model):
    d = Deployment(tmp_path, model, frames=400)
    proc = d.run()
    try:
        wait_for(lambda: len(d.events()) >= 2, timeout_s=240, step_s=0.5)
        redis_pid, gallery_pid = d.child(proc, "redis"), d.child(proc, "gallery")
        os.kill(gallery_pid, signal.SIGKILL)
        wait_for(lambda: d.child(proc, "gallery") != gallery_pid, timeout_s=30, step_s=0.2)
        before = len(d.events())
        wait_for(lambda: len(d.events()) > before, timeout_s=240, step_s=0.5)  # the new gallery works
        assert d.child(proc, "redis") == redis_pid  # on the same, supervised Redis: no stranger adopted
        children = list(children_of(proc.pid))
        os.kill(proc.pid, signal.SIGKILL)  # the supervisor itself, without any chance to clean up
        wait_for(lambda: not any(alive(pid) for pid in children), timeout_s=30, step_s=0.2)
        assert not ping("127.0.0.1", d.redis_port)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("how", ["group SIGINT", "SIGTERM to the supervisor"])
def test_stopping_mid_run_loses_nothing(tmp_path, model, how):
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group; systemd's stop (KillMode=mixed)
    sends SIGTERM to the supervisor. Either way workers flush first, the gallery drains, Redis stops last."""
    d = Deployment(tmp_path, model, frames=400)
    proc = d.run()
    try:
        wait_for(lambda: len(d.events()) >= 3, timeout_s=240, step_s=0.5)
        children = list(children_of(proc.pid))
        if how == "group SIGINT":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(120) == 0, d.log.read_text()[-3000:]
        assert not any(alive(pid) for pid in children)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    server = start("redis", d.config, log=tmp_path / "redis.out")  # to read what was stored
    try:
        wait_for(lambda: ping("127.0.0.1", d.redis_port), timeout_s=20)
        stored = d.stored_once()
        assert len(set(stored)) == d.sent() >= 3
    finally:
        stop(server)


@pytest.mark.timeout(600)
def test_a_worker_killed_with_unconfirmed_tracklets_resends_them_after_restart(tmp_path, model):
    """The gallery is frozen (SIGSTOP): the worker's tracklets go unconfirmed; it is killed outright; its next
    start sends what it kept, and the gallery stores every one of them."""
    from starreid.streams.mjpeg_server import MjpegServer, video_parts

    camera = MjpegServer(video_parts(str(VTEST)), fps=10).start()
    d = Deployment(tmp_path, model, source=camera.url)
    redis = start("redis", d.config, log=tmp_path / "redis.out")
    gallery = start("gallery", d.config, log=tmp_path / "gallery.out")
    spool = tmp_path / "spool" / "cam0"
    worker = None
    try:
        wait_for(lambda: admin(f"redis://127.0.0.1:{d.redis_port}/0").exists("{test}:gallery:alive"), timeout_s=60)
        os.kill(gallery.pid, signal.SIGSTOP)
        worker = start("worker", d.config, "--camera", "cam0", log=tmp_path / "worker1.out")
        wait_for(lambda: len(list(spool.glob("*.msg"))) >= 3, timeout_s=240, step_s=0.5)
        worker.kill()
        worker.wait(10)
        from starreid.tracker.spool import Spool

        kept = {tid for tid, _ in Spool(spool).pending()}
        os.kill(gallery.pid, signal.SIGCONT)
        worker = start("worker", d.config, "--camera", "cam0", log=tmp_path / "worker2.out")
        wait_for(lambda: kept <= set(d.events()), timeout_s=120, step_s=0.5)
        code, _ = stop(worker, 60)
        assert code == 0 and not list(spool.glob("*.msg"))
        assert "from an earlier run's spool" in (tmp_path / "worker2.out").read_text()
        d.stored_once()
        assert scrape(d.metrics["gallery_port"], camera=None)["starreid_gallery_tracklets_processed_total|new"] > 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        os.kill(gallery.pid, signal.SIGCONT)
        stop(gallery)
        stop(redis)
        camera.stop()
