"""The whole one-machine pipeline through `starreid run --until-done`: a worker on real footage, the gallery,
an embedded Redis, an (untrained) ONNX model; every tracklet the worker sent is resolved into identities."""
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import yaml

from support.net import free_port

from support.footage import VTEST


def short_clip(path: Path, frames: int = 120) -> Path:
    reader = cv2.VideoCapture(str(VTEST))
    ok, image = reader.read()
    assert ok, f"cannot read {VTEST} (Debian package opencv-doc)"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (image.shape[1], image.shape[0]))
    for _ in range(frames):
        writer.write(image)
        ok, image = reader.read()
        if not ok:
            break
    writer.release()
    return path


@pytest.mark.timeout(900)
def test_run_until_done_resolves_every_tracklet(tmp_path):
    cli = [sys.executable, "-m", "starreid"]
    cfg = {
        "cameras": [{"id": "street", "source": str(short_clip(tmp_path / "street.avi")), "modality": "rgb"}],
        "tracker": {"detect_scale": 1.3, "spool_dir": str(tmp_path / "spool")},
        "model": {"backbone": "resnet18", "weights": str(tmp_path / "model.onnx"), "backend": "onnx", "seq_len": 12,
                  "height": 128, "width": 64, "batch_size": 4},
        "redis": {"data_dir": str(tmp_path / "redis"), "port": free_port()},
        "zmq": {"tracklets": f"tcp://127.0.0.1:{free_port()}", "events": f"tcp://127.0.0.1:{free_port()}"},
        "metrics": {"gallery_port": free_port(), "worker_port_base": free_port(), "supervisor_port": free_port()},
    }
    config = tmp_path / "deploy.yaml"
    config.write_text(yaml.safe_dump(cfg))
    subprocess.run([*cli, "export", "--random-init", "--config", str(config), "--out", str(tmp_path / "model"),
                    "--format", "onnx"], check=True, timeout=300)
    run = subprocess.run([*cli, "run", "--config", str(config), "--until-done"], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "gallery drained and stopped" in run.stderr
    sent = int(re.search(r"stopped after \d+ tracklets \((\d+) sent, ", run.stderr).group(1))
    assert sent > 0
    listing = subprocess.run([*cli, "query", "--config", str(config), "--json"], capture_output=True, text=True,
                             timeout=120, check=True)
    identities = json.loads(listing.stdout)
    assert identities, listing.stdout
    assert sum(i["sightings"] for i in identities) == sent  # every tracklet sent became one sighting
    # the report written at the end: sheet, timeline, the clip annotated with identities, and a still of it
    report = tmp_path / "report"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["identities"] == len(identities) and summary["sightings"] == sent
    sheet = cv2.imread(str(report / "identities.png"))
    assert sheet.shape[0] >= min(len(identities), 40) * 130  # a row per identity
    assert cv2.imread(str(report / "timeline.png")) is not None and cv2.imread(str(report / "street.png")) is not None
    video = cv2.VideoCapture(str(report / "street.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 120
