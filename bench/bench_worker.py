"""Frames per second for one camera with the offline backends (HOG + MediaPipe + ByteTrack + tracklet
cutting and JPEG crops), on vtest.avi (goal: >= 10 fps on the 2-core machine).

Every frame of the file is processed (no dropping), so the number is the sustained rate a live camera could
be served at. The reference measured in the same run is decoding alone. Variants show where time goes:
detection stride, HOG resize factor, pose on every frame or every second frame of a window.

    python bench/bench_worker.py [--frames 200] [--video /usr/share/doc/opencv-doc/examples/data/vtest.avi] [--json OUT]

Embedding is not part of this in-process loop (the worker embeds off the camera loop, in a thread of its own):
bench/bench_cameras.py measures whole worker processes, embedding off and on.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the shared test doubles: tests/support

import argparse
import json
import time
from collections import defaultdict

from support.sections import camera
from starreid.app.config.model import ModelConfig
from starreid.app.config.tracker import TrackerConfig
from starreid.streams import open_source
from starreid.tracker.pipeline import CameraPipeline

GOAL_FPS = 10.0
VARIANTS = [  # (label, settings)
    ("default: detect every 3, pose every 2", {}),
    ("pose on every frame", {"pose_every": 1}),
    ("detect every frame", {"detect_every": 1}),
    ("detect every 2", {"detect_every": 2}),
    ("HOG at full size (1.0)", {"detect_scale": 1.0}),
]


def decode_fps(video: str, frames: int) -> float:
    start, n = time.perf_counter(), 0
    for f in open_source(camera(video, "bench", "rgb")).frames():
        n += 1
        if n >= frames:
            break
    return n / (time.perf_counter() - start)


def run(video: str, frames: int, scale: float, settings: dict) -> tuple[float, dict, int]:
    spent = defaultdict(float)
    model = ModelConfig()  # crops at the default model's input size
    tracker = TrackerConfig.model_validate({"detect_scale": scale, **settings})
    pipeline = CameraPipeline.from_config(tracker, "bench", "rgb", model.height, model.width)
    pipeline.observe = lambda stage, s: spent.__setitem__(stage, spent[stage] + s)
    pipeline.detector.pose(next(open_source(camera(video, "bench", "rgb")).frames()).image,
                           [[300, 150, 360, 300]])  # load the pose model outside the timing
    n, tracklets = 0, 0
    start = time.perf_counter()
    for frame in open_source(camera(video, "bench", "rgb")).frames():
        tracklets += len(pipeline.process(frame))
        n += 1
        if n >= frames:
            break
    elapsed = time.perf_counter() - start
    pipeline.detector.close()
    return n / elapsed, {k: 1000 * v / n for k, v in spent.items()}, tracklets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default="/usr/share/doc/opencv-doc/examples/data/vtest.avi", help="video file")
    parser.add_argument("--frames", type=int, default=200, help="frames per variant")
    parser.add_argument("--detect-scale", type=float, default=1.3, help="HOG resize factor (1.3 for vtest)")
    parser.add_argument("--all", action="store_true", help="run every variant (default: only the default)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant; the fastest counts (the "
                        "machine is shared, so slower runs measure other people's jobs)")
    parser.add_argument("--plot", default=None, metavar="PNG", help="also draw ms/frame per stage and variant")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    rows = []

    ref = max(decode_fps(args.video, args.frames) for _ in range(args.repeats))
    print(f"reference: decode only {ref:.0f} fps ({args.frames} frames of {args.video})")
    for label, settings in VARIANTS if args.all else VARIANTS[:1]:
        fps, ms, tracklets = max((run(args.video, args.frames, args.detect_scale, settings)
                                  for _ in range(args.repeats)), key=lambda r: r[0])
        rows.append((label, fps, ms))
        stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(ms.items()))
        print(f"{label:40s} {fps:6.1f} fps  (x{fps / GOAL_FPS:.2f} of goal, {fps / ref:.3f} of decode)  "
              f"ms/frame: {stages}; {tracklets} tracklets")
    if args.plot:
        plot(rows, args.plot)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"frames": args.frames, "goal_fps": GOAL_FPS, "decode_fps": ref,
                       "variants": [{"label": label, "fps": fps, "ratio_to_goal": fps / GOAL_FPS,
                                     "ratio_to_decode": fps / ref, "ms_per_frame": ms} for label, fps, ms in rows]},
                      f, indent=1)


def plot(rows, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.6 * len(rows) + 1.2))
    left = [0.0] * len(rows)
    for stage, colour in (("detect", "tab:blue"), ("pose", "tab:orange"), ("track", "tab:green")):
        values = [ms.get(stage, 0.0) for _, _, ms in rows]
        ax.barh(range(len(rows)), values, left=left, color=colour, label=stage)
        left = [a + b for a, b in zip(left, values)]
    ax.set_yticks(range(len(rows)), [f"{label} ({fps:.1f} fps)" for label, fps, _ in rows])
    ax.invert_yaxis()
    ax.axvline(1000 / GOAL_FPS, color="red", linestyle="--", label=f"{GOAL_FPS:.0f} fps budget")
    ax.set_xlabel("ms per frame (decode, crops and JPEG not shown)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
