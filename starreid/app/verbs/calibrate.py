"""`starreid calibrate --config FILE`: learn the deployed model's centring and match thresholds from the site's
own footage (no labels: the tracker's tracks give them), store them beside the model, plot the separation."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "calibrate", help="learn the model's centring and match thresholds from the cameras' own footage",
        description="Run the tracker over the cameras' footage (file sources to their end, live ones for "
                    "--seconds), embed every tracklet with the configured model, and learn from free pairs (two "
                    "tracks seen together are two people; windows of one track far apart are one person) a centre "
                    "per modality and the cosine each modality pair needs to match. Written beside the model's "
                    "weights as WEIGHTS.calibration.json, which the embedder and the gallery then use.")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.add_argument("--camera", action="append", metavar="ID", help="only this camera (repeatable)")
    parser.add_argument("--frames", type=int, default=None, metavar="N", help="at most N frames per camera")
    parser.add_argument("--seconds", type=float, default=300.0, metavar="S",
                        help="how long to watch a live camera (default 300)")
    parser.add_argument("--min-gap", type=int, default=None, metavar="FRAMES",
                        help="frames between two windows of a track for them to count as one person (default: "
                             "the tracklet length)")
    parser.add_argument("--min-apart", type=float, default=0.95, metavar="SHARE",
                        help="share of seen-together pairs the threshold must keep in different identities when "
                             "the footage is replayed through the gallery (default 0.95)")
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="where to draw the pair similarities (default: beside the calibration file)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def tracklets_of(camera, cfg, frames: int | None, seconds: float, progress: bool) -> list:
    """Every tracklet the camera's pipeline cuts from its footage (flushed at the end)."""
    import threading
    import time

    from tqdm import tqdm

    from starreid.streams import open_source
    from starreid.tracker.pipeline import CameraPipeline

    pipeline = CameraPipeline.from_config(cfg.tracker, camera.id, camera.modality, cfg.model.height, cfg.model.width)
    source = open_source(camera)
    stop, out, started = threading.Event(), [], time.monotonic()
    try:
        for frame in tqdm(source.frames(stop), total=source.frame_count, desc=f"calibrate {camera.id}",
                          unit="frame", disable=not progress):
            out += pipeline.process(frame)
            if (frames is not None and frame.index + 1 >= frames) or (
                    source.live and time.monotonic() - started > seconds):
                break
        out += pipeline.flush()
    finally:
        source.close()
        pipeline.detector.close()
    return out


def run(args: argparse.Namespace) -> int:
    import json
    import logging
    from pathlib import Path

    import numpy as np

    from starreid.app.config import ConfigError, load_config
    from starreid.app.config.resources import deployment_problems, require
    from starreid.app.verbs import camera_config

    log = logging.getLogger("starreid.calibrate")
    cfg = load_config(args.config, kind="deployment")
    cameras = [camera_config(cfg, args.config, c) for c in (args.camera or [c.id for c in cfg.cameras])]
    if not cfg.model.weights:
        raise ConfigError(args.config, [("model.weights", None, "calibration needs the model that will embed")])
    require(args.config, deployment_problems(cfg, [c.id for c in cameras], calibration=False))
    # The model loads before the pose model does (MindSpore cannot be imported after MediaPipe).
    from starreid.app.calibrate import fit, free_pairs, plot
    from starreid.app.embedding import TrackletEmbedder
    from starreid.contracts.calibration import calibration_path

    embedder = TrackletEmbedder(cfg.model, calibrated=False)
    tracklets = [t for cam in cameras for t in tracklets_of(cam, cfg, args.frames, args.seconds, not args.no_progress)]
    if not tracklets:
        log.error("no tracklets: nothing to calibrate on (is anyone in the footage?)")
        return 1
    vectors, model_id = [], None
    for at in range(0, len(tracklets), 32):
        embeddings = embedder.batch(tracklets[at:at + 32])
        vectors += [e.vector for e in embeddings]
        model_id = embeddings[0].model_id
    vectors = np.stack(vectors)
    modalities = [t.modality for t in tracklets]
    pairs = free_pairs(tracklets, args.min_gap or cfg.tracker.tracklet_len)
    cal = fit(model_id, vectors, modalities, pairs, tracklets, cfg.gallery, min_apart=args.min_apart)
    cal.stats["footage"] = {c.id: c.source for c in cameras}
    path = cal.save(calibration_path(cfg.model.weights))
    picture = Path(args.plot) if args.plot else path.with_suffix(".png")
    plot(vectors, modalities, pairs, cal, picture)
    print(f"{len(tracklets)} tracklets, {len(pairs.positive)} same-track pairs, {len(pairs.negative)} "
          f"seen-together pairs")
    for pair, entry in cal.stats["pairs"].items():
        if "threshold" in entry:
            print(f"{pair}: threshold {entry['threshold']:.2f}. Replayed through the gallery: "
                  f"{100 * entry['negative_apart']:.1f}% of seen-together pairs kept apart, "
                  f"{100 * entry['positive_together']:.1f}% of same-track pairs kept together, "
                  f"{entry['identities']} identities. Pairwise: {100 * entry['positive_above']:.1f}% of same-track "
                  f"pairs above it, {100 * entry['negative_below']:.1f}% of seen-together pairs below; mean cosine "
                  f"{entry['raw_mean']['positive']:.3f} vs {entry['raw_mean']['negative']:.3f} raw, "
                  f"{entry['centred_mean']['positive']:.3f} vs {entry['centred_mean']['negative']:.3f} centred")
        else:
            print(f"{pair}: too few pairs ({entry['positive']} / {entry['negative']}); the configured threshold "
                  f"stays")
    print(f"calibration: {path} (model {model_id}); plot: {picture}")
    log.debug("calibration stats: %s", json.dumps(cal.stats))
    return 0
