"""What sequence guidance (SG) can change in a trained checkpoint: its weights over the GeM powers on the test
tracklets, how far another person's skeletons move them, and how far apart the poolings it mixes are.

SG reads the skeleton only through those weights (eq 13), so when every pooling gives the same embedding the
skeleton cannot change the result, whatever the weights. Run by `starreid eval --checkpoint CKPT --config
TRAIN.yaml --pooling`.
"""
from __future__ import annotations

import numpy as np

from reid.models.seq_guidance import GEM_POWERS


def pooling_probe(checkpoint: str, data_root: str, skeletons_path: str, model: dict, batch: int = 32,
                  min_len: int = 12, threads: int = 2, device: str = "CPU") -> dict:
    """{'powers', 'weight_mean', 'weight_std' (over tracklets), 'shuffle_shift' (mean |w - w with another
    person's skeletons|), 'cosine_to_gem3' (mean cosine of each GeM_p embedding with the GeM_3 one)}, per
    power, over the test query and gallery tracklets."""
    import mindspore as ms
    from mindspore import Tensor

    from reid.data.skeleton_store import SkeletonStore
    from reid.data.vcm import load_vcm
    from reid.models.seq_guidance import gem
    from reid.models.star import l2_normalize
    from reid.train.batches import eval_batches
    from reid.train.evaluate import checkpoint_net, pose_donors

    if model["variant"] not in ("sg", "full"):
        raise ValueError(f"variant {model['variant']!r} has no sequence guidance to probe (use sg or full)")
    ms.set_device(device)
    net = checkpoint_net(checkpoint, model)
    dataset = load_vcm(data_root, min_len=min_len)
    store = SkeletonStore(skeletons_path)
    records = dataset.query + dataset.gallery
    weights, cosines = {}, {p: [] for p in GEM_POWERS}
    for poses, donors in (("given", None), ("shuffled", pose_donors(records))):
        found = []
        for b in eval_batches(dataset.root, records, store, model["seq_len"], model["height"], model["width"],
                              batch, threads, donors):
            clips, keypoints = Tensor(b.clips), Tensor(b.keypoints)
            frames, modality = net._frames(clips, Tensor(b.modality))
            x = net._pool(net.backbone(frames, modality), clips.shape[0])
            last = None
            if net.use_fg:
                x, last = net.fg(x, keypoints)
            _, w, _ = net.sg(x, keypoints, last)
            found.append(w.asnumpy())
            if poses == "given":
                ref = l2_normalize(net.neck(gem(x, 3.0, 1))).asnumpy()
                for p in GEM_POWERS:
                    emb = l2_normalize(net.neck(gem(x, p, 1))).asnumpy()
                    cosines[p].append(np.sum(emb * ref, axis=1))
        weights[poses] = np.concatenate(found)
    given = weights["given"]
    return {"powers": list(GEM_POWERS), "weight_mean": given.mean(0).tolist(), "weight_std": given.std(0).tolist(),
            "shuffle_shift": np.abs(given - weights["shuffled"]).mean(0).tolist(),
            "cosine_to_gem3": [float(np.concatenate(cosines[p]).mean()) for p in GEM_POWERS]}

