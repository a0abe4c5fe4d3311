"""Bad input is rejected and counted; the gallery keeps serving valid traffic during and after."""
import msgpack
import numpy as np
import pytest
import zmq
from gallery_helpers import RunningGallery, metric, processed_tracklets, tracklet, unit, wait_for

from support.redis_admin import admin
from starreid.contracts import wire
from support.sections import gallery_client
from starreid.storage.connect import connect


def _malformed(rng: np.random.Generator, i: int) -> bytes:
    kind = i % 5
    if kind == 0:  # random bytes
        return rng.bytes(int(rng.integers(0, 4096)))
    if kind == 1:  # valid msgpack, wrong schema
        return msgpack.packb({"v": 1, "kind": "tracklet", "id": f"x{i}", "camera": 3})
    if kind == 2:  # wrong version
        return msgpack.packb({"v": 99, "kind": "tracklet"})
    if kind == 3:  # right fields, wrong shapes and values
        good = msgpack.unpackb(wire.encode(tracklet(f"bad{i}", unit(rng))))
        good["keypoints"]["shape"] = [4, 16, 3]
        return msgpack.packb(good)
    good = msgpack.unpackb(wire.encode(tracklet(f"bad{i}", unit(rng))))  # not unit length
    good["embedding"]["vector"]["data"] = (np.ones(64, "<f4") * 3).tobytes()
    return msgpack.packb(good)


def _run(redis_url, n_bad: int, n_oversize: int):
    gallery = RunningGallery(redis_url)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    bad = zmq.Context.instance().socket(zmq.PUSH)
    bad.connect(gallery.service.tracklets_endpoint)
    rng = np.random.default_rng(0)
    before = {r: metric("starreid_gallery_tracklets_rejected_total", reason=r) for r in ("malformed",)}
    try:
        oversize = b"\x00" * (wire.MAX_MESSAGE_BYTES + 1)
        oversize_at = set(np.linspace(0, n_bad - 1, n_oversize).astype(int).tolist()) if n_oversize else set()
        for i in range(n_bad):
            bad.send(_malformed(rng, i))
            if i % 100 == 0:  # valid traffic during the flood
                client.send(tracklet(f"during{i}", unit(rng)))
            if i in oversize_at:
                bad.send(oversize)
        expected = before["malformed"] + n_bad + len(oversize_at)
        wait_for(lambda: metric("starreid_gallery_tracklets_rejected_total", reason="malformed") >= expected,
                 timeout_s=120)
        for i in range(20):  # and after
            client.send(tracklet(f"after{i}", unit(rng)))
        wait_for(lambda: client.poll(100) is not None and client.unconfirmed == 0, timeout_s=120)
        return gallery, before
    finally:
        bad.close(0)
        client.close()


@pytest.mark.timeout(300)
def test_ten_thousand_malformed_messages(redis_server):
    gallery, before = _run(redis_server.url, n_bad=10_000, n_oversize=5)
    try:
        rejected = metric("starreid_gallery_tracklets_rejected_total", reason="malformed") - before["malformed"]
        assert rejected == 10_000 + 5
        r = admin(redis_server.url)
        tids = processed_tracklets(r, gallery.keys)
        assert sum(t.startswith("during") for t in tids) == 100 and sum(t.startswith("after") for t in tids) == 20
        assert r.xlen(gallery.keys.log) == 120  # nothing malformed entered the durable log
        assert gallery.thread.is_alive()
    finally:
        gallery.stop()
