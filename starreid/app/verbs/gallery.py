"""`starreid gallery`: the cross-camera identity gallery daemon (ZeroMQ in, Redis state, identity events out)."""
from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "gallery", help="run the identity gallery (PULL tracklets, resolve identities, PUBlish events)",
        description="Run the cross-camera identity gallery: tracklets arrive over ZeroMQ, go to a durable "
                    "Redis Stream, are resolved to identities, and identity events go out on ZeroMQ PUB and a "
                    "Redis Stream. Without redis.url it uses the embedded redis-server on 127.0.0.1:redis.port, "
                    "which `starreid redis` runs (and `starreid run` supervises).")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.set_defaults(func=run)


def redis_kwargs(rcfg) -> dict:
    """Connection values from the redis section (the password file is read here, at the edge)."""
    password = rcfg.password
    if rcfg.password_file:
        with open(rcfg.password_file, encoding="utf-8") as fh:
            password = fh.readline().rstrip("\r\n")
    return dict(username=rcfg.username, password=password, tls=rcfg.tls, tls_ca_file=rcfg.tls_ca_file,
                tls_cert_file=rcfg.tls_cert_file, tls_key_file=rcfg.tls_key_file, tls_verify=rcfg.tls_verify,
                socket_timeout_s=rcfg.socket_timeout_s)


def redis_url(rcfg) -> str:
    """The configured Redis, or the deployment's embedded one on 127.0.0.1:redis.port."""
    return rcfg.url or f"redis://127.0.0.1:{rcfg.port}/0"


@contextlib.contextmanager
def gallery_redis(rcfg):
    """(client, keys) for reading or erasing the gallery's state: the running gallery's Redis, or the embedded
    server started just for this command."""
    from starreid.storage.connect import connect
    from starreid.storage.keys import Keys

    from starreid.storage.redis_server import EmbeddedRedis, ping

    if rcfg.url or ping("127.0.0.1", rcfg.port):
        yield connect(redis_url(rcfg), **redis_kwargs(rcfg)), Keys(rcfg.key_prefix)
        return
    with EmbeddedRedis.from_config(rcfg) as server:  # nothing runs: read the data directory with a server of our own
        yield connect(server.url, **redis_kwargs(rcfg)), Keys(rcfg.key_prefix)


def make_embed(mcfg):
    """embed(tracklet) -> Embedding from the configured model, loaded on first use; None without weights."""
    if not mcfg.weights:
        return None
    from starreid.app.embedding import tracklet_embedder

    return tracklet_embedder(mcfg, lazy=True)


def run(args: argparse.Namespace) -> int:
    import os

    from starreid.app.config import load_config

    cfg = load_config(args.config)
    # One loop does the gallery's work on small batches: thread hand-offs in BLAS and OpenMP cost more than
    # they save on a shared machine (measured: a single add to the IVF took 5 ms with 2 busy threads, 0.04 ms
    # with one). BLAS reads this once, when numpy loads, so it is set before anything imports numpy.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(cfg.gallery.threads))
    import faiss

    faiss.omp_set_num_threads(cfg.gallery.threads)
    import zmq

    from starreid.contracts import metrics
    from starreid.storage.connect import connect
    from starreid.storage.keys import Keys
    from starreid.storage.service import GalleryService

    kwargs = redis_kwargs(cfg.redis)
    try:
        server = metrics.serve(cfg.metrics.host, cfg.metrics.gallery_port)
    except OSError as exc:
        print(f"cannot serve metrics on {cfg.metrics.host}:{cfg.metrics.gallery_port}: {exc}", file=sys.stderr)
        return 1
    url = redis_url(cfg.redis)
    try:
        service = GalleryService.from_config(cfg.gallery, cfg.zmq, cfg.model, connect=lambda: connect(url, **kwargs),
                                             keys=Keys(cfg.redis.key_prefix), embed=make_embed(cfg.model))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: service.request_stop())
        log.info("metrics on %s; redis %s%s", server.url, url.split("@")[-1],
                 "" if cfg.redis.url else " (the embedded one: `starreid redis`, started by `starreid run`)")
        service.run()
    except zmq.ZMQError as exc:
        print(f"cannot bind {cfg.zmq.tracklets} / {cfg.zmq.events}: {exc}", file=sys.stderr)
        return 1
    finally:
        server.close()
    return 0
