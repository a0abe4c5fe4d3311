"""`starreid synth`: write a synthetic RGB-IR tracklet dataset in the HITSZ-VCM layout."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("synth", help="generate a synthetic RGB-infrared tracklet dataset (HITSZ-VCM layout)",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (must be empty or absent)")
    p.add_argument("--identities", type=int, default=150, help="number of people")
    p.add_argument("--train-ids", type=int, default=None, help="people in the training split (default 60%%)")
    p.add_argument("--cameras", type=int, default=6, help="number of cameras (each records RGB and IR)")
    p.add_argument("--min-frames", type=int, default=24, help="shortest regular tracklet")
    p.add_argument("--max-frames", type=int, default=48, help="longest tracklet")
    p.add_argument("--short-fraction", type=float, default=0.05,
                   help="share of tracklets with 4-11 frames (dropped by the protocol's length filter)")
    p.add_argument("--height", type=int, default=128, help="frame height in pixels")
    p.add_argument("--width", type=int, default=64, help="frame width in pixels")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same bytes")
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument("--preview", default=None, help="also save an RGB/IR frame pair of one person to this PNG")
    p.add_argument("--test-ids", type=int, default=None,
                   help="people in the test split (the last ones); train = identities - test-ids")
    p.add_argument("--crop", choices=("pan", "detector"), default="pan",
                   help="pan: a loose frame panning across the scene (the original benchmark); detector: a "
                        "detector-like box around the person (IoU with the true box mostly 0.7-0.95), padded and "
                        "resized; also writes skeletons_estimated.h5 and corruptions.h5")
    p.add_argument("--box-jitter", type=float, default=1.0,
                   help="detector box centre/scale error, times the default (0 = exact boxes); --crop detector")
    p.add_argument("--corrupt-rate", type=float, default=0.0,
                   help="mean share of misdetected frames per tracklet, 0-0.9 (--crop detector); each "
                        "tracklet's share varies around it (Beta), in runs of 1-4 frames")
    p.add_argument("--corrupt-kinds", default=None,
                   help="which misdetections and their weights: any of background,other,truncate,occlude, "
                        "optionally kind:weight (default: all four, equal weights)")
    p.add_argument("--sheet", default=None,
                   help="--crop detector: also save sample sheets of tracklets with their corruptions and "
                        "estimated skeletons, one per modality (NAME_rgb.png, NAME_ir.png)")
    p.set_defaults(func=run)


def run(args) -> int:
    import logging
    import time
    from pathlib import Path

    from starreid.reid.data.skeleton_store import open_skeletons
    from starreid.reid.synth.generate import generate
    from starreid.reid.synth.preview import save_pair_png

    log = logging.getLogger(__name__)
    t0 = time.perf_counter()
    try:
        summary = generate(args.out, identities=args.identities, cameras=args.cameras, train_ids=args.train_ids,
                           min_frames=args.min_frames, max_frames=args.max_frames, height=args.height,
                           width=args.width, short_fraction=args.short_fraction, seed=args.seed,
                           workers=args.workers, test_ids=args.test_ids, crop=args.crop,
                           box_jitter=args.box_jitter, corrupt_rate=args.corrupt_rate,
                           corrupt_kinds=args.corrupt_kinds)
    except (FileExistsError, ValueError) as exc:
        log.error("starreid synth: %s", exc)
        return 2
    log.info("wrote %d tracklets, %d frames to %s in %.1f s", summary["tracklets"], summary["frames"], args.out,
             time.perf_counter() - t0)
    if "corrupted_frames" in summary:
        log.info("frames by corruption: %s", ", ".join(f"{k} {v}" for k, v in summary["corrupted_frames"].items()))
    if args.sheet and args.crop == "detector":
        from starreid.reid.synth.preview import save_corruption_sheet

        sheet = Path(args.sheet)
        for mod in ("rgb", "ir"):
            dest = sheet.with_name(f"{sheet.stem}_{mod}.png")
            save_corruption_sheet(args.out, dest, modality=mod)
            log.info("corruption sheet saved to %s", dest)
    elif args.sheet:
        log.warning("--sheet needs --crop detector; no sheet written")
    if args.preview:
        pid = save_pair_png(args.out, args.preview, skeletons=None)
        preview = Path(args.preview)
        save_pair_png(args.out, preview.with_name(preview.stem + "_skeleton.png"), pid=pid,
                      skeletons=open_skeletons(args.out, "gt"))
        log.info("preview of person %04d saved to %s", pid, args.preview)
    return 0
