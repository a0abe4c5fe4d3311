"""The gallery end to end in one process: real ZeroMQ, real redis-server."""
import json

import numpy as np
import pytest
import zmq

from support.redis_admin import admin
from starreid.contracts import wire
from support.sections import gallery_client
from starreid.storage.connect import connect
from gallery_helpers import RunningGallery, metric, processed_tracklets, tracklet, unit, wait_for

pytestmark = pytest.mark.timeout(60)


def test_tracklets_become_identities_and_events(redis_server):
    gallery = RunningGallery(redis_server.url)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    r = admin(redis_server.url)
    try:
        rng = np.random.default_rng(0)
        a, b = unit(rng), unit(rng)
        near_a = a + 0.05 * unit(rng)
        near_a /= np.linalg.norm(near_a)
        client.send(tracklet("t1", a, camera="cam0", t=0))
        client.send(tracklet("t2", b, camera="cam1", t=10))
        client.send(tracklet("t3", near_a, camera="cam1", modality="ir", t=100))
        events = []
        wait_for(lambda: events.extend(client.poll(50)) or len(events) >= 3)
        by_tid = {e.tracklet_id: e for e in events}
        assert by_tid["t1"].kind == "new" and by_tid["t2"].kind == "new"
        assert by_tid["t3"].kind == "matched" and by_tid["t3"].identity_id == by_tid["t1"].identity_id
        assert by_tid["t3"].score > 0.9 and by_tid["t3"].modality == "ir"
        assert by_tid["t1"].identity_id != by_tid["t2"].identity_id
        keys = gallery.keys
        assert sorted(processed_tracklets(r, keys)) == ["t1", "t2", "t3"]
        seen = [json.loads(m) for m in r.zrange(keys.sightings(by_tid["t1"].identity_id), 0, -1)]
        assert [(s["tid"], s["camera"], s["modality"]) for s in seen] == [("t1", "cam0", "rgb"), ("t3", "cam1", "ir")]
        assert r.xpending(keys.log, "gallery")["pending"] == 0
        assert client.unconfirmed == 0
    finally:
        client.close()
        gallery.stop()


def test_resent_tracklet_is_processed_once_and_answered_again(redis_server):
    gallery = RunningGallery(redis_server.url)
    ctx = zmq.Context.instance()
    push = ctx.socket(zmq.PUSH)
    push.connect(gallery.service.tracklets_endpoint)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(gallery.service.events_endpoint)
    r = admin(redis_server.url)
    try:
        data = wire.encode(tracklet("dup-1", unit(np.random.default_rng(1))))
        before = metric("starreid_gallery_tracklets_processed_total", outcome="duplicate")
        wait_for(lambda: push.send(data) or sub.poll(200))  # resend until the subscription is live
        for _ in range(3):
            push.send(data)
        wait_for(lambda: metric("starreid_gallery_tracklets_processed_total", outcome="duplicate") >= before + 3)
        assert processed_tracklets(r, gallery.keys) == ["dup-1"]
        first = wire.decode(sub.recv())
        replayed = wire.decode(sub.recv(zmq.NOBLOCK) if sub.poll(2000) else b"")
        assert replayed == first  # the stored event, not a new resolution
        assert r.zcard(gallery.keys.identities) == 1
    finally:
        push.close(0)
        sub.close(0)
        gallery.stop()


def test_transit_rule_splits_impossible_sightings(redis_server):
    gallery = RunningGallery(redis_server.url, min_transit_s=30.0)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    try:
        v = unit(np.random.default_rng(2))
        client.send(tracklet("a", v, camera="cam0", t=1000.0))
        client.send(tracklet("b", v, camera="cam1", t=1005.0))  # 5 s later at another camera: not the same person
        client.send(tracklet("c", v, camera="cam1", t=1100.0))  # 100 s later: allowed
        events = []
        wait_for(lambda: events.extend(client.poll(50)) or len(events) >= 3)
        ev = {e.tracklet_id: e for e in events}
        assert ev["b"].kind == "new" and ev["b"].identity_id != ev["a"].identity_id
        assert ev["c"].kind == "matched"
    finally:
        client.close()
        gallery.stop()
