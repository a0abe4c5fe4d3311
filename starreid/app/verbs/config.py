"""`starreid config check|show`: validate config files, or print one with every default filled in."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("config", help="validate or show config files",
                                   description="Validate config files, or print one with every default filled in.")
    verbs = parser.add_subparsers(dest="config_verb", metavar="ACTION", required=True)
    check = verbs.add_parser("check", help="validate config files; exit 1 naming the file and key of each problem",
                             description="Validate config files against their schema (selected by their `kind` key).")
    check.add_argument("files", nargs="+", metavar="FILE", help="YAML config files")
    check.set_defaults(func=run_check)
    show = verbs.add_parser("show", help="print a config with defaults filled in, as YAML",
                            description="Validate one config file and print it with every default filled in.")
    show.add_argument("file", metavar="FILE", help="YAML config file")
    show.set_defaults(func=run_show)


def run_check(args: argparse.Namespace) -> int:
    from starreid.app.config import ConfigError, load_config

    from starreid.app.config.resources import file_problems, require

    failed = 0
    for path in args.files:
        try:
            cfg = load_config(path)
            require(path, file_problems(cfg))
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            failed += 1
        else:
            print(f"ok: {path} ({cfg.kind})")
    from starreid.app.verbs import EXIT_CONFIG

    return EXIT_CONFIG if failed else 0


def run_show(args: argparse.Namespace) -> int:
    import yaml

    from starreid.app.config import load_config

    cfg = load_config(args.file)
    print(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), end="")
    return 0
