"""`starreid <verb>`: one console script; each verb lives in its own module and is imported on use."""
from __future__ import annotations

import argparse
import importlib
import sys

from starreid import __version__

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Verbs whose process loads no noisy native library or that must keep its stderr as it is: `run` (its children
# filter their own), `redis` (redis-server logs to a file), `config`.
NO_STDERR_FILTER = {"run", "redis", "config"}
# Verbs that serve a metrics port, which carries starreid_build_info{version} (not imported for the others: the
# registry costs ~0.1 s to load).
METRICS_VERBS = {"run", "worker", "gallery"}

# Verb modules expose register(subparsers); they import only the standard library at top level so that
# `starreid --help` stays fast (heavy imports happen inside their run function).
VERB_MODULES = [
    "starreid.app.verbs.config",
    "starreid.app.verbs.run",
    "starreid.app.verbs.train",
    "starreid.app.verbs.ablate",
    "starreid.app.verbs.heads",
    "starreid.app.verbs.worker",
    "starreid.app.verbs.annotate",
    "starreid.app.verbs.gallery",
    "starreid.app.verbs.redis",
    "starreid.app.verbs.keys",
    "starreid.app.verbs.forget",
    "starreid.app.verbs.query",
    "starreid.app.verbs.report",
    "starreid.app.verbs.calibrate",
    "starreid.app.verbs.export",
    "starreid.app.verbs.weights",
    "starreid.app.verbs.synth",
    "starreid.app.verbs.skeletons",
    "starreid.app.verbs.eval",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="starreid",
        description="Streaming RGB-infrared person re-identification.",
    )
    parser.add_argument("--version", action="version", version=f"starreid {__version__}")
    parser.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, metavar="LEVEL",
                        help="logging level: DEBUG, INFO (default), WARNING, ERROR; below DEBUG, libraries' own "
                             "INFO and warning chatter (faiss, MediaPipe, TF Lite, onnxruntime) is left out")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines instead of human-readable text")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from starreid.app.config import ConfigError
    from starreid.app.verbs import EXIT_CONFIG
    from starreid.contracts.logs import filter_native_stderr, quiet_libraries, setup_logging

    quiet_libraries(args.log_level)
    if argv is None and args.log_level != "DEBUG" and args.verb not in NO_STDERR_FILTER:
        filter_native_stderr()  # only as the process's own command: never under a caller's (a test's) stderr
    setup_logging(args.log_level, json_lines=args.log_json)
    if args.verb in METRICS_VERBS:
        from starreid.contracts import metrics

        metrics.set_build_info(__version__)
    try:
        return int(func(args) or 0)
    except ConfigError as exc:  # every verb: the message, never a traceback, and the code not to restart on
        print(exc, file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
