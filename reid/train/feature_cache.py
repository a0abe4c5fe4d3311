"""Per-frame vectors of a frozen backbone, computed once for the head-only ablation's paired datasets.

A cache is a folder with vectors.npy (N, C) float16 and names.json (the N frame names, in row order). It is
written in parts of PART frames (part-*.npy), so an interrupted run resumes at the part it was in.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from starreid.reid.data.clips import read_frame
from starreid.reid.data.vcm_files import frame_path, parse_name
from starreid.reid.preprocess import normalise_frames

PART = 4096


def dataset_frames(dataset, codes=None) -> list[str]:
    """Names of every frame of the dataset's kept tracklets (train, query, gallery), in record order; with a
    corruption store, only the frames it codes as corrupted (code > 0)."""
    names = [n for r in dataset.train + dataset.query + dataset.gallery for n in r.names]
    if codes is not None:
        keep = codes.codes_of(names) > 0
        names = [n for n, k in zip(names, keep) if k]
    return names


def frozen_backbone(features):
    """(callable frames (N, 3, H, W), modality (N,) -> (N, C) numpy, C) from the heads config's features
    section: the backbone with its weights, in inference mode, compiled once for features.batch frames."""
    import mindspore as ms

    from starreid.reid.models.backbones import build_backbone
    from starreid.reid.models.pretrained import BackboneHolder, load_pretrained

    holder = BackboneHolder(build_backbone(features.backbone, base_width=features.base_width,
                                           last_stride=features.last_stride))
    holder.backbone_name = features.backbone  # what load_pretrained maps the weights to
    if features.pretrained:
        load_pretrained(holder, features.pretrained)
    holder.set_train(False)
    backbone = holder.backbone

    def vectors(x, m):
        return backbone(x, m).mean(axis=(2, 3))

    forward = ms.jit(vectors)

    def run(frames: np.ndarray, modality: np.ndarray) -> np.ndarray:
        return forward(ms.Tensor(frames), ms.Tensor(modality)).asnumpy()

    return run, holder.backbone.out_channels


def _load(root: Path, names: list[str], size: tuple[int, int], threads: int) -> tuple[np.ndarray, np.ndarray]:
    with ThreadPoolExecutor(threads) as pool:
        frames = np.stack(list(pool.map(lambda n: read_frame(frame_path(root, n), size), names)))
    modality = np.array([parse_name(n).modality == "ir" for n in names], np.int32)
    return normalise_frames(frames), modality


def cache_vectors(root, names: list[str], out, backbone, *, height: int, width: int, batch: int, threads: int,
                  progress: bool = True, desc: str = "cache") -> Path:
    """Writes out/vectors.npy and out/names.json for `names` of dataset `root`; a finished cache is kept."""
    out = Path(out)
    if (out / "vectors.npy").exists() and (out / "names.json").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    root = Path(root)
    parts = (len(names) + PART - 1) // PART
    bar = tqdm(total=len(names), desc=desc, unit="frame", disable=not progress)
    for p in range(parts):
        path = out / f"part-{p:05d}.npy"
        chunk = names[p * PART:(p + 1) * PART]
        if not path.exists():
            rows = []
            for s in range(0, len(chunk), batch):
                frames, modality = _load(root, chunk[s:s + batch], (height, width), threads)
                n = len(frames)
                if n < batch:  # one shape for the compiled graph
                    frames = np.concatenate([frames, np.repeat(frames[-1:], batch - n, 0)])
                    modality = np.concatenate([modality, np.repeat(modality[-1:], batch - n)])
                rows.append(backbone(frames, modality)[:n].astype(np.float16))
                bar.update(n)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, np.concatenate(rows))
            tmp.replace(path)
        else:
            bar.update(len(chunk))
    bar.close()
    vectors = np.concatenate([np.load(out / f"part-{p:05d}.npy") for p in range(parts)])
    np.save(out / "vectors.tmp.npy", vectors)
    (out / "vectors.tmp.npy").replace(out / "vectors.npy")
    (out / "names.json").write_text(json.dumps(names))
    for p in range(parts):
        (out / f"part-{p:05d}.npy").unlink()
    return out


class VectorCache:
    """Read side: rows(names) -> row numbers (-1 where a name is absent); vectors (N, C) float16."""

    def __init__(self, folder):
        folder = Path(folder)
        self.vectors = np.load(folder / "vectors.npy")
        self.index = {n: i for i, n in enumerate(json.loads((folder / "names.json").read_text()))}

    def rows(self, names) -> np.ndarray:
        return np.array([self.index.get(n, -1) for n in names], np.int64)
