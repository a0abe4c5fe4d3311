"""`starreid heads`: the head-only ablation (STAR's heads on cached backbone vectors, many paired seeds)."""
from __future__ import annotations

import argparse
import json
import sys
import time


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "heads", help="head-only ablation: train STAR's heads on cached backbone vectors over many paired seeds",
        description="Caches the frozen backbone's frame vectors of a clean and a corrupted synthetic dataset "
                    "once, then trains every arm (baseline, +FG, +SG, full STAR and the controls) for each seed "
                    "and evaluates it with m corrupted frames per test clip. Finished runs are kept in "
                    "OUT/results.jsonl, so an interrupted sweep resumes; writes OUT/heads.md (mAP and paired "
                    "differences from the baseline with 95%% bootstrap intervals) and OUT/heads.png.")
    parser.add_argument("--config", required=True, metavar="FILE", help="kind: heads config")
    parser.add_argument("--seeds", type=int, default=None, metavar="N", help="seeds 0..N-1 (default: sweep.seeds)")
    parser.add_argument("--arms", nargs="+", default=None, metavar="ARM",
                        help="train only these of sweep.arms (baseline among them); the report still covers all")
    parser.add_argument("--report-only", action="store_true", help="tabulate OUT/results.jsonl, train nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import mindspore as ms

    from starreid.app.config import load_config
    from starreid.app.config.resources import heads_problems, require
    from starreid.reid.train.head_report import ANY_SOURCE, read_results

    cfg = load_config(args.config, kind="heads")
    require(args.config, heads_problems(cfg))
    arms = args.arms or list(cfg.sweep.arms)
    if "baseline" not in arms or not set(arms) <= set(cfg.sweep.arms):
        print(f"--arms must include baseline and come from sweep.arms ({', '.join(cfg.sweep.arms)})", file=sys.stderr)
        return 2
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.jsonl"
    seeds = range(args.seeds if args.seeds is not None else cfg.sweep.seeds)
    if not args.report_only:
        from tqdm import tqdm

        from starreid.reid.train.head_data import load_head_data
        from starreid.reid.train.head_runs import HeadRunner

        if ms.get_context("device_target") != cfg.device:  # set once per process, before any kernel runs
            ms.set_device(cfg.device)  # PyNative; the training steps and embeddings compile themselves (ms.jit)
        t0 = time.perf_counter()
        data = load_head_data(cfg, progress=not args.no_progress)
        print(f"features and clips ready in {time.perf_counter() - t0:.0f} s", flush=True)
        write_reference(cfg, data, out / "reference.json")
        finished = read_results(results_path)
        if results_path.exists() and not results_path.read_text().endswith("\n"):  # a line cut short: drop it
            results_path.write_text("".join(json.dumps(r) + "\n" for r in finished))
        done = {(r["arm"], r["source"], r["seed"]) for r in finished}
        jobs = [(arm, ANY_SOURCE if arm == "baseline" else s) for arm in arms
                for s in (cfg.sweep.skeletons[:1] if arm == "baseline" else cfg.sweep.skeletons)]
        todo = [(seed, arm, s) for seed in seeds for arm, s in jobs if (arm, s, seed) not in done]
        runners = {}
        bar = tqdm(todo, desc="head runs", unit="run", disable=args.no_progress)
        for seed, arm, s in bar:  # seed-major: a sweep cut short has every arm at its first seeds
            if (arm, s) not in runners:
                runners[(arm, s)] = HeadRunner(cfg, arm, cfg.sweep.skeletons[0] if s == ANY_SOURCE else s, data)
            result = runners[(arm, s)].run(seed)
            result["source"] = s
            with results_path.open("a") as f:
                f.write(json.dumps(result) + "\n")
            bar.set_postfix_str(f"{arm}/{s} seed {seed}: {result['seconds']:.0f} s")
    write_report(cfg, args.config, read_results(results_path), out)
    return 0


def write_reference(cfg, data, path) -> None:
    """mAP (%) of bone-length ratios alone, no training, per source and m (the skeleton-only arm's yardstick)."""
    from starreid.reid.train.head_report import bone_ratios
    from starreid.reid.train.head_runs import metrics

    ref = {}
    for s in cfg.sweep.skeletons:
        for m in cfg.sweep.m:
            res = metrics(bone_ratios(data.test.keypoints[(m, s)], data.aspect), data)
            ref[f"{s}|{m}"] = {d: 100 * res[d]["mAP"] for d in res}
    path.write_text(json.dumps(ref, indent=1))


def write_report(cfg, config_path: str, results: list[dict], out) -> None:
    import numpy as np

    from starreid.reid.train.ablation import chance_level
    from starreid.reid.train.head_report import cells, contrast, contrast_markdown, delta_plot, markdown

    sources, ms_, arms = list(cfg.sweep.skeletons), list(cfg.sweep.m), list(cfg.sweep.arms)
    table = cells(results, sources, ms_, arms, cfg.sweep.bootstrap)
    chance = chance_level(cfg.data.clean, cfg.data.min_len)
    ref_path = out / "reference.json"
    reference = json.loads(ref_path.read_text()) if ref_path.exists() else None
    parts = [f"Made by `starreid heads --config {config_path}`. mAP (%) per arm, mean over seeds; in brackets "
             "the paired difference from the baseline (same seed) with its 95% bootstrap interval.\n"]
    for source in sources:
        for d in ("i2v", "v2i"):
            parts.append(f"### {d.upper()}, skeletons: {source}\n")
            text = markdown(table, source, ms_, d, 100 * chance[d]["mAP"])
            if reference:
                text += ("\n| bone-length ratios, no training | - | " +
                         " | ".join(f"{reference[f'{source}|{m}'][d]:.1f}" for m in ms_) + " |")
            parts.append(text + "\n")
    pairs = [("full", "shuffled", "full STAR minus full STAR on shuffled skeletons"),
             ("full", "full-uniform", "full STAR minus the same weights with SG's weights uniform"),
             ("sg", "sg-uniform", "+SG minus the same weights with SG's weights uniform")]
    for arm, other, title in pairs:
        rows = contrast(results, arm, other, sources, ms_, cfg.sweep.bootstrap)
        if rows:  # both arms ran, with at least two common seeds
            parts.append(f"### {title}\n")
            parts.append(contrast_markdown(rows, sources, ms_, "mAP points, 95% interval") + "\n")
    if results:
        seconds = [r["seconds"] for r in results]
        parts.append(f"{len(results)} runs, {sum(seconds) / 60:.1f} min in all ({min(seconds):.1f}-"
                     f"{max(seconds):.1f} s a run, evaluation included; the first run of each arm includes compiling its graphs).\n")
        losses = {a: np.mean([r["loss_last"] for r in results if r["arm"] == a]) for a in arms
                  if any(r["arm"] == a for r in results)}
        parts.append("Final training loss (mean of the last 10 steps, over runs): " +
                     ", ".join(f"{a} {v:.2f}" for a, v in losses.items()) + ".\n")
    (out / "heads.md").write_text("\n".join(parts))
    (out / "heads.json").write_text(json.dumps({"|".join(map(str, k)): v for k, v in table.items()}, indent=1))
    if results:
        delta_plot(table, sources, ms_, arms, out / "heads.png")
    print("\n".join(parts))
