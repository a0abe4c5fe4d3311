"""Cameras that differ: a camera's own tracker settings over the tracker section (validated by the same
schema), the worker built from the merged section, and the pose-validity metrics and warning that say when
the pose model stops seeing people on a camera (measured: on IR-like footage, docs/ingest.md)."""
from __future__ import annotations

import logging
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
import zmq

from starreid.app.config import ConfigError, load_config
from starreid.app.config.tracker import TrackerConfig
from starreid.contracts import wire
from starreid.tracker.worker import PoseWatch
from support.deployment import write_deployment
from support.footage import VTEST
from support.net import free_port

CAMERAS = [{"id": "gate-rgb", "source": "/dev/null", "modality": "rgb"},
           {"id": "gate-ir", "source": "/dev/null", "modality": "ir",
            "tracker": {"detect_scale": 2.6, "purity_split": None, "pose_warn_window": 50}}]


def test_a_camera_overrides_only_what_it_sets(tmp_path):
    cfg = load_config(write_deployment(tmp_path / "c.yaml", cameras=CAMERAS, tracker={"detect_scale": 1.3,
                                                                                       "detect_every": 2}))
    rgb, ir = cfg.tracker_for("gate-rgb"), cfg.tracker_for("gate-ir")
    assert (rgb.detect_scale, rgb.detect_every, rgb.purity_split) == (1.3, 2, TrackerConfig().purity_split)
    assert (ir.detect_scale, ir.detect_every, ir.purity_split, ir.pose_warn_window) == (2.6, 2, None, 50)
    assert isinstance(ir, TrackerConfig) and cfg.tracker.detect_scale == 1.3  # the section itself is untouched
    shown = yaml.safe_load(subprocess.run([sys.executable, "-m", "starreid", "config", "show", str(tmp_path / "c.yaml")],
                                          capture_output=True, text=True, timeout=60, check=True).stdout)
    assert shown["cameras"][1]["tracker"] == {"detect_scale": 2.6, "purity_split": None, "pose_warn_window": 50}
    assert shown["cameras"][0]["tracker"] is None


@pytest.mark.parametrize("override, where, message", [
    ({"detect_scale": 9}, "cameras[1].tracker.detect_scale", "less than or equal to 3"),
    ({"detect_scal": 2}, "cameras[1].tracker.detect_scal", "did you mean 'detect_scale'"),
    ({"backend": "yolo"}, "cameras[1].tracker.backend", "'hog_mediapipe' or 'ultralytics'"),
    ({"high_score": 0.05}, "", "cameras[1].tracker over tracker: low_score must not exceed high_score"),
])
def test_a_camera_override_is_checked_by_the_tracker_schema(tmp_path, override, where, message):
    cams = [CAMERAS[0], {**CAMERAS[1], "tracker": override}]
    with pytest.raises(ConfigError) as err:
        load_config(write_deployment(tmp_path / "c.yaml", cameras=cams))
    (key, line, text), = err.value.problems
    assert key == where and message in text, err.value
    assert line is not None


def test_pose_watch_warns_once_when_poses_collapse_and_says_when_they_return(caplog):
    watch = PoseWatch("gate-ir", warn_below=0.3, window=100)
    with caplog.at_level(logging.INFO, logger="starreid.tracker.worker"):
        ratios = [watch.add(3, 3) for _ in range(40)]  # 120 estimates, all found
        assert ratios[-1] == 1.0 and not watch.low
        ratios = [watch.add(0, 3) for _ in range(40)]  # then none
        assert watch.low and ratios[-1] == 0.0
        first_low = next(i for i, r in enumerate(ratios) if r < 0.3)
        assert 20 <= first_low <= 30  # the window slides: the old successes fade out over ~100 estimates
        for _ in range(40):
            watch.add(3, 3)
        assert not watch.low
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "starreid.tracker.worker"]
    assert [level for level, _ in records] == [logging.WARNING, logging.INFO]
    assert PoseWatch("c", warn_below=None, window=10).add(0, 100) == 0.0  # never warns without a threshold


def half_size_ir_clip(path: Path, frames: int) -> str:
    """vtest.avi as a half-size, inverted-grey (IR-like) camera."""
    import cv2

    reader = cv2.VideoCapture(str(VTEST))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (384, 288))
    for _ in range(frames):
        grey = 255 - cv2.cvtColor(reader.read()[1], cv2.COLOR_BGR2GRAY)
        writer.write(cv2.cvtColor(cv2.resize(grey, (384, 288), interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR))
    writer.release()
    return str(path)


def scrape(port: int) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name.startswith("starreid_tracker_pose")}


@pytest.mark.slow
@pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi missing (Debian's opencv-doc; deploy/setup.sh)")
@pytest.mark.timeout(400)
def test_worker_builds_its_pipeline_from_its_camera_settings(tmp_path):
    """A half-size IR camera of the street: with the site's detect_scale (1.3) HOG finds nobody; with the
    camera's own (2.6) its worker cuts tracklets, and its pose metrics show how rarely MediaPipe finds a pose
    there."""
    clip = half_size_ir_clip(tmp_path / "ir.avi", 60)
    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    cams = [{"id": "ir-site", "source": clip, "modality": "ir"},
            {"id": "ir-own", "source": clip, "modality": "ir", "tracker": {"detect_scale": 2.6, "pose_warn_window": 20}}]
    config = write_deployment(tmp_path / "site.yaml", cameras=cams, tracker={
        "detect_scale": 1.3, "flush_timeout_s": 0.5, "spool_dir": str(tmp_path / "spool")},
        zmq={"tracklets": f"tcp://127.0.0.1:{port}", "events": f"tcp://127.0.0.1:{free_port()}"},
        metrics={"host": "127.0.0.1", "gallery_port": 0, "worker_port_base": 0})
    received: dict[str, list] = {"ir-site": [], "ir-own": []}
    pose: dict[str, dict] = {}
    try:
        for camera in received:
            metrics_port = free_port()
            proc = subprocess.Popen([sys.executable, "-m", "starreid", "worker", "--config", config, "--camera", camera,
                                     "--metrics-port", str(metrics_port)], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 300
            while proc.poll() is None and time.monotonic() < deadline:
                while pull.poll(100):
                    received[camera].append(wire.decode(pull.recv()))
                try:
                    pose[camera] = scrape(metrics_port) or pose.get(camera, {})
                except OSError:
                    pass
            out = proc.communicate(timeout=60)[0].decode(errors="replace")
            while pull.poll(500):
                received[camera].append(wire.decode(pull.recv()))
            # nobody confirms: what was cut stays in the spool and the worker exits 3, as documented
            assert proc.returncode == (3 if received[camera] else 0), out[-3000:]
    finally:
        pull.close(0)
    assert received["ir-site"] == [] and pose.get("ir-site", {}).get("starreid_tracker_pose_estimates_total", 0) == 0
    own = received["ir-own"]
    assert len(own) >= 2 and all(t.camera == "ir-own" for t in own)
    estimates = pose["ir-own"]["starreid_tracker_pose_estimates_total"]
    found = pose["ir-own"]["starreid_tracker_pose_found_total"]
    ratio = pose["ir-own"]["starreid_tracker_pose_valid_ratio"]
    assert estimates >= 20 and 0 <= found / estimates < 0.5 and 0 <= ratio < 0.5
    valid = np.mean([t.valid.mean() for t in own])
    print(f"ir-own: {len(own)} tracklets, pose found in {found:.0f} of {estimates:.0f} estimates (gauge {ratio:.2f}); "
          f"valid frames {valid:.2f}; ir-site: nothing")
