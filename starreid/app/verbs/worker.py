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
    import sys
    import threading

    from starreid.contracts import metrics
    from starreid.app.config import ConfigError, load_config
    from starreid.streams import open_source
    from starreid.tracker.factory import build_pipeline
    from starreid.tracker.sender import TrackletSender
    from starreid.tracker.worker import Worker

    log = logging.getLogger("starreid.worker")
    try:
        cfg = load_config(args.config)
        cam = cfg.camera(args.camera)
    except (ConfigError, KeyError) as exc:
        print(exc, file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    port = args.metrics_port if args.metrics_port is not None else cfg.metrics.worker_port_base + cfg.camera_index(cam.id)
    server = metrics.serve(cfg.metrics.host, port)
    log.info("camera %s: metrics on %s", cam.id, server.url)
    embed = None
    if cfg.model.weights:  # before the pose model loads: MindSpore cannot be imported after MediaPipe
        from starreid.app.embedding import tracklet_embedder

        m = cfg.model
        embed = tracklet_embedder(m.weights, m.backend, m.device, m.depth, m.variant, m.seq_len, m.height,
                                  m.width, m.batch_size, m.sizes())
    t = cfg.tracker
    pipeline = build_pipeline(cam.id, cam.modality, height=cfg.model.height, width=cfg.model.width,
                              **t.model_dump(exclude={"queue_size", "flush_timeout_s"}))
    source = open_source(cam.source, cam.id, cam.modality, fps=cam.fps, timeout=cam.timeout_s,
                         backoff_max=cam.reconnect_max_s)
    z = cfg.zmq
    sender = TrackletSender(z.tracklets, z.events, send_hwm=z.send_hwm, queue_size=t.queue_size,
                            max_unconfirmed=z.max_unconfirmed, resend_after_s=z.resend_after_s)
    log.info("camera %s (%s): reading %s, publishing to %s", cam.id, cam.modality, cam.source, cfg.zmq.tracklets)
    try:
        return Worker(source, pipeline, sender, cam.id, cam.modality, embed=embed,
                      flush_timeout=t.flush_timeout_s).run(stop)
    finally:
        pipeline.detector.close()
        server.close()
