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
    parser.add_argument("--report", default=None, metavar="DIR",
                        help="with --until-done, write `starreid report` there at the end (default: report/ beside "
                             "redis.data_dir; 'none' = no report)")
    parser.add_argument("--status-every", type=float, default=30.0, metavar="S",
                        help="seconds between one-line status reports (default 30)")
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
    if cfg.redis.embedded:  # not redis.url, cluster or sentinel
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
    from starreid.app.config.resources import deployment_problems, port_problems, require
    from starreid.app.status import DeploymentStatus
    from starreid.app.supervise import Supervisor
    from starreid.app.verbs import EXIT_CONFIG, camera_config
    from starreid.contracts import metrics

    log = logging.getLogger("starreid.run")
    cfg = load_config(args.config, kind="deployment")
    camera_ids = [camera_config(cfg, args.config, c).id for c in args.camera or [c.id for c in cfg.cameras]]
    # the files every child needs, and the supervisor's own port (the children check theirs)
    require(args.config, deployment_problems(cfg, camera_ids)
            + port_problems([("metrics.supervisor_port", cfg.metrics.host, cfg.metrics.supervisor_port)]))
    log_args = ["--log-level", args.log_level] + (["--log-json"] if args.log_json else [])
    supervisor = Supervisor(children_for(args.config, cfg, camera_ids, log_args), grace_s=args.grace)
    server = metrics.serve(cfg.metrics.host, cfg.metrics.supervisor_port)  # restarts, up-ness, /readyz
    metrics.set_ready("children", supervisor.ready)
    log.info("supervisor metrics on %s", server.url)
    status = DeploymentStatus(cfg, camera_ids, every_s=args.status_every)
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.append(True))
    supervisor.start()
    workers = {f"worker:{cam}" for cam in camera_ids}
    done = False
    try:
        while not stop:
            supervisor.poll()
            status.tick()
            if supervisor.config_errors():
                break  # the same configuration would fail the same way: stop everything, say which
            if args.until_done and not supervisor.running(workers):
                log.info("every worker has finished its source; draining the gallery")
                done = True
                break
            if not supervisor.running():
                break
            time.sleep(0.2)
        if done and args.report != "none":
            supervisor.stop(keep={"redis"})  # the gallery has drained; the report reads Redis
            status.tick(force=True)
            _report(cfg, args, log)
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


def _report(cfg, args, log) -> None:
    """The identity sheet, timeline and annotated videos of what this run stored."""
    from pathlib import Path

    from starreid.app.report import write_report
    from starreid.app.verbs.gallery import gallery_redis

    out = Path(args.report) if args.report else Path(cfg.redis.data_dir).parent / "report"
    with gallery_redis(cfg.redis) as (client, keys):
        summary = write_report(cfg, client, keys, out, progress=False)
    log.info("report of %d identities written to %s", summary["identities"], out)
