"""The gallery's Lua scripts (files beside this one), run by digest with the source sent only when the server
lacks it (a new or restarted server); EVAL caches it there."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import redis


@dataclass(frozen=True)
class Script:
    name: str
    source: str = field(init=False)
    sha: str = field(init=False)

    def __post_init__(self):
        source = Path(__file__).with_name(self.name).read_text()
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "sha", hashlib.sha1(source.encode()).hexdigest())


def run_script(client: redis.Redis, script: Script, keys: list[str], args: list):
    """Every key the script touches is in keys (one hash tag: one slot, so a cluster runs it on one node).
    A refused write (maxmemory) raises redis.OutOfMemoryError, as the same write outside a script would."""
    try:
        try:
            return client.evalsha(script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return client.eval(script.source, len(keys), *keys, *args)
    except redis.ResponseError as exc:
        # Redis before 7 prefixes an error raised in a script with its location ("@user_script: 14: -OOM ..."),
        # which redis-py cannot map to its error type
        if "OOM command not allowed" in str(exc) and not isinstance(exc, redis.OutOfMemoryError):
            raise redis.OutOfMemoryError(str(exc)) from None
        raise
