"""`starreid eval`: CMC / mAP / mINP under the HITSZ-VCM protocol from saved features."""
from __future__ import annotations



def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate saved features (npz) under the HITSZ-VCM protocol",
        description="npz keys: ir_feats/ir_pids/ir_camids + rgb_feats/rgb_pids/rgb_camids (both directions), "
                    "or query_feats/query_pids/query_camids + gallery_feats/gallery_pids/gallery_camids.",
    )
    p.add_argument("--features", required=True, help="npz file of features, person ids and camera ids")
    p.add_argument("--plot", default=None, help="CMC plot PNG (default: next to the features, *_cmc.png)")
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from reid.eval.features_file import evaluate_file
    from reid.eval.report import format_table, plot_cmc

    try:
        results = evaluate_file(args.features)
    except (OSError, ValueError) as exc:  # unreadable file, missing keys, bad shapes, no valid query
        print(f"starreid eval: {exc}", file=sys.stderr)
        return 2
    print(format_table(results))
    plot = Path(args.plot) if args.plot else Path(args.features).with_name(Path(args.features).stem + "_cmc.png")
    plot_cmc(results, plot, title=Path(args.features).name)
    print(f"CMC plot: {plot}")
    if args.json:
        Path(args.json).write_text(json.dumps({k: {"cmc": v.cmc.tolist(), "mAP": v.mAP, "mINP": v.mINP,
                                                   "num_valid": v.num_valid, "num_query": v.num_query}
                                               for k, v in results.items()}, indent=1))
    return 0
