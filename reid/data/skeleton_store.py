"""Per-frame COCO-17 skeletons of a dataset in one HDF5 file, keyed by frame file name.

Layout (format "starreid-skeletons-1"):
    names      (N,)        UTF-8 strings, frame file names such as 0001M2D3T1F1.jpg
    keypoints  (N, 17, 3)  float32: x / width, y / height in [0, 1], score in [0, 1]; zeros for a missing joint
    valid      (N,)        bool: False where no pose was found (the row is then all zeros, never invented)
    attrs: format, source ("ground-truth" or a backend name), joints (COCO-17 names)
Rows are appended in chunks, so an interrupted extraction resumes where the file ends.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from starreid.reid.data.coco import COCO17_NAMES
from starreid.reid.data.errors import DatasetError

FORMAT = "starreid-skeletons-1"
_STR = h5py.string_dtype("utf-8")


class SkeletonWriter:
    """Appends rows; opening an existing file continues it (see `done` for the names already stored)."""

    def __init__(self, path, source: str):
        self.path = Path(path)
        self.f = h5py.File(self.path, "a")
        if "names" not in self.f:
            self.f.create_dataset("names", (0,), dtype=_STR, maxshape=(None,), chunks=(4096,))
            self.f.create_dataset("keypoints", (0, 17, 3), dtype="f4", maxshape=(None, 17, 3), chunks=(4096, 17, 3))
            self.f.create_dataset("valid", (0,), dtype=bool, maxshape=(None,), chunks=(4096,))
            self.f.attrs.update(format=FORMAT, source=source, joints=list(COCO17_NAMES))
        elif self.f.attrs.get("format") != FORMAT:
            raise DatasetError(self.path, f"not a {FORMAT} file")
        self.done = {n.decode() if isinstance(n, bytes) else n for n in self.f["names"][:]}

    def append(self, names: list[str], keypoints: np.ndarray, valid: np.ndarray) -> None:
        kp = np.asarray(keypoints, np.float32).reshape(len(names), 17, 3)
        n0 = self.f["names"].shape[0]
        for key, rows in (("names", np.asarray(names, dtype=object)), ("keypoints", kp),
                          ("valid", np.asarray(valid, bool))):
            ds = self.f[key]
            ds.resize(n0 + len(names), axis=0)
            ds[n0:] = rows
        self.f.flush()
        self.done.update(names)

    def close(self) -> None:
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SkeletonStore:
    """Read side: looks frames up by name; frames not in the file read as missing (zeros, invalid)."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetError(self.path, "skeleton file not found")
        with h5py.File(self.path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise DatasetError(self.path, f"not a {FORMAT} file")
            names = [n.decode() if isinstance(n, bytes) else n for n in f["names"][:]]
            self.keypoints = f["keypoints"][:]
            self.valid = f["valid"][:]
            self.source = str(f.attrs.get("source"))
        self.index = {n: i for i, n in enumerate(names)}

    def __len__(self) -> int:
        return len(self.index)

    def lookup(self, names) -> tuple[np.ndarray, np.ndarray]:
        """(T, 17, 3) float32 keypoints and (T,) validity for these frame names."""
        rows = np.array([self.index.get(n, -1) for n in names], dtype=np.int64)
        found = rows >= 0
        kp = np.zeros((len(rows), 17, 3), np.float32)
        kp[found] = self.keypoints[rows[found]]
        valid = np.zeros(len(rows), bool)
        valid[found] = self.valid[rows[found]]
        kp[~valid] = 0.0
        return kp, valid


# Where `starreid synth` and `starreid skeletons` put their files inside a dataset folder.
SOURCES = {"gt": "skeletons_gt.h5", "mediapipe": "skeletons_mediapipe.h5", "estimated": "skeletons_estimated.h5"}


def open_skeletons(root, source: str) -> SkeletonStore:
    """source: 'gt' (synthetic ground truth), 'mediapipe' (extracted), 'estimated' (what a pose estimator
    would give, from `starreid synth --crop detector`), or a path to a skeleton file."""
    path = Path(root) / SOURCES[source] if source in SOURCES else Path(source)
    return SkeletonStore(path)
