"""Tracklet purity on synthetic crowd scenes: tracklets holding two or more people (at least 3 frames each),
with the appearance cut (tracker.purity_split) off and at several thresholds, over several seeds.

    python bench/bench_purity.py [--seeds 6] [--thresholds 0.25 0.35 0.5] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the shared test doubles: tests/support

from support.crowd import crossing_scene, run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.25, 0.35, 0.5])
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = []
    for threshold in [None, *args.thresholds]:
        total = {"tracklets": 0, "impure": 0, "cuts": 0}
        for seed in range(args.seeds):
            truth, looks = crossing_scene(seed)
            for key, value in run(truth, looks, threshold, seed).items():
                total[key] += value
        rows.append({"purity_split": threshold, **total})
        print(f"purity_split {threshold!s:>5}: {total['impure']:3d} impure of {total['tracklets']} tracklets, "
              f"{total['cuts']} cuts", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
