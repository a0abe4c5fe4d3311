"""What IR-like footage does to the offline detector and pose model (docs/ingest.md, "Infrared cameras").

No IR recording of the street scene exists here, so vtest.avi is rendered the way a thermal or active-IR
camera tends to differ from an RGB one: one channel (grey, or inverted grey: warm bodies bright on a darker
background), half the resolution (384 x 288, common for IR sensors), and a compressed dynamic range (low
contrast). For each rendering, on every k-th frame:

- HOG (tracker/hog.py) at several `detect_scale` values: people found per frame;
- MediaPipe pose (tracker/hog_mediapipe.py) on fixed boxes (HOG's on the RGB frame at 1.3, mapped to the
  rendering), so pose is measured apart from detection: share of boxes with a valid pose (>= 4 joints),
  mean joints found.

    python bench/bench_ir.py [--video PATH] [--every 10] [--pipeline 300]
    python bench/bench_ir.py --pose-fixes [--every 20]

--pipeline N also runs the whole camera pipeline (detect, track, pose, tracklets) on the first N frames of
RGB and half-size inverted-grey renderings at several detect_scale values and counts tracklets.
"""
from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
MIN_JOINTS = 4


def grey(img):
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def three(g):
    return np.repeat(g[..., None], 3, axis=2)


def low_contrast(g, alpha=0.35):
    return np.clip((g.astype(np.float32) - g.mean()) * alpha + 128, 0, 255).astype(np.uint8)


def clahe(g):
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(g)


def half(g):
    return cv2.resize(g, (g.shape[1] // 2, g.shape[0] // 2), interpolation=cv2.INTER_AREA)


# name -> (function of the RGB frame -> H x W x 3 image, size factor against the original)
RENDERINGS = {
    "rgb": (lambda f: f, 1.0),
    "grey": (lambda f: three(grey(f)), 1.0),
    "inverted grey": (lambda f: three(255 - grey(f)), 1.0),
    "inverted grey + CLAHE": (lambda f: three(clahe(255 - grey(f))), 1.0),
    "inverted grey, low contrast": (lambda f: three(low_contrast(255 - grey(f))), 1.0),
    "inverted grey, low contrast + CLAHE": (lambda f: three(clahe(low_contrast(255 - grey(f)))), 1.0),
    "inverted grey, half size": (lambda f: three(half(255 - grey(f))), 0.5),
    "inverted grey, half size, low contrast": (lambda f: three(low_contrast(half(255 - grey(f)))), 0.5),
    "inverted grey, half size, low contrast + CLAHE": (lambda f: three(clahe(low_contrast(half(255 - grey(f))))),
                                                       0.5),
}
SCALES = {1.0: (1.0, 1.3), 0.5: (1.3, 2.0, 2.6)}


def read_frames(path: str, every: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(path)
    frames, i = [], 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if i % every == 0:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return frames


def measure(frames, every: int) -> None:
    from starreid.tracker.hog import HogPeopleDetector
    from starreid.tracker.pose_mediapipe import MediaPipePose

    ref_hog = HogPeopleDetector(scale=1.3, hit_threshold=0.0, pyramid_step=1.1)
    ref_boxes = [ref_hog(f)[0] for f in frames]
    pose = MediaPipePose()
    print(f"{len(frames)} frames (every {every}th), {sum(len(b) for b in ref_boxes)} reference boxes\n")
    print("| rendering | size | HOG people / frame at detect_scale | pose found (>= 4 joints) | joints / box |")
    print("|---|---|---|---|---|")
    for name, (render, factor) in RENDERINGS.items():
        images = [render(f) for f in frames]
        counts = []
        for scale in SCALES[factor]:
            hog = HogPeopleDetector(scale=scale, hit_threshold=0.0, pyramid_step=1.1)
            start = time.perf_counter()
            n = sum(len(hog(img)[0]) for img in images)
            counts.append(f"{scale}: {n / len(images):.2f}")
            del start
        found = joints = total = 0
        for img, boxes in zip(images, ref_boxes):
            for box in boxes:
                kps = pose.estimate(img, box=np.asarray(box, np.float32) * factor)
                n_joints = int((kps[:, 2] > 0).sum())
                found += n_joints >= MIN_JOINTS
                joints += n_joints
                total += 1
        h, w = images[0].shape[:2]
        print(f"| {name} | {w} x {h} | {', '.join(counts)} | {100 * found / max(total, 1):.1f} % of {total} | "
              f"{joints / max(total, 1):.1f} |", flush=True)
    pose.close()


def stretch(img, box, margin=0.15):
    """The box's neighbourhood with its 1st..99th percentile of grey stretched to 0..255 (the rest untouched)."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    x0, y0 = int(max(0, x0 - mx)), int(max(0, y0 - my))
    x1, y1 = int(min(w, x1 + mx)), int(min(h, y1 + my))
    out = img.copy()
    region = out[y0:y1, x0:x1].astype(np.float32)
    if region.size:
        lo, hi = np.percentile(region, (1, 99))
        out[y0:y1, x0:x1] = np.clip((region - lo) * 255.0 / max(hi - lo, 1.0), 0, 255).astype(np.uint8)
    return out


def pose_fixes(frames) -> None:
    """What the pose model's input could do about IR: invert it back (people dark again), stretch each box's
    contrast, or both; on the same fixed boxes as measure()."""
    from starreid.tracker.hog import HogPeopleDetector
    from starreid.tracker.pose_mediapipe import MediaPipePose

    ref_hog = HogPeopleDetector(scale=1.3, hit_threshold=0.0, pyramid_step=1.1)
    ref_boxes = [ref_hog(f)[0] for f in frames]
    pose = MediaPipePose()
    fixes = {"as is": lambda img, box: img, "inverted back": lambda img, box: 255 - img,
             "box contrast stretched": stretch, "inverted back + stretched": lambda img, box: stretch(255 - img, box)}
    print(f"\npose input fixes, {sum(len(b) for b in ref_boxes)} boxes; share with a pose (>= 4 joints):\n")
    print("| rendering | " + " | ".join(fixes) + " |")
    print("|---|" + "---|" * len(fixes))
    for name in ("inverted grey", "inverted grey, low contrast", "inverted grey, half size",
                 "inverted grey, half size, low contrast"):
        render, factor = RENDERINGS[name]
        cells = []
        for fix in fixes.values():
            found = total = 0
            for f, boxes in zip(frames, ref_boxes):
                img = render(f)
                for box in boxes:
                    b = np.asarray(box, np.float32) * factor
                    kps = pose.estimate(fix(img, b), box=b)
                    found += int((kps[:, 2] > 0).sum()) >= MIN_JOINTS
                    total += 1
            cells.append(f"{100 * found / max(total, 1):.1f} %")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    pose.close()


def pipeline(path: str, frames_n: int) -> None:
    from starreid.app.config.tracker import TrackerConfig
    from starreid.streams.frame import Frame
    from starreid.tracker.pipeline import CameraPipeline

    cap = cv2.VideoCapture(path)
    frames = []
    while len(frames) < frames_n:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    print(f"\npipeline, first {len(frames)} frames (defaults otherwise):\n")
    print("| rendering | detect_scale | tracklets | frames with a valid pose | s |")
    print("|---|---|---|---|---|")
    runs = [("rgb", 1.3), ("inverted grey, half size", 1.3), ("inverted grey, half size", 2.0),
            ("inverted grey, half size", 2.6), ("inverted grey, half size, low contrast", 2.6),
            ("inverted grey, half size, low contrast + CLAHE", 2.6)]
    for name, scale in runs:
        render, _ = RENDERINGS[name]
        pipe = CameraPipeline.from_config(TrackerConfig(detect_scale=scale), "bench", "ir", 288, 144)
        out, start = [], time.perf_counter()
        for i, f in enumerate(frames):
            out += pipe.process(Frame("bench", "ir", i, i / 10.0, render(f), "bench"))
        out += pipe.flush()
        valid = sum(int(t.valid.sum()) for t in out)
        slots = sum(len(t.valid) for t in out)
        pipe.detector.close()
        print(f"| {name} | {scale} | {len(out)} | {valid} of {slots} | {time.perf_counter() - start:.0f} |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", default=VTEST)
    parser.add_argument("--every", type=int, default=10, help="measure every k-th frame")
    parser.add_argument("--pipeline", type=int, default=0, metavar="N", help="also run the pipeline on N frames")
    parser.add_argument("--pose-fixes", action="store_true", help="only: what inverting back or stretching the "
                        "contrast of the pose model's input does")
    args = parser.parse_args()
    if args.pose_fixes:
        pose_fixes(read_frames(args.video, args.every))
        return
    measure(read_frames(args.video, args.every), args.every)
    if args.pipeline:
        pipeline(args.video, args.pipeline)


if __name__ == "__main__":
    main()
