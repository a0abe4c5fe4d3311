"""Training and evaluating one arm of the head-only ablation on cached frame vectors.

A HeadRunner compiles its arm's training step and embedding graphs once; run(seed) then loads seed's fresh
initialisation into them (parameters, BatchNorm statistics, optimiser state), so 20 seeds cost one compile.
"""
from __future__ import annotations

import time

import mindspore as ms
import numpy as np
from mindspore import nn

from starreid.reid.eval import evaluate_features
from starreid.reid.losses.star_loss import StarLoss
from starreid.reid.models.head_star import build_head_net
from starreid.reid.models.train_step import TrainStep
from starreid.reid.train.paired_clips import TrainBatches

DIRECTIONS = ("i2v", "v2i")


def step_lr(train) -> list[float]:
    """Linear warm-up, then lr, then lr x 0.1 after decay_at of the steps."""
    out = []
    for s in range(train.steps):
        lr = train.lr * (0.1 if s >= train.decay_at * train.steps else 1.0)
        if s < train.warmup_steps:
            lr *= (s + 1) / train.warmup_steps
        out.append(lr)
    return out


class HeadRunner:
    def __init__(self, cfg, arm: str, source: str, data):
        self.cfg, self.arm, self.source, self.data = cfg, arm, source, data
        self.net = self._build(cfg.seed)
        loss = cfg.loss
        self.loss = StarLoss(w_id=loss.w_id, w_tri=loss.w_tri, w_kl=loss.w_kl, w_sad=0.0, margin=loss.margin,
                             label_smoothing=loss.label_smoothing, use_kl=self.net.use_fg and self.net.use_sg,
                             use_sad=False)
        t = cfg.train
        params, lr = self.net.trainable_params(), step_lr(t)
        if t.optimizer == "adam":
            self.optimizer = nn.Adam(params, lr, weight_decay=t.weight_decay)
        else:
            self.optimizer = nn.Momentum(params, lr, momentum=t.momentum, weight_decay=t.weight_decay)
        self.step = TrainStep(self.net, self.loss, self.optimizer, jit=True)
        net = self.net

        def embed(feats, keypoints, modality):
            return net.embed(feats, keypoints, modality)

        self._embed = ms.jit(embed)
        self._uniform = None
        if getattr(net, "use_sg", False):
            def uniform(feats, keypoints, modality):
                return net.embed_uniform(feats, keypoints, modality)

            self._uniform = ms.jit(uniform)

    def _build(self, seed: int):
        ms.set_seed(seed)
        d = self.data
        return build_head_net(self.arm, self.cfg.model, in_dim=d.in_dim, num_classes=d.num_classes,
                              aspect=d.aspect)

    def _reset(self, seed: int) -> None:
        fresh = self._build(seed).parameters_dict()
        for name, param in self.net.parameters_dict().items():
            param.set_data(fresh[name].data.copy())
        opt = self.optimizer
        state = list(opt.moments) if hasattr(opt, "moments") else list(opt.moment1) + list(opt.moment2)
        for moment in state:
            moment.set_data(ms.Tensor(np.zeros(moment.shape, np.float32)))
        if hasattr(opt, "beta1_power"):  # Adam's bias corrections restart with the run
            opt.beta1_power.set_data(ms.Tensor(np.ones(opt.beta1_power.shape, np.float32)))
            opt.beta2_power.set_data(ms.Tensor(np.ones(opt.beta2_power.shape, np.float32)))
        opt.global_step.set_data(ms.Tensor(np.zeros(opt.global_step.shape, np.int32)))

    def run(self, seed: int) -> dict:
        """Trains from seed's initialisation and batches; returns the test metrics at every m (and with SG's
        weights uniform, where the arm has SG), the last losses and the seconds it took."""
        t0 = time.perf_counter()
        self._reset(seed)
        cfg, d = self.cfg, self.data
        batches = TrainBatches(d.train, d.caches, d.labels, p=cfg.train.p, k=cfg.train.k,
                               seq_len=cfg.model.seq_len, max_m=cfg.train.max_corrupted, seed=seed)
        stream = batches.batches(self.source, shuffled=self.arm == "shuffled")
        losses = []
        for _ in range(cfg.train.steps):
            vec, kp, mod, labels = next(stream)
            total, _ = self.step(ms.Tensor(vec), ms.Tensor(kp), ms.Tensor(mod), ms.Tensor(labels))
            losses.append(float(total.asnumpy()))
        train_s = time.perf_counter() - t0
        result = {"arm": self.arm, "source": self.source, "seed": seed,
                  "loss_first": float(np.mean(losses[:10])), "loss_last": float(np.mean(losses[-10:])),
                  "m": {str(m): self.evaluate(m) for m in cfg.sweep.m}}
        result["train_seconds"] = train_s
        result["seconds"] = time.perf_counter() - t0
        return result

    def _features(self, fn, vectors, keypoints) -> np.ndarray:
        self.net.set_train(False)
        d, batch = self.data, self.cfg.sweep.eval_batch
        out = []
        for s in range(0, len(vectors), batch):
            v, k, m = vectors[s:s + batch], keypoints[s:s + batch], d.test_modality[s:s + batch]
            n = len(v)
            if n < batch:  # one shape for the compiled graph
                v, k, m = (np.concatenate([a, np.repeat(a[-1:], batch - n, 0)]) for a in (v, k, m))
            out.append(fn(ms.Tensor(v), ms.Tensor(k), ms.Tensor(m)).asnumpy()[:n])
        return np.concatenate(out)

    def evaluate(self, m: int) -> dict:
        d = self.data
        key = (m, self.source, "shuffled") if self.arm == "shuffled" else (m, self.source)
        vectors, keypoints = d.test.vectors[m], d.test.keypoints[key]
        out = {"metrics": metrics(self._features(self._embed, vectors, keypoints), d)}
        if self._uniform is not None:
            out["uniform"] = metrics(self._features(self._uniform, vectors, keypoints), d)
        return out


def metrics(features: np.ndarray, d) -> dict:
    """Rank-1 and mAP in both directions; the test clips are the query (IR) tracklets, then the gallery."""
    q, g = features[:d.n_query], features[d.n_query:]
    qp, gp = d.test_pid[:d.n_query], d.test_pid[d.n_query:]
    qc, gc = d.test_cam[:d.n_query], d.test_cam[d.n_query:]
    out = {}
    for name, (a, ap, ac, b, bp, bc) in {"i2v": (q, qp, qc, g, gp, gc), "v2i": (g, gp, gc, q, qp, qc)}.items():
        res = evaluate_features(a, b, ap, bp, ac, bc)
        out[name] = {"rank1": float(res.rank(1)), "mAP": float(res.mAP)}
    return out
