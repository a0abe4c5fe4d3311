"""Evaluation during training: embed the test sets with the network being trained, then the protocol metrics
in both directions."""
from __future__ import annotations

import mindspore as ms
import numpy as np
from tqdm import tqdm

from reid.train.batches import eval_batches

DIRECTIONS = ("i2v", "v2i")


def extract(net, root, records, skeletons, seq_len: int, height: int, width: int, batch: int, threads: int = 2,
            progress: bool = True, desc: str = "extract") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (N, D) L2-normalised, person ids (N,), camera ids (N,)) in record order. The last batch is
    padded to full size so a compiled graph sees one shape."""
    net.set_train(False)
    feats, pids, camids = [], [], []
    total = (len(records) + batch - 1) // batch
    for b in tqdm(eval_batches(root, records, skeletons, seq_len, height, width, batch, threads), total=total,
                  desc=desc, disable=not progress, leave=False):
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
                   threads: int = 2, progress: bool = True) -> dict:
    """{'i2v': {rank1, rank5, rank10, rank20, mAP, mINP, queries}, 'v2i': {...}}; the query set (IR) and the
    gallery (RGB) are embedded once and swap roles for the second direction."""
    from reid.eval import RANKS, evaluate_features

    query = extract(net, dataset.root, dataset.query, skeletons, seq_len, height, width, batch, threads,
                    progress, "extract query")
    gallery = extract(net, dataset.root, dataset.gallery, skeletons, seq_len, height, width, batch, threads,
                      progress, "extract gallery")
    results = {}
    for name, (q, g) in {"i2v": (query, gallery), "v2i": (gallery, query)}.items():
        res = evaluate_features(q[0], g[0], q[1], g[1], q[2], g[2])
        results[name] = {**{f"rank{r}": res.rank(r) for r in RANKS}, "mAP": float(res.mAP),
                         "mINP": float(res.mINP), "queries": int(res.num_valid)}
    return results
