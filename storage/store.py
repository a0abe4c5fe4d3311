"""The gallery's state in Redis: commit resolved tracklets atomically with their acknowledgement, read
markers of processed tracklets, and load everything back at start."""
from __future__ import annotations

import json

import msgpack
import numpy as np
import redis

from starreid.contracts import wire
from starreid.storage.connect import is_cluster
from starreid.storage.keys import GROUP, Keys
from starreid.storage.resolver import Decision, Identity, Observation
from starreid.storage.scripts import Script, run_script

_COMMIT = Script("commit.lua")


def event_for(decision: Decision, obs: Observation) -> wire.IdentityEvent:
    return wire.IdentityEvent(identity_id=decision.iid, tracklet_id=obs.tid, kind=decision.kind,
                              score=float(decision.score), camera=obs.camera, modality=obs.modality,
                              time=float(obs.end))


# The sighting and the marker as JSON, written out rather than through json.dumps (15 of the 108 us a tracklet
# the commit took under a profiler, on the gallery's busiest thread) and equal to what it writes
# (tests/storage/test_commit_scripts.py): their strings are wire names, hex ids or fixed words, none with a
# character JSON escapes, and their numbers finite floats, which both write with repr.
def sighting_json(obs: Observation, dec: Decision) -> str:
    """json.dumps(sighting, sort_keys=True)."""
    return ('{"camera": "%s", "end": %r, "kind": "%s", "modality": "%s", "score": %r, "start": %r, "tid": "%s"}'
            % (obs.camera, float(obs.end), dec.kind, obs.modality, round(float(dec.score), 6), float(obs.start),
               obs.tid))


def marker_json(event: wire.IdentityEvent) -> str:
    """json.dumps(event.__dict__)."""
    return ('{"identity_id": "%s", "tracklet_id": "%s", "kind": "%s", "score": %r, "camera": "%s", "modality": '
            '"%s", "time": %r}' % (event.identity_id, event.tracklet_id, event.kind, event.score, event.camera,
                                   event.modality, event.time))


def commit(client: redis.Redis, keys: Keys, done: list[tuple[bytes, Observation, Decision, Identity]],
           acks: list[bytes], now: float, dedupe_ttl_s: float) -> list[bytes]:
    """One atomic script (commit.lua): every resolution's writes, its event, and the XACK of its log entry (plus
    acks of entries with nothing to write); all of it or, if Redis refuses (raised here), none of it. Returns
    the encoded events, to publish once committed."""
    events, markers, marker_keys, rows = [], [], [], []
    acks = list(acks)
    touched: dict[str, Identity] = {}
    exemplars: dict[str, dict] = {}
    sightings: dict[str, dict] = {}
    for entry_id, obs, dec, ident in done:
        touched[dec.iid] = ident
        modality, slot, vec, merged = dec.exemplar
        exemplars.setdefault(dec.iid, {}).update({
            f"x:{modality}:{slot}": np.ascontiguousarray(vec, "<f4").tobytes(), f"n:{modality}:{slot}": str(merged)})
        sightings.setdefault(dec.iid, {})[sighting_json(obs, dec)] = repr(float(obs.end))
        event = event_for(dec, obs)
        marker_keys.append(keys.tracklet(obs.tid))
        markers.append(marker_json(event))
        data = wire.encode(event)
        rows.append((dec.iid, obs.tid, data))
        events.append(data)
        acks.append(entry_id)
    hashes, members, stamp = [], [], repr(float(now))
    for iid, ident in touched.items():
        fields = ["model", ident.model, "created", repr(ident.created), "last_seen", repr(ident.last_seen),
                  "sightings", str(ident.sightings)]
        for cam, span in ident.cams.items():
            fields += [f"cam:{cam}", "%r %r" % span]
        for field, value in exemplars[iid].items():
            fields += [field, value]
        hashes.append(fields)
        members.append([x for member, end in sightings[iid].items() for x in (end, member)])
    if not touched and not acks:
        return events
    doc = msgpack.packb([str(int(dedupe_ttl_s)), GROUP, markers, rows, hashes, members,
                         [x for iid in touched for x in (stamp, iid)], acks], use_bin_type=False)
    script_keys = [keys.log, keys.events, keys.identities, *marker_keys, *map(keys.identity, touched),
                   *map(keys.sightings, touched)]
    run_script(client, _COMMIT, script_keys, [doc])
    return events


def markers(client: redis.Redis, keys: Keys, tids: list[str]) -> dict[str, wire.IdentityEvent]:
    """Events of tracklets already processed (their ids are how retries and replays are recognised)."""
    if not tids:
        return {}
    found = client.mget([keys.tracklet(t) for t in tids])
    return {tid: wire.IdentityEvent(**json.loads(v)) for tid, v in zip(tids, found) if v is not None}


def parse_identity(iid: str, fields: dict[bytes, bytes]) -> Identity:
    f = {k.decode(): v for k, v in fields.items()}
    cams = {k[4:]: tuple(float(x) for x in v.split()) for k, v in f.items() if k.startswith("cam:")}
    return Identity(iid=iid, model=f["model"].decode(), created=float(f["created"]),
                    last_seen=float(f["last_seen"]), sightings=int(f["sightings"]), cams=cams)


def parse_exemplars(fields: dict[bytes, bytes]) -> dict[tuple[str, int], tuple[np.ndarray, int]]:
    """The x:<modality>:<slot> fields of an identity hash -> (vector, merged)."""
    out = {}
    for key, value in fields.items():
        if not key.startswith(b"x:"):
            continue
        _, modality, slot = key.decode().split(":")
        merged = int(fields.get(f"n:{modality}:{slot}".encode(), b"1"))
        out[(modality, int(slot))] = (np.frombuffer(value, "<f4").copy(), merged)
    return out


def load_all(client: redis.Redis, keys: Keys, chunk: int = 500):
    """Every identity with its exemplars, read in pipelined chunks."""
    identities, vectors = [], []
    ids = [i.decode() for i in client.zrange(keys.identities, 0, -1)]
    for at in range(0, len(ids), chunk):
        part = ids[at: at + chunk]
        pipe = client.pipeline(transaction=False)
        for iid in part:
            pipe.hgetall(keys.identity(iid))
        for iid, fields in zip(part, pipe.execute()):
            exemplars = parse_exemplars(fields) if fields else {}
            if exemplars:
                identities.append(parse_identity(iid, fields))
                vectors.append(exemplars)
    return identities, vectors


def migrate_untagged(client: redis.Redis, keys: Keys) -> int:
    """Rename the keys of the layout before hash tags (`prefix:log`, ...) to their tagged names
    (`{prefix}:log`, ...), the log last, so an interrupted migration resumes at the next start. Returns how
    many keys moved. One server only: a cluster never held the old layout (its commits span slots)."""
    old_log = f"{keys.prefix}:log"
    if is_cluster(client) or not client.exists(old_log):
        return 0
    moved = 0
    for key in list(client.scan_iter(match=f"{keys.prefix}:*", count=1000)):
        name = key.decode()
        if name == old_log:
            continue
        if name == f"{keys.prefix}:gallery:alive":  # a heartbeat of the old gallery: not state
            client.delete(name)
            continue
        client.rename(name, keys.tag + name[len(keys.prefix):])
        moved += 1
    client.rename(old_log, keys.log)
    return moved + 1
