"""The gallery on Redis beyond one server: a Redis Cluster of 3 masters (every key of a gallery in one slot, so
its MULTI/EXEC commits are legal there), and a primary with a replica behind Redis Sentinel, followed through
a failover. The crash and restart tests (test_gallery_crash.py) also run on the cluster."""
from __future__ import annotations

import time

import numpy as np
import pytest
import redis
from gallery_helpers import RunningGallery, processed_tracklets, tracklet, unit, wait_for, write_config

from starreid.app.config import ConfigError, load_config
from starreid.storage import store
from starreid.storage.keys import Keys
from support.redis_admin import admin
from support.redis_cluster import NO_REDIS_CLI, REDIS_CLI, LocalSentinel
from support.sections import gallery_client


def test_every_key_of_a_gallery_shares_one_hash_slot():
    from redis.crc import key_slot

    keys = Keys("site-a")
    names = [keys.log, keys.events, keys.identities, keys.control, keys.alive, keys.identity("i1"),
             keys.sightings("i1"), keys.tracklet("cam:s:1:0"), keys.erased("r")]
    assert all(n.startswith("{site-a}:") for n in names)
    assert len({key_slot(n.encode()) for n in names}) == 1
    assert key_slot(Keys("site-b").log.encode()) != key_slot(keys.log.encode())  # galleries spread over a cluster


def test_keys_of_the_untagged_layout_are_renamed_once(redis_server):
    """A gallery upgraded from the layout before hash tags finds its state: `test:*` keys become `{test}:*`."""
    r, keys = admin(redis_server), Keys("test")
    r.xadd("test:log", {"tid": "a", "msg": b"x"})
    r.hset("test:identity:i1", mapping={"model": "m"})
    r.set("test:tracklet:cam:s:1:0", "{}", ex=100)
    r.set("test:gallery:alive", "1")
    r.set("other:log", "untouched")
    assert store.migrate_untagged(r, keys) == 3
    assert sorted(k.decode() for k in r.keys("*")) == sorted(
        ["{test}:log", "{test}:identity:i1", "{test}:tracklet:cam:s:1:0", "other:log"])
    assert 0 < r.ttl("{test}:tracklet:cam:s:1:0") <= 100
    assert store.migrate_untagged(r, keys) == 0


def test_redis_mode_settings_are_checked(tmp_path):
    from support.deployment import write_deployment

    for redis_section, needle in (({"mode": "cluster"}, "needs url"),
                                  ({"mode": "sentinel", "sentinels": ["a:1"]}, "sentinel_service"),
                                  ({"mode": "sentinel", "sentinels": ["a:1"], "sentinel_service": "s",
                                    "url": "redis://x:1/0"}, "leave url unset"),
                                  ({"mode": "sentinel", "sentinels": ["nowhere"], "sentinel_service": "s"},
                                   "redis.sentinels[0]"),
                                  ({"cluster_nodes": ["a:1"]}, "for mode cluster")):
        path = write_deployment(tmp_path / "c.yaml", redis=redis_section)
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert needle in str(err.value), str(err.value)
    ok = load_config(write_deployment(tmp_path / "ok.yaml", redis={
        "mode": "sentinel", "sentinels": ["10.0.0.1:26379", "[::1]:26379"], "sentinel_service": "starreid"}))
    assert not ok.redis.embedded


@pytest.mark.parametrize("redis_server", ["cluster"], indirect=True)
def test_gallery_process_on_a_cluster(redis_server, tmp_path):
    """`starreid gallery` with redis.mode cluster: tracklets resolved, state on the one node of the slot."""
    from gallery_helpers import free_tcp, start_gallery_process

    tracklets, events = free_tcp(), free_tcp()
    cfg = write_config(tmp_path / "gallery.yaml", redis_server, tracklets, events)
    proc = start_gallery_process(cfg, tmp_path / "gallery.log")
    client = gallery_client(tracklets, events, resend_after_s=2.0)
    r, keys = admin(redis_server), Keys("test")
    rng = np.random.default_rng(3)
    try:
        for i in range(300):
            client.send(tracklet(f"c{i}", unit(rng), camera=f"cam{i % 2}", t=float(i)))
        wait_for(lambda: (client.poll(100), client.unconfirmed == 0)[1], 60)
        assert sorted(processed_tracklets(r, keys)) == sorted(f"c{i}" for i in range(300))
        node = redis_server.node_of(keys.log)
        on_node = redis.Redis(host="127.0.0.1", port=node.port).keys("*")
        assert on_node and all(k.startswith(b"{test}:") for k in on_node)
        others = [n for n in redis_server.nodes if n is not node]
        assert all(redis.Redis(host="127.0.0.1", port=n.port).dbsize() == 0 for n in others)
    finally:
        client.close()
        proc.terminate()
        assert proc.wait(60) == 0, (tmp_path / "gallery.log").read_text()[-3000:]


@pytest.fixture
def sentinel_setup(tmp_path):
    if REDIS_CLI is None:  # the same Debian package also marks a machine set up for these topologies
        pytest.skip(NO_REDIS_CLI)
    setup = LocalSentinel(tmp_path / "sentinel")
    setup.start()
    try:
        yield setup
    finally:
        setup.stop()


@pytest.mark.timeout(180)
def test_gallery_follows_a_sentinel_failover(sentinel_setup):
    """redis.mode sentinel: the gallery writes to the primary the sentinel names; the primary is killed, the
    sentinel promotes the replica, and the gallery carries on there. What the primary had acknowledged and the
    replica had received (WAIT) survives; the worker's resends cover the rest."""
    gallery = RunningGallery(sentinel_setup)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint, resend_after_s=2.0)
    keys, rng = gallery.keys, np.random.default_rng(4)
    try:
        first = sentinel_setup.primary_address()
        for i in range(200):
            client.send(tracklet(f"before{i}", unit(rng), t=float(i)))
        wait_for(lambda: (client.poll(100), client.unconfirmed == 0)[1], 60)
        assert sentinel_setup.client().execute_command("WAIT", 1, 5000) == 1  # the replica has it all
        sentinel_setup.kill()
        started = time.monotonic()
        for i in range(200):
            client.send(tracklet(f"after{i}", unit(rng), t=1000.0 + i))
        wait_for(lambda: (client.poll(100), client.unconfirmed == 0)[1], 90)
        took = time.monotonic() - started
        assert sentinel_setup.primary_address() != first
        tids = processed_tracklets(admin(sentinel_setup.url), keys)
        assert sorted(tids) == sorted([f"before{i}" for i in range(200)] + [f"after{i}" for i in range(200)])
        print(f"failover: the gallery resolved on the promoted replica {took:.1f} s after the primary was killed")
    finally:
        client.close()
        gallery.stop()
