"""Writes a synthetic RGB-IR tracklet dataset in the HITSZ-VCM layout with ground-truth skeletons."""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from starreid.reid.data.skeleton_store import SOURCES, SkeletonWriter
from starreid.reid.data.vcm_files import format_name
from starreid.reid.synth import corrupt as C
from starreid.reid.synth.identity import sample_identity
from starreid.reid.synth.render import SS, render_tracklet
from starreid.reid.synth.scene import make_camera
from starreid.reid.synth.tracked import Corruption, make_scene, render_detector_tracklet

GT_FILE = SOURCES["gt"]
ESTIMATED_FILE = SOURCES["estimated"]  # --crop detector: the skeletons a pose estimator would give
CROPS = ("pan", "detector")


@dataclass(frozen=True)
class TrackPlan:
    pid: int
    split: str  # 'train' | 'test'
    camid: int
    modality: str
    tracklet: int
    n_frames: int


def plan_dataset(identities: int, cameras: int, train_ids: int, min_frames: int, max_frames: int,
                 short_fraction: float, seed: int) -> list[TrackPlan]:
    """Which tracklets exist. Each person is seen by 2-4 cameras; one camera gives IR, another RGB, and the
    rest add tracklets of either modality, so most queries keep a positive after same-camera removal."""
    if cameras < 2 or identities < 2 or not 0 < train_ids < identities:
        raise ValueError("need >= 2 cameras, >= 2 identities and 0 < train_ids < identities")
    plans = []
    for pid in range(1, identities + 1):
        rng = np.random.default_rng([seed, 0, pid])
        cams = rng.permutation(cameras)[: int(rng.integers(2, min(4, cameras) + 1))] + 1
        counts = {(int(c), m): int(rng.choice([0, 1, 1, 2])) for c in cams for m in ("ir", "rgb")}
        counts[(int(cams[0]), "ir")] = max(counts[(int(cams[0]), "ir")], 1)
        counts[(int(cams[1]), "rgb")] = max(counts[(int(cams[1]), "rgb")], 1)
        split = "train" if pid <= train_ids else "test"
        for mod in ("ir", "rgb"):
            for cam in sorted(int(c) for c in cams):
                for t in range(1, counts[(cam, mod)] + 1):
                    short = rng.random() < short_fraction
                    n = int(rng.integers(4, 12)) if short else int(rng.integers(min_frames, max_frames + 1))
                    plans.append(TrackPlan(pid, split, cam, mod, t, n))
    return plans


@lru_cache(maxsize=64)
def _camera(seed: int, camid: int, height: int, width: int):
    return make_camera(np.random.default_rng([seed, 2, camid]), height * SS, width * SS)


def render_plan(plan: TrackPlan, seed: int, height: int, width: int):
    """Frames and keypoints of one planned tracklet; depends only on (seed, plan), never on order."""
    ident = sample_identity(np.random.default_rng([seed, 1, plan.pid]))
    rng = np.random.default_rng([seed, 3, plan.pid, plan.camid, int(plan.modality == "ir"), plan.tracklet])
    return render_tracklet(ident, _camera(seed, plan.camid, height, width), plan.modality, plan.n_frames,
                           height, width, rng)


@lru_cache(maxsize=16)
def _scene(seed: int, camid: int, height: int, width: int):
    return make_scene(_camera(seed, camid, height, width))


@lru_cache(maxsize=4096)
def _identity(seed: int, pid: int):
    return sample_identity(np.random.default_rng([seed, 1, pid]))


def render_plan_detector(plan: TrackPlan, seed: int, height: int, width: int, box_jitter: float = 1.0,
                         corruption: Corruption = Corruption()):
    """--crop detector: frames, ground-truth and estimator-like keypoints and per-frame corruption facts of
    one tracklet (see tracked.render_detector_tracklet); depends only on (seed, plan, options)."""
    key = (seed, 6, plan.pid, plan.camid, int(plan.modality == "ir"), plan.tracklet)
    return render_detector_tracklet(_identity(seed, plan.pid), _camera(seed, plan.camid, height, width),
                                    _scene(seed, plan.camid, height, width), plan.modality, plan.n_frames, height,
                                    width, key, pid=plan.pid, box_jitter=box_jitter, corruption=corruption,
                                    identity_of=lambda pid: _identity(seed, pid))


def _render_job(job):
    plan, seed, height, width, quality, detector = job
    if detector is None:
        frames, kps = render_plan(plan, seed, height, width)
        extra = None
    else:
        box_jitter, corruption = detector
        frames, kps, est, info = render_plan_detector(plan, seed, height, width, box_jitter, corruption)
        extra = (est, {k: info[k] for k, _, _ in C.CorruptionWriter.FIELDS})
    jpgs = [cv2.imencode(".jpg", f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes() for f in frames]
    return plan, jpgs, kps, extra


def distractors(plans: list[TrackPlan]) -> dict[tuple, tuple[int, ...]]:
    """Who an identity switch may jump to, per (pid, split, camid, modality): the other people of the same
    split seen by the same camera in the same modality (else the same split anywhere, else anyone)."""
    seen, split_pids = {}, {}
    for p in plans:
        seen.setdefault((p.split, p.camid, p.modality), set()).add(p.pid)
        split_pids.setdefault(p.split, set()).add(p.pid)
    every = {p.pid for p in plans}
    out = {}
    for p in plans:
        for pool in (seen[(p.split, p.camid, p.modality)], split_pids[p.split], every):
            others = tuple(sorted(pool - {p.pid}))
            if others:
                break
        out[(p.pid, p.split, p.camid, p.modality)] = others
    return out


def _normalise(kps: np.ndarray, height: int, width: int) -> np.ndarray:
    norm = kps.copy()
    norm[..., 0] /= width
    norm[..., 1] /= height
    return norm


def generate(out, identities: int = 150, cameras: int = 6, train_ids: int | None = None, min_frames: int = 24,
             max_frames: int = 48, height: int = 128, width: int = 64, short_fraction: float = 0.05,
             seed: int = 0, workers: int = 1, quality: int = 92, progress: bool = True, test_ids: int | None = None,
             crop: str = "pan", box_jitter: float = 1.0, corrupt_rate: float = 0.0, corrupt_kinds=None) -> dict:
    """Writes the dataset under `out` (which must be empty or absent); returns a summary.

    test_ids: the last `test_ids` people form the test split (train_ids = identities - test_ids).
    crop: 'pan' (the default: a loose frame panning across the scene) or 'detector' (detector-like boxes
    around the person with centre/scale error `box_jitter` times the default; writes skeletons_estimated.h5
    and corruptions.h5 too). corrupt_rate: mean share of misdetected frames per tracklet (detector crops
    only), of the kinds in corrupt_kinds ('background,other,truncate,occlude', optionally 'kind:weight')."""
    out = Path(out)
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {', '.join(CROPS)}")
    detector = crop == "detector"
    if not detector and (corrupt_rate or corrupt_kinds is not None or box_jitter != 1.0):
        raise ValueError("corrupted frames and box jitter need detector crops (--crop detector)")
    if not 0 <= corrupt_rate <= 0.9:
        raise ValueError("corrupt_rate must be in [0, 0.9]")
    if not box_jitter >= 0:
        raise ValueError("box_jitter must be >= 0")
    kinds = C.parse_kinds(corrupt_kinds)
    if test_ids is not None:
        if not 0 < test_ids < identities:
            raise ValueError("need 0 < test_ids < identities")
        if train_ids is not None and train_ids + test_ids != identities:
            raise ValueError(f"train_ids + test_ids must equal identities ({train_ids} + {test_ids} != {identities})")
        train_ids = identities - test_ids
    train_ids = train_ids if train_ids is not None else round(identities * 0.6)
    plans = plan_dataset(identities, cameras, train_ids, min_frames, max_frames, short_fraction, seed)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    if detector:
        pools = distractors(plans)
        jobs = [(p, seed, height, width, quality,
                 (box_jitter, Corruption(corrupt_rate, kinds, pools[(p.pid, p.split, p.camid, p.modality)])))
                for p in plans]
    else:
        jobs = [(p, seed, height, width, quality, None) for p in plans]
    lists = {"train": ([], []), "test": ([], [])}  # names, info rows
    query = []
    counts = np.zeros(len(C.CODE_NAMES), np.int64)
    pool = get_context("spawn").Pool(workers) if workers > 1 else None
    results = pool.imap(_render_job, jobs, chunksize=4) if pool else map(_render_job, jobs)
    params = dict(crop=crop, box_jitter=box_jitter, corrupt_rate=corrupt_rate, corrupt_kinds=dict(kinds), seed=seed)
    with contextlib.ExitStack() as stack:
        gt = stack.enter_context(SkeletonWriter(out / GT_FILE, source="ground-truth"))
        if detector:
            est_writer = stack.enter_context(SkeletonWriter(out / ESTIMATED_FILE, source="synthetic-estimator"))
            side = stack.enter_context(C.CorruptionWriter(out / C.SIDECAR, params))
        for plan, jpgs, kps, extra in tqdm(results, total=len(jobs), desc="synth tracklets", disable=not progress):
            names = [format_name(plan.pid, plan.modality, plan.camid, plan.tracklet, f + 1) for f in range(len(jpgs))]
            folder = out / f"{plan.pid:04d}" / plan.modality / f"D{plan.camid}"
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in zip(names, jpgs):
                (folder / name).write_bytes(data)
            name_list, info = lists[plan.split]
            start = len(name_list) + 1
            name_list.extend(names)
            info.append((1 if plan.modality == "ir" else 2, start, len(name_list), plan.pid, plan.camid))
            if plan.split == "test" and plan.modality == "ir":
                query.append(len(info))
            norm = kps.copy()
            norm[..., 0] /= width
            norm[..., 1] /= height
            gt.append(names, norm, kps[..., 2].max(axis=1) > 0)
            if extra is not None:
                est, info = extra
                est_writer.append(names, _normalise(est, height, width), est[..., 2].max(axis=1) > 0)
                side.append(names, info)
                counts += np.bincount(info["code"], minlength=len(counts))
    if pool:
        pool.close()
        pool.join()
    for split, (names, info) in lists.items():
        (out / f"{split}_name.txt").write_text("".join(n + "\n" for n in names))
        (out / f"track_{split}_info.txt").write_text("".join(" ".join(map(str, r)) + "\n" for r in info))
    (out / "query_IDX.txt").write_text("".join(f"{q}\n" for q in query))
    summary = dict(identities=identities, cameras=cameras, train_ids=train_ids, min_frames=min_frames,
                   max_frames=max_frames, height=height, width=width, short_fraction=short_fraction, seed=seed,
                   tracklets=len(plans), frames=sum(p.n_frames for p in plans), quality=quality)
    if detector:  # only then: the default dataset's synth.json stays as it was
        summary.update(params, corrupted_frames={C.CODE_NAMES[c]: int(n) for c, n in enumerate(counts)})
    (out / "synth.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


