"""Each replaceable part of the camera pipeline against its contract: detectors (tracker.detection.Detector),
the pose estimator (PoseEstimator) and trackers (tracker.tracking.Tracker)."""
import numpy as np
import pytest

from starreid.app.config.tracker import TrackerConfig
from starreid.tracker.bytetrack import ByteTracker
from starreid.tracker.detection import Detection, Detector, PoseEstimator, make_detector
from starreid.tracker.tracking import Tracker, TrackStep
from support.footage import VTEST
from support.replay import ReplayDetector, stick_figure
from support.walkers import detections, walkers


def vtest_frame() -> np.ndarray:
    import cv2

    cap = cv2.VideoCapture(str(VTEST))
    for _ in range(60):
        ok, image = cap.read()
    cap.release()
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def replay_detector() -> ReplayDetector:
    truth = walkers(3, [(100, 200), (400, 220)], [(2, 0), (-2, 0)])
    return ReplayDetector([[Detection(b, s, stick_figure(b)) for b, s in zip(*d)]
                           for d in detections(truth, miss_rate=0, false_rate=0, seed=0)])


DETECTORS = {
    "hog_mediapipe": lambda: make_detector(TrackerConfig(detect_scale=1.3)),
    "replay": replay_detector,
}


@pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi missing: apt-get install opencv-doc")
@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detector_contract(name):
    image = vtest_frame()
    det = DETECTORS[name]()
    try:
        assert isinstance(det, Detector) and isinstance(det.joint_pose, bool)
        found = det.detect(image)
        assert found and all(isinstance(d, Detection) for d in found)
        for d in found:
            assert d.box.shape == (4,) and d.box.dtype == np.float32 and d.box[2] > d.box[0] and d.box[3] > d.box[1]
            assert 0.0 <= d.score <= 1.0 and d.keypoints.shape == (17, 3)
        boxes = np.stack([d.box for d in found])
        pose = det.pose(image, boxes)
        assert pose.shape == (len(found), 17, 3) and pose.dtype == np.float32
        assert ((pose[..., 2] >= 0) & (pose[..., 2] <= 1)).all()
        assert det.pose(image, np.zeros((0, 4), np.float32)).shape == (0, 17, 3)
    finally:
        det.close()


def test_pose_estimator_contract():
    from starreid.tracker.pose_mediapipe import MediaPipePose

    pose = MediaPipePose()
    try:
        assert isinstance(pose, PoseEstimator)
        out = pose.estimate(np.full((256, 128, 3), 127, np.uint8))
        assert out.shape == (17, 3) and out.dtype == np.float32
        assert ((out[:, 2] >= 0) & (out[:, 2] <= 1)).all()
    finally:
        pose.close()


TRACKERS = {"bytetrack": lambda: ByteTracker.from_config(TrackerConfig(min_hits=2))}


@pytest.mark.parametrize("name", sorted(TRACKERS))
def test_tracker_contract(name):
    tracker = TRACKERS[name]()
    assert isinstance(tracker, Tracker)
    truth = walkers(120, [(50, 300), (600, 100)], [(4, 0), (-3, 2)], first_frames=[0, 30])
    reported, ended = set(), []
    for f, (boxes, scores) in enumerate(detections(truth, miss_rate=0.1, seed=0)):
        step = tracker.update(boxes, scores) if f % 3 == 0 else tracker.predict()
        assert isinstance(step, TrackStep)
        for t in step.tracks:
            assert t.track_id > 0 and t.box.shape == (4,)
            assert (-1 <= t.det_index < len(boxes)) if f % 3 == 0 else t.det_index == -1
        ids = {t.track_id for t in step.tracks}
        assert len(ids) == len(step.tracks)  # one entry per track
        assert not ids & set(ended)  # an ended track never comes back
        assert set(step.finished) <= reported  # only ids that were reported can end
        reported |= ids
        ended += step.finished
    assert len(set(ended)) == len(ended)  # each ends once
    for _ in range(200):  # everyone leaves: every reported track ends
        ended += tracker.update(np.zeros((0, 4), np.float32), np.zeros(0, np.float32)).finished
    assert set(ended) == reported
