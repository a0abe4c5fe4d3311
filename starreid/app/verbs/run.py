"""`starreid run`: the whole one-machine deployment, supervised: the embedded Redis (unless an external one is
configured), the gallery and one worker per camera."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run", help="run the embedded Redis, the gallery and a worker per camera on this machine, supervised",
        description="Run the embedded Redis (unless redis.url is set), the gallery and one worker per camera as "
                    "child processes; restart failed ones with backoff; stop all cleanly, workers first and Redis "
                    "last, on SIGTERM, SIGINT (Ctrl-C) or SIGHUP.")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.add_argument("--camera", action="append", metavar="ID",
                        help="run only this camera's worker (repeatable; default: every camera)")
    parser.add_argument("--until-done", action="store_true",
                        help="stop once every worker has finished its source (file sources), after the gallery "
                             "has drained")
    parser.add_argument("--grace", type=float, default=20.0, metavar="S",
                        help="seconds a child gets to flush after SIGTERM before it is killed (default 20)")
    parser.set_defaults(func=run)


def children_for(config_path: str, cfg, camera_ids: list[str], log_args: list[str]):
    """Started in this order, stopped in the reverse: the embedded Redis (unless redis.url), the gallery, the
    workers."""
    from starreid.app.supervise import Child
    from starreid.storage.redis_server import EmbeddedRedis, ping

    base = [sys.executable, "-m", "starreid", *log_args]
    children = []
    if not cfg.redis.url:
        port = cfg.redis.port
        children.append(Child("redis", [*base, "redis", "--config", config_path],
                              health=lambda: ping(EmbeddedRedis.HOST, port)))
    children.append(Child("gallery", [*base, "gallery", "--config", config_path]))
    children += [Child(f"worker:{cam}", [*base, "worker", "--config", config_path, "--camera", cam])
                 for cam in camera_ids]
    return children


def run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import time

    from starreid.app.config import load_config
    from starreid.app.supervise import Supervisor
    from starreid.app.verbs import EXIT_CONFIG, camera_config

    log = logging.getLogger("starreid.run")
    from starreid.app.config.resources import deployment_problems, require

    cfg = load_config(args.config)
    camera_ids = [camera_config(cfg, args.config, c).id for c in args.camera or [c.id for c in cfg.cameras]]
    require(args.config, deployment_problems(cfg, camera_ids))  # the children check their own ports
    from starreid.app.config.resources import port_problems
    from starreid.contracts import metrics

    require(args.config, port_problems([("metrics.supervisor_port", cfg.metrics.host, cfg.metrics.supervisor_port)]))
    log_args = ["--log-level", args.log_level] + (["--log-json"] if args.log_json else [])
    supervisor = Supervisor(children_for(args.config, cfg, camera_ids, log_args), grace_s=args.grace)
    server = metrics.serve(cfg.metrics.host, cfg.metrics.supervisor_port)  # restarts, up-ness, /readyz
    metrics.set_ready("children", supervisor.ready)
    log.info("supervisor metrics on %s", server.url)
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.append(True))
    supervisor.start()
    workers = {f"worker:{cam}" for cam in camera_ids}
    try:
        while not stop:
            supervisor.poll()
            if supervisor.config_errors():
                break  # the same configuration would fail the same way: stop everything, say which
            if args.until_done and not supervisor.running(workers):
                log.info("every worker has finished its source; draining the gallery")
                break
            if not supervisor.running():
                break
            time.sleep(0.2)
    finally:
        supervisor.stop()
        server.close()
    if supervisor.config_errors():
        log.error("stopped: %s failed on the configuration (see above)", ", ".join(supervisor.config_errors()))
        return EXIT_CONFIG
    failed = [c.name for c in supervisor.children if c.exit_codes and c.exit_codes[-1] not in (0, -signal.SIGTERM)]
    if failed:
        log.error("finished with failures: %s", ", ".join(failed))
    return 1 if failed else 0
