"""Erasure: remove identities and every trace of them (hashes, sightings, tracklet markers, log and event
stream entries). Used by `starreid forget` and by retention."""
from __future__ import annotations

import json

import redis

from starreid.storage.connect import node_of
from starreid.storage.keys import Keys


def _scan_stream(client: redis.Redis, stream: str, field: bytes, values: set[bytes], chunk: int = 2000) -> int:
    """XDEL every entry whose field holds one of values; returns how many were deleted."""
    deleted, start = 0, "-"
    while True:
        entries = client.xrange(stream, min=start, max="+", count=chunk)
        doomed = [eid for eid, fields in entries if fields.get(field) in values]
        if doomed:
            deleted += client.xdel(stream, *doomed)
        if len(entries) < chunk:
            return deleted
        last = entries[-1][0].decode()
        ms, seq = last.split("-")
        start = f"{ms}-{int(seq) + 1}"


def erase_identities(client: redis.Redis, keys: Keys, iids: list[str]) -> dict[str, int]:
    """Delete the identities and all they left behind; returns counts of what was removed."""
    if not iids:
        return {"identities": 0, "tracklets": 0, "log_entries": 0, "events": 0}
    pipe = client.pipeline(transaction=False)
    for iid in iids:
        pipe.zrange(keys.sightings(iid), 0, -1)
    tids = {json.loads(m)["tid"] for members in pipe.execute() for m in members}
    pipe = client.pipeline(transaction=True)
    for iid in iids:
        pipe.delete(keys.identity(iid), keys.sightings(iid))
        pipe.zrem(keys.identities, iid)
    for tid in tids:
        pipe.delete(keys.tracklet(tid))
    replies = pipe.execute()
    removed = sum(1 for r in replies[1: 2 * len(iids): 2] if r)
    events = _scan_stream(client, keys.events, b"iid", {i.encode() for i in iids})
    log_entries = _scan_stream(client, keys.log, b"tid", {t.encode() for t in tids})
    return {"identities": removed, "tracklets": len(tids), "log_entries": log_entries, "events": events}


def compact_on_disk(client: redis.Redis, keys: Keys) -> None:
    """Rewrite the append-only file so erased data leaves the disk too (best effort; on a cluster, of the node
    holding the gallery's slot)."""
    try:
        client.bgrewriteaof(**node_of(client, keys.log))
    except redis.ResponseError:
        pass  # a rewrite is already in progress; the next one drops the erased data
