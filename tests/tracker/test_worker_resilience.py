"""The worker process against a real MJPEG camera on 127.0.0.1: it survives the camera going away, resumes
within 2 s of its return, counts corrupt frames and unreadable sources, and stops cleanly on SIGTERM."""
import itertools
import time

import cv2
import numpy as np
import pytest

from starreid.streams.mjpeg_server import MjpegServer
from worker_helpers import free_port, scrape, start_worker, stop_worker, wait_for, write_config


def parts():
    image = np.full((240, 320, 3), 90, np.uint8)  # an empty scene: nothing to detect, cheap to process
    good = cv2.imencode(".jpg", image)[1].tobytes()
    for i in itertools.count():
        yield b"\xff\xd8\xff corrupt" if i % 10 == 5 else good


@pytest.mark.timeout(90)
def test_worker_survives_camera_restart_and_resumes_within_2s(tmp_path):
    server = MjpegServer(parts, fps=25).start()
    mport = free_port()
    proc = start_worker(write_config(tmp_path / "w.yaml", server.url, free_port(), mport))
    try:
        wait_for(lambda: scrape(mport).get("starreid_stream_decode_errors_total", 0) >= 2, 30)  # corrupt: counted
        assert scrape(mport)["starreid_worker_frames_processed_total"] >= 5
        server.stop()
        time.sleep(1.5)
        down = scrape(mport)
        assert proc.poll() is None
        assert down["starreid_stream_open_errors_total"] >= 1
        server.start()  # same port
        restarted = time.monotonic()
        before = down["starreid_worker_frames_processed_total"]
        wait_for(lambda: scrape(mport)["starreid_worker_frames_processed_total"] > before + 2, 10, 0.02)
        resumed = time.monotonic() - restarted
        print(f"worker resumed {resumed:.2f} s after the camera came back")
        assert resumed < 2.0, f"resumed after {resumed:.2f} s"
        assert scrape(mport)["starreid_stream_reconnects_total"] == 1
    finally:
        server.stop()
        rc, log = stop_worker(proc)
    assert rc == 0, log
    assert "reconnected" in log and "undecodable JPEG" in log


@pytest.mark.timeout(60)
def test_a_missing_file_source_is_a_configuration_error(tmp_path):
    """Checked at start: one clear message and exit 2 (not restarted), not a worker retrying forever."""
    proc = start_worker(write_config(tmp_path / "w.yaml", str(tmp_path / "missing.avi"), free_port(), free_port()))
    rc, log = stop_worker(proc, 60) if proc.wait(60) is None else (proc.returncode, proc.stdout.read().decode())
    assert rc == 2 and "missing.avi" in log and "Traceback" not in log


def test_unknown_camera_is_a_clear_error(tmp_path):
    proc = start_worker(write_config(tmp_path / "w.yaml", "x.avi", free_port(), free_port()), camera="nope")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and b"nope" in out
