"""`starreid eval --checkpoint`: the test split embedded by a checkpoint, and the skeleton-reliance probe."""
import json
from pathlib import Path

import numpy as np
import pytest

from starreid.reid.data.vcm import load_vcm
from starreid.reid.train.evaluate import pose_donors
from starreid.app.cli import main
from train_helpers import tiny_config, write_config


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tiny_dataset):
    """Random-init full and baseline checkpoints with a training config each (the tiny training sizes)."""
    import mindspore as ms

    from starreid.app.config import load_config
    from starreid.reid.models import build_star
    from starreid.reid.models.checkpoint import save_weights

    out = {}
    for variant in ("full", "baseline"):
        d = tmp_path_factory.mktemp(variant)
        cfg = tiny_config(d, tiny_dataset, model={"variant": variant})
        ms.set_seed(1)
        model = load_config(write_config(d, cfg)).model
        path = save_weights(build_star(model, num_classes=8), str(d / "star.ckpt"))
        out[variant] = (path, write_config(d, cfg))
    return out


def _features(tmp_path, ckpt, cfg, poses):
    npz, js = tmp_path / f"{poses}.npz", tmp_path / f"{poses}.json"
    assert main(["eval", "--checkpoint", ckpt, "--config", str(cfg), "--poses", poses, "--save-features",
                 str(npz), "--json", str(js), "--no-progress"]) == 0
    return dict(np.load(npz)), json.loads(js.read_text())


def test_a_checkpoint_is_evaluated_in_both_directions(checkpoints, tmp_path, tiny_dataset, capsys):
    ckpt, cfg = checkpoints["full"]
    feats, numbers = _features(tmp_path, ckpt, cfg, "given")
    ds = load_vcm(tiny_dataset, min_len=12)
    assert feats["ir_feats"].shape[0] == len(ds.query) and feats["rgb_feats"].shape[0] == len(ds.gallery)
    np.testing.assert_allclose(np.linalg.norm(feats["ir_feats"], axis=1), 1.0, atol=1e-5)
    assert set(numbers) == {"I2V", "V2I"} and 0 < numbers["I2V"]["mAP"] <= 1
    assert Path(ckpt).with_name("star_cmc.png").stat().st_size > 10_000  # the CMC plot, beside the checkpoint
    # the saved features evaluate to the same numbers through `starreid eval --features`
    again = tmp_path / "again.json"
    assert main(["eval", "--features", str(tmp_path / "given.npz"), "--json", str(again)]) == 0
    assert json.loads(again.read_text())["V2I"]["mAP"] == pytest.approx(numbers["V2I"]["mAP"])


def test_the_pose_probe_changes_what_reads_skeletons_only(checkpoints, tmp_path):
    results = {}
    for variant in ("full", "baseline"):
        d = tmp_path / variant
        d.mkdir()
        results[variant] = {poses: _features(d, *checkpoints[variant], poses)[0]["ir_feats"]
                            for poses in ("given", "none", "shuffled")}
    full, base = results["full"], results["baseline"]
    # at random init the skeleton path moves the embedding only slightly, but it moves it
    assert np.abs(full["given"] - full["none"]).max() > 1e-5
    assert np.abs(full["given"] - full["shuffled"]).max() > 1e-5
    # the baseline never reads a skeleton: the probe leaves its embeddings exactly as they were
    np.testing.assert_array_equal(base["given"], base["none"])
    np.testing.assert_array_equal(base["given"], base["shuffled"])


def test_shuffled_poses_always_come_from_another_person(tiny_dataset):
    records = load_vcm(tiny_dataset, min_len=12).gallery
    donors = pose_donors(records)
    assert len(donors) == len(records)
    assert all(d.pid != r.pid for r, d in zip(records, donors))
    assert [d.names[0] for d in pose_donors(records)] == [d.names[0] for d in donors]  # fixed, not random


def test_a_checkpoint_needs_its_training_config(checkpoints, capsys):
    assert main(["eval", "--checkpoint", checkpoints["full"][0]]) == 2
    assert "--config" in capsys.readouterr().err


def test_the_pooling_probe_reports_what_sequence_guidance_can_change(checkpoints, tmp_path, capsys):
    ckpt, cfg = checkpoints["full"]
    js = tmp_path / "pooling.json"
    assert main(["eval", "--checkpoint", ckpt, "--config", str(cfg), "--pooling", "--json", str(js)]) == 0
    assert "cosine with GeM_3" in capsys.readouterr().out
    found = json.loads(js.read_text())
    assert len(found["weight_mean"]) == len(found["powers"]) == 5
    assert sum(found["weight_mean"]) == pytest.approx(1.0, abs=1e-3)  # a softmax over the powers
    assert max(found["shuffle_shift"]) > 0  # another person's skeletons move the weights
    assert found["cosine_to_gem3"][2] == pytest.approx(1.0, abs=1e-5)  # GeM_3 against itself
    assert all(-1.0 <= c <= 1.0 + 1e-5 for c in found["cosine_to_gem3"])
    # the baseline pools with a fixed GeM: nothing to probe, said plainly
    assert main(["eval", "--checkpoint", checkpoints["baseline"][0], "--config", str(checkpoints["baseline"][1]),
                 "--pooling"]) == 2
    assert "no sequence guidance" in capsys.readouterr().err
