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
    """The configured Redis, or the deployment's embedded one on 127.0.0.1:redis.port (standalone, cluster)."""
    return rcfg.url or f"redis://127.0.0.1:{rcfg.port}/0"


def redis_where(rcfg) -> str:
    """Where the gallery's Redis is, for logs (no credentials)."""
    if rcfg.mode == "sentinel":
        return f"the primary {rcfg.sentinel_service!r} of sentinels {', '.join(rcfg.sentinels)}"
    where = redis_url(rcfg).split("@")[-1]
    return f"the cluster of {where}" if rcfg.mode == "cluster" else where


def redis_connector(rcfg, url: str | None = None):
    """connect() -> a client of the configured Redis: one server (url, default redis_url), a Redis Cluster, or
    the primary the sentinels name."""
    from starreid.storage.connect import connect, connect_sentinel

    kwargs = redis_kwargs(rcfg)
    if rcfg.mode == "sentinel":
        return lambda: connect_sentinel(rcfg.sentinels, rcfg.sentinel_service, db=rcfg.db,
                                        sentinel_password=rcfg.sentinel_password, **kwargs)
    url = url or redis_url(rcfg)
    cluster = rcfg.mode == "cluster"
    return lambda: connect(url, cluster=cluster, cluster_nodes=list(rcfg.cluster_nodes), **kwargs)


@contextlib.contextmanager
def gallery_redis(rcfg):
    """(client, keys) for reading or erasing the gallery's state: the running gallery's Redis, or the embedded
    server started just for this command."""
    from starreid.storage.keys import Keys

    from starreid.storage.redis_server import EmbeddedRedis, ping

    if not rcfg.embedded or ping("127.0.0.1", rcfg.port):
        yield redis_connector(rcfg)(), Keys(rcfg.key_prefix)
        return
    with EmbeddedRedis.from_config(rcfg) as server:  # nothing runs: read the data directory with a server of our own
        yield redis_connector(rcfg, server.url)(), Keys(rcfg.key_prefix)


def curve_problems(curve) -> list[tuple[str, str]]:
    """(key path, problem) for the gallery's CURVE key files: its secret key and the authorized clients."""
    from starreid.contracts.curve import KeyFileError, ServerKeys

    try:
        ServerKeys.from_config(curve)
    except KeyFileError as exc:
        return [("zmq.curve", str(exc))]
    return []


def make_embed(mcfg):
    """embed(tracklet) -> Embedding from the configured model, loaded on first use; None without weights."""
    if not mcfg.weights:
        return None
    from starreid.app.embedding import tracklet_embedder

    return tracklet_embedder(mcfg, lazy=True)


def run(args: argparse.Namespace) -> int:
    import os

    from starreid.app.config import load_config

    from starreid.app.config import ConfigError
    from starreid.app.config.deployment import tcp_port
    from starreid.app.config.resources import deployment_problems, port_problems, require

    cfg = load_config(args.config, kind="deployment")
    binds = [("metrics.gallery_port", cfg.metrics.host, cfg.metrics.gallery_port)]
    binds += [(f"zmq.{key}", getattr(cfg.zmq, key).split("//", 1)[1].rsplit(":", 1)[0], tcp_port(getattr(cfg.zmq, key)))
              for key in ("tracklets_bind", "events_bind") if tcp_port(getattr(cfg.zmq, key))]
    require(args.config, deployment_problems(cfg, cameras=[]) + port_problems(binds) + curve_problems(cfg.zmq.curve))
    # One loop does the gallery's work on small batches: thread hand-offs in BLAS and OpenMP cost more than
    # they save on a shared machine (measured: a single add to the IVF took 5 ms with 2 busy threads, 0.04 ms
    # with one). BLAS reads this once, when numpy loads, so it is set before anything imports numpy. A batch's
    # search is the exception (index.search_threads): its OpenMP threads then sleep between batches rather
    # than spin, so they take no CPU from ingest and Redis.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(cfg.gallery.threads))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import faiss

    faiss.omp_set_num_threads(cfg.gallery.threads)
    import zmq

    from starreid.app.embedding import calibrated_thresholds
    from starreid.contracts import metrics
    from starreid.storage.keys import Keys
    from starreid.storage.resolver import Resolver
    from starreid.storage.service import GalleryService

    calibrated = calibrated_thresholds(cfg.model)  # checked by deployment_problems: this model's, or none
    for model_id, thresholds in calibrated.items():
        log.info("match thresholds of model %s from its calibration: %s", model_id, thresholds)
    server = metrics.serve(cfg.metrics.host, cfg.metrics.gallery_port)
    try:
        service = GalleryService.from_config(cfg.gallery, cfg.zmq, cfg.model, connect=redis_connector(cfg.redis),
                                             keys=Keys(cfg.redis.key_prefix), embed=make_embed(cfg.model),
                                             make_resolver=lambda: Resolver.from_config(cfg.gallery, calibrated))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: service.request_stop())
        log.info("metrics on %s; redis: %s%s; CURVE %s", server.url, redis_where(cfg.redis),
                 " (the embedded one: `starreid redis`, started by `starreid run`)" if cfg.redis.embedded else "",
                 "on (clients from %s)" % cfg.zmq.curve.authorized_clients if cfg.zmq.curve else "off")
        service.run()
    except zmq.ZMQError as exc:  # an address the port check could not try (ipc://, a host of another machine)
        raise ConfigError(args.config, [("zmq", None, f"cannot bind {cfg.zmq.tracklets_bind} / "
                                                      f"{cfg.zmq.events_bind}: {exc}")]) from None
    finally:
        server.close()
    return 0
