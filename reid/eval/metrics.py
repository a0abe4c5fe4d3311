"""Vectorised CMC, mAP and mINP under the HITSZ-VCM protocol (same-id same-camera gallery entries removed)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANKS = (1, 5, 10, 20)


@dataclass
class EvalResult:
    cmc: np.ndarray  # (max_rank,) cumulative match rate at ranks 1..max_rank, over valid queries
    mAP: float
    mINP: float
    num_valid: int  # queries with at least one positive left after removal
    num_query: int

    def rank(self, r: int) -> float:
        return float(self.cmc[r - 1]) if r <= len(self.cmc) else float(self.cmc[-1])


def l2_normalise(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), eps)


def distance(qf: np.ndarray, gf: np.ndarray, normalise: bool = True) -> np.ndarray:
    """The protocol's distance: -(q @ g.T) of L2-normalised features (smaller is closer), in float64 as the
    official code (features in float64 arrays): float32 products reorder near-ties and move ranks."""
    if normalise:
        qf, gf = l2_normalise(qf), l2_normalise(gf)
    return -(np.asarray(qf, np.float64) @ np.asarray(gf, np.float64).T)


def evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20, chunk: int = 512) -> EvalResult:
    """CMC / mAP / mINP for every query row of `distmat` (Q, G); queries without a positive are skipped.

    Identical to the per-query reference loop: the same argsort, the same removal, no truncation of AP."""
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    nq, ng = distmat.shape
    if (len(q_pids), len(q_camids), len(g_pids), len(g_camids)) != (nq, nq, ng, ng):
        raise ValueError(f"ids and cameras must match distmat shape {distmat.shape}")
    max_rank = min(max_rank, ng)
    first_hit = np.empty(nq, np.int64)  # 0-based rank of the first positive in the filtered ranking
    ap = np.empty(nq, np.float64)
    inp = np.empty(nq, np.float64)
    valid = np.empty(nq, bool)
    for s in range(0, nq, chunk):  # chunks bound memory at (chunk x G) per array
        e = min(s + chunk, nq)
        order = np.argsort(distmat[s:e], axis=1)
        pid_o, cam_o = g_pids[order], g_camids[order]
        same_id = pid_o == q_pids[s:e, None]
        keep = ~(same_id & (cam_o == q_camids[s:e, None]))
        pos = same_id & keep
        kept_rank = np.cumsum(keep, axis=1)  # 1-based rank among kept entries, at kept positions
        pos_cum = np.cumsum(pos, axis=1)
        n_pos = pos_cum[:, -1]
        valid[s:e] = n_pos > 0
        first = np.argmax(pos, axis=1)
        last = ng - 1 - np.argmax(pos[:, ::-1], axis=1)
        rows = np.arange(e - s)
        first_hit[s:e] = kept_rank[rows, first] - 1
        prec = np.where(pos, pos_cum / np.maximum(kept_rank, 1), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ap[s:e] = prec.sum(axis=1) / n_pos
            inp[s:e] = n_pos / kept_rank[rows, last]
    nv = int(valid.sum())
    if nv == 0:
        raise ValueError("no query has a positive in the gallery after same-id same-camera removal")
    hits = first_hit[valid]
    cmc = np.array([(hits < r).mean() for r in range(1, max_rank + 1)], dtype=np.float64)
    return EvalResult(cmc, float(ap[valid].mean()), float(inp[valid].mean()), nv, nq)


def evaluate_features(qf, gf, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20) -> EvalResult:
    return evaluate(distance(qf, gf), q_pids, g_pids, q_camids, g_camids, max_rank)
