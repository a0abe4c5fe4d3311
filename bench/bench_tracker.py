"""Tracker-only throughput on precomputed detections (goal: >= 1,500 frames/s on the 2-core machine).

Detections come from a synthetic street scene (5 people in view, misses, occlusions, false positives) or,
with --vtest, from HOG run once over vtest.avi. The reference measured in the same run is the association
floor: one IoU matrix and one Hungarian assignment per frame against the previous frame's boxes.

    python bench/bench_tracker.py [--frames 5000] [--vtest /usr/share/doc/opencv-doc/examples/data/vtest.avi] [--json OUT]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the shared test doubles: tests/support

import argparse
import json
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from starreid.app.config.tracker import TrackerConfig
from starreid.tracker.bytetrack import ByteTracker, iou_matrix
from support.mot import evaluate
from support.walkers import detections, walkers

GOAL_FPS = 1500.0


def synthetic(n_frames: int):
    rng = np.random.default_rng(0)
    n = n_frames // 60
    starts = [(float(rng.uniform(0, 50)), float(rng.uniform(120, 480))) for _ in range(n)]
    vel = [(float(rng.uniform(2, 5)), float(rng.uniform(-0.5, 0.5))) for _ in range(n)]
    truth = walkers(n_frames, starts, vel, first_frames=[60 * i for i in range(n)])
    return truth, detections(truth, miss_rate=0.1, false_rate=0.3, seed=0)


def hog_detections(path: str, scale: float):
    from support.sections import camera
    from starreid.streams import open_source
    from starreid.tracker.hog import HogPeopleDetector

    hog = HogPeopleDetector(scale=scale, hit_threshold=0.0, pyramid_step=1.1)
    return [hog(f.image) for f in open_source(camera(path, "bench", "rgb")).frames()]


def floor(dets) -> float:
    start, prev = time.perf_counter(), np.zeros((0, 4), np.float32)
    for boxes, _ in dets:
        if len(prev) and len(boxes):
            linear_sum_assignment(1 - iou_matrix(prev, boxes))
        prev = boxes
    return len(dets) / (time.perf_counter() - start)


def track(dets, repeats: int = 3) -> tuple[float, list]:
    best, out = 0.0, []
    for _ in range(repeats):
        tracker, out = ByteTracker.from_config(TrackerConfig()), []
        start = time.perf_counter()
        for boxes, scores in dets:
            out.append({t.track_id: t.box for t in tracker.update(boxes, scores).tracks})
        best = max(best, len(dets) / (time.perf_counter() - start))
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5000, help="synthetic frames")
    parser.add_argument("--vtest", default=None, help="also replay HOG detections of this video")
    parser.add_argument("--detect-scale", type=float, default=1.3, help="HOG resize factor for --vtest")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    out = {"goal_fps": GOAL_FPS}

    truth, dets = synthetic(args.frames)
    fps, predicted = track(dets)
    ref = floor(dets)
    quality = evaluate(truth, predicted)
    per_frame = np.mean([len(b) for b, _ in dets])
    print(f"synthetic: {args.frames} frames, {per_frame:.1f} detections/frame")
    print(f"  tracker {fps:8.0f} fps   association floor {ref:8.0f} fps   tracker/floor {fps / ref:.2f}"
          f"   goal {GOAL_FPS:.0f} fps: x{fps / GOAL_FPS:.2f}")
    print(f"  id switches {quality['id_switches']}, distinct ids {quality['distinct_ids']} for "
          f"{quality['true_ids']} people, coverage {quality['coverage']:.3f}")
    out["synthetic"] = {"frames": args.frames, "detections_per_frame": float(per_frame), "fps": fps,
                        "floor_fps": ref, "ratio_to_floor": fps / ref, "ratio_to_goal": fps / GOAL_FPS,
                        **{k: float(v) for k, v in quality.items()}}
    if args.vtest:
        dets = hog_detections(args.vtest, args.detect_scale)
        fps, predicted = track(dets)
        ref = floor(dets)
        print(f"vtest HOG detections: {len(dets)} frames, {np.mean([len(b) for b, _ in dets]):.1f} detections/frame")
        print(f"  tracker {fps:8.0f} fps   association floor {ref:8.0f} fps   tracker/floor {fps / ref:.2f}"
              f"   goal x{fps / GOAL_FPS:.2f}; distinct tracks {len({i for p in predicted for i in p})}")
        out["vtest"] = {"frames": len(dets), "fps": fps, "floor_fps": ref, "ratio_to_floor": fps / ref,
                        "ratio_to_goal": fps / GOAL_FPS}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
