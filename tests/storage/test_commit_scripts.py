"""The gallery's Redis scripts: what the commit writes, all or nothing under a full Redis, sent again to a server
that lost them; a repeat in the very next batch recognised; the written-out JSON equal to json.dumps."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import redis
import zmq
from gallery_helpers import RunningGallery, metric, processed_tracklets, tracklet, unit, wait_for

from starreid.contracts import wire
from starreid.storage import log as durable
from starreid.storage import store
from starreid.storage.keys import GROUP, Keys
from starreid.storage.resolver import Decision, Observation, Resolver

THRESHOLDS = {"rgb_rgb": 0.6, "ir_ir": 0.6, "rgb_ir": 0.5}


def _batch(keys: Keys, client: redis.Redis, n: int = 3):
    """n tracklets in the log (read through the group, so pending), resolved: (a function committing them, entry
    ids, decisions)."""
    durable.ensure_group(client, keys)
    rng = np.random.default_rng(0)
    msgs = [tracklet(f"t{i}", unit(rng), camera=f"cam{i % 2}", modality=("rgb", "ir")[i % 2], t=10.0 * i)
            for i in range(n)]
    durable.append(client, keys, [(m.id, wire.encode(m), b"\xff\xd8thumb" if i == 0 else None)
                                  for i, m in enumerate(msgs)])
    entries = durable.read(client, keys, 100, pending=False)
    resolver = Resolver(THRESHOLDS, calibrated={}, exemplars=4, novelty=0.9, candidates=8, min_transit_s=None,
                        exact_below=4096, pca_dim=None, nlist=None, nprobe=4, pq_bytes=None, rows_dir=None,
                        search_threads=1)
    obs = [Observation(m.id, m.camera, m.modality, m.start_ts, m.end_ts, m.embedding.vector, m.embedding.model_id)
           for m in msgs]
    decisions = resolver.resolve(obs, 100.0)
    done = [(eid, o, d, resolver.identities[d.iid]) for (eid, _), o, d in zip(entries, obs, decisions)]
    return (lambda: store.commit(client, keys, done, [], 100.0, 3600.0)), [eid for eid, _ in entries], decisions


def test_the_commit_writes_state_event_marker_and_ack_at_once(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    keys = Keys("scripts")
    batch, eids, decisions = _batch(keys, client)
    assert durable.pending_count(client, keys) == 3
    fields = client.xrange(keys.log)[0][1]
    assert fields[b"thumb"] == b"\xff\xd8thumb" and b"thumb" not in client.xrange(keys.log)[1][1]
    batch()
    assert durable.pending_count(client, keys) == 0
    assert processed_tracklets(client, keys) == ["t0", "t1", "t2"]
    for dec, tid in zip(decisions, ("t0", "t1", "t2")):
        marker = json.loads(client.get(keys.tracklet(tid)))
        assert marker["identity_id"] == dec.iid and 3590 < client.ttl(keys.tracklet(tid)) <= 3600
        ident = store.parse_identity(dec.iid, client.hgetall(keys.identity(dec.iid)))
        assert ident.sightings >= 1 and ident.model == "synthetic:test"
        assert client.zcard(keys.sightings(dec.iid)) >= 1
    assert {m.decode() for m in client.zrange(keys.identities, 0, -1)} == {d.iid for d in decisions}
    exemplars = store.parse_exemplars(client.hgetall(keys.identity(decisions[0].iid)))
    assert any(np.allclose(vec, decisions[0].exemplar[2]) for vec, _ in exemplars.values())


def test_a_full_redis_refuses_the_whole_commit_and_the_whole_append(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    keys = Keys("full")
    batch, eids, _ = _batch(keys, client)
    before = client.dbsize()
    client.config_set("maxmemory", "1")
    try:
        with pytest.raises(redis.OutOfMemoryError):
            batch()
        with pytest.raises(redis.OutOfMemoryError):
            durable.append(client, keys, [("x1", b"a", None), ("x2", b"b", None)])
    finally:
        client.config_set("maxmemory", "0")
    assert client.dbsize() == before and client.xlen(keys.log) == 3 and not client.exists(keys.events)
    assert durable.pending_count(client, keys) == 3  # nothing acknowledged: the batch is read again
    batch()  # once Redis has room, the same batch lands whole
    assert processed_tracklets(client, keys) == ["t0", "t1", "t2"] and durable.pending_count(client, keys) == 0


def test_the_scripts_are_sent_again_to_a_server_that_lost_them(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    keys = Keys("flushed")
    batch, _, _ = _batch(keys, client)
    client.script_flush()  # as after a restart of the server
    batch()
    assert processed_tracklets(client, keys) == ["t0", "t1", "t2"]


def test_a_repeat_in_the_next_batch_is_processed_once(redis_server):
    """Batches of one: the second copy of a tracklet is resolved right after the first copy's commit, and is
    recognised by the marker that commit wrote."""
    gallery = RunningGallery(redis_server.url, prefix="inflight", batch_size=1)
    push = zmq.Context.instance().socket(zmq.PUSH)  # straight onto the socket: a sender would not repeat itself
    push.connect(gallery.service.tracklets_endpoint)
    r = redis.Redis.from_url(redis_server.url)
    rng = np.random.default_rng(3)
    dups = metric("starreid_gallery_tracklets_processed_total", outcome="duplicate")
    try:
        wait_for(lambda: r.exists(gallery.keys.alive))
        for i in range(30):
            raw = wire.encode(tracklet(f"r{i}", unit(rng), t=10.0 * i))
            push.send(raw)
            push.send(raw)
        wait_for(lambda: len(processed_tracklets(r, gallery.keys)) >= 30, timeout_s=30)
        wait_for(lambda: metric("starreid_gallery_tracklets_processed_total", outcome="duplicate") - dups >= 30)
        assert sorted(processed_tracklets(r, gallery.keys)) == sorted(f"r{i}" for i in range(30))
        assert r.xpending(gallery.keys.log, GROUP)["pending"] == 0
    finally:
        push.close(0)
        gallery.stop()


NAMES = st.from_regex(r"\A[A-Za-z0-9_.:-]{1,40}\Z")
FINITE = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(tid=NAMES, camera=NAMES, modality=st.sampled_from(["rgb", "ir"]), kind=st.sampled_from(["new", "matched"]),
       start=FINITE, end=FINITE, score=st.floats(-1, 1), iid=st.from_regex(r"\A[0-9a-f]{16}\Z"))
def test_the_written_out_json_is_what_json_dumps_writes(tid, camera, modality, kind, start, end, score, iid):
    obs = Observation(tid, camera, modality, start, end, np.zeros(2, np.float32), "m")
    dec = Decision(iid, kind, score, None, ("rgb", 0, np.zeros(2, np.float32), 1))
    sighting = {"tid": tid, "camera": camera, "modality": modality, "start": start, "end": end, "kind": kind,
                "score": round(float(score), 6)}
    assert store.sighting_json(obs, dec) == json.dumps(sighting, sort_keys=True)
    event = store.event_for(dec, obs)
    assert store.marker_json(event) == json.dumps(event.__dict__)
    assert wire.IdentityEvent(**json.loads(store.marker_json(event))) == event
