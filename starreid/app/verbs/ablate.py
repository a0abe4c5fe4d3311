"""`starreid ablate`: baseline / +FG / +SG / full STAR over several seeds; a Markdown table and a bar plot."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "ablate", help="train the four STAR variants over several seeds and tabulate the results",
        description="Train baseline, +FG, +SG and full STAR from one training config, each with several seeds; "
                    "finished runs are kept, so an interrupted ablation resumes where it stopped. Writes "
                    "ablation.md (mean ± std of rank-1 and mAP, both directions, plus chance) and ablation.png.")
    parser.add_argument("--config", required=True, metavar="FILE", help="base training config (kind: train)")
    parser.add_argument("--out", required=True, metavar="DIR", help="runs, table and plot go here")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="S", help="seeds (default 0 1 2)")
    parser.add_argument("--variants", nargs="+", default=None, metavar="V",
                        help="subset of baseline fg sg full (default: all four)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from starreid.reid.train.ablation import (VARIANTS, bar_plot, chance_level, markdown_table, pose_table, probe_poses,
                                     run_one, summarise, training_minutes)
    from starreid.app.verbs import load_config_or_report

    cfg = load_config_or_report(args.config, kind="train")
    if cfg is None:
        return 1
    variants = args.variants or list(VARIANTS)
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        print(f"unknown variants: {', '.join(unknown)} (choose from {', '.join(VARIANTS)})", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = cfg.model_dump(mode="json")
    log_args = ["--log-level", args.log_level] + (["--log-json"] if args.log_json else [])
    # seed-major, so an ablation cut short still has every variant
    results = [run_one(base, out, v, s, log_args) for s in args.seeds for v in variants]
    results = [probe_poses(r, out, log_args) for r in results]
    table = summarise(results)
    chance = chance_level(cfg.data.root, cfg.data.min_len)
    text = markdown_table(table, chance)
    poses = pose_table(results)
    command = " ".join(["starreid ablate", "--config", args.config, "--out", args.out, "--seeds",
                        *map(str, args.seeds)] + (["--variants", *variants] if args.variants else []))
    minutes = training_minutes(out, results)
    timing = (f"Training took {sum(minutes):.0f} min for {len(minutes)} runs ({min(minutes):.1f}-"
              f"{max(minutes):.1f} min a run, from the runs' logs).")
    (out / "ablation.md").write_text(f"{text}\n\nFinal-epoch test metrics (%), made by `{command}`. {timing}\n\n"
                                     f"What each variant takes from the skeletons: the same weights evaluated "
                                     f"with every joint missing and with another person's skeletons "
                                     f"(`starreid eval --poses none|shuffled`), mAP %, mean over seeds:\n\n"
                                     f"{poses}\n\nBase config:\n\n```yaml\n"
                                     f"{yaml.safe_dump(base, sort_keys=False)}```\n")
    bar_plot(table, out / "ablation.png", chance)
    print(text)
    print(poses)
    return 0
