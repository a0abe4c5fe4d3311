"""Checkpoints: save and strictly load STAR weights, naming any parameter that does not fit."""
from __future__ import annotations

import os

import mindspore as ms
from mindspore import nn

# Entries a training checkpoint may carry beside the network (optimizer state, counters).
_TRAINING_PREFIXES = ("moments.", "momentum", "learning_rate", "global_step", "accum.", "adam_", "scale_sense",
                      "current_iterator_step", "last_overflow_iterator_step", "epoch_num", "step_num")


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not match the architecture."""


def save_weights(net: nn.Cell, path: str) -> str:
    ms.save_checkpoint(net, path)
    return path


def _describe(names, limit: int = 5) -> str:
    names = sorted(names)
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


# Training-only heads: identity classifiers and the frame-level neck (not part of the embedding).
TRAINING_HEADS = ("classifier.", "frame_neck.", "frame_classifier.")


def load_weights(net: nn.Cell, path: str, skip_prefixes=TRAINING_HEADS) -> None:
    """Load a .ckpt into net; every parameter must be present with the same shape. Parameters under
    skip_prefixes are neither checked nor loaded (e.g. a classifier over other identities, or heads when
    starting from a backbone); optimizer state may be extra. Raises CheckpointError naming the first
    mismatching parameters."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        stored = ms.load_checkpoint(path)
    except Exception as exc:  # MindSpore raises ValueError/RuntimeError variants for corrupt files
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    stored = {k: v for k, v in stored.items() if not k.startswith(_TRAINING_PREFIXES)}
    expected = {p.name: p for p in net.get_parameters() if not p.name.startswith(skip_prefixes)}
    stored = {k: v for k, v in stored.items() if not k.startswith(skip_prefixes)}
    missing = [n for n in expected if n not in stored]
    extra = [n for n in stored if n not in expected]
    shape = [f"{n} {tuple(stored[n].shape)} != {tuple(p.shape)}" for n, p in expected.items()
             if n in stored and tuple(stored[n].shape) != tuple(p.shape)]
    problems = []
    if missing:
        problems.append(f"missing from checkpoint: {_describe(missing)}")
    if extra:
        problems.append(f"not in the architecture: {_describe(extra)}")
    if shape:
        problems.append(f"shape mismatch: {_describe(shape)}")
    if problems:
        raise CheckpointError(f"checkpoint {path} does not match the architecture; " + "; ".join(problems))
    ms.load_param_into_net(net, {n: stored[n] for n in expected}, strict_load=True)
