"""Runs a pose estimator over every frame of a dataset and appends COCO-17 rows to a skeleton file."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from starreid.reid.data.clips import read_frame
from starreid.reid.data.errors import DatasetError
from starreid.reid.data.skeleton_store import SkeletonWriter
from starreid.reid.data.vcm_files import frame_path, read_names


def dataset_frame_names(root) -> list[str]:
    """Every frame named in the train and test name lists, in file order, without duplicates."""
    names = read_names(Path(root) / "train_name.txt") + read_names(Path(root) / "test_name.txt")
    return list(dict.fromkeys(names))


def extract_skeletons(root, out, estimate: Callable[[np.ndarray], np.ndarray], source: str,
                      limit: int | None = None, names: list[str] | None = None, flush_every: int = 256,
                      progress: bool = True) -> dict:
    """estimate(image_rgb) -> (17, 3) pixels + score. Frames already in `out` are skipped (resumable).

    A frame where no joint was found is stored as invalid with zero keypoints; an unreadable frame is
    counted and stored the same way, so a resumed run does not retry it forever. `names` restricts the run
    to those frames (default: every frame of the name lists)."""
    names = dataset_frame_names(root) if names is None else list(names)
    if limit is not None:
        names = names[:limit]
    stats = {"frames": len(names), "done_before": 0, "posed": 0, "no_pose": 0, "unreadable": 0}
    with SkeletonWriter(out, source=source) as writer:
        todo = [n for n in names if n not in writer.done]
        stats["done_before"] = len(names) - len(todo)
        buf_n, buf_k, buf_v = [], [], []
        for name in tqdm(todo, desc="skeletons", disable=not progress):
            try:
                img = read_frame(frame_path(root, name))
            except DatasetError:
                stats["unreadable"] += 1
                kp, ok = np.zeros((17, 3), np.float32), False
            else:
                kp = np.asarray(estimate(img), np.float32).copy()
                ok = bool(kp[:, 2].max() > 0)
                kp[:, 0] /= img.shape[1]
                kp[:, 1] /= img.shape[0]
                if not ok:
                    kp[:] = 0.0
                stats["posed" if ok else "no_pose"] += 1
            buf_n.append(name)
            buf_k.append(kp)
            buf_v.append(ok)
            if len(buf_n) >= flush_every:
                writer.append(buf_n, np.stack(buf_k), np.array(buf_v))
                buf_n, buf_k, buf_v = [], [], []
        if buf_n:
            writer.append(buf_n, np.stack(buf_k), np.array(buf_v))
    return stats
