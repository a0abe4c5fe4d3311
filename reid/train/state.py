"""Resumable training state: network + optimizer in a MindSpore checkpoint, counters and RNG states in JSON.

A checkpoint is written at an epoch boundary, so resuming replays exactly the epochs that follow.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import mindspore as ms
import numpy as np


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)  # never leave a half-written state file


def save_state(ckpt_dir: Path, epoch: int, net, optimizer, rng: np.random.Generator, sampler_state: dict,
               best: dict, history: list) -> Path:
    """Writes epoch_<e>.ckpt (+ .json) and points last.json at it."""
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt = ckpt_dir / f"epoch_{epoch:04d}.ckpt"
    params = [{"name": p.name, "data": p} for p in net.get_parameters()]
    params += [{"name": p.name, "data": p} for p in optimizer.get_parameters()
               if p.name.startswith(("moments.", "global_step"))]
    ms.save_checkpoint(params, str(ckpt))
    state = {"epoch": epoch, "checkpoint": ckpt.name, "rng": rng.bit_generator.state,
             "sampler": sampler_state, "best": best, "history": history}
    _write_json(ckpt.with_suffix(".json"), state)
    _write_json(ckpt_dir / "last.json", state)
    return ckpt


def load_state(ckpt_dir: Path, net, optimizer) -> dict | None:
    """Restores net and optimizer from the last checkpoint; returns its JSON state, or None when there is none."""
    last = ckpt_dir / "last.json"
    if not last.exists():
        return None
    state = json.loads(last.read_text())
    stored = ms.load_checkpoint(str(ckpt_dir / state["checkpoint"]))
    net_names = {p.name for p in net.get_parameters()}
    ms.load_param_into_net(net, {k: v for k, v in stored.items() if k in net_names}, strict_load=True)
    opt_params = {p.name: p for p in optimizer.get_parameters()}
    for name, value in stored.items():
        if name in opt_params and name not in net_names:
            opt_params[name].set_data(value)
    return state


def restore_rng(state: dict) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = state["rng"]
    return rng
