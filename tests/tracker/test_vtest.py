"""Real footage (vtest.avi from Debian's opencv-doc): the annotate command, and (slow) the whole video."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from support.footage import VTEST
pytestmark = pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi missing: apt-get install opencv-doc")


@pytest.mark.timeout(120)
def test_annotate_writes_boxes_ids_and_skeletons(tmp_path):
    out = tmp_path / "frame.png"
    result = subprocess.run([sys.executable, "-m", "starreid", "annotate", str(VTEST), "--out", str(out),
                             "--frame", "30", "--detect-scale", "1.3"], capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stderr
    assert "distinct tracks" in result.stdout
    drawn = cv2.imread(str(out))
    cap = cv2.VideoCapture(str(VTEST))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 30)
    raw = cap.read()[1]
    assert drawn.shape == raw.shape == (576, 768, 3)
    changed = np.abs(drawn.astype(int) - raw.astype(int)).max(axis=2) > 60
    assert changed.sum() > 2000  # boxes, labels and limbs were drawn


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_whole_video_tracks_and_tracklets():
    from support.sections import camera
    from starreid.app.config.tracker import TrackerConfig
    from starreid.streams import open_source
    from starreid.tracker.pipeline import CameraPipeline

    pipeline = CameraPipeline.from_config(TrackerConfig(detect_scale=1.3), "vtest", "rgb", 288, 144)
    tracklets, ids, concurrent = [], set(), []
    for frame in open_source(camera(str(VTEST), "vtest", "rgb")).frames():
        tracklets += pipeline.process(frame)
        ids.update(v.track_id for v in pipeline.views)
        concurrent.append(len(pipeline.views))
    tracklets += pipeline.flush()
    pipeline.detector.close()
    print(f"distinct tracks {len(ids)}, max concurrent {max(concurrent)}, tracklets {len(tracklets)}")
    # 3-7 people in view at a time; people come and go over 80 s, and occlusions split some tracks.
    assert 3 <= max(concurrent) <= 9
    assert 8 <= len(ids) <= 35
    assert len(tracklets) >= 60
    for t in tracklets:
        assert len(t.crops) == 24 and t.keypoints.shape == (24, 17, 3)
    assert np.mean([t.valid.mean() for t in tracklets]) > 0.5  # pose found on most frames
