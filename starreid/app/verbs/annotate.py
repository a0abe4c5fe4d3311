"""`starreid annotate SOURCE --out PNG`: run the camera pipeline over a video and draw one frame's tracks."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "annotate", help="draw boxes, track ids and skeletons on a sample frame (PNG) and report track counts",
        description="Run detection, pose and tracking over a video (file, folder or stream) and write frame "
                    "--frame with boxes, track ids and skeletons as a PNG; prints frames, distinct tracks and "
                    "tracklets cut.")
    parser.add_argument("source", help="video file, image folder, or stream URL")
    parser.add_argument("--out", required=True, metavar="PNG", help="where to write the annotated frame")
    parser.add_argument("--frame", type=int, default=60, help="index of the frame to draw (default 60)")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames to process in all (default: up to --frame; more for track counts)")
    parser.add_argument("--sheet", metavar="PNG", default=None,
                        help="also write the first full tracklet's 24 crops with their skeletons")
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="deployment config whose tracker and model sizes to use (default: built-in defaults)")
    parser.add_argument("--detect-scale", type=float, default=None,
                        help="resize factor before HOG (people must be ~130 px tall after it; 1.3 for vtest.avi)")
    parser.add_argument("--modality", choices=("rgb", "ir"), default="rgb", help="modality of the source")
    parser.add_argument("--camera", default="annotate", help="camera id used in tracklet ids")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import cv2
    from tqdm import tqdm

    from starreid.app.config.cameras import CameraConfig
    from starreid.app.config.model import ModelConfig
    from starreid.app.config.tracker import TrackerConfig
    from starreid.streams import SourceError, open_source
    from starreid.tracker.annotate import draw_tracks, tracklet_sheet
    from starreid.tracker.pipeline import CameraPipeline

    if args.config:
        from starreid.app.config import load_config

        cfg = load_config(args.config, kind="deployment")
        tracker, model = cfg.tracker, cfg.model
    else:
        tracker, model = TrackerConfig(), ModelConfig()
    overrides = {"pose_every": 1}  # every drawn frame shows its skeletons
    if args.detect_scale is not None:
        overrides["detect_scale"] = args.detect_scale
    tracker = TrackerConfig.model_validate(tracker.model_dump() | overrides)
    pipeline = CameraPipeline.from_config(tracker, args.camera, args.modality, model.height, model.width)
    total = max(args.frames or 0, args.frame + 1)
    source = open_source(CameraConfig(id=args.camera, source=args.source, modality=args.modality))
    ids, tracklets, written, sheet_written, count = set(), 0, False, False, 0
    try:
        for frame in tqdm(source.frames(), total=total, desc="annotate", unit="frame"):
            cut = pipeline.process(frame)
            tracklets += len(cut)
            if args.sheet and cut and not sheet_written:
                cv2.imwrite(args.sheet, cv2.cvtColor(tracklet_sheet(cut[0]), cv2.COLOR_RGB2BGR))
                sheet_written = True
            ids.update(v.track_id for v in pipeline.views)
            if frame.index == args.frame:
                image = draw_tracks(frame.image, pipeline.views)
                cv2.imwrite(args.out, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                written = True
            count = frame.index + 1
            if count >= total:
                break
        tracklets += len(pipeline.flush())
    except SourceError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        source.close()
        pipeline.detector.close()
    if not written:
        print(f"the source ended after {count} frames, before frame {args.frame}", file=sys.stderr)
        return 1
    print(f"frames {count}, distinct tracks {len(ids)}, tracklets {tracklets}; wrote {args.out}"
          + (f" and {args.sheet}" if sheet_written else ""))
    return 0
