"""The head-only ablation (`starreid heads`): paired clips with exactly m corrupted frames, the controls' skeleton
donors, the bootstrap, seed re-initialisation, and a miniature of the whole protocol end to end."""
import json

import numpy as np
import pytest
import yaml

from starreid.app.cli import main
from starreid.app.config.heads import ARMS as CONFIG_ARMS
from starreid.reid.models.head_star import ARMS
from starreid.reid.synth.generate import generate
from starreid.reid.train.head_report import bootstrap_ci
from starreid.reid.train.paired_clips import shuffled_donors

MINI = {
    "kind": "heads",
    "features": {"backbone": "resnet18", "pretrained": None, "base_width": 8, "height": 64, "width": 32, "batch": 32},
    "model": {"adapter": 32, "lstm_hidden": 16, "ffn_hidden": 32, "guide_hidden": 16},
    "train": {"steps": 4, "p": 4, "warmup_steps": 2},
    "sweep": {"seeds": 2, "m": [0, 2, 4], "skeletons": ["gt"], "bootstrap": 200, "eval_batch": 16},
}


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    """Two datasets from one seed: clean, and with 90% of frames misdetected (the same frames otherwise)."""
    base = tmp_path_factory.mktemp("paired")
    roots = {}
    for name, rate in (("clean", 0.0), ("corrupted", 0.9)):
        roots[name] = base / name
        generate(roots[name], identities=12, cameras=3, test_ids=6, min_frames=14, max_frames=18, height=64,
                 width=32, short_fraction=0.0, seed=3, progress=False, crop="detector", corrupt_rate=rate)
    return roots


def _config(tmp_path, paired, **over) -> tuple:
    cfg = json.loads(json.dumps(MINI))
    cfg.update(out_dir=str(tmp_path / "out"), data={"clean": str(paired["clean"]), "corrupted": str(paired["corrupted"])})
    for key, value in over.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    path = tmp_path / "heads.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, cfg


@pytest.fixture(scope="module")
def head_data(paired, tmp_path_factory):
    from starreid.app.config import load_config
    from starreid.reid.train.head_data import load_head_data

    path, _ = _config(tmp_path_factory.mktemp("data"), paired)
    cfg = load_config(path, kind="heads")
    return cfg, load_head_data(cfg, progress=False)


def test_the_arms_of_the_config_are_the_model_arms():
    assert tuple(CONFIG_ARMS) == ARMS


def test_test_clips_have_exactly_m_corrupted_frames_nested_across_m(head_data):
    cfg, d = head_data
    clean, dirty = d.caches
    test = d.test
    assert (test.actual_m[0] == 0).all()
    assert test.actual_m[4].mean() > 3  # at 90% misdetection nearly every clip has 4 corruptible frames
    for m in (2, 4):
        assert (test.actual_m[m] <= m).all()
    # a changed frame is a corrupted one, and the frames changed at m = 2 stay changed at m = 4
    changed = {m: (np.abs(test.vectors[m] - test.vectors[0]).sum(-1) > 0) for m in (2, 4)}
    assert (changed[2].sum(1) <= test.actual_m[2]).all()
    assert (changed[2] <= changed[4]).all()
    assert changed[4].sum() > changed[2].sum() > 0
    # keypoints of the corrupted frames come from the corrupted dataset: background frames have no pose there
    assert not np.array_equal(test.keypoints[(4, "gt")], test.keypoints[(0, "gt")])


def test_shuffled_donors_are_other_people_and_differ_across_modalities(head_data):
    _, d = head_data
    records = d.train.records
    donors = shuffled_donors(records)
    stand_in = {}
    for j, r in enumerate(records):
        other = records[donors[j]]
        assert other.pid != r.pid and other.modality == r.modality
        stand_in.setdefault(r.pid, {}).setdefault(r.modality, set()).add(other.pid)
    for pid, by_mod in stand_in.items():
        if len(by_mod) == 2:
            assert not by_mod["ir"] & by_mod["rgb"], pid


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_seeds():
    rng = np.random.default_rng(0)
    few, many = rng.normal(1.0, 2.0, 5), rng.normal(1.0, 2.0, 80)
    lo, hi = bootstrap_ci(few, 4000)
    assert lo < few.mean() < hi
    lo2, hi2 = bootstrap_ci(many, 4000)
    assert hi2 - lo2 < hi - lo
    assert lo2 > 0  # 80 draws around +1 with sd 2: the interval excludes zero
    assert bootstrap_ci(np.full(10, 0.5), 500) == (0.5, 0.5)


@pytest.mark.parametrize("arm", ["baseline", "fg"])
def test_a_seed_reproduces_its_run_after_other_seeds(head_data, arm):
    from starreid.reid.train.head_runs import HeadRunner

    cfg, d = head_data
    runner = HeadRunner(cfg, arm, "gt", d)
    first = runner.run(0)
    other = runner.run(1)
    again = runner.run(0)
    assert first["m"] == again["m"] and first["loss_last"] == again["loss_last"]
    assert other["loss_last"] != first["loss_last"]


def test_uniform_sg_weights_pool_the_five_gems_equally(head_data):
    import mindspore as ms

    from starreid.reid.models.head_star import build_head_net
    from starreid.reid.models.seq_guidance import gem
    from starreid.reid.models.star import l2_normalize

    cfg, d = head_data
    net = build_head_net("sg", cfg.model, in_dim=d.in_dim, num_classes=d.num_classes, aspect=d.aspect)
    net.set_train(False)
    v, k = ms.Tensor(d.test.vectors[2][:4]), ms.Tensor(d.test.keypoints[(2, "gt")][:4])
    mod = ms.Tensor(d.test_modality[:4])
    y = net.backbone(v)
    powers = net.sg.powers
    expect = l2_normalize(net.neck(sum(gem(y, p, 1) for p in powers) / len(powers))).asnumpy()
    np.testing.assert_allclose(net.embed_uniform(v, k, mod).asnumpy(), expect, atol=1e-5)
    assert not np.allclose(net.embed(v, k, mod).asnumpy(), expect, atol=1e-5)


def test_the_protocol_in_miniature_end_to_end_and_resumes(paired, tmp_path, capsys):
    path, cfg = _config(tmp_path, paired)
    assert main(["heads", "--config", str(path), "--no-progress"]) == 0
    out = tmp_path / "out"
    lines = (out / "results.jsonl").read_text().splitlines()
    runs = [json.loads(line) for line in lines]
    # every arm once per seed; the baseline reads no skeleton, so it runs once for all sources
    assert sorted((r["arm"], r["seed"]) for r in runs) == sorted((a, s) for a in ARMS for s in (0, 1))
    assert all(set(r["m"]) == {"0", "2", "4"} for r in runs)
    assert all("uniform" in r["m"]["0"] for r in runs if r["arm"] in ("sg", "full"))
    report = (out / "heads.md").read_text()
    for row in ("| baseline (adapter + GeM) | 2 |", "| full STAR | 2 |", "| chance (random embeddings) |",
                "| skeleton only (positive control) | 2 |", "full STAR, SG weights uniform", "m = 4",
                "| bone-length ratios, no training | - |", "### full STAR minus full STAR on shuffled skeletons",
                "### full STAR minus the same weights with SG's weights uniform"):
        assert row in report
    assert "[" in report.split("| +FG | 2 |")[1].splitlines()[0]  # a paired difference with its interval
    assert (out / "heads.png").stat().st_size > 10_000
    # a finished sweep trains nothing again; more seeds add only the new runs
    assert main(["heads", "--config", str(path), "--no-progress"]) == 0
    assert (out / "results.jsonl").read_text().splitlines() == lines
    # a sweep killed while writing its last line: that run is trained again, the file stays one run per line
    with (out / "results.jsonl").open("a") as f:
        f.write(lines[-1][:40])
    assert main(["heads", "--config", str(path), "--no-progress", "--seeds", "3", "--arms", "baseline", "fg"]) == 0
    new = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()[len(lines):]]
    assert sorted(r["arm"] for r in new) == ["baseline", "fg"] and {r["seed"] for r in new} == {2}


def test_an_invalid_heads_config_names_the_field_and_exits_2(paired, tmp_path, capsys):
    path, _ = _config(tmp_path, paired, sweep={"m": [0, 20]})
    assert main(["heads", "--config", str(path)]) == 2
    assert "sweep.m (20) exceeds model.seq_len" in capsys.readouterr().err
    path, _ = _config(tmp_path, paired, sweep={"arms": ["fg", "full"]})
    assert main(["heads", "--config", str(path)]) == 2
    assert "baseline" in capsys.readouterr().err


def test_a_missing_dataset_or_sidecar_is_named_before_anything_runs(paired, tmp_path, capsys):
    path, _ = _config(tmp_path, paired, data={"corrupted": str(tmp_path / "absent")})
    assert main(["heads", "--config", str(path)]) == 2
    assert "data.corrupted" in capsys.readouterr().err
    # a dataset without a corruption sidecar (a pan-crop one) cannot stand in for the corrupted set
    import shutil

    shutil.copytree(paired["clean"], tmp_path / "nosidecar", ignore=shutil.ignore_patterns("corruptions.h5"))
    path, _ = _config(tmp_path, paired, data={"corrupted": str(tmp_path / "nosidecar")})
    assert main(["heads", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "data.corrupted" in err and "corruptions.h5" in err
    assert not (tmp_path / "out").exists()


def test_arms_to_train_must_include_the_baseline(paired, tmp_path, capsys):
    path, _ = _config(tmp_path, paired)
    assert main(["heads", "--config", str(path), "--arms", "fg", "full"]) == 2
    assert "--arms must include baseline" in capsys.readouterr().err
    assert main(["heads", "--config", str(path), "--arms", "baseline", "nonsense"]) == 2


def test_a_results_line_cut_short_is_run_again(tmp_path):
    from starreid.reid.train.head_report import read_results

    path = tmp_path / "results.jsonl"
    path.write_text('{"arm": "baseline", "seed": 0}\n{"arm": "fg", "se')
    assert read_results(path) == [{"arm": "baseline", "seed": 0}]
    path.write_text('{"arm": "fg", "se\n{"arm": "baseline", "seed": 0}\n')
    with pytest.raises(json.JSONDecodeError):
        read_results(path)  # damage before the last line is not a cut-short write: say so


def test_adam_refuses_a_momentum_it_would_ignore(paired, tmp_path, capsys):
    path, _ = _config(tmp_path, paired, train={"optimizer": "adam", "momentum": 0.5})
    assert main(["heads", "--config", str(path)]) == 2
    assert "momentum" in capsys.readouterr().err
