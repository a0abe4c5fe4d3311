"""`starreid run`: the whole one-machine deployment: the gallery (with its embedded Redis unless an external
one is configured) and one worker per camera, supervised."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run", help="run the gallery and a worker per camera on this machine, supervised",
        description="Run the gallery and one worker per camera as child processes; restart failed ones with "
                    "backoff; stop all cleanly on SIGTERM or Ctrl-C.")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.add_argument("--camera", action="append", metavar="ID",
                        help="run only this camera's worker (repeatable; default: every camera)")
    parser.add_argument("--until-done", action="store_true",
                        help="stop once every worker has finished its source (file sources), after the gallery "
                             "has drained")
    parser.add_argument("--grace", type=float, default=20.0, metavar="S",
                        help="seconds a child gets to flush after SIGTERM before it is killed (default 20)")
    parser.set_defaults(func=run)


def children_for(config_path: str, camera_ids: list[str], log_args: list[str]):
    from starreid.app.supervise import Child

    base = [sys.executable, "-m", "starreid", *log_args]
    children = [Child("gallery", [*base, "gallery", "--config", config_path])]
    children += [Child(f"worker:{cam}", [*base, "worker", "--config", config_path, "--camera", cam])
                 for cam in camera_ids]
    return children


def run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import time

    from starreid.app.config import load_config
    from starreid.app.supervise import Supervisor
    from starreid.app.verbs import camera_config

    log = logging.getLogger("starreid.run")
    cfg = load_config(args.config)
    camera_ids = [camera_config(cfg, args.config, c).id for c in args.camera or [c.id for c in cfg.cameras]]
    log_args = ["--log-level", args.log_level] + (["--log-json"] if args.log_json else [])
    supervisor = Supervisor(children_for(args.config, camera_ids, log_args), grace_s=args.grace)
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    supervisor.start()
    workers = {f"worker:{cam}" for cam in camera_ids}
    try:
        while not stop:
            supervisor.poll()
            if args.until_done and not supervisor.running(workers):
                log.info("every worker has finished its source; draining the gallery")
                break
            if not supervisor.running():
                break
            time.sleep(0.2)
    finally:
        supervisor.stop()
    failed = [c.name for c in supervisor.children if c.exit_codes and c.exit_codes[-1] not in (0, -signal.SIGTERM)]
    if failed:
        log.error("finished with failures: %s", ", ".join(failed))
    return 1 if failed else 0
