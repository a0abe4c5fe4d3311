"""Misdetected frames of the synthetic benchmark: which frames of a tracklet are corrupted, how, the skeleton
a pose estimator would give on them, and the sidecar file that records it (see docs/synthetic.md).

Codes (per frame, `corruptions.h5`):
    0 clean        the tracked person, detector-like crop
    1 background   the box is on background clutter: no person in the crop
    2 other        the box is on another person of the same camera, modality and split (an identity switch)
    3 truncated    the box misses part of the body: joints outside the crop are missing
    4 occluded     a large occluder hides most of the body (>= 55% of its silhouette)
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from starreid.reid.data.errors import DatasetError

CLEAN, BACKGROUND, OTHER, TRUNCATED, OCCLUDED = range(5)
KINDS = {"background": BACKGROUND, "other": OTHER, "truncate": TRUNCATED, "occlude": OCCLUDED}
CODE_NAMES = {CLEAN: "clean", BACKGROUND: "background", OTHER: "other", TRUNCATED: "truncated",
              OCCLUDED: "occluded"}
DEFAULT_KINDS = (("background", 1.0), ("other", 1.0), ("truncate", 1.0), ("occlude", 1.0))

MAX_BURST = 4  # corrupted frames come in runs of 1..MAX_BURST frames of one kind
CONCENTRATION = 2.0  # per-tracklet share ~ Beta(2r, 2(1 - r)): mean r, wide spread over tracklets
LOW_SCORE = (0.02, 0.25)  # estimator scores of guessed joints: below the model's 0.3 threshold
SPURIOUS_P = 0.5  # background crop: the estimator returns a spurious low-score pose (else nothing)
OCCLUDED_GUESS_P = 0.5  # occluded joint: guessed at low score and jittered (else missing)
GUESS_SIGMA = 0.05  # jitter of a guessed occluded joint, fraction of the crop height

SIDECAR = "corruptions.h5"
FORMAT = "starreid-corruptions-1"
_STR = h5py.string_dtype("utf-8")


def parse_kinds(spec) -> tuple[tuple[str, float], ...]:
    """'background,other' or 'background:2,occlude:1' (or a sequence of such pairs) -> ((kind, weight), ...)."""
    if spec is None:
        return DEFAULT_KINDS
    if isinstance(spec, str):
        pairs = []
        for item in (s.strip() for s in spec.split(",") if s.strip()):
            name, _, w = item.partition(":")
            pairs.append((name.strip(), float(w) if w else 1.0))
    else:
        pairs = [(str(k), float(w)) for k, w in spec]
    for name, w in pairs:
        if name not in KINDS:
            raise ValueError(f"unknown corruption kind {name!r} (choose from {', '.join(KINDS)})")
        if not w >= 0:
            raise ValueError(f"corruption weight of {name!r} must be >= 0")
    if not pairs or sum(w for _, w in pairs) <= 0:
        raise ValueError("no corruption kind with a positive weight")
    return tuple(sorted(pairs, key=lambda p: KINDS[p[0]]))


def plan_corruptions(n: int, rate: float, kinds, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Runs (start, length, code) of corrupted frames in a tracklet of n frames, non-overlapping.

    The tracklet's share f ~ Beta(2 rate, 2 (1 - rate)) (mean `rate`), its count ~ Binomial(n, f); the count
    is split into runs of 1..MAX_BURST frames, each of one kind drawn by weight, placed at random free spots."""
    if rate <= 0:
        return []
    f = rng.beta(CONCENTRATION * rate, CONCENTRATION * (1 - rate))
    remaining = int(rng.binomial(n, f))
    names = [k for k, _ in kinds]
    p = np.array([w for _, w in kinds], float)
    p /= p.sum()
    free = np.ones(n, bool)
    runs = []
    while remaining > 0:
        length = min(int(rng.integers(1, MAX_BURST + 1)), remaining)
        while True:  # a start where `length` consecutive frames are free; shorten the run if there is none
            ok = np.convolve(free.astype(int), np.ones(length, int), "valid") == length
            if ok.any():
                break
            length -= 1
        start = int(rng.choice(np.flatnonzero(ok)))
        code = KINDS[names[int(rng.choice(len(names), p=p))]]
        free[start:start + length] = False
        runs.append((start, length, code))
        remaining -= length
    return sorted(runs)


def codes_from_runs(n: int, runs) -> np.ndarray:
    codes = np.zeros(n, np.uint8)
    for start, length, code in runs:
        codes[start:start + length] = code
    return codes


def guess_occluded(kps: np.ndarray, occluded: np.ndarray, height: int, width: int,
                   rng: np.random.Generator) -> np.ndarray:
    """An estimator on an occluded body: joints under the occluder are either missing or guessed with a low
    score near where they are (jittered); visible joints stay as they are. kps (17, 3) output pixels."""
    out = kps.copy()
    for j in np.flatnonzero(occluded):
        guess = rng.random() < OCCLUDED_GUESS_P
        offset = rng.normal(0, GUESS_SIGMA * height, 2)
        score = rng.uniform(*LOW_SCORE)
        if guess:
            out[j] = (np.clip(out[j, 0] + offset[0], 0, width - 1), np.clip(out[j, 1] + offset[1], 0, height - 1),
                      score)
        else:
            out[j] = 0.0
    return out


def spurious_pose(uv: np.ndarray, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """An estimator on a crop without a person: nothing (prob. 1 - SPURIOUS_P) or a hallucinated pose with low
    scores. uv (17, 2): a projected stick body (right, up), which is scaled, placed and jittered here."""
    hallucinate = rng.random() < SPURIOUS_P
    scale = rng.uniform(0.3, 0.8) * height / max(np.ptp(uv[:, 1]), 1e-6)
    centre = np.array([rng.uniform(0.2, 0.8) * width, rng.uniform(0.3, 0.7) * height])
    xy = np.stack([uv[:, 0], -uv[:, 1]], axis=1) * scale
    xy = xy - xy.mean(axis=0) + centre + rng.normal(0, 0.03 * height, (17, 2))
    keep = rng.random(17) < 0.7
    scores = rng.uniform(*LOW_SCORE, 17)
    out = np.zeros((17, 3), np.float32)
    if not hallucinate:
        return out
    keep &= (xy[:, 0] >= 0) & (xy[:, 0] <= width - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= height - 1)
    out[keep, :2] = xy[keep]
    out[keep, 2] = scores[keep]
    return out


class CorruptionWriter:
    """Appends per-frame rows to the sidecar (keyed by frame name, like the skeleton files)."""

    FIELDS = (("code", "u1", ()), ("person", "i4", ()), ("iou", "f4", ()), ("visible", "f4", ()),
              ("det_box", "f4", (4,)), ("person_box", "f4", (4,)))

    def __init__(self, path, params: dict):
        self.f = h5py.File(Path(path), "w")
        self.f.create_dataset("names", (0,), dtype=_STR, maxshape=(None,), chunks=(4096,))
        for key, dtype, shape in self.FIELDS:
            self.f.create_dataset(key, (0, *shape), dtype=dtype, maxshape=(None, *shape), chunks=(4096, *shape))
        self.f.attrs.update(format=FORMAT, codes=json.dumps({str(k): v for k, v in CODE_NAMES.items()}),
                            params=json.dumps(params, sort_keys=True))

    def append(self, names: list[str], info: dict) -> None:
        n0 = self.f["names"].shape[0]
        rows = {"names": np.asarray(names, dtype=object), **{k: info[k] for k, _, _ in self.FIELDS}}
        for key, data in rows.items():
            ds = self.f[key]
            ds.resize(n0 + len(names), axis=0)
            ds[n0:] = data

    def close(self) -> None:
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CorruptionStore:
    """Read side: `lookup(names)` -> dict of per-frame arrays (code, person, iou, visible, det_box, person_box); a name
    not in the file raises KeyError (every frame of a generated dataset has a row)."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetError(self.path, "corruption sidecar not found")
        with h5py.File(self.path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise DatasetError(self.path, f"not a {FORMAT} file")
            names = [n.decode() if isinstance(n, bytes) else n for n in f["names"][:]]
            self.data = {k: f[k][:] for k, _, _ in CorruptionWriter.FIELDS}
            self.codes = {int(k): v for k, v in json.loads(f.attrs["codes"]).items()}
            self.params = json.loads(f.attrs["params"])
        self.index = {n: i for i, n in enumerate(names)}

    def __len__(self) -> int:
        return len(self.index)

    def lookup(self, names) -> dict[str, np.ndarray]:
        rows = np.array([self.index[n] for n in names], dtype=np.int64)
        return {k: v[rows] for k, v in self.data.items()}

    def codes_of(self, names) -> np.ndarray:
        """(T,) uint8 corruption codes of these frames (e.g. a tracklet record's names, or a sampled clip)."""
        return self.data["code"][np.array([self.index[n] for n in names], dtype=np.int64)]


def open_corruptions(root) -> CorruptionStore:
    return CorruptionStore(Path(root) / SIDECAR)
