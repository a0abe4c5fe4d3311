"""`starreid worker --config FILE --camera ID`: one camera's ingest, tracking and tracklet publisher."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "worker", help="run one camera worker (read, detect, track, publish tracklets)",
        description="Read one camera, detect and track people, cut 24-frame tracklets with skeletons and PUSH "
                    "them to the gallery over ZeroMQ. Serves Prometheus metrics; SIGTERM flushes and exits.")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.add_argument("--camera", required=True, metavar="ID", help="id of the camera in the config to run")
    parser.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                        help="override the metrics port (default: metrics.worker_port_base + camera index; 0 = any)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from starreid.app.config import load_config
    from starreid.app.verbs import camera_config
    from starreid.contracts import metrics
    from starreid.streams import open_source
    from starreid.tracker.pipeline import CameraPipeline
    from starreid.tracker.sender import TrackletSender
    from starreid.tracker.worker import Worker

    log = logging.getLogger("starreid.worker")
    from starreid.app.config.resources import deployment_problems, port_problems, require

    from starreid.contracts.curve import ClientKeys, KeyFileError

    cfg = load_config(args.config, kind="deployment")
    cam = camera_config(cfg, args.config, args.camera)
    tracker = cfg.tracker_for(cam.id)  # the tracker section with this camera's own settings on top
    port = args.metrics_port if args.metrics_port is not None else cfg.metrics.worker_port_base + cfg.camera_index(cam.id)
    keys_problem = []
    try:
        ClientKeys.from_config(cfg.zmq.curve)
    except KeyFileError as exc:
        keys_problem = [("zmq.curve", str(exc))]
    require(args.config, deployment_problems(cfg, cameras=[cam.id]) + keys_problem
            + port_problems([("metrics.worker_port_base", cfg.metrics.host, port)]))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    server = metrics.serve(cfg.metrics.host, port)
    log.info("camera %s: metrics on %s", cam.id, server.url)
    embed_batch = None
    if cfg.model.weights:  # before the pose model loads: MindSpore cannot be imported after MediaPipe
        from starreid.app.embedding import TrackletEmbedder

        embed_batch = TrackletEmbedder(cfg.model).batch
    pipeline = CameraPipeline.from_config(tracker, cam.id, cam.modality, cfg.model.height, cfg.model.width)
    source = open_source(cam)
    sender = TrackletSender.from_config(cfg.zmq, tracker, cam.id)
    log.info("camera %s (%s): reading %s, publishing to %s%s%s", cam.id, cam.modality, cam.source, cfg.zmq.tracklets,
             " over CURVE" if cfg.zmq.curve else "",
             f"; its own tracker settings: {cam.tracker.model_dump()}" if cam.tracker else "")
    try:
        return Worker(source, pipeline, sender, embed_batch, flush_timeout=tracker.flush_timeout_s,
                      queue_size=tracker.queue_size, max_batch=cfg.model.batch_size,
                      pose_warn_below=tracker.pose_warn_below, pose_warn_window=tracker.pose_warn_window).run(stop)
    finally:
        pipeline.detector.close()
        server.close()
