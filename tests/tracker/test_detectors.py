"""The Detector contract, backend by backend, on a real frame of vtest.avi."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from starreid.app.config.tracker import TrackerConfig
from starreid.tracker.detection import Detection, Detector, make_detector

from support.footage import VTEST


@pytest.fixture(scope="module")
def frame():
    if not VTEST.exists():
        pytest.skip("vtest.avi missing: apt-get install opencv-doc")
    cap = cv2.VideoCapture(str(VTEST))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    return cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB)


def check_detections(dets, image):
    h, w = image.shape[:2]
    assert len(dets) >= 2  # 5-6 people are in view on this frame
    for d in dets:
        assert isinstance(d, Detection) and d.box.shape == (4,) and d.keypoints.shape == (17, 3)
        x1, y1, x2, y2 = d.box
        assert -20 <= x1 < x2 <= w + 20 and -20 <= y1 < y2 <= h + 20
        assert 0 <= d.score <= 1
        assert 1.5 < (y2 - y1) / (x2 - x1) < 4  # standing people are tall and narrow


def check_pose(keypoints, boxes):
    assert keypoints.shape == (len(boxes), 17, 3) and keypoints.dtype == np.float32
    found = 0
    for kp, (x1, y1, x2, y2) in zip(keypoints, boxes):
        seen = kp[:, 2] > 0.3
        if seen.sum() >= 8:
            found += 1
            margin = 0.3 * (x2 - x1)
            assert np.all((kp[seen, 0] > x1 - margin) & (kp[seen, 0] < x2 + margin))
            # head above hips above ankles (image y grows downwards)
            if kp[0, 2] > 0.3 and kp[11, 2] > 0.3 and kp[15, 2] > 0.3:
                assert kp[0, 1] < kp[11, 1] < kp[15, 1]
    assert found >= 1


def test_hog_mediapipe_contract(frame):
    det = make_detector(TrackerConfig(detect_scale=1.3))
    assert isinstance(det, Detector)
    try:
        assert det.joint_pose is False
        dets = det.detect(frame)
        check_detections(dets, frame)
        assert all(np.all(d.keypoints == 0) for d in dets)  # boxes only: pose is asked for separately
        boxes = np.stack([d.box for d in dets])
        check_pose(det.pose(frame, boxes), boxes)
        assert det.pose(frame, np.zeros((0, 4), np.float32)).shape == (0, 17, 3)
    finally:
        det.close()


def test_hog_finds_nobody_in_an_empty_image():
    det = make_detector(TrackerConfig())
    assert det.detect(np.full((480, 640, 3), 128, np.uint8)) == []


@pytest.mark.skipif(not os.environ.get("STARREID_YOLO_POSE_WEIGHTS"),
                    reason="set STARREID_YOLO_POSE_WEIGHTS to a YOLO-pose .pt file (optional ultralytics extra)")
def test_ultralytics_contract(frame):
    pytest.importorskip("ultralytics")
    det = make_detector(TrackerConfig(backend="ultralytics", weights=os.environ["STARREID_YOLO_POSE_WEIGHTS"]))
    assert isinstance(det, Detector)
    dets = det.detect(frame)
    check_detections(dets, frame)
    boxes = np.stack([d.box for d in dets])
    check_pose(np.stack([d.keypoints for d in dets]), boxes)
    check_pose(det.pose(frame, boxes), boxes)


def test_ultralytics_without_weights_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="weight file"):
        make_detector(TrackerConfig(backend="ultralytics", weights=str(tmp_path / "none.pt")))


def test_unknown_backend_and_bad_keypoints_rejected():
    with pytest.raises(ValueError, match="hog_mediapipe"):
        make_detector(TrackerConfig.model_construct(backend="nope"))
    with pytest.raises(ValueError, match="17, 3"):
        Detection(np.zeros(4), 0.5, np.zeros((33, 3)))
