"""A picture of a synthetic identity: RGB and IR frames side by side, optionally with skeletons drawn."""
from __future__ import annotations

import cv2
import numpy as np

from starreid.reid.data.clips import read_frame
from starreid.reid.data.skeleton_store import SkeletonStore
from starreid.reid.data.vcm import load_vcm
from starreid.reid.data.vcm_files import frame_path

BONES = [(5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (11, 12), (5, 11), (6, 12), (11, 13), (13, 15), (12, 14), (14, 16)]


def _draw(img: np.ndarray, kp: np.ndarray, scale: int) -> np.ndarray:
    h, w = img.shape[:2]
    big = cv2.resize(img, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    pts = [(int(x * w * scale), int(y * h * scale)) if s > 0 else None for x, y, s in kp]
    for a, b in BONES:
        if pts[a] and pts[b]:
            cv2.line(big, pts[a], pts[b], (0, 255, 0), 1, cv2.LINE_AA)
    for p in pts:
        if p:
            cv2.circle(big, p, 2, (255, 60, 60), -1, cv2.LINE_AA)
    return big


def save_pair_png(root, path, pid: int | None = None, frames: int = 4, skeletons: SkeletonStore | None = None,
                  scale: int = 3) -> int:
    """Saves `frames` RGB frames above the same number of IR frames of one person; returns the person id."""
    ds = load_vcm(root, min_len=frames)
    tracks = ds.train + ds.query + ds.gallery
    pids = sorted({t.pid for t in tracks if t.modality == "ir"} & {t.pid for t in tracks if t.modality == "rgb"})
    if not pids:
        raise ValueError(f"{root}: no person has both RGB and IR tracklets")
    pid = pids[0] if pid is None else pid
    rows = []
    for mod in ("rgb", "ir"):
        rec = next(t for t in tracks if t.pid == pid and t.modality == mod)
        pick = np.linspace(0, len(rec) - 1, frames).round().astype(int)
        names = [rec.names[i] for i in pick]
        imgs = [read_frame(frame_path(root, n)) for n in names]
        if skeletons is not None:
            kps, _ = skeletons.lookup(names)
            imgs = [_draw(im, kp, scale) for im, kp in zip(imgs, kps)]
        else:
            imgs = [cv2.resize(im, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) for im in imgs]
        rows.append(np.concatenate(imgs, axis=1))
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    return pid


# Corruption sheets (--crop detector datasets): one row per tracklet, each frame headed by its code.
CODE_COLOURS = {0: (90, 90, 90), 1: (40, 90, 200), 2: (170, 40, 170), 3: (220, 130, 20), 4: (200, 30, 30)}
LOW = (255, 170, 0)  # joints an estimator returns below the model's score threshold


def _draw_scored(img: np.ndarray, kp: np.ndarray, scale: int, threshold: float = 0.3) -> np.ndarray:
    """Like _draw, but joints scored below `threshold` (guesses, hallucinations) are hollow orange circles."""
    h, w = img.shape[:2]
    big = cv2.resize(img, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    pts = [(int(x * w * scale), int(y * h * scale)) if s > 0 else None for x, y, s in kp]
    high = [s >= threshold for s in kp[:, 2]]
    for a, b in BONES:
        if pts[a] and pts[b]:
            good = high[a] and high[b]
            cv2.line(big, pts[a], pts[b], (0, 255, 0) if good else LOW, 1, cv2.LINE_AA)
    for p, hi in zip(pts, high):
        if p and hi:
            cv2.circle(big, p, 2, (255, 60, 60), -1, cv2.LINE_AA)
        elif p:
            cv2.circle(big, p, 3, LOW, 1, cv2.LINE_AA)
    return big


def _strip(width: int, height: int, text: str, colour) -> np.ndarray:
    strip = np.full((height, width, 3), colour, np.uint8)
    cv2.putText(strip, text, (3, height - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1, cv2.LINE_AA)
    return strip


def pick_corrupted_tracklets(root, modality: str | None = None, frames: int = 8):
    """(record, first frame) per corruption kind 1-4 plus one clean tracklet: the first tracklet (dataset
    order) holding a run of >= 2 frames of that kind, with a window of `frames` frames starting two before it."""
    from starreid.reid.synth.corrupt import open_corruptions

    ds = load_vcm(root, min_len=frames)
    store = open_corruptions(root)
    picks = []
    for code in (0, 1, 2, 3, 4):
        for rec in ds.train + ds.query + ds.gallery:
            if modality is not None and rec.modality != modality or any(r is rec for r, _ in picks):
                continue
            codes = store.codes_of(rec.names)
            if code == 0:
                if (codes == 0).all():
                    picks.append((rec, 0))
                    break
                continue
            hit = np.flatnonzero((codes[:-1] == code) & (codes[1:] == code))
            if len(hit):
                picks.append((rec, int(np.clip(hit[0] - 2, 0, len(rec) - frames))))
                break
    return picks


def save_corruption_sheet(root, path, modality: str | None = None, frames: int = 8, source: str = "estimated",
                          scale: int = 2, colours: int | None = None) -> list[str]:
    """A PNG of tracklets with their corruptions: one row per tracklet (a clean one, then one per kind found),
    `frames` consecutive frames each, headed by the frame's corruption code (and the person shown when it is
    someone else), with the `source` skeletons drawn ('estimated' or 'gt'); low-score joints in orange. Saved
    with a palette of `colours` colours to stay small (default 96 adaptive; IR: 40, a grey ramp plus the
    drawing colours). Returns the row labels."""
    colours = colours or (40 if modality == "ir" else 96)
    from PIL import Image

    from starreid.reid.data.skeleton_store import open_skeletons
    from starreid.reid.synth.corrupt import CODE_NAMES, open_corruptions

    store, skel = open_corruptions(root), open_skeletons(root, source)
    picks = pick_corrupted_tracklets(root, modality, frames)
    if not picks:
        raise ValueError(f"{root}: no tracklet of {frames}+ frames to show")
    rows, labels = [], []
    for rec, start in picks:
        names = list(rec.names[start:start + frames])
        info = store.lookup(names)
        kps, _ = skel.lookup(names)
        tiles = []
        for name, kp, code, person in zip(names, kps, info["code"], info["person"]):
            img = _draw_scored(read_frame(frame_path(root, name)), kp, scale)
            text = CODE_NAMES[int(code)] + (f" {int(person):04d}" if int(code) == 2 else "")
            tiles.append(np.concatenate([_strip(img.shape[1], 14, text, CODE_COLOURS[int(code)]), img], axis=0))
        row = np.concatenate(tiles, axis=1)
        lines = (f"{rec.pid:04d} {rec.modality.upper()}", f"camera {rec.camid}", f"F{start + 1}-{start + len(names)}")
        side = np.full((row.shape[0], 76, 3), 255, np.uint8)
        for i, line in enumerate(lines):
            cv2.putText(side, line, (4, 40 + 16 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
        label = " ".join(lines)
        rows.append(np.concatenate([side, row], axis=1))
        labels.append(label)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    sheet = Image.fromarray(np.concatenate(rows, axis=0))
    if modality == "ir":  # grey frames: a fixed grey ramp plus the drawing colours keeps the greys grey
        marks = [(0, 255, 0), (255, 60, 60), LOW, *CODE_COLOURS.values()]
        greys = [(v, v, v) for v in np.linspace(0, 255, colours - len(marks)).round().astype(int)]
        pal = Image.new("P", (1, 1))
        pal.putpalette([c for rgb in greys + marks for c in rgb] + [0] * 3 * (256 - len(greys) - len(marks)))
        small = sheet.quantize(palette=pal, dither=Image.Dither.NONE)
    else:
        small = sheet.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    return labels
