"""`starreid eval`: CMC / mAP / mINP under the HITSZ-VCM protocol, from saved features or a trained checkpoint."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate saved features (npz) or a trained checkpoint under the HITSZ-VCM protocol",
        description="Either --features FILE.npz (keys: ir_feats/ir_pids/ir_camids + rgb_feats/rgb_pids/"
                    "rgb_camids for both directions, or query_* + gallery_* for one), or --checkpoint CKPT "
                    "--config TRAIN.yaml: embed the test split of the training config's dataset with the "
                    "checkpoint, then evaluate I2V and V2I. --poses none|shuffled probes how much the model "
                    "relies on the skeletons (every joint missing, or another person's); --pooling reports what "
                    "sequence guidance can change instead of evaluating.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--features", help="npz file of features, person ids and camera ids")
    source.add_argument("--checkpoint", help="trained weights (.ckpt); needs --config")
    p.add_argument("--config", help="the training config (kind: train) the checkpoint was trained with")
    p.add_argument("--poses", choices=("given", "none", "shuffled"), default="given",
                   help="skeletons fed with --checkpoint: each tracklet's own (default), none, or another "
                        "person's")
    p.add_argument("--pooling", action="store_true",
                   help="with --checkpoint (variant sg or full): SG's weights over the GeM powers on the test "
                        "tracklets, their shift under another person's skeletons, and how alike the poolings are")
    p.add_argument("--save-features", metavar="FILE", help="with --checkpoint: also write the features (npz)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--plot", default=None, help="CMC plot PNG (default: next to the features or checkpoint)")
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    p.set_defaults(func=run)


def _train_config(args):
    """The training config that --checkpoint needs, validated (a ConfigError exits 2)."""
    from starreid.app.config import ConfigError, load_config

    if not (args.checkpoint and args.config):
        raise ConfigError("starreid eval", [("--config", None, "--checkpoint needs --config (the training config)")])
    return load_config(args.config, kind="train")


def _checkpoint_arrays(args):
    """(arrays, plot stem) from a checkpoint and its training config; None after reporting a problem."""
    import sys
    from pathlib import Path

    cfg = _train_config(args)
    from starreid.reid.train.evaluate import checkpoint_features

    try:
        arrays = checkpoint_features(args.checkpoint, cfg, not args.no_progress, args.poses)
    except (OSError, ValueError) as exc:  # dataset, skeleton file or checkpoint errors are ValueErrors
        print(f"starreid eval: {exc}", file=sys.stderr)
        return None
    if args.save_features:
        import numpy as np

        np.savez(args.save_features, **arrays)
        print(f"features: {args.save_features}")
    ckpt = Path(args.checkpoint)
    suffix = "" if args.poses == "given" else f"_{args.poses}-poses"
    return arrays, ckpt.with_name(f"{ckpt.stem}{suffix}_cmc.png")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from starreid.reid.eval.features_file import evaluate_arrays, evaluate_file
    from starreid.reid.eval.report import format_table, plot_cmc

    if args.pooling:
        return _pooling(args)
    if args.checkpoint:
        found = _checkpoint_arrays(args)
        if found is None:
            return 1
        arrays, default_plot = found
        name = Path(args.checkpoint).name
    else:
        default_plot = Path(args.features).with_name(Path(args.features).stem + "_cmc.png")
        name = Path(args.features).name
    try:
        results = evaluate_arrays(arrays, args.checkpoint) if args.checkpoint else evaluate_file(args.features)
    except (OSError, ValueError) as exc:  # unreadable file, missing keys, bad shapes, no valid query
        print(f"starreid eval: {exc}", file=sys.stderr)
        return 2
    print(format_table(results))
    plot = Path(args.plot) if args.plot else default_plot
    plot_cmc(results, plot, title=name if args.poses == "given" else f"{name}, poses {args.poses}")
    print(f"CMC plot: {plot}")
    if args.json:
        Path(args.json).write_text(json.dumps({k: {"cmc": v.cmc.tolist(), "mAP": v.mAP, "mINP": v.mINP,
                                                   "num_valid": v.num_valid, "num_query": v.num_query}
                                               for k, v in results.items()}, indent=1))
    return 0


def _pooling(args) -> int:
    """--pooling: the sequence-guidance probe of a checkpoint, as a table (and JSON with --json)."""
    import json
    import sys
    from pathlib import Path

    cfg = _train_config(args)
    from starreid.reid.train.pooling_probe import pooling_probe

    try:
        found = pooling_probe(args.checkpoint, cfg)
    except (OSError, ValueError) as exc:
        print(f"starreid eval: {exc}", file=sys.stderr)
        return 2
    print("GeM power  weight mean  weight std  shift (other's skeletons)  cosine with GeM_3")
    for i, power in enumerate(found["powers"]):
        print(f"{power:9.1f}  {found['weight_mean'][i]:11.3f}  {found['weight_std'][i]:10.3f}  "
              f"{found['shuffle_shift'][i]:25.3f}  {found['cosine_to_gem3'][i]:17.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=1))
    return 0
