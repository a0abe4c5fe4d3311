"""Writes a synthetic RGB-IR tracklet dataset in the HITSZ-VCM layout with ground-truth skeletons."""
from __future__ import annotations

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
from starreid.reid.synth.identity import sample_identity
from starreid.reid.synth.render import SS, render_tracklet
from starreid.reid.synth.scene import make_camera

GT_FILE = SOURCES["gt"]


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


def _render_job(job):
    plan, seed, height, width, quality = job
    frames, kps = render_plan(plan, seed, height, width)
    jpgs = [cv2.imencode(".jpg", f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes() for f in frames]
    return plan, jpgs, kps


def generate(out, identities: int = 150, cameras: int = 6, train_ids: int | None = None, min_frames: int = 24,
             max_frames: int = 48, height: int = 128, width: int = 64, short_fraction: float = 0.05,
             seed: int = 0, workers: int = 1, quality: int = 92, progress: bool = True) -> dict:
    """Writes the dataset under `out` (which must be empty or absent); returns a summary."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    train_ids = train_ids if train_ids is not None else round(identities * 0.6)
    plans = plan_dataset(identities, cameras, train_ids, min_frames, max_frames, short_fraction, seed)
    jobs = [(p, seed, height, width, quality) for p in plans]
    lists = {"train": ([], []), "test": ([], [])}  # names, info rows
    query = []
    pool = get_context("spawn").Pool(workers) if workers > 1 else None
    results = pool.imap(_render_job, jobs, chunksize=4) if pool else map(_render_job, jobs)
    with SkeletonWriter(out / GT_FILE, source="ground-truth") as gt:
        for plan, jpgs, kps in tqdm(results, total=len(jobs), desc="synth tracklets", disable=not progress):
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
    (out / "synth.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


