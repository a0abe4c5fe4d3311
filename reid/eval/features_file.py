"""Saved features for `starreid eval` (npz).

Keys, either form:
  both directions:  ir_feats (N_ir, D), ir_pids (N_ir,), ir_camids (N_ir,),
                    rgb_feats (N_rgb, D), rgb_pids (N_rgb,), rgb_camids (N_rgb,)
                    -> I2V (IR queries vs RGB gallery) and V2I (the reverse)
  one direction:    query_feats, query_pids, query_camids, gallery_feats, gallery_pids, gallery_camids
Features need not be normalised; evaluation L2-normalises them and uses -(q @ g.T).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from starreid.reid.eval.metrics import EvalResult, evaluate_features


def _side(data, path, prefix):
    keys = [f"{prefix}_feats", f"{prefix}_pids", f"{prefix}_camids"]
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    f, p, c = (data[k] for k in keys)
    if f.ndim != 2 or p.shape != (len(f),) or c.shape != (len(f),):
        raise ValueError(f"{path}: {prefix}_feats must be (N, D) with (N,) pids and camids")
    return f, p, c


def evaluate_file(path) -> dict[str, EvalResult]:
    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        return evaluate_arrays(dict(data), path)


def evaluate_arrays(data: dict, path="features") -> dict[str, EvalResult]:
    """The same for arrays in memory under the file's keys; path only names them in errors."""
    if "ir_feats" in data:
        ir, rgb = _side(data, path, "ir"), _side(data, path, "rgb")
        return {"I2V": evaluate_features(ir[0], rgb[0], ir[1], rgb[1], ir[2], rgb[2]),
                "V2I": evaluate_features(rgb[0], ir[0], rgb[1], ir[1], rgb[2], ir[2])}
    q, g = _side(data, path, "query"), _side(data, path, "gallery")
    return {"query->gallery": evaluate_features(q[0], g[0], q[1], g[1], q[2], g[2])}
