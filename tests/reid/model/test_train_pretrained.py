"""`starreid train` from pretrained backbones: `pretrained: imagenet` with frozen stages, and a clear exit 2 for
weights that are absent or do not fit."""
import numpy as np
import pytest
import yaml

import mindspore as ms
from starreid.app.cli import main


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from starreid.reid.synth.generate import generate

    root = tmp_path_factory.mktemp("synth") / "data"
    generate(root, identities=8, cameras=2, train_ids=4, min_frames=8, max_frames=8, short_fraction=0.0,
             height=64, width=32, seed=2, progress=False)
    return root


def config(tmp_path, root, **model) -> str:
    cfg = {"kind": "train", "out_dir": str(tmp_path / "run"), "seed": 1,
           "data": {"root": str(root), "skeletons": str(root / "skeletons_gt.h5"), "min_len": 4, "threads": 2},
           "model": {"backbone": "mobilenetv2", "variant": "full", "seq_len": 4, "height": 64, "width": 32,
                     "lstm_hidden": 16, "ffn_hidden": 32, "guide_hidden": 8, **model},
           "sampler": {"p": 2, "k": 1, "epoch": "identities"},
           "optim": {"epochs": 1, "lr": 0.01, "warmup_epochs": 0, "milestones": []},
           "schedule": {"eval_every": 1, "checkpoint_every": 1, "eval_batch": 8}}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_pretrained_weights_that_do_not_fit_exit_2_naming_the_key(tmp_path, tiny_data, capsys):
    assert main(["train", "--config", config(tmp_path, tiny_data, pretrained=str(tmp_path / "absent.pth")),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "model.pretrained" in err and "pretrained weights not found" in err
    bad = tmp_path / "r18.ckpt"
    ms.save_checkpoint([{"name": "conv1.weight", "data": ms.Tensor(np.zeros((64, 3, 7, 7), np.float32))},
                        {"name": "bn1.gamma", "data": ms.Tensor(np.ones(64, np.float32))}], str(bad))
    assert main(["train", "--config", config(tmp_path, tiny_data, pretrained=str(bad)), "--no-progress"]) == 2
    assert "holds a ResNet" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_training_starts_from_imagenet_and_keeps_frozen_stages(tmp_path, tiny_data):
    from starreid.reid.models.pretrained import PretrainedError, imagenet_file
    from starreid.reid.weights import read_weights

    try:
        source = read_weights(imagenet_file())
    except PretrainedError as exc:
        pytest.skip(str(exc))
    path = config(tmp_path, tiny_data, pretrained="imagenet", freeze=2)  # stem and layer1 kept
    assert main(["train", "--config", path, "--no-progress"]) == 0
    last = {k: v.asnumpy() for k, v in ms.load_checkpoint(str(tmp_path / "run" / "last.ckpt")).items()}
    for stem in ("stem_rgb", "stem_ir"):
        np.testing.assert_array_equal(last[f"backbone.{stem}.conv.weight"], source["features.0.0.weight"])
        np.testing.assert_array_equal(last[f"backbone.{stem}.bn.moving_mean"], source["features.0.1.running_mean"])
    np.testing.assert_array_equal(last["backbone.layer1.2.dw.conv.weight"], source["features.3.conv.3.weight"])
    # later stages start from ImageNet and train
    assert not np.array_equal(last["backbone.layer4.4.conv.weight"], source["features.18.0.weight"])
    assert np.corrcoef(last["backbone.layer4.4.conv.weight"].ravel(), source["features.18.0.weight"].ravel())[0, 1] > 0.9
