"""The durable tracklet log: a Redis Stream read through a consumer group (acknowledged on commit)."""
from __future__ import annotations

import redis

from starreid.storage.keys import CONSUMER, GROUP, Keys
from starreid.storage.scripts import Script, run_script

_APPEND = Script("append.lua")


def ensure_group(client: redis.Redis, keys: Keys) -> None:
    """Create the stream and its group (reading from the start) unless they exist."""
    try:
        client.xgroup_create(keys.log, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def append(client: redis.Redis, keys: Keys, items: list[tuple[str, bytes, bytes | None]]) -> list[bytes]:
    """XADD each (tracklet id, wire bytes, thumbnail JPEG or None) in one round trip (append.lua, atomic);
    returns the entry ids."""
    if not items:
        return []
    args = [x for tid, raw, thumb in items for x in (tid, raw, thumb or b"")]
    return run_script(client, _APPEND, [keys.log], args)


def read(client: redis.Redis, keys: Keys, count: int, pending: bool, block_ms: int | None = None):
    """Entries [(id, fields)]: pending=True re-reads those delivered but never acknowledged (after a crash)."""
    try:
        reply = client.xreadgroup(GROUP, CONSUMER, {keys.log: "0" if pending else ">"}, count=count,
                                  block=None if pending else block_ms)
    except redis.ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        ensure_group(client, keys)  # the server lost its data (no append-only file): start over
        return []
    return reply[0][1] if reply else []


def pending_count(client: redis.Redis, keys: Keys) -> int:
    try:
        return int(client.xpending(keys.log, GROUP)["pending"])
    except redis.ResponseError:
        return 0


def entry_time(entry_id: bytes | str) -> float:
    """Wall-clock seconds at which Redis appended the entry (the ms part of its id)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0]) / 1000.0


def trim_before(client: redis.Redis, stream: str, before_s: float) -> int:
    """Drop entries older than before_s (callers only pass times of entries already acknowledged)."""
    return client.xtrim(stream, minid=f"{int(before_s * 1000)}-0", approximate=False)
