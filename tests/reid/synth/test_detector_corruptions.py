"""`starreid synth --crop detector` and misdetected frames (docs/synthetic.md, "Detector crops and
misdetected frames"): box jitter, each corruption kind with its skeletons, the sidecar, determinism."""
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from starreid.app.cli import main
from starreid.reid.data import load_vcm
from starreid.reid.data.skeleton_store import open_skeletons
from starreid.reid.synth import corrupt as C
from starreid.reid.synth.generate import (TrackPlan, _camera, _identity, _scene, distractors, generate,
                                          plan_dataset, render_plan_detector)
from starreid.reid.synth.tracked import OCCLUDE_MAX_VISIBLE, Corruption, render_detector_tracklet

H, W = 128, 64
TINY = dict(identities=4, cameras=3, train_ids=2, min_frames=8, max_frames=12, short_fraction=0.0)
OTHERS = (11, 12, 13)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _plans(n_tracks: int, n_frames: int = 24):
    return [TrackPlan(pid=p, split="train", camid=1 + p % 3, modality=("rgb", "ir")[p % 2], tracklet=1,
                      n_frames=n_frames) for p in range(1, n_tracks + 1)]


@pytest.fixture(scope="module")
def corrupted():
    """Eight tracklets at corruption rate 0.6: every kind occurs many times."""
    out = []
    for plan in _plans(8):
        frames, gt, est, info = render_plan_detector(plan, 0, H, W, 1.0, Corruption(0.6, others=OTHERS))
        out.append((plan, frames, gt, est, info))
    return out


def _frames_of(corrupted, code):
    """(gt, est, info row dict) of every frame carrying `code`."""
    rows = []
    for plan, _, gt, est, info in corrupted:
        for t in np.flatnonzero(info["code"] == code):
            rows.append((plan, gt[t], est[t], {k: v[t] for k, v in info.items()}))
    return rows


def _iou(a, b):
    ix = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    iy = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    return ix * iy / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy)


def test_detector_box_iou_in_documented_range_and_skeleton_moves_with_the_crop():
    ious = []
    for plan in _plans(10, 30):
        _, gt, est, info = render_plan_detector(plan, 1, H, W)
        assert (info["code"] == 0).all() and (info["person"] == plan.pid).all()
        np.testing.assert_array_equal(gt, est)  # clean frames: the estimator's skeleton is the ground truth
        for t in range(plan.n_frames):
            # the recorded IoU is that of the recorded boxes (both in crop coordinates)
            assert abs(_iou(info["det_box"][t], info["person_box"][t]) - info["iou"][t]) < 1e-4
            vis = gt[t, :, 2] > 0
            x1, y1, x2, y2 = info["person_box"][t] * [W, H, W, H]
            # joints lie in the person's box as it sits in the crop: the skeleton follows the crop
            assert (gt[t, vis, 0] >= x1 - 1.5).all() and (gt[t, vis, 0] <= x2 + 0.5).all()
            assert (gt[t, vis, 1] >= y1 - 1.5).all() and (gt[t, vis, 1] <= y2 + 0.5).all()
        ious.append(info["iou"])
    iou = np.concatenate(ious)
    assert iou.min() >= 0.65  # box errors are clipped at 2.5 sigma: IoU never below ~0.65
    assert ((iou >= 0.7) & (iou <= 0.95)).mean() >= 0.9
    assert 0.8 <= np.median(iou) <= 0.9
    # --box-jitter 0: the detector box is the true box
    _, _, _, info = render_plan_detector(_plans(1)[0], 1, H, W, box_jitter=0.0)
    assert info["iou"].min() > 0.999


def test_background_frames_have_no_person_and_no_or_only_low_score_joints(corrupted):
    rows = _frames_of(corrupted, C.BACKGROUND)
    assert len(rows) >= 10
    kinds = set()
    for _, gt, est, info in rows:
        assert (gt == 0).all()  # ground truth: nobody in the crop
        assert info["person"] == 0 and info["iou"] == 0 and info["visible"] == 0
        scores = est[:, 2]
        assert (scores < 0.3).all()  # the estimator finds nothing, or hallucinates at low score
        kinds.add("none" if (scores == 0).all() else "spurious")
    assert kinds == {"none", "spurious"}


def test_other_identity_frames_carry_the_other_persons_skeleton(corrupted):
    rows = _frames_of(corrupted, C.OTHER)
    assert len(rows) >= 10
    for plan, gt, est, info in rows:
        assert info["person"] in OTHERS and info["person"] != plan.pid
        assert (gt[:, 2] > 0).sum() >= 10 and info["iou"] == 0
        np.testing.assert_array_equal(gt, est)  # a pose estimator finds that person's pose, confidently
    # The skeleton comes from the other person's body: change that body, and exactly those frames change.
    plan, _, gt, _, info = next(c for c in corrupted if (c[4]["code"] == C.OTHER).any())

    def reshaped(pid):  # the others get longer thighs and shorter upper arms
        ident = _identity(0, pid)
        if pid not in OTHERS:
            return ident
        return dataclasses.replace(ident, thigh=ident.thigh * 1.3, upper_arm=ident.upper_arm * 0.7)

    key = (0, 6, plan.pid, plan.camid, int(plan.modality == "ir"), plan.tracklet)
    _, gt2, _, info2 = render_detector_tracklet(
        _identity(0, plan.pid), _camera(0, plan.camid, H, W), _scene(0, plan.camid, H, W), plan.modality,
        plan.n_frames, H, W, key, pid=plan.pid, corruption=Corruption(0.6, others=OTHERS), identity_of=reshaped)
    np.testing.assert_array_equal(info["code"], info2["code"])
    other = info["code"] == C.OTHER
    np.testing.assert_array_equal(gt[~other], gt2[~other])
    assert all(not np.array_equal(gt[t], gt2[t]) for t in np.flatnonzero(other))


def test_truncated_frames_miss_the_joints_outside_the_crop(corrupted):
    rows = _frames_of(corrupted, C.TRUNCATED)
    assert len(rows) >= 10
    for _, gt, est, info in rows:
        x, y = info["joints"][:, 0], info["joints"][:, 1]
        outside = (x < -0.5) | (x >= W - 0.5) | (y < -0.5) | (y >= H - 0.5)
        assert outside.any()  # part of the body is cut off ...
        assert (gt[outside] == 0).all() and (est[outside] == 0).all()  # ... and its joints are missing
        assert (gt[~outside, 2] > 0).any()  # the rest of the person is there
        assert 0.15 < info["visible"] < 0.9 and info["iou"] < 0.6


def test_occluded_frames_hide_most_of_the_body_and_its_joints_are_missing_or_low(corrupted):
    rows = _frames_of(corrupted, C.OCCLUDED)
    assert len(rows) >= 10
    missing = low = 0
    for _, gt, est, info in rows:
        occ = info["occluded"]
        assert info["visible"] <= OCCLUDE_MAX_VISIBLE
        assert occ.sum() >= 2
        assert (gt[occ] == 0).all()  # ground truth: occluded joints unlabelled
        s = est[occ, 2]
        assert ((s == 0) | ((s > 0) & (s < 0.3))).all()  # estimator: missing, or a low-score guess
        missing += int((s == 0).sum())
        low += int((s > 0).sum())
        np.testing.assert_array_equal(est[~occ], gt[~occ])  # joints in sight are as in the ground truth
    assert missing > 0 and low > 0


def test_corruption_schedule_rate_runs_and_kinds():
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(400):
        runs = C.plan_corruptions(30, 0.3, C.DEFAULT_KINDS, rng)
        codes = C.codes_from_runs(30, runs)
        assert sum(r[1] for r in runs) == (codes > 0).sum()  # runs do not overlap
        assert all(1 <= r[1] <= C.MAX_BURST for r in runs)
        shares.append((codes > 0).mean())
    assert abs(np.mean(shares) - 0.3) < 0.03 and min(shares) == 0 and max(shares) > 0.7
    only = C.parse_kinds("occlude:2,background")
    assert only == (("background", 1.0), ("occlude", 2.0))
    codes = np.concatenate([C.codes_from_runs(30, C.plan_corruptions(30, 0.5, only, rng)) for _ in range(50)])
    assert set(np.unique(codes)) == {0, C.BACKGROUND, C.OCCLUDED}
    assert C.plan_corruptions(30, 0.0, C.DEFAULT_KINDS, rng) == []
    # the kinds and their weights decide what each run is, never where the runs are
    for seed in range(20):
        r1 = C.plan_corruptions(30, 0.4, C.DEFAULT_KINDS, np.random.default_rng(seed))
        r2 = C.plan_corruptions(30, 0.4, only, np.random.default_rng(seed))
        assert [r[:2] for r in r1] == [r[:2] for r in r2]
    with pytest.raises(ValueError):
        C.parse_kinds("smoke")


def test_sidecar_records_what_was_rendered_and_clean_frames_do_not_depend_on_the_rate(tmp_path):
    a, b, clean = tmp_path / "a", tmp_path / "b", tmp_path / "clean"
    sa = generate(a, seed=2, progress=False, crop="detector", corrupt_rate=0.5, **TINY)
    generate(b, seed=2, progress=False, crop="detector", corrupt_rate=0.5, workers=2, **TINY)
    generate(clean, seed=2, progress=False, crop="detector", **TINY)
    da = _digest(a)
    assert da == _digest(b)  # deterministic, whatever the worker count
    assert {"corruptions.h5", "skeletons_estimated.h5", "skeletons_gt.h5"} <= set(da)
    store = C.open_corruptions(a)
    gt, est = open_skeletons(a, "gt"), open_skeletons(a, "estimated")
    gt0 = open_skeletons(clean, "gt")
    ds = load_vcm(a, min_len=1)
    records = ds.train + ds.query + ds.gallery
    assert len(store) == sum(len(r) for r in records) == sa["frames"]
    hist = np.zeros(5, int)
    plans = {(p.pid, p.camid, p.modality, p.tracklet): p for p in
             plan_dataset(4, 3, 2, 8, 12, 0.0, 2)}
    pools = distractors(list(plans.values()))
    dc = _digest(clean)
    checked = 0
    for rec in records:
        names = list(rec.names)
        info = store.lookup(names)
        hist += np.bincount(info["code"], minlength=5)
        k_gt, _ = gt.lookup(names)
        if checked < 6 and (info["code"] > 0).any():
            # the sidecar and the skeleton files hold exactly what the renderer produced for this tracklet
            checked += 1
            tracklet = int(names[0].split("T")[1].split("F")[0])
            plan = plans[(rec.pid, rec.camid, rec.modality, tracklet)]
            _, kps, kest, rinfo = render_plan_detector(plan, 2, H, W, 1.0, Corruption(
                0.5, C.DEFAULT_KINDS, pools[(plan.pid, plan.split, plan.camid, plan.modality)]))
            for key in ("code", "person", "iou", "visible", "det_box", "person_box"):
                np.testing.assert_allclose(info[key], rinfo[key], atol=1e-6)
            k_est, _ = est.lookup(names)
            np.testing.assert_allclose(k_gt[..., :2] * [W, H], kps[..., :2], atol=1e-3)
            np.testing.assert_allclose(k_est[..., :2] * [W, H], kest[..., :2], atol=1e-3)
            np.testing.assert_allclose(k_est[..., 2], kest[..., 2], atol=1e-6)
        # frames left clean are byte-identical to the same seed without corruption; corrupted ones are not
        k_clean, _ = gt0.lookup(names)
        for i, name in enumerate(names):
            rel = str(Path(name[:4]) / rec.modality / f"D{rec.camid}" / name)
            if info["code"][i] == 0:
                assert da[rel] == dc[rel]
                np.testing.assert_array_equal(k_gt[i], k_clean[i])
            else:
                assert da[rel] != dc[rel]
    assert checked == 6 and hist[1:].sum() > 0 and hist[0] > 0
    summary = json.loads((a / "synth.json").read_text())
    assert summary["corrupted_frames"] == {C.CODE_NAMES[c]: int(n) for c, n in enumerate(hist)}
    # without corruption: every frame clean, and the estimated skeletons are the ground truth
    cstore = C.open_corruptions(clean)
    assert (cstore.data["code"] == 0).all()
    est0 = open_skeletons(clean, "estimated")
    np.testing.assert_array_equal(est0.keypoints, gt0.keypoints)
    # another seed gives another tracklet
    plan = next(iter(plans.values()))
    f2, *_ = render_plan_detector(plan, 2, H, W, 1.0, Corruption(0.5, others=OTHERS))
    f3, *_ = render_plan_detector(plan, 3, H, W, 1.0, Corruption(0.5, others=OTHERS))
    assert not np.array_equal(f2, f3)


def test_split_options_and_validation(tmp_path):
    plans = plan_dataset(400, 6, 250, 24, 48, 0.05, 0)
    test = {p.pid for p in plans if p.split == "test"}
    assert len(test) == 150
    for pid in test:  # every test person has both modalities (I2V queries and V2I gallery)
        assert {p.modality for p in plans if p.pid == pid} == {"ir", "rgb"}
    generate(tmp_path / "t", seed=0, progress=False, test_ids=3, **{**TINY, "train_ids": None, "identities": 5})
    ds = load_vcm(tmp_path / "t", min_len=1)
    assert {r.pid for r in ds.query + ds.gallery} == {3, 4, 5} and {r.pid for r in ds.train} == {1, 2}
    with pytest.raises(ValueError):
        generate(tmp_path / "x", test_ids=3, **TINY)  # 2 + 3 != 4
    with pytest.raises(ValueError):
        generate(tmp_path / "y", corrupt_rate=0.2, **TINY)  # corruption needs detector crops
    with pytest.raises(ValueError):
        generate(tmp_path / "z", crop="detector", corrupt_rate=0.95, **TINY)
    assert not (tmp_path / "x").exists()  # invalid options leave no folder behind


def test_cli_detector_crops_with_corruption_and_sheets(tmp_path):
    out, sheet = tmp_path / "ds", tmp_path / "sheet.png"
    rc = main(["synth", "--out", str(out), "--identities", "4", "--train-ids", "2", "--cameras", "2",
               "--min-frames", "10", "--max-frames", "12", "--short-fraction", "0", "--crop", "detector",
               "--corrupt-rate", "0.5", "--corrupt-kinds", "background,occlude:2", "--sheet", str(sheet)])
    assert rc == 0
    codes = C.open_corruptions(out).data["code"]
    assert set(np.unique(codes)) <= {0, C.BACKGROUND, C.OCCLUDED}
    for mod in ("rgb", "ir"):
        png = tmp_path / f"sheet_{mod}.png"
        assert png.is_file() and png.stat().st_size < 300_000
    assert main(["synth", "--out", str(tmp_path / "bad"), "--corrupt-rate", "0.3"]) == 2  # pan + corruption
