"""A straightforward per-query evaluation written from the protocol text; the vectorised one must agree."""
from __future__ import annotations

import numpy as np


def reference_evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=20):
    """Returns (cmc (max_rank,), mAP, mINP, num_valid) by looping over queries one at a time."""
    num_q, num_g = distmat.shape
    max_rank = min(max_rank, num_g)
    indices = np.argsort(distmat, axis=1)
    all_cmc, all_ap, all_inp = [], [], []
    for i in range(num_q):
        order = indices[i]
        # Remove gallery entries with the same person id AND the same camera as the query.
        remove = (g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i])
        matches = (g_pids[order] == q_pids[i])[~remove].astype(np.int32)
        if not np.any(matches):
            continue  # no positive left: the query is skipped
        cmc = matches.cumsum()
        last_pos = np.max(np.where(matches == 1)[0])
        all_inp.append(cmc[last_pos] / (last_pos + 1.0))
        cmc[cmc > 1] = 1
        all_cmc.append(cmc[:max_rank] if len(cmc) >= max_rank else np.pad(cmc, (0, max_rank - len(cmc)), mode="edge"))
        num_rel = matches.sum()
        precision = [x / (k + 1.0) for k, x in enumerate(matches.cumsum())]
        all_ap.append((np.asarray(precision) * matches).sum() / num_rel)
    cmc = np.asarray(all_cmc, dtype=np.float64).sum(axis=0) / len(all_cmc)
    return cmc, float(np.mean(all_ap)), float(np.mean(all_inp)), len(all_cmc)


def vcm_like(rng, n_query, n_gallery, n_ids=40, n_cams=12, dim=32):
    """Random features with VCM-like ids and cameras: each id appears in a few cameras on both sides."""
    q_pids = rng.integers(0, n_ids, n_query)
    g_pids = np.concatenate([rng.permutation(n_ids), rng.integers(0, n_ids, n_gallery - n_ids)])
    q_cam = rng.integers(1, n_cams + 1, n_query)
    g_cam = rng.integers(1, n_cams + 1, n_gallery)
    centres = rng.normal(size=(n_ids, dim))
    qf = centres[q_pids] + 1.5 * rng.normal(size=(n_query, dim))
    gf = centres[g_pids] + 1.5 * rng.normal(size=(n_gallery, dim))
    return qf.astype(np.float32), gf.astype(np.float32), q_pids, g_pids, q_cam, g_cam
