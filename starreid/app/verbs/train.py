"""`starreid train`: train STAR from a `kind: train` config; resumes from the last checkpoint in out_dir.

Data-parallel: msrun --worker_num=N --local_worker_num=N --master_addr=127.0.0.1 --master_port=PORT \\
    --join=True --log_dir=LOGS .venv/bin/starreid train --config FILE
"""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train STAR (PK batches, SGD, periodic evaluation, checkpoints, resume)",
        description="Train STAR from a `kind: train` config. Checkpoints, the JSON-lines log, curves and the "
                    "best weights per direction and metric go to out_dir; an interrupted run resumes from its "
                    "last checkpoint. Under msrun each worker is one data-parallel rank.")
    parser.add_argument("--config", required=True, metavar="FILE", help="training config (YAML, kind: train)")
    parser.add_argument("--no-resume", action="store_true", help="start over even if out_dir has checkpoints")
    parser.add_argument("--stop-after-epoch", type=int, metavar="E",
                        help="stop after this 0-based epoch (checkpointed), as if interrupted")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from starreid.app.config import ConfigError, load_config

    cfg = load_config(args.config, kind="train")
    from starreid.reid.models.pretrained import PretrainedError
    from starreid.reid.train.loop import train

    try:
        summary = train(cfg, resume=not args.no_resume, progress=not args.no_progress,
                        stop_after_epoch=args.stop_after_epoch)
    except PretrainedError as exc:  # model.pretrained names weights that are absent or do not fit: exit 2
        raise ConfigError(args.config, [("model.pretrained", None, str(exc))]) from None
    for key, best in sorted(summary["best"].items()):
        print(f"best {key}: {100 * best['value']:.2f} (epoch {best['epoch'] + 1})")
    return 0
