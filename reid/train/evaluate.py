"""Evaluation during training: embed the test sets with the network being trained, then the protocol metrics
in both directions."""
from __future__ import annotations

import mindspore as ms
import numpy as np
from tqdm import tqdm

from starreid.reid.train.batches import eval_batches

DIRECTIONS = ("i2v", "v2i")


POSES = ("given", "none", "shuffled")


def pose_donors(records) -> list:
    """For each record, a tracklet of another person (a fixed derangement of the person-sorted order by half
    its length), whose skeletons stand in for the record's own with poses='shuffled'."""
    order = sorted(range(len(records)), key=lambda i: (records[i].pid, i))
    n = len(order)
    donors = [None] * n
    for k, i in enumerate(order):
        for step in range(n // 2, n // 2 + n):
            j = order[(k + step) % n]
            if records[j].pid != records[i].pid:
                donors[i] = records[j]
                break
        else:
            raise ValueError("shuffled poses need tracklets of at least two people")
    return donors


def extract(net, root, records, skeletons, seq_len: int, height: int, width: int, batch: int, threads: int,
            progress: bool = True, desc: str = "extract",
            poses: str = "given") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (N, D) L2-normalised, person ids (N,), camera ids (N,)) in record order. The last batch is
    padded to full size so a compiled graph sees one shape. poses: 'given' (each tracklet's own skeletons),
    'none' (every joint missing) or 'shuffled' (another person's skeletons): how much the embedding relies on
    the skeleton is the drop between them."""
    if poses not in POSES:
        raise ValueError(f"poses must be one of {', '.join(POSES)}, got {poses!r}")
    net.set_train(False)
    if poses == "none":
        skeletons = None
    donors = pose_donors(records) if poses == "shuffled" else None
    feats, pids, camids = [], [], []
    total = (len(records) + batch - 1) // batch
    for b in tqdm(eval_batches(root, records, skeletons, seq_len, height, width, batch, threads, donors),
                  total=total, desc=desc, disable=not progress, leave=False):
        n = len(b.labels)
        pad = batch - n
        arrays = [b.clips, b.keypoints, b.modality]
        if pad:
            arrays = [np.concatenate([a, np.repeat(a[-1:], pad, 0)]) for a in arrays]
        out = net.embed(ms.Tensor(arrays[0]), ms.Tensor(arrays[1]), ms.Tensor(arrays[2])).asnumpy()[:n]
        feats.append(out)
        pids.append(b.labels)
        camids.append(b.camids)
    return np.concatenate(feats), np.concatenate(pids), np.concatenate(camids)


def evaluate_model(net, dataset, skeletons, seq_len: int, height: int, width: int, batch: int,
                   threads: int, progress: bool = True, poses: str = "given") -> dict:
    """{'i2v': {rank1, rank5, rank10, rank20, mAP, mINP, queries}, 'v2i': {...}}; the query set (IR) and the
    gallery (RGB) are embedded once and swap roles for the second direction."""
    from starreid.reid.eval import RANKS, evaluate_features

    query = extract(net, dataset.root, dataset.query, skeletons, seq_len, height, width, batch, threads,
                    progress, "extract query", poses)
    gallery = extract(net, dataset.root, dataset.gallery, skeletons, seq_len, height, width, batch, threads,
                      progress, "extract gallery", poses)
    results = {}
    for name, (q, g) in {"i2v": (query, gallery), "v2i": (gallery, query)}.items():
        res = evaluate_features(q[0], g[0], q[1], g[1], q[2], g[2])
        results[name] = {**{f"rank{r}": res.rank(r) for r in RANKS}, "mAP": float(res.mAP),
                         "mINP": float(res.mINP), "queries": int(res.num_valid)}
    return results


def checkpoint_net(checkpoint: str, model):
    """The STAR network of a training config's model section with a checkpoint's weights, in eval mode."""
    from starreid.reid.export import build_inference_net

    net = build_inference_net(model, weights=checkpoint).star
    net.set_train(False)
    return net


def checkpoint_features(checkpoint: str, cfg, progress: bool = True, poses: str = "given") -> dict[str, np.ndarray]:
    """The test split of a training config's dataset embedded by a trained checkpoint, as the arrays of a
    features file: ir_feats, ir_pids, ir_camids (the I2V queries) and rgb_feats, rgb_pids, rgb_camids (the
    gallery)."""
    from starreid.reid.data.skeleton_store import SkeletonStore
    from starreid.reid.data.vcm import load_vcm
    ms.set_device(cfg.device)
    dataset = load_vcm(cfg.data.root, min_len=cfg.data.min_len)
    store = SkeletonStore(cfg.data.skeletons) if cfg.data.skeletons else None
    net = checkpoint_net(checkpoint, cfg.model)
    m = cfg.model
    out = {}
    for side, records in (("ir", dataset.query), ("rgb", dataset.gallery)):
        feats, pids, camids = extract(net, dataset.root, records, store, m.seq_len, m.height, m.width,
                                      cfg.schedule.eval_batch, cfg.data.threads, progress, f"extract {side}", poses)
        out.update({f"{side}_feats": feats, f"{side}_pids": pids, f"{side}_camids": camids})
    return out
