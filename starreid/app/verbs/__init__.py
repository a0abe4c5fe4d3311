"""CLI verbs: each module adds one `starreid` sub-command (register) and imports heavy code only in run.

A verb loads its config with starreid.app.config.load_config and lets a ConfigError propagate: the CLI prints
it and exits with EXIT_CONFIG, the code the supervisor does not restart."""
from __future__ import annotations

EXIT_CONFIG = 2


def camera_config(cfg, path: str, camera_id: str):
    """The camera section named camera_id; a ConfigError (exit 2) if the config has no such camera."""
    from starreid.app.config import ConfigError

    try:
        return cfg.camera(camera_id)
    except KeyError as exc:
        raise ConfigError(path, [("cameras", None, exc.args[0])]) from None
