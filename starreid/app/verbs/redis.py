"""`starreid redis --config FILE`: the deployment's embedded redis-server (no redis.url) in the foreground.

A process of its own, so that `starreid run` (or systemd) starts it first, health-checks and restarts it like
any child and stops it last, and so that it never outlives them: it execs redis-server, which keeps the
parent-death signal its supervisor gave it. A port already taken is a configuration error (exit 2): the
process holding it is not this deployment's Redis."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "redis", help="run the deployment's embedded redis-server in the foreground",
        description="Run the embedded redis-server of a deployment without redis.url: 127.0.0.1:redis.port, "
                    "append-only data in redis.data_dir, memory capped at redis.maxmemory_mb (writes refused, "
                    "nothing evicted). `starreid run` starts it for you.")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import os
    from pathlib import Path

    from starreid.app.config import ConfigError, load_config
    from starreid.storage.redis_server import EmbeddedRedis, port_taken, server_args

    cfg = load_config(args.config, kind="deployment")
    r = cfg.redis
    if not r.embedded:
        raise ConfigError(args.config, [("redis.mode" if r.mode != "standalone" else "redis.url", None,
                                         "is set: this deployment uses an external Redis, not an embedded one")])
    if port_taken(EmbeddedRedis.HOST, r.port):
        raise ConfigError(args.config, [("redis.port", None, f"{EmbeddedRedis.HOST}:{r.port} is already taken by "
                                         f"another process (an orphan of an earlier run? stop it, or choose "
                                         f"another port)")])
    Path(r.data_dir).mkdir(parents=True, exist_ok=True)
    argv = server_args(r.data_dir, EmbeddedRedis.HOST, r.port, r.maxmemory_mb)
    logging.getLogger("starreid.redis").info("redis-server on %s:%d, data in %s (log: redis.log there)",
                                             EmbeddedRedis.HOST, r.port, r.data_dir)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.execv(argv[0], argv)  # the supervisor's child becomes redis-server itself, parent-death signal included
