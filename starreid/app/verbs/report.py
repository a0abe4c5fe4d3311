"""`starreid report --config FILE --out DIR`: the identities as pictures (a sheet, a timeline, annotated video)."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="write an identity sheet, an identity timeline and annotated videos of the identities",
        description="Read the gallery (Redis) and write to DIR: identities.png (a row per identity: crops of its "
                    "sightings with camera and time), timeline.png (identity x time, coloured by camera), and for "
                    "each camera with a file source CAMERA.mp4 and CAMERA.png: the footage replayed through the "
                    "same tracker, each track boxed in its gallery identity's colour. Times are UTC on the camera "
                    "workers' clock.")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the pictures go")
    parser.add_argument("--no-video", action="store_true", help="only the sheet and the timeline")
    parser.add_argument("--frames", type=int, default=None, metavar="N", help="annotate at most N frames per camera")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from starreid.app.config import load_config

    cfg = load_config(args.config, kind="deployment")
    from starreid.app.report import write_report
    from starreid.app.verbs.gallery import gallery_redis

    with gallery_redis(cfg.redis) as (client, keys):
        summary = write_report(cfg, client, keys, Path(args.out), video=not args.no_video, max_frames=args.frames,
                               progress=not args.no_progress)
    print(f"{summary['identities']} identities, {summary['sightings']} sightings")
    print(f"report: {args.out} (identities.png, timeline.png"
          + "".join(f", {Path(v).name}" for v in summary["videos"].values()) + ")")
    return 0
