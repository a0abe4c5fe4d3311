"""The gallery across restarts, shutdown and configuration: state rebuilt from Redis, SIGTERM drains,
the embedded Redis default, embedding on arrival, model separation, metrics over HTTP."""
import signal
import threading
import urllib.request

import numpy as np
import pytest
import zmq
from gallery_helpers import (THRESHOLDS, RunningGallery, free_tcp, metric, processed_tracklets,
                             start_gallery_process, tracklet, unit, wait_for, write_config)

from support.redis_admin import admin
from starreid.contracts import metrics, wire
from support.sections import gallery_client
from starreid.storage.connect import connect
from starreid.storage.keys import Keys
from starreid.storage.resolver import Resolver
from starreid.storage.service import GalleryService

pytestmark = pytest.mark.timeout(90)


def _events(client, n, timeout_s=30.0):
    got = {}
    wait_for(lambda: got.update((e.tracklet_id, e) for e in client.poll(50)) or len(got) >= n, timeout_s)
    return got


def test_restart_rebuilds_identities_from_redis(redis_server):
    rng = np.random.default_rng(0)
    people = [unit(rng) for _ in range(20)]
    first = RunningGallery(redis_server.url)
    client = gallery_client(first.service.tracklets_endpoint, first.service.events_endpoint)
    for i, v in enumerate(people):
        client.send(tracklet(f"a{i}", v))
    before = _events(client, 20)
    client.close()
    first.stop()
    second = RunningGallery(redis_server.url, exact_below=10)  # and now through the approximate index
    client = gallery_client(second.service.tracklets_endpoint, second.service.events_endpoint)
    try:
        for i, v in enumerate(people):
            client.send(tracklet(f"b{i}", v, camera="cam9", t=1000.0))
        after = _events(client, 20)
        assert all(after[f"b{i}"].kind == "matched" for i in range(20))
        assert all(after[f"b{i}"].identity_id == before[f"a{i}"].identity_id for i in range(20))
        assert second.service.resolver.indexes["synthetic:test"].approximate
    finally:
        client.close()
        second.stop()


def test_models_are_never_compared(redis_server):
    gallery = RunningGallery(redis_server.url)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    try:
        v = unit(np.random.default_rng(1))
        client.send(tracklet("m1", v, model="star-r50-full:aaaa"))
        client.send(tracklet("m2", v, model="star-r50-full:bbbb"))
        client.send(tracklet("m3", unit(np.random.default_rng(2), dim=32), model="star-r50-full:aaaa"))
        got = _events(client, 2)
        assert got["m2"].kind == "new" and got["m1"].identity_id != got["m2"].identity_id
        wait_for(lambda: metric("starreid_gallery_tracklets_rejected_total", reason="dimension") >= 1)
    finally:
        client.close()
        gallery.stop()


def test_tracklets_without_embedding_use_the_embedder_or_are_rejected(redis_server):
    calls = []

    def embed(t: wire.Tracklet) -> wire.Embedding:
        calls.append(t.id)
        return wire.Embedding(unit(np.random.default_rng(len(calls))), "embedder:test")

    gallery = RunningGallery(redis_server.url, embed=embed)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    try:
        client.send(tracklet("crops-only", None))
        assert _events(client, 1)["crops-only"].kind == "new" and calls == ["crops-only"]
    finally:
        client.close()
        gallery.stop()
    bare = RunningGallery(redis_server.url, prefix="bare")
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.connect(bare.service.tracklets_endpoint)
    try:
        before = metric("starreid_gallery_tracklets_rejected_total", reason="no_embedding")
        push.send(wire.encode(tracklet("crops-only-2", None)))
        wait_for(lambda: metric("starreid_gallery_tracklets_rejected_total", reason="no_embedding") > before)
        assert admin(redis_server.url).xlen(bare.keys.log) == 0
    finally:
        push.close(0)
        bare.stop()


def test_sigterm_drains_everything_received(redis_server, tmp_path):
    cfg = write_config(tmp_path / "g.yaml", redis_server.url, free_tcp(), free_tcp())
    import yaml
    z = yaml.safe_load(open(cfg))["zmq"]
    r, keys = admin(redis_server.url), Keys("test")
    proc = start_gallery_process(cfg, tmp_path / "g.log")
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.connect(z["tracklets"])
    try:
        wait_for(lambda: r.exists(keys.alive), timeout_s=60)
        rng = np.random.default_rng(3)
        for i in range(500):
            push.send(wire.encode(tracklet(f"s{i}", unit(rng))))
        wait_for(lambda: r.xlen(keys.log) > 0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        # whatever reached the gallery was logged and resolved before it exited; the rest waits in our queue
        logged = r.xlen(keys.log)
        assert len(processed_tracklets(r, keys)) == logged > 0
        assert r.xpending(keys.log, "gallery")["pending"] == 0 and not r.exists(keys.alive)
    finally:
        push.close(0)
        if proc.poll() is None:
            proc.kill()


def test_metrics_are_scraped_over_http(redis_server):
    gallery = RunningGallery(redis_server.url)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    server = metrics.serve("127.0.0.1", 0)
    try:
        v = unit(np.random.default_rng(5))
        client.send(tracklet("x1", v, camera="door", modality="ir"))
        client.send(tracklet("x2", v, camera="hall", modality="rgb", t=100.0))
        assert _events(client, 2)["x2"].kind == "matched"
        wait_for(lambda: metric("starreid_gallery_index_size_vectors") >= 1)
        text = urllib.request.urlopen(server.url, timeout=5).read().decode()
        for name in ("starreid_gallery_tracklets_received_total{camera=\"door\",modality=\"ir\"}",
                     "starreid_gallery_tracklets_rejected_total", "starreid_gallery_resolution_latency_seconds_bucket",
                     "starreid_gallery_identities ", "starreid_gallery_identities_new_total",
                     "starreid_gallery_match_score_bucket", "starreid_gallery_stream_lag_seconds",
                     "starreid_gallery_log_pending_entries", "starreid_gallery_index_size_vectors"):
            assert name in text, name
    finally:
        server.close()
        client.close()
        gallery.stop()


@pytest.mark.timeout(90)
def test_a_full_redis_holds_tracklets_back_and_loses_none(redis_server):
    """Redis at its memory cap (noeviction) refuses writes: the gallery neither stops nor drops anything; it
    holds the tracklets (back-pressure), counts the refusals, and carries on once there is room again."""
    r = admin(redis_server.url)
    gallery = RunningGallery(redis_server.url, prefix="full")
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint, resend_after_s=2.0)
    rng = np.random.default_rng(0)
    try:
        wait_for(lambda: r.exists(gallery.keys.alive))
        r.config_set("maxmemory-policy", "noeviction")
        r.config_set("maxmemory", "1")  # every write is now refused with an OOM error
        before = metric("starreid_gallery_redis_full_total")
        for i in range(20):
            client.send(tracklet(f"x{i}", unit(rng)))
        wait_for(lambda: metric("starreid_gallery_redis_full_total") > before + 2, timeout_s=30)
        assert gallery.thread.is_alive() and client.unconfirmed == 20
        r.config_set("maxmemory", "0")  # room again
        wait_for(lambda: client.poll(100) is not None and client.unconfirmed == 0, timeout_s=60)
        assert sorted(processed_tracklets(r, gallery.keys)) == sorted(f"x{i}" for i in range(20))
    finally:
        r.config_set("maxmemory", "0")
        client.close()
        gallery.stop()
