import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from starreid.reid.data import load_vcm
from starreid.reid.synth.body import body_points, face_visibility, project
from starreid.reid.synth.generate import generate, render_plan, TrackPlan
from starreid.reid.synth.identity import sample_identity
from starreid.reid.synth.render import render_tracklet
from starreid.reid.synth.scene import make_camera
from starreid.app.cli import main

TINY = dict(identities=4, cameras=3, train_ids=2, min_frames=6, max_frames=10, short_fraction=0.1)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a, b, c = (tmp_path / n for n in "abc")
    generate(a, seed=3, progress=False, **TINY)
    generate(b, seed=3, progress=False, **TINY)
    generate(c, seed=4, progress=False, **TINY)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert len(da) > 100 and da == db
    assert da != dc


def test_parallel_rendering_gives_the_same_bytes(tmp_path):
    generate(tmp_path / "one", seed=5, progress=False, workers=1, **TINY)
    generate(tmp_path / "two", seed=5, progress=False, workers=2, **TINY)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")


def test_refuses_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate(tmp_path / "x", progress=False, **TINY)


def test_layout_is_readable_and_complete(tmp_path):
    generate(tmp_path / "d", seed=1, progress=False, **TINY)
    ds = load_vcm(tmp_path / "d", min_len=1)
    assert {t.pid for t in ds.train} == {1, 2} and {t.pid for t in ds.query + ds.gallery} == {3, 4}
    for pid in (1, 2, 3, 4):  # every person has both modalities, and RGB in a camera without its first IR
        tracks = [t for t in ds.train + ds.query + ds.gallery if t.pid == pid]
        assert {t.modality for t in tracks} == {"ir", "rgb"}


def test_ir_does_not_show_clothing_colour_but_rgb_does():
    ident = sample_identity(np.random.default_rng(0))
    other = dataclasses.replace(ident, top_rgb=(0.9, 0.1, 0.1), bottom_rgb=(0.1, 0.9, 0.1), texture_rgb=(0, 0, 1))
    cam = make_camera(np.random.default_rng(1), 256, 128)
    for mod, same in (("ir", True), ("rgb", False)):
        f1, k1 = render_tracklet(ident, cam, mod, 4, 128, 64, np.random.default_rng(2))
        f2, k2 = render_tracklet(other, cam, mod, 4, 128, 64, np.random.default_rng(2))
        assert np.array_equal(f1, f2) == same
        np.testing.assert_array_equal(k1, k2)  # the same body and motion either way
    ir, _ = render_tracklet(ident, cam, "ir", 2, 128, 64, np.random.default_rng(2))
    assert np.array_equal(ir[..., 0], ir[..., 1]) and np.array_equal(ir[..., 0], ir[..., 2])


def test_identities_differ_in_shape_and_gait():
    a, b = (body_points(sample_identity(np.random.default_rng(s)), 0.3) for s in (1, 2))
    assert not np.allclose(a, b)
    ia = sample_identity(np.random.default_rng(1))
    assert body_points(ia, 0.0)[13, 2] != body_points(ia, 1.0)[13, 2]  # knees move over the gait cycle


def test_ground_truth_keypoints_follow_the_figure():
    plan = TrackPlan(pid=7, split="train", camid=2, modality="rgb", tracklet=1, n_frames=12)
    frames, kps = render_plan(plan, seed=0, height=128, width=64)
    vis = kps[..., 2] > 0
    assert vis[:, 5:].mean() > 0.6  # body joints are mostly visible (occluders and dropped limbs hide some)
    xy = kps[vis][:, :2]
    assert (xy[:, 0] >= 0).all() and (xy[:, 0] < 64).all() and (xy[:, 1] >= 0).all() and (xy[:, 1] < 128).all()
    assert frames.shape == (12, 128, 64, 3)
    heads = kps[:, 0, 1][kps[:, 0, 2] > 0]
    ankles = kps[:, 15, 1][kps[:, 15, 2] > 0]
    assert heads.max() < ankles.min()  # upright


def test_face_joints_hidden_from_behind():
    assert face_visibility(0.0).all()
    back = face_visibility(np.pi)
    assert not back[:3].any() and back[3:].all()
    uv, depth = project(body_points(sample_identity(np.random.default_rng(0)), 0.0), np.pi / 2)
    assert depth[3] != depth[4]  # ears at different depths in profile


def test_cli_synth_writes_dataset_and_preview(tmp_path):
    out, png = tmp_path / "ds", tmp_path / "pair.png"
    rc = main(["synth", "--out", str(out), "--identities", "3", "--train-ids", "1", "--cameras", "2",
               "--min-frames", "5", "--max-frames", "6", "--preview", str(png)])
    assert rc == 0
    assert (out / "query_IDX.txt").read_text().strip()
    import cv2

    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] == 2 * 128 * 3  # RGB row above IR row, 3x enlarged
    assert (tmp_path / "pair_skeleton.png").is_file()
    assert main(["synth", "--out", str(out), "--identities", "3"]) == 2  # refuses to write over a dataset
