import numpy as np
import pytest

from starreid.reid.data.pose_error import pose_pixel_error
from starreid.reid.data.skeleton_store import SkeletonStore, SkeletonWriter, open_skeletons
from starreid.reid.data.extract import extract_skeletons
from starreid.reid.synth.generate import TrackPlan, generate, render_plan
from starreid.tracker.pose_mediapipe import MediaPipePose


def _rgb_frames(n=6):
    plan = TrackPlan(pid=3, split="train", camid=1, modality="rgb", tracklet=1, n_frames=n)
    return render_plan(plan, seed=2, height=128, width=64)


@pytest.mark.timeout(60)
def test_box_crop_maps_back_to_image_pixels():
    frames, gt = _rgb_frames()
    with MediaPipePose() as pose:
        errs = []
        for img, kp in zip(frames, gt):
            canvas = np.full((300, 400, 3), 90, np.uint8)
            canvas[100:228, 250:314] = img  # the person sits at (250, 100) in a larger frame
            found = pose.estimate(canvas, box=(250, 100, 314, 228))
            both = (found[:, 2] > 0) & (kp[:, 2] > 0)
            if both.sum() >= 5:
                errs.append(np.linalg.norm(found[both, :2] - (kp[both, :2] + [250, 100]), axis=1).mean())
                assert (found[found[:, 2] > 0, 0] > 230).all()  # in image coordinates, not crop coordinates
        assert len(errs) >= 3 and np.median(errs) < 10
        blank = pose.estimate(np.zeros((128, 64, 3), np.uint8))
        assert blank.shape == (17, 3) and blank.dtype == np.float32 and not blank.any()
        with pytest.raises(ValueError, match="uint8"):
            pose.estimate(np.zeros((128, 64), np.float32))


def test_pixel_error_counts_misses_as_failures(tmp_path):
    truth = np.zeros((3, 17, 3), np.float32)
    truth[..., 0], truth[..., 1], truth[..., 2] = 0.5, 0.5, 1.0
    pred = truth.copy()
    pred[1, :, 0] += 4 / 64  # 4 pixels off at width 64
    for name, kp, valid in (("t.h5", truth, [True] * 3), ("p.h5", pred, [True, True, False])):
        with SkeletonWriter(tmp_path / name, source="x") as w:
            w.append(["a", "b", "c"], kp, np.array(valid))
    err = pose_pixel_error(SkeletonStore(tmp_path / "p.h5"), SkeletonStore(tmp_path / "t.h5"), ["a", "b", "c"],
                           64, 128)
    assert err["measured"] == 2 and err["median_px"] == pytest.approx(2.0)
    assert err["within_5px"] == pytest.approx(2 / 3) and err["detected"] == pytest.approx(2 / 3)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_extracted_pose_matches_ground_truth_on_synthetic_rgb(tmp_path):
    root = tmp_path / "d"
    generate(root, identities=10, cameras=6, train_ids=5, min_frames=24, max_frames=24, short_fraction=0.0,
             seed=21, progress=False)
    names = [n for n in (root / "train_name.txt").read_text().split() + (root / "test_name.txt").read_text().split()
             if n[5] == "2"][::4]
    with MediaPipePose() as pose:
        extract_skeletons(root, tmp_path / "mp.h5", pose.estimate, "mediapipe", names=names, progress=False)
    err = pose_pixel_error(SkeletonStore(tmp_path / "mp.h5"), open_skeletons(root, "gt"), names, 64, 128)
    # Figures measured on the default dataset are in docs/synthetic.md; these bounds leave room for sampling.
    assert err["detected"] > 0.75
    assert err["median_px"] < 7.0
    assert err["within_8px"] > 0.5
