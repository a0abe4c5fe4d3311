"""`starreid train`: PK batches -> STAR or IBAN -> its loss -> SGD, with evaluation, checkpoints and resume."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import mindspore as ms
import numpy as np
from tqdm import tqdm

from starreid.reid.data.skeleton_store import SkeletonStore
from starreid.reid.data.vcm import load_vcm
from starreid.reid.models import build_loss, build_model
from starreid.reid.models.pretrained import load_pretrained
from starreid.reid.models.train_step import TrainStep, make_optimizer
from starreid.reid.train import distributed
from starreid.reid.train.batches import TrainBatches
from starreid.reid.train.evaluate import evaluate_model
from starreid.reid.train.plots import plot_curves
from starreid.reid.train.schedule import lr_per_step
from starreid.reid.train.state import load_state, restore_rng, save_state

log = logging.getLogger(__name__)
METRICS = ("rank1", "mAP")


def _log_line(path: Path, entry: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(entry) + "\n")


def _update_best(best: dict, results: dict, epoch: int, net, out: Path) -> None:
    """Keeps the best weights per direction and metric (the published numbers are best-on-test)."""
    for direction, metrics in results.items():
        for metric in METRICS:
            key = f"{direction}_{metric}"
            if metrics[metric] > best.get(key, {}).get("value", -1.0):
                best[key] = {"value": float(metrics[metric]), "epoch": epoch}
                ms.save_checkpoint(net, str(out / f"best_{key}.ckpt"))


def evaluates_after(epoch: int, eval_every: int, epochs: int) -> bool:
    """Whether 0-based `epoch` ends with an evaluation: the authors test when epoch % 10 == 0 (epochs 0, 10,
    ..., 120 of 130); the last epoch is always evaluated too."""
    return epoch % eval_every == 0 or epoch == epochs - 1


def backbones(net) -> list:
    """The network's two-stream backbones: STAR's, or IBAN's RGB/IR and anaglyph ones."""
    return [net.backbone] + ([net.anaglyph] if getattr(net, "training_parts", False) else [])


def train(cfg, resume: bool = True, progress: bool = True, stop_after_epoch: int | None = None) -> dict:
    """Trains from a validated training config (out_dir, seed, device, jit, data, model, sampler, augment, optim,
    loss, schedule) and returns {'epoch', 'best', 'history', 'final'}. stop_after_epoch ends the run early (as
    an interruption would) without changing the schedule, so a later call resumes it."""
    out = Path(cfg.out_dir)
    ckpt_dir = out / "checkpoints"
    model, optim, schedule, seed = cfg.model, cfg.optim, cfg.schedule, cfg.seed
    rank, world = distributed.setup(cfg.device)
    ms.set_seed(seed)
    dataset = load_vcm(cfg.data.root, min_len=cfg.data.min_len)
    store = SkeletonStore(cfg.data.skeletons) if cfg.data.skeletons else None
    net = build_model(model, num_classes=len(dataset.train_labels), sad=model.sad)
    if model.pretrained:  # the backbones only (both stems and the body); the heads start random
        report = load_pretrained(net, model.pretrained)
        log.info("backbone %s from %s (%s; %d source tensors dropped)", model.backbone, model.pretrained,
                 report.naming, len(report.dropped))
    for backbone in backbones(net):
        backbone.freeze(model.freeze)
    loss_fn = build_loss(cfg.loss, net)
    threads = cfg.data.threads
    batches = TrainBatches(dataset, store, model, cfg.sampler, cfg.augment, seed + rank, threads)
    lrs = lr_per_step(optim, len(batches))
    optimizer = make_optimizer(net, lrs, optim)
    step = TrainStep(net, loss_fn, optimizer, jit=cfg.jit, grad_reducer=distributed.grad_reducer(optimizer, world))
    rng = np.random.default_rng(seed + 7919 * rank)
    best, history, start = {}, [], 0
    state = load_state(ckpt_dir, net, optimizer) if resume else None
    if state is not None:
        start, best, history = state["epoch"] + 1, state["best"], state["history"]
        rng = restore_rng(state)
        batches.restore_sampler(state["sampler"])
        log.info("resumed from %s (epoch %d)", state["checkpoint"], state["epoch"])
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    last_epoch = optim.epochs - 1 if stop_after_epoch is None else min(stop_after_epoch, optim.epochs - 1)
    for epoch in range(start, last_epoch + 1):
        if epoch == start or epoch % schedule.checkpoint_every == 0:
            # Resumable points start a fresh graph from a known seed, so in-graph randomness (SAD partners,
            # dropout) is the same whether or not the run was interrupted there.
            ms.set_seed(seed * 100_003 + epoch)
            step.recompile()
        started, sums, count = time.time(), np.zeros(1 + len(step.terms)), 0
        bar = tqdm(batches.epoch(rng), total=len(batches), desc=f"epoch {epoch + 1}/{optim.epochs}",
                   disable=not progress or rank != 0, leave=False)
        for b in bar:
            total, parts = step(ms.Tensor(b.clips), ms.Tensor(b.keypoints), ms.Tensor(b.modality),
                                ms.Tensor(b.labels), epoch)
            values = np.concatenate([[float(total.asnumpy())], parts.asnumpy().astype(np.float64)])
            sums += values
            count += 1
            bar.set_postfix(loss=f"{values[0]:.3f}")
        entry = {"epoch": epoch, "loss": sums[0] / max(count, 1),
                 **{k: sums[i + 1] / max(count, 1) for i, k in enumerate(step.terms)},
                 "lr": lrs[(epoch + 1) * len(batches) - 1],
                 "seconds": time.time() - started, "steps": count}
        final = epoch == optim.epochs - 1
        if rank == 0 and evaluates_after(epoch, schedule.eval_every, optim.epochs):
            results = evaluate_model(net, dataset, store, model.seq_len, model.height, model.width,
                                     schedule.eval_batch, threads, progress)
            entry["eval"] = results
            _update_best(best, results, epoch, net, out)
        history.append(entry)
        if rank == 0:
            _log_line(out / "train_log.jsonl", entry)
            log.info("epoch %d: loss %.4f%s", epoch + 1, entry["loss"],
                     "".join(f", {d} rank1 {m['rank1']:.3f} mAP {m['mAP']:.3f}" for d, m in
                             entry.get("eval", {}).items()))
            if (epoch + 1) % schedule.checkpoint_every == 0 or final or epoch == last_epoch:
                # (a checkpoint off the checkpoint_every grid, from stop_after_epoch, resumes with fresh
                # in-graph randomness; on the grid, the resumed run matches the uninterrupted one exactly)
                save_state(ckpt_dir, epoch, net, optimizer, rng, batches.sampler_state(), best, history)
            if final:
                ms.save_checkpoint(net, str(out / "last.ckpt"))
            plot_curves(history, out / "curves.png")
    if world > 1:  # every rank's final weights, to check that data-parallel ranks stayed in step
        out.mkdir(parents=True, exist_ok=True)
        ms.save_checkpoint(net, str(out / f"weights_rank{rank}.ckpt"))
    batches.close()
    return {"epoch": last_epoch, "best": best, "history": history, "final": history[-1] if history else None}
