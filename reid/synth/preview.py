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
