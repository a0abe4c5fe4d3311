"""Tracklet ids survive worker restarts: a live camera whose worker restarts loses no sighting (the new run's
ids cannot repeat the old run's), and replaying the same video file stays idempotent (same ids, stored once)."""
import re
from pathlib import Path

import cv2
import pytest

from starreid.streams.mjpeg_server import MjpegServer, video_parts
from support.deployment import scrape, start, stop, write_deployment
from support.footage import VTEST
from support.net import free_port, free_tcp
from support.redis_admin import admin
from support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi missing: opencv-doc")]
TRACKER = {"detect_scale": 1.3, "tracklet_len": 8, "tracklet_stride": 8, "min_frames": 4, "flush_timeout_s": 20}


def sent_by(log: str) -> int:
    return int(re.search(r"stopped after \d+ tracklets \((\d+) sent, (\d+) confirmed", log).group(1))


def run_worker(config: str, log: Path, until, timeout: float = 240) -> str:
    """A worker until `until()` holds (or its file ends), then SIGTERM; its log, after checking it flushed."""
    log.unlink(missing_ok=True)
    proc = start("worker", config, "--camera", "cam0", log=log)
    try:
        wait_for(lambda: proc.poll() is not None or until(), timeout_s=timeout, step_s=0.5)
    finally:
        code, _ = stop(proc, 60)
    text = log.read_text()
    assert code == 0, text[-3000:]
    return text


def events(url: str) -> list[str]:
    return [f[b"tid"].decode() for _, f in admin(url).xrange("{test}:events")]


@pytest.mark.timeout(900)
def test_a_restarted_live_worker_loses_nothing_and_a_replayed_file_is_stored_once(redis_server, tmp_path,
                                                                                  tiny_onnx):
    z = {"tracklets": free_tcp(), "events": free_tcp()}
    model = tiny_onnx.model_section  # the workers embed (fast: a tiny random-init model at 64 x 32)
    gallery_port, worker_port = free_port(), free_port()
    metrics = {"gallery_port": gallery_port, "worker_port_base": worker_port}
    gallery = start("gallery", write_deployment(tmp_path / "g.yaml", redis={"url": redis_server.url,
                                                                            "key_prefix": "test"},
                                                zmq=z, metrics=metrics), log=tmp_path / "gallery.log")
    camera = MjpegServer(video_parts(str(VTEST)), fps=10).start()
    try:
        wait_for(lambda: admin(redis_server.url).exists("{test}:gallery:alive"), timeout_s=60)
        live = write_deployment(tmp_path / "live.yaml", zmq=z, metrics=metrics, tracker=TRACKER, model=model,
                                cameras=[{"id": "cam0", "source": camera.url, "modality": "rgb"}])
        # Two runs of the worker on the same live camera: the second restarts its track ids and frame indices.
        logs = []
        for run in range(2):
            before = len(events(redis_server.url))
            logs.append(run_worker(live, tmp_path / "worker.log", lambda: len(events(redis_server.url)) >= before + 4))
        stored = events(redis_server.url)
        sessions = {tid.split(":")[1] for tid in stored}
        assert len(sessions) == 2  # one per run
        assert len(stored) == len(set(stored)) == sum(map(sent_by, logs))  # every tracklet of both runs
        assert scrape(gallery_port, camera=None).get("starreid_gallery_tracklets_processed_total|duplicate", 0) == 0

        # The same file twice: the second run's tracklets are the first run's, recognised and not stored again.
        clip = tmp_path / "clip.avi"
        reader = cv2.VideoCapture(str(VTEST))
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (768, 576))
        for _ in range(80):
            writer.write(reader.read()[1])
        writer.release()
        replay = write_deployment(tmp_path / "file.yaml", zmq=z, metrics=metrics, tracker=TRACKER, model=model,
                                  cameras=[{"id": "cam0", "source": str(clip), "modality": "rgb"}])
        first = sent_by(run_worker(replay, tmp_path / "worker.log", lambda: False))
        after_first = events(redis_server.url)
        second = sent_by(run_worker(replay, tmp_path / "worker.log", lambda: False))
        assert first == second > 0
        assert events(redis_server.url) == after_first  # nothing new stored
        assert len(after_first) == len(stored) + first
        duplicates = scrape(gallery_port, camera=None)["starreid_gallery_tracklets_processed_total|duplicate"]
        assert duplicates >= second  # each replayed tracklet recognised (resends may add repeats)
    finally:
        camera.stop()
        stop(gallery)
