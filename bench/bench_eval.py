"""Vectorised HITSZ-VCM evaluation vs a per-query loop at the protocol's I2V size (4,584 x 5,099).

Run: python bench/bench_eval.py [--queries 4584] [--gallery 5099] [--repeat 3] [--json OUT]
Prints both timings, the speed-up ratio and the largest metric difference (must be < 1e-6)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reid" / "eval"))
from eval_reference import reference_evaluate  # noqa: E402  (the loop the tests check against)

from starreid.reid.eval import evaluate  # noqa: E402


def vcm_sized(rng, nq, ng, n_ids=427, n_cams=12, dim=256):
    """Features with VCM's test statistics: 427 ids, 12 cameras shared by both sides."""
    q_pids, g_pids = rng.integers(0, n_ids, nq), rng.integers(0, n_ids, ng)
    centres = rng.normal(size=(n_ids, dim)).astype(np.float32)
    qf = centres[q_pids] + 2.0 * rng.normal(size=(nq, dim)).astype(np.float32)
    gf = centres[g_pids] + 2.0 * rng.normal(size=(ng, dim)).astype(np.float32)
    qf /= np.linalg.norm(qf, axis=1, keepdims=True)
    gf /= np.linalg.norm(gf, axis=1, keepdims=True)
    return -(qf @ gf.T), q_pids, g_pids, rng.integers(1, n_cams + 1, nq), rng.integers(1, n_cams + 1, ng)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--queries", type=int, default=4584)
    ap.add_argument("--gallery", type=int, default=5099)
    ap.add_argument("--repeat", type=int, default=3, help="vectorised runs (best taken)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    dist, qp, gp, qc, gc = vcm_sized(np.random.default_rng(0), args.queries, args.gallery)
    t0 = time.perf_counter()
    cmc, m_ap, m_inp, nv = reference_evaluate(dist, qp, gp, qc, gc)
    t_loop = time.perf_counter() - t0
    t_vec = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = evaluate(dist, qp, gp, qc, gc)
        t_vec = min(t_vec, time.perf_counter() - t0)
    diff = max(np.abs(res.cmc - cmc).max(), abs(res.mAP - m_ap), abs(res.mINP - m_inp))
    print(f"{args.queries} x {args.gallery}, {nv} valid queries: R1 {100 * res.cmc[0]:.2f} mAP {100 * res.mAP:.2f}")
    print(f"per-query loop  {t_loop:8.3f} s")
    print(f"vectorised      {t_vec:8.3f} s")
    print(f"speed-up        {t_loop / t_vec:8.1f} x   (max metric difference {diff:.2e})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"queries": args.queries, "gallery": args.gallery, "valid_queries": int(nv),
                       "loop_s": t_loop, "vectorised_s": t_vec, "speedup": t_loop / t_vec,
                       "max_metric_difference": float(diff)}, f, indent=1)


if __name__ == "__main__":
    main()
