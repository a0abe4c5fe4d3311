"""Durability: kill the gallery process mid-stream, or restart Redis mid-stream; nothing lost, nothing twice.
Each test runs against one redis-server and against a Redis Cluster of 3 masters (where "Redis" is the master
holding the gallery's slot)."""
import signal
import time
from collections import Counter

import numpy as np
import pytest
from gallery_helpers import (RunningGallery, free_tcp, processed_tracklets, start_gallery_process, tracklet,
                             unit, wait_for, write_config)

from support.redis_admin import admin
from support.sections import gallery_client
from starreid.storage.connect import connect
from starreid.storage.keys import Keys

pytestmark = pytest.mark.parametrize("redis_server", ["standalone", "cluster"], indirect=True)


def _stream(client, n, rng, sent_from=0, pace=200):
    """Send tracklets sent_from..n-1, pace per poll; returns events received meanwhile."""
    events = []
    for i in range(sent_from, n):
        client.send(tracklet(f"k{i}", unit(rng), camera=f"cam{i % 3}", t=float(i)))
        if i % pace == 0:
            events.extend(client.poll(0))
    return events


def _finish(client, expected: int, timeout_s: float = 90.0):
    confirmed = set()

    def done():
        confirmed.update(e.tracklet_id for e in client.poll(100))
        return client.unconfirmed == 0
    wait_for(done, timeout_s)
    return confirmed


@pytest.mark.timeout(240)
def test_killed_gallery_loses_nothing_and_repeats_nothing(redis_server, tmp_path):
    cfg = write_config(tmp_path / "gallery.yaml", redis_server, free_tcp(), free_tcp())
    import yaml
    zmq_cfg = yaml.safe_load(open(cfg))["zmq"]
    proc = start_gallery_process(cfg, tmp_path / "gallery.log")
    client = gallery_client(zmq_cfg["tracklets"], zmq_cfg["events"], resend_after_s=3.0)
    r, keys, n = admin(redis_server), Keys("test"), 3000
    rng = np.random.default_rng(0)
    try:
        wait_for(lambda: r.exists(keys.alive), timeout_s=60)
        half = n // 2
        _stream(client, half, rng)
        wait_for(lambda: r.xlen(keys.events) >= half // 3, timeout_s=60)  # mid-stream
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        done_at_kill = r.xlen(keys.events)
        pending_at_kill = r.xpending(keys.log, "gallery")["pending"]
        assert 0 < done_at_kill < n
        _stream(client, n, rng, sent_from=half)  # keeps sending while the gallery is down
        proc = start_gallery_process(cfg, tmp_path / "gallery.log")
        _finish(client, n)
        tids = processed_tracklets(r, keys)
        repeats = [t for t, c in Counter(tids).items() if c > 1]
        assert repeats == [], f"processed twice: {repeats[:5]}"
        assert sorted(tids) == sorted(f"k{i}" for i in range(n)), "tracklets lost"
        wait_for(lambda: r.xpending(keys.log, "gallery")["pending"] == 0, timeout_s=30)  # late resends too
        sightings = sum(r.zcard(keys.sightings(i.decode())) for i in r.zrange(keys.identities, 0, -1))
        assert sightings == n
        print(f"processed {done_at_kill} before the kill ({pending_at_kill} delivered, unacknowledged), {n} in all;"
              f" resent {client.resent}")
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, open(tmp_path / "gallery.log").read()[-3000:]


@pytest.mark.timeout(240)
def test_camera_worker_sender_survives_a_killed_gallery(redis_server, tmp_path):
    """The worker's own sender (bounded, resending until confirmed) across a gallery SIGKILL and restart."""
    import threading

    from support.sections import sender as sender_of

    cfg = write_config(tmp_path / "gallery.yaml", redis_server, free_tcp(), free_tcp())
    import yaml
    zmq_cfg = yaml.safe_load(open(cfg))["zmq"]
    proc = start_gallery_process(cfg, tmp_path / "gallery.log")
    r, keys, n = admin(redis_server), Keys("test"), 2000
    rng = np.random.default_rng(5)
    sender = sender_of(zmq_cfg["tracklets"], zmq_cfg["events"], tmp_path / "spool", max_unconfirmed=300,
                       resend_after_s=2.0)
    producer = threading.Thread(target=lambda: [sender.put(tracklet(f"w{i}", unit(rng), camera="cam1", t=float(i)))
                                                for i in range(n)], daemon=True)
    try:
        wait_for(lambda: r.exists(keys.alive), timeout_s=60)
        producer.start()
        wait_for(lambda: r.xlen(keys.events) >= 300, timeout_s=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        done_at_kill = r.xlen(keys.events)
        assert done_at_kill < n
        time.sleep(1.5)
        assert sender.unconfirmed <= 300  # bounded while the gallery is away (back-pressure: tests/tracker/test_sender.py)
        proc = start_gallery_process(cfg, tmp_path / "gallery.log")
        producer.join(120)
        sender.close(90)
        tids = processed_tracklets(r, keys)
        assert sorted(tids) == sorted(f"w{i}" for i in range(n)), "tracklets lost or processed twice"
        assert sender.confirmed == n and sender.lost == 0 and sender.kept == 0 and sender.resent > 0
        print(f"processed {done_at_kill} before the kill; {n} in all; resent {sender.resent}")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, open(tmp_path / "gallery.log").read()[-3000:]


@pytest.mark.timeout(180)
def test_redis_restart_mid_stream_loses_nothing(redis_server):
    gallery = RunningGallery(redis_server)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint, resend_after_s=3.0)
    keys, n = gallery.keys, 2000
    rng = np.random.default_rng(1)
    try:
        _stream(client, n // 2, rng)
        wait_for(lambda: admin(redis_server).xlen(keys.events) >= n // 8, timeout_s=60)
        redis_server.kill()  # a crash, not a clean shutdown
        _stream(client, 3 * n // 4, rng, sent_from=n // 2)
        time.sleep(1.0)
        redis_server.start()
        _stream(client, n, rng, sent_from=3 * n // 4)
        _finish(client, n)
        r = admin(redis_server)
        tids = processed_tracklets(r, keys)
        assert len(tids) == len(set(tids)) == n
        # resends that arrived late are log entries too: they are acknowledged as duplicates shortly
        wait_for(lambda: r.xpending(keys.log, "gallery")["pending"] == 0, timeout_s=30)
        assert processed_tracklets(r, keys) == tids
    finally:
        client.close()
        gallery.stop()


def test_entries_delivered_before_a_crash_are_replayed_once(redis_server):
    """Entries read by a resolver that died before committing stay pending; the next gallery resolves them."""
    from starreid.contracts import wire
    from starreid.storage import log as durable
    from starreid.storage.keys import CONSUMER, GROUP

    r, keys = admin(redis_server), Keys("test")
    durable.ensure_group(r, keys)
    rng = np.random.default_rng(2)
    durable.append(r, keys, [(f"p{i}", wire.encode(tracklet(f"p{i}", unit(rng))), None) for i in range(300)])
    durable.append(r, keys, [("p7", wire.encode(tracklet("p7", unit(rng))), None)])  # a sender's retry
    r.xreadgroup(GROUP, CONSUMER, {keys.log: ">"}, count=120)  # delivered, never acknowledged
    assert r.xpending(keys.log, GROUP)["pending"] == 120
    gallery = RunningGallery(redis_server)
    try:
        wait_for(lambda: r.xlen(keys.events) >= 300 and r.xpending(keys.log, GROUP)["pending"] == 0)
        time.sleep(0.3)
        tids = processed_tracklets(r, keys)
        assert sorted(tids) == sorted(f"p{i}" for i in range(300))
    finally:
        gallery.stop()
