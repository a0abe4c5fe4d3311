"""CLI verbs: each module adds one `starreid` sub-command (register) and imports heavy code only in run."""
from __future__ import annotations

import sys


def load_config_or_report(path: str, kind: str | None = None):
    """The validated config, or None after printing the ConfigError (the verb then exits with 1)."""
    from starreid.app.config import ConfigError, load_config

    try:
        return load_config(path, kind=kind)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None
