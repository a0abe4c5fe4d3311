"""What sequence guidance (SG) can change in a trained checkpoint: its weights over the GeM powers on the test
tracklets, how far another person's skeletons move them, and how far apart the poolings it mixes are.

SG reads the skeleton only through those weights (eq 13), so when every pooling gives the same embedding the
skeleton cannot change the result, whatever the weights. Run by `starreid eval --checkpoint CKPT --config
TRAIN.yaml --pooling`.
"""
from __future__ import annotations

import numpy as np

from starreid.reid.models.seq_guidance import GEM_POWERS


def pooling_probe(checkpoint: str, cfg) -> dict:
    """{'powers', 'weight_mean', 'weight_std' (over tracklets), 'shuffle_shift' (mean |w - w with another
    person's skeletons|), 'cosine_to_gem3' (mean cosine of each GeM_p embedding with the GeM_3 one)}, per
    power, over the test query and gallery tracklets of a training config's dataset."""
    import mindspore as ms
    from mindspore import Tensor

    from starreid.reid.data.skeleton_store import SkeletonStore
    from starreid.reid.data.vcm import load_vcm
    from starreid.reid.models.seq_guidance import gem
    from starreid.reid.models.star import l2_normalize
    from starreid.reid.train.batches import eval_batches
    from starreid.reid.train.evaluate import checkpoint_net, pose_donors

    model, batch, threads = cfg.model, cfg.schedule.eval_batch, cfg.data.threads
    if model.variant not in ("sg", "full"):
        raise ValueError(f"variant {model.variant!r} has no sequence guidance to probe (use sg or full)")
    if not cfg.data.skeletons:
        raise ValueError("the pooling probe needs data.skeletons in the training config")
    ms.set_device(cfg.device)
    net = checkpoint_net(checkpoint, model)
    dataset = load_vcm(cfg.data.root, min_len=cfg.data.min_len)
    records = dataset.query + dataset.gallery
    # The backbone does not see the skeleton: embed every clip once, then run the guidance on the frame
    # vectors with each tracklet's own skeletons and with its donor's (the donor's own test-clip skeletons).
    frames, keypoints = [], []
    for b in eval_batches(dataset.root, records, SkeletonStore(cfg.data.skeletons), model.seq_len, model.height,
                          model.width, batch, threads):
        frames.append(net.frame_features(Tensor(b.clips), Tensor(b.modality)).asnumpy())
        keypoints.append(b.keypoints)
    frames, keypoints = np.concatenate(frames), np.concatenate(keypoints)
    index = {id(r): i for i, r in enumerate(records)}
    donor_keypoints = keypoints[[index[id(d)] for d in pose_donors(records)]]
    weights = {"given": [], "shuffled": []}
    cosines = []
    for start in range(0, len(records), batch):
        x = Tensor(frames[start:start + batch])
        for poses, kp in (("given", keypoints), ("shuffled", donor_keypoints)):
            kp = Tensor(kp[start:start + batch])
            guided, last = net.guided_frames(x, kp, model.width / model.height)
            weights[poses].append(net.sg(guided, kp, last)[1].asnumpy())
            if poses == "given":
                emb = np.stack([l2_normalize(net.neck(gem(guided, p, 1))).asnumpy() for p in GEM_POWERS])
                cosines.append(np.sum(emb * emb[GEM_POWERS.index(3.0)], axis=-1))  # (powers, batch)
    given, shuffled = np.concatenate(weights["given"]), np.concatenate(weights["shuffled"])
    return {"powers": list(GEM_POWERS), "weight_mean": given.mean(0).tolist(), "weight_std": given.std(0).tolist(),
            "shuffle_shift": np.abs(given - shuffled).mean(0).tolist(),
            "cosine_to_gem3": np.concatenate(cosines, axis=1).mean(1).tolist()}
