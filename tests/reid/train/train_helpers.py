"""Configs for the training tests."""
import yaml


def tiny_config(tmp_path, root, **overrides) -> dict:
    cfg = {
        "kind": "train", "out_dir": str(tmp_path / "run"), "seed": 3,
        "data": {"root": str(root), "skeletons": str(root / "skeletons_gt.h5"), "threads": 2},
        "model": {"backbone": "resnet18", "variant": "full", "seq_len": 4, "height": 64, "width": 32, "lstm_hidden": 32,
                  "ffn_hidden": 64, "guide_hidden": 16},
        "sampler": {"p": 4, "k": 1, "epoch": "identities"},  # 2 steps an epoch: short runs
        "optim": {"epochs": 3, "lr": 0.01, "warmup_epochs": 1, "milestones": [2]},
        "schedule": {"eval_every": 1, "checkpoint_every": 1, "eval_batch": 8},
    }
    for key, value in overrides.items():
        cfg[key] = {**cfg[key], **value} if isinstance(value, dict) else value
    return cfg


def write_config(tmp_path, cfg, name="train.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path
