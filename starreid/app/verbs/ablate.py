"""`starreid ablate`: baseline / +FG / +SG / full STAR over several seeds; a Markdown table and a bar plot."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


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

    from starreid.reid.train.ablation import (VARIANTS, bar_plot, chance_level, markdown_table, pose_table,
                                              summarise, training_minutes)
    from starreid.app.config import load_config

    cfg = load_config(args.config, kind="train")
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


# The runs are child processes of the application (like the supervisor's children): the training library
# never starts its own CLI.
def run_one(base: dict, out: Path, variant: str, seed: int, log_args: list[str]) -> dict:
    """Trains one variant/seed in a child `starreid train` (a fresh process, so a fresh graph, each time) and
    returns its final metrics; a run that finished is read back, an unfinished one resumes."""
    import yaml

    from starreid.reid.train.ablation import derived_config, run_dir

    directory = run_dir(out, variant, seed)
    result_path = directory / "result.json"
    if result_path.exists():
        return json.loads(result_path.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(derived_config(base, out, variant, seed), sort_keys=False))
    subprocess.run([sys.executable, "-m", "starreid", *log_args, "train", "--config", str(config_path),
                    "--no-progress"], check=True)
    lines = (directory / "train_log.jsonl").read_text().splitlines()
    final = json.loads(lines[-1])
    result = {"variant": variant, "seed": seed, "epoch": final["epoch"], "final": final["eval"]}
    result_path.write_text(json.dumps(result, indent=1))
    return result


def probe_poses(result: dict, out: Path, log_args: list[str]) -> dict:
    """Adds result['poses']: the final weights' test metrics with every joint missing and with another
    person's skeletons (`starreid eval --poses`), kept in result.json. What a variant loses there is what it
    takes from the skeleton; the baseline reads none, so its figures are its own."""
    from starreid.reid.train.ablation import run_dir

    if "poses" in result:
        return result
    directory = run_dir(out, result["variant"], result["seed"])
    poses = {}
    for mode in ("none", "shuffled"):
        if result["variant"] == "baseline":
            poses[mode] = result["final"]
            continue
        numbers = directory / f"poses-{mode}.json"
        subprocess.run([sys.executable, "-m", "starreid", *log_args, "eval", "--checkpoint",
                        str(directory / "last.ckpt"), "--config", str(directory / "config.yaml"), "--poses", mode,
                        "--json", str(numbers), "--no-progress"], check=True, stdout=subprocess.DEVNULL)
        raw = json.loads(numbers.read_text())
        poses[mode] = {d.lower(): {"rank1": raw[d]["cmc"][0], "mAP": raw[d]["mAP"]} for d in ("I2V", "V2I")}
    result["poses"] = poses
    (directory / "result.json").write_text(json.dumps(result, indent=1))
    return result
