"""`starreid skeletons`: per-frame COCO-17 poses for a dataset in the HITSZ-VCM layout (resumable)."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("skeletons", help="extract per-frame COCO-17 skeletons of a dataset into one HDF5 file",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, help="dataset root (HITSZ-VCM layout; frames are person crops)")
    p.add_argument("--out", default=None, help="skeleton file (default <data>/skeletons_mediapipe.h5); "
                   "an existing file is continued")
    p.add_argument("--backend", default="mediapipe", choices=["mediapipe"], help="pose backend")
    p.add_argument("--min-visibility", type=float, default=0.3, help="joints below this visibility are missing")
    p.add_argument("--limit", type=int, default=None, help="process only the first N frames of the name lists")
    p.add_argument("--stride", type=int, default=1, help="process every N-th frame (a quick sample)")
    p.add_argument("--ground-truth", default=None,
                   help="skeleton file to compare with (e.g. <data>/skeletons_gt.h5 of a synthetic set)")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    import logging
    from pathlib import Path

    from starreid.reid.data.errors import DatasetError
    from starreid.reid.data.extract import dataset_frame_names, extract_skeletons
    from starreid.reid.data.pose_error import pose_pixel_error
    from starreid.reid.data.skeleton_store import SOURCES, SkeletonStore
    from starreid.tracker.pose_mediapipe import MediaPipePose

    log = logging.getLogger(__name__)
    out = Path(args.out) if args.out else Path(args.data) / SOURCES["mediapipe"]
    try:
        names = dataset_frame_names(args.data)[: args.limit][:: args.stride]
    except DatasetError as exc:
        log.error("starreid skeletons: %s", exc)
        return 2
    with MediaPipePose(min_visibility=args.min_visibility) as pose:
        stats = extract_skeletons(args.data, out, pose.estimate, source=args.backend, names=names)
    log.info("skeletons: %s -> %s", stats, out)
    print(json.dumps(stats))
    if args.ground_truth and names:
        from starreid.reid.data.clips import read_frame
        from starreid.reid.data.vcm_files import frame_path, parse_name

        pred, truth = SkeletonStore(out), SkeletonStore(args.ground_truth)
        h, w = read_frame(frame_path(args.data, names[0])).shape[:2]
        for mod in ("rgb", "ir"):
            subset = [n for n in names if parse_name(n).modality == mod]
            if subset:
                err = pose_pixel_error(pred, truth, subset, w, h)
                print(json.dumps({"modality": mod, **{k: round(v, 4) if isinstance(v, float) else v
                                                       for k, v in err.items()}}))
    return 0
