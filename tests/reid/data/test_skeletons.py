import json

import cv2
import h5py
import numpy as np
import pytest

from starreid.reid.data import load_vcm, sample_test_clip
from starreid.reid.data.clips import load_clip
from starreid.reid.data.extract import dataset_frame_names, extract_skeletons
from starreid.reid.data.skeleton_store import SkeletonStore, SkeletonWriter, open_skeletons
from starreid.reid.data.vcm_files import frame_path
from starreid.tracker.pose_mediapipe import MediaPipePose


def test_store_round_trip_and_unknown_frames(tmp_path):
    path = tmp_path / "s.h5"
    kp = np.random.default_rng(0).random((3, 17, 3)).astype(np.float32)
    with SkeletonWriter(path, source="test") as w:
        w.append(["a.jpg", "b.jpg"], kp[:2], np.array([True, False]))
    with SkeletonWriter(path, source="test") as w:  # reopening continues the file
        assert w.done == {"a.jpg", "b.jpg"}
        w.append(["c.jpg"], kp[2:], np.array([True]))
    store = SkeletonStore(path)
    got, valid = store.lookup(["c.jpg", "zzz.jpg", "a.jpg", "b.jpg"])
    assert valid.tolist() == [True, False, True, False]
    np.testing.assert_array_equal(got[0], kp[2])
    np.testing.assert_array_equal(got[2], kp[0])
    assert not got[1].any() and not got[3].any()  # missing and invalid frames are zeros, not invented


def test_store_rejects_foreign_file(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["names"] = np.zeros(1)
    with pytest.raises(ValueError, match="not a starreid-skeletons-1 file"):
        SkeletonStore(tmp_path / "x.h5")


def test_clip_carries_ground_truth_keypoints(tiny_vcm):
    root, params = tiny_vcm
    ds = load_vcm(root)
    rec = ds.query[0]
    idx = sample_test_clip(len(rec), 8)
    clip = load_clip(root, rec, idx, skeletons=open_skeletons(root, "gt"), size=(64, 32))
    assert clip.frames.shape == (8, 64, 32, 3) and clip.frames.dtype == np.uint8
    assert clip.keypoints.shape == (8, 17, 3) and clip.keypoints.dtype == np.float32
    assert clip.valid.all() and clip.modality == "ir" and clip.pid == rec.pid
    vis = clip.keypoints[..., 2] > 0
    assert vis.mean() > 0.6
    xy = clip.keypoints[..., :2][vis]
    assert (xy >= 0).all() and (xy <= 1).all()
    bare = load_clip(root, rec, idx)
    assert not bare.valid.any() and not bare.keypoints.any()


@pytest.mark.timeout(120)
def test_mediapipe_extraction_resumes_and_marks_missing(tiny_vcm, tmp_path):
    root, _ = tiny_vcm
    everything = dataset_frame_names(root)
    # Ten RGB frames from several tracklets (MediaPipe is far less reliable on infrared).
    names = [n for n in everything if n[5] == "2"][::7][:10]
    blank = frame_path(root, names[1])
    broken = frame_path(root, names[2])
    saved = blank.read_bytes(), broken.read_bytes()
    try:
        cv2.imwrite(str(blank), np.full((128, 64, 3), 127, np.uint8))  # nobody in the frame
        broken.write_bytes(b"not a jpeg")
        out = tmp_path / "mp.h5"
        calls = []
        with MediaPipePose() as pose:
            def estimate(img):
                calls.append(1)
                return pose.estimate(img)

            first = extract_skeletons(root, out, estimate, source="mediapipe", names=names[:6], progress=False)
            second = extract_skeletons(root, out, estimate, source="mediapipe", names=names, progress=False)
    finally:
        blank.write_bytes(saved[0])
        broken.write_bytes(saved[1])
    assert first["unreadable"] == 1 and first["done_before"] == 0
    assert second["done_before"] == 6 and len(calls) == 5 + 4  # resumed: only the 4 new frames ran
    store = SkeletonStore(out)
    assert len(store) == 10
    kp, valid = store.lookup(names[:10])
    assert not valid[1] and not kp[1].any()  # no pose: marked, not invented
    assert not valid[2] and not kp[2].any()
    assert valid.sum() >= 5
    assert ((kp[valid][..., :2] >= -0.2) & (kp[valid][..., :2] <= 1.2)).all()
    assert json.dumps({"source": store.source})


@pytest.mark.timeout(120)
def test_cli_skeletons_reports_error_against_ground_truth(tiny_vcm, tmp_path, capsys):
    from starreid.app.cli import main

    root, _ = tiny_vcm
    out = tmp_path / "mp.h5"
    args = ["skeletons", "--data", str(root), "--out", str(out), "--stride", "40",
            "--ground-truth", str(root / "skeletons_gt.h5")]
    assert main(args) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    stats, per_mod = lines[0], {x["modality"]: x for x in lines[1:]}
    assert stats["frames"] == len(SkeletonStore(out)) > 5
    assert set(per_mod) == {"rgb", "ir"} and per_mod["rgb"]["frames"] > 0
    assert main(args) == 0  # a second run finds everything done
    assert json.loads(capsys.readouterr().out.splitlines()[0])["done_before"] == stats["frames"]
    assert main(["skeletons", "--data", str(tmp_path / "nowhere")]) == 2
