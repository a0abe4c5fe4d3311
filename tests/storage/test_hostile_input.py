"""Hostile input against a running gallery and a worker's event subscription: every shape of poison is
rejected and counted, nothing stops either daemon, and one decompression bomb costs no memory."""
import time
import urllib.request

import cv2
import numpy as np
import pytest
import zmq
from gallery_helpers import (RunningGallery, free_tcp, metric, processed_tracklets, start_gallery_process,
                             tracklet, unit, wait_for, write_config)
from support.hostile import expected_rejections, poison_messages
from prometheus_client.parser import text_string_to_metric_families

from support.redis_admin import admin
from starreid.contracts import wire
from support.sections import gallery_client
from starreid.storage.connect import connect
from support.net import free_port
from starreid.storage.resolver import Resolver

def rejected_total() -> float:
    return sum(metric("starreid_gallery_tracklets_rejected_total", reason=r)
               for r in ("malformed", "not_a_tracklet", "crop_too_large"))


@pytest.mark.timeout(120)
def test_poison_is_counted_and_the_gallery_keeps_serving(redis_server):
    rng = np.random.default_rng(0)
    poison = poison_messages(rng, 3000)
    expected = expected_rejections(poison)
    assert expected >= 2900  # nearly every generated message is invalid; the few valid ones are resolved
    gallery = RunningGallery(redis_server.url)
    bad = zmq.Context.instance().socket(zmq.PUSH)
    bad.connect(gallery.service.tracklets_endpoint)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    before, errors_before = rejected_total(), metric("starreid_gallery_message_errors_total", stage="ingest")
    try:
        for data in poison:
            bad.send(data)
        wait_for(lambda: rejected_total() - before >= expected, timeout_s=60)
        client.send(tracklet("after-the-poison", unit(rng)))
        wait_for(lambda: client.poll(100) is not None and client.unconfirmed == 0, timeout_s=30)
        time.sleep(0.2)
        assert rejected_total() - before == expected
        assert metric("starreid_gallery_message_errors_total", stage="ingest") == errors_before
        assert "after-the-poison" in processed_tracklets(admin(redis_server.url), gallery.keys)
        assert gallery.thread.is_alive()
    finally:
        bad.close(0)
        client.close()
        gallery.stop()


class FailsOn(Resolver):
    """A resolver with an injected fault: resolving tracklet `poison` raises (the unforeseen bug)."""

    def resolve(self, batch, now):
        if any(o.tid == "poison" for o in batch):
            raise RuntimeError("injected fault")
        return super().resolve(batch, now)


@pytest.mark.timeout(60)
def test_an_unexpected_error_costs_only_its_own_message(redis_server):
    from gallery_helpers import THRESHOLDS

    from starreid.app.config.gallery import GalleryConfig

    gallery = RunningGallery(redis_server.url)
    gallery.service._make_resolver = lambda: FailsOn.from_config(GalleryConfig(thresholds=THRESHOLDS))
    gallery.service._broken = True  # reload with the faulty resolver before the first batch
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    rng = np.random.default_rng(1)
    before = metric("starreid_gallery_message_errors_total", stage="resolve")
    try:
        for tid in ["a", "b", "poison", "c", "d"]:
            client.send(tracklet(tid, unit(rng)))
        wait_for(lambda: metric("starreid_gallery_message_errors_total", stage="resolve") > before, timeout_s=30)
        r = admin(redis_server.url)
        wait_for(lambda: len(processed_tracklets(r, gallery.keys)) == 4, timeout_s=30)
        assert sorted(processed_tracklets(r, gallery.keys)) == ["a", "b", "c", "d"]
        assert metric("starreid_gallery_message_errors_total", stage="resolve") == before + 1
        wait_for(lambda: r.xpending(gallery.keys.log, "gallery")["pending"] == 0, timeout_s=10)  # dropped
        client.send(tracklet("e", unit(rng)))
        wait_for(lambda: "e" in processed_tracklets(r, gallery.keys), timeout_s=30)
        assert gallery.thread.is_alive()
    finally:
        client.close()
        gallery.stop()


def _scrape(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    return {(s.name, s.labels.get("reason")): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


@pytest.mark.timeout(180)
def test_decompression_bomb_costs_no_memory(redis_server, tmp_path, tiny_onnx):
    """A gallery that embeds crops itself (a model is configured) meets 4000 x 4000 JPEG crops: they are
    rejected from their header, and its peak memory does not move."""
    metrics_port = free_port()
    cfg = write_config(tmp_path / "g.yaml", redis_server.url, free_tcp(), free_tcp(),
                       gallery={"recv_budget_mb": 32, "cache_budget_mb": 8},
                       extra={"model": tiny_onnx.model_section,
                              "metrics": {"host": "127.0.0.1", "gallery_port": metrics_port}})
    import yaml

    z = yaml.safe_load(open(cfg))["zmq"]
    proc = start_gallery_process(cfg, tmp_path / "g.log")
    client = gallery_client(z["tracklets"], z["events"], resend_after_s=2.0)
    h, w = tiny_onnx.height, tiny_onnx.width
    try:
        # A valid crop-only tracklet first: the model loads on it, so the baseline includes the model.
        first = tracklet("warm", None, frames=8)
        first.crops = wire.encode_crops(np.random.default_rng(0).integers(0, 255, (8, h, w, 3), np.uint8))
        client.send(first)
        wait_for(lambda: client.poll(100) is not None and client.unconfirmed == 0, timeout_s=120)
        baseline = _peak_rss_mb(proc.pid)
        noise = np.random.default_rng(1).integers(0, 255, (4000, 4000, 3), np.uint8)
        bomb = cv2.imencode(".jpg", cv2.GaussianBlur(noise, (0, 0), 25), [cv2.IMWRITE_JPEG_QUALITY, 30])[1]
        assert len(bomb) < wire.MAX_CROP_BYTES
        push = zmq.Context.instance().socket(zmq.PUSH)
        push.connect(z["tracklets"])
        for i in range(3):
            t = tracklet(f"bomb{i}", None, frames=12)
            t.crops = [bomb.tobytes()] * 12
            push.send(wire.encode(t))
        wait_for(lambda: _scrape(metrics_port).get(("starreid_gallery_tracklets_rejected_total",
                                                    "crop_too_large"), 0) == 3, timeout_s=60)
        push.close(0)
        after = tracklet("after", None, frames=8)
        after.crops = first.crops
        client.send(after)
        wait_for(lambda: client.poll(100) is not None and client.unconfirmed == 0, timeout_s=60)
        grew = _peak_rss_mb(proc.pid) - baseline
        # decoded, 12 such crops would take 576 MB; the gallery's whole receive budget is 32 MB
        assert grew < 32, f"peak RSS grew by {grew:.0f} MB"
        assert proc.poll() is None
    finally:
        client.close()
        proc.terminate()
        proc.wait(30)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_memory_is_bounded_in_bytes_under_a_flood_of_large_messages(redis_server, tmp_path):
    """Large valid messages (1.4 MB of crops each) arrive much faster than the gallery logs them: its memory
    stays within the receive and cache budgets instead of growing with the backlog."""
    cfg = write_config(tmp_path / "g.yaml", redis_server.url, free_tcp(), free_tcp(),
                       gallery={"recv_budget_mb": 64, "cache_budget_mb": 16})
    import yaml

    z = yaml.safe_load(open(cfg))["zmq"]
    proc = start_gallery_process(cfg, tmp_path / "g.log")
    r = admin(redis_server.url)
    try:
        wait_for(lambda: r.exists("{test}:gallery:alive"), timeout_s=60)
        baseline = _peak_rss_mb(proc.pid)
        rng = np.random.default_rng(2)
        crops = wire.encode_crops(rng.integers(0, 255, (16, 288, 144, 3), np.uint8), quality=100)
        size = sum(map(len, crops))
        assert 1.0e6 < size < 2.0e6
        push = zmq.Context.instance().socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, 2000)
        push.connect(z["tracklets"])
        n = 1000
        for i in range(n):
            t = tracklet(f"big{i}", unit(rng), frames=16)
            t.crops = crops
            push.send(wire.encode(t))
        wait_for(lambda: r.xlen("{test}:log") >= n, timeout_s=400, step_s=0.5)
        push.close(0)
        grew = _peak_rss_mb(proc.pid) - baseline
        # budgets 64 + 16 MB; without them ZeroMQ alone queued up to 1,000 of these messages (1.4 GB)
        assert grew < 200, f"peak RSS grew by {grew:.0f} MB for {n * size / 1e9:.1f} GB received"
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(60)
