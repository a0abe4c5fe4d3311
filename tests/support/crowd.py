"""Synthetic crowd scenes with appearance, for tracklet purity: walkers (support.walkers) drawn as people with
their own shirt and trousers colours on a textured street, detections replayed, and each emitted tracklet
checked against who was really in its frames."""
from __future__ import annotations

import colorsys
from collections import Counter

import cv2
import numpy as np

from starreid.streams.frame import Frame
from starreid.tracker.bytetrack import ByteTracker, iou_matrix
from starreid.tracker.detection import Detection
from starreid.tracker.pipeline import CameraPipeline
from starreid.tracker.tracklets import TrackletBuilder
from support.replay import ReplayDetector, stick_figure
from support.walkers import detections, walkers

SIZE = (768, 576)


def colours(n: int, seed: int) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """(shirt, trousers) RGB per person: distinct hues, varied saturation and brightness."""
    rng = np.random.default_rng([seed, 1])
    out = []
    for i in range(n):
        pair = []
        for part in range(2):
            h = (i * 0.618 + part * 0.37 + rng.uniform(0, 0.1)) % 1.0
            r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(0.4, 0.9), rng.uniform(0.35, 0.95))
            pair.append((int(r * 255), int(g * 255), int(b * 255)))
        out.append(tuple(pair))
    return out


def render(boxes: dict[int, np.ndarray], looks, background: np.ndarray) -> np.ndarray:
    image = background.copy()
    for pid in sorted(boxes, key=lambda p: boxes[p][3]):  # farther (higher up) first: nearer people cover them
        x1, y1, x2, y2 = (int(v) for v in boxes[pid])
        shirt, trousers = looks[pid - 1]
        mid = (y1 + y2) // 2
        cv2.rectangle(image, (x1 + (x2 - x1) // 5, y1 + (y2 - y1) // 7), (x2 - (x2 - x1) // 5, mid), shirt, -1)
        cv2.rectangle(image, (x1 + (x2 - x1) // 4, mid), (x2 - (x2 - x1) // 4, y2), trousers, -1)
        cv2.circle(image, ((x1 + x2) // 2, y1 + (y2 - y1) // 14), max(3, (x2 - x1) // 6), (205, 170, 140), -1)
    return image


def crossing_scene(seed: int, people: int = 8, frames: int = 300):
    """People walking both ways along a street at similar heights, so they cross and occlude one another."""
    rng = np.random.default_rng([seed, 0])
    starts, velocities, first = [], [], []
    for i in range(people):
        leftward = i % 2
        starts.append((SIZE[0] + 20.0 if leftward else -20.0, float(rng.uniform(250, 330))))
        velocities.append(((-1 if leftward else 1) * float(rng.uniform(3, 6)), float(rng.uniform(-0.3, 0.3))))
        first.append(int(rng.integers(0, frames // 2)))
    truth = walkers(frames, starts, velocities, first_frames=first)
    return truth, colours(people, seed)


def run(truth, looks, purity_split: float | None, seed: int, length: int = 24) -> dict:
    """The camera pipeline over the scene -> {'tracklets': n, 'impure': tracklets holding two or more people
    (at least 3 frames each), 'cuts': purity cuts made}."""
    rng = np.random.default_rng([seed, 2])
    background = cv2.GaussianBlur(rng.integers(60, 120, (SIZE[1], SIZE[0], 3), np.uint8), (0, 0), 3)
    dets = detections(truth, miss_rate=0.05, false_rate=0.1, seed=seed)
    replay = ReplayDetector([[Detection(b, s, stick_figure(b)) for b, s in zip(*d)] for d in dets])
    builder = TrackletBuilder("c", "rgb", length=length, stride=length, min_frames=8, jpeg_quality=90,
                              pose_every=1, purity_split=purity_split)
    cuts = []
    builder.on_purity_cut = lambda: cuts.append(1)
    tracker = ByteTracker(high_score=0.5, low_score=0.1, new_track_score=0.6, match_iou=0.2, max_lost=60,
                          min_hits=3, lost_match_dist=1.0)
    pipeline = CameraPipeline(replay, tracker, builder, height=128, width=64, detect_every=1, crop_pad=0.1)
    who: dict[tuple[int, int], int] = {}  # (track id, frame) -> the person its box covers
    tracklets = []
    for f, gt in enumerate(truth):
        image = render(gt, looks, background)
        tracklets += pipeline.process(Frame("c", "rgb", f, float(f), image, "s"))
        ids = list(gt)
        for view in pipeline.views:
            if ids:
                iou = iou_matrix(view.box[None], np.stack([gt[i] for i in ids]))[0]
                if iou.max() > 0.3:
                    who[(view.track_id, f)] = ids[int(iou.argmax())]
    tracklets += pipeline.flush()
    impure = 0
    for t in tracklets:
        people = Counter(who[(t.track_id, f)] for f in range(int(t.start_ts), int(t.end_ts) + 1)
                         if (t.track_id, f) in who)
        impure += sum(n >= 3 for n in people.values()) >= 2
    return {"tracklets": len(tracklets), "impure": impure, "cuts": len(cuts)}
