"""Read-only views of the gallery in Redis: identities, their sightings, their nearest neighbours; and the
erasure request that `starreid forget` sends to a running gallery."""
from __future__ import annotations

import json
import time
import uuid

import numpy as np
import redis

from starreid.storage import store
from starreid.storage.erase import compact_on_disk, erase_identities
from starreid.storage.keys import Keys


def list_identities(client: redis.Redis, keys: Keys, limit: int = 50) -> list[dict]:
    """Most recently seen first."""
    rows = client.zrevrange(keys.identities, 0, limit - 1, withscores=True)
    pipe = client.pipeline(transaction=False)
    for iid, _ in rows:
        pipe.hgetall(keys.identity(iid.decode()))
    out = []
    for (iid, seen), fields in zip(rows, pipe.execute()):
        if fields:
            ident = store.parse_identity(iid.decode(), fields)
            out.append({"id": ident.iid, "model": ident.model, "created": ident.created, "last_seen": seen,
                        "sightings": ident.sightings, "cameras": sorted(ident.cams)})
    return out


def sightings(client: redis.Redis, keys: Keys, iid: str, limit: int = 100) -> list[dict]:
    """Latest first: tracklet, camera, modality, start, end, kind, score."""
    return [json.loads(m) for m in client.zrevrange(keys.sightings(iid), 0, limit - 1)]


def neighbours(client: redis.Redis, keys: Keys, iid: str, k: int = 5) -> list[dict]:
    """Identities of the same model whose exemplars are closest to this identity's (exact, all of Redis)."""
    meta = client.hgetall(keys.identity(iid))
    if not meta:
        return []
    model = store.parse_identity(iid, meta).model
    own = np.stack([v for v, _ in store.parse_exemplars(meta).values()])
    identities, vectors = store.load_all(client, keys)
    best = []
    for ident, vecs in zip(identities, vectors):
        if ident.iid == iid or ident.model != model or not vecs:
            continue
        other = np.stack([v for v, _ in vecs.values()])
        if other.shape[1] == own.shape[1]:
            best.append((float((own @ other.T).max()), ident.iid))
    best.sort(reverse=True)
    return [{"id": i, "score": round(s, 4)} for s, i in best[:k]]


def forget(client: redis.Redis, keys: Keys, iid: str, wait_s: float = 10.0) -> dict:
    """Erase an identity. A running gallery does it (it is the only writer and also drops it from its
    index); with none running, or if it does not answer in wait_s, it is erased here."""
    req = uuid.uuid4().hex
    if client.exists(keys.alive):
        eid = client.xadd(keys.control, {"op": "forget", "iid": iid, "req": req})
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if client.get(keys.erased(req)):
                client.delete(keys.erased(req))
                return {"by": "gallery"}
            time.sleep(0.05)
        client.xdel(keys.control, eid)  # the request names the identity: leave no copy of it
    counts = erase_identities(client, keys, [iid])
    compact_on_disk(client, keys)
    return {"by": "forget", **counts}
