"""Fuzzing, counted: the wire decoder under Hypothesis (tests/contracts/test_wire_fuzz.py, run here with its
statistics), and a bounded live fuzz of the two ports anyone on the network can reach: the gallery's tracklet
port and a worker's identity-event subscription. Every message must be rejected and counted or accepted;
neither daemon may stop, and real work must go on after the poison."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from starreid.contracts import wire
from support.deployment import scrape, start, stop, write_deployment
from support.hostile import expected_rejections, poison_messages
from support.net import free_port, free_tcp
from support.redis_admin import admin
from support.sections import gallery_client
from support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.reliability]
MESSAGES = int(os.environ.get("STARREID_FUZZ_MESSAGES", "5000"))
TESTS = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)
def test_the_wire_decoder_under_hypothesis(reliability):
    """The property-based decoder fuzzing, with the number of examples each property ran."""
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics",
                          str(TESTS / "contracts" / "test_wire_fuzz.py")], capture_output=True, text=True,
                         cwd=TESTS.parent, timeout=840)
    text = out.stdout + out.stderr
    counts = [tuple(map(int, m)) for m in re.findall(r"(\d+) passing(?: examples)?, (\d+) failing", text)]
    passing, failing = sum(c[0] for c in counts), sum(c[1] for c in counts)
    tests = re.search(r"(\d+) passed", text)
    reliability("wire decoder fuzzed (Hypothesis)", emitted=passing + failing, committed=passing, lost=failing,
                notes=f"{len(counts)} properties (any value in any field, unknown fields, any msgpack document, "
                      f"any bytes) plus {int(tests.group(1)) - len(counts) if tests else '?'} fixed cases; every "
                      f"input decoded or raised WireError")
    assert out.returncode == 0, text[-3000:]
    assert len(counts) >= 4 and failing == 0 and passing >= 1000


def _gallery_rejected(port: int) -> float:
    m = scrape(port, camera=None)
    return sum(m.get(f"starreid_gallery_tracklets_rejected_total|{r}", 0)
               for r in ("malformed", "not_a_tracklet", "crop_too_large"))


@pytest.mark.timeout(600)
def test_live_fuzz_of_the_gallery_port(redis_server, tmp_path, reliability):
    """A `starreid gallery` process takes poison as fast as a PUSH socket sends it: every message is counted
    as rejected or resolved, no handler error, the process stays up and a real tracklet is stored after."""
    rng = np.random.default_rng(20)
    poison = poison_messages(rng, MESSAGES)
    expected = expected_rejections(poison)
    port = free_port()
    z = {"tracklets": free_tcp(), "events": free_tcp()}
    cfg = write_deployment(tmp_path / "g.yaml", redis={"url": redis_server.url, "key_prefix": "test"}, zmq=z,
                           metrics={"gallery_port": port})
    gallery = start("gallery", cfg, log=tmp_path / "gallery.log")
    client = None
    try:
        wait_for(lambda: admin(redis_server.url).exists("{test}:gallery:alive"), timeout_s=60)
        push = zmq.Context.instance().socket(zmq.PUSH)
        push.connect(z["tracklets"])
        started = time.monotonic()
        for data in poison:
            push.send(data)
        wait_for(lambda: _gallery_rejected(port) >= expected, timeout_s=300, step_s=0.2)
        took = time.monotonic() - started
        push.close(0)
        client = gallery_client(z["tracklets"], z["events"], resend_after_s=2.0)
        vector = rng.standard_normal(64).astype(np.float32)
        client.send(wire.Tracklet(id="after-the-poison", camera="cam0", modality="rgb", track_id=1, start_ts=0.0,
                                  end_ts=1.0, keypoints=np.zeros((4, 17, 3), np.float32), valid=np.ones(4, bool),
                                  embedding=wire.Embedding(vector / np.linalg.norm(vector), "fuzz:1")))
        wait_for(lambda: client.poll(100) is not None and client.unconfirmed == 0, timeout_s=60)
        m = scrape(port, camera=None)
        errors = m.get("starreid_gallery_message_errors_total|ingest", 0) + m.get(
            "starreid_gallery_message_errors_total|resolve", 0)
        rejected, up = _gallery_rejected(port), gallery.poll() is None
    finally:
        if client is not None:
            client.close()
        code, _ = stop(gallery, 60)
    reliability("live fuzz: the gallery's tracklet port", emitted=len(poison),
                committed=int(rejected) + (len(poison) - expected), lost=int(not up) + int(errors),
                notes=f"{int(rejected)} rejected and counted by reason (expected {expected}), "
                      f"{len(poison) - expected} valid ones resolved, {int(errors)} handler errors, in {took:.1f} s; "
                      f"a real tracklet stored after; exit {code} on SIGTERM")
    assert up and code == 0 and rejected == expected and errors == 0


def _parts():
    import cv2

    good = cv2.imencode(".jpg", np.full((240, 320, 3), 90, np.uint8))[1].tobytes()  # an empty scene: cheap
    while True:
        yield good


@pytest.mark.timeout(600)
def test_live_fuzz_of_a_worker_event_subscription(tmp_path, reliability):
    """Anyone who reaches the events port can publish anything: a `starreid worker` drops and counts it and
    keeps processing its camera."""
    from starreid.streams.mjpeg_server import MjpegServer

    rng = np.random.default_rng(21)
    poison = poison_messages(rng, MESSAGES)
    expected = expected_rejections(poison, accepted=wire.IdentityEvent)
    camera = MjpegServer(_parts, fps=25).start()
    ctx = zmq.Context.instance()
    pull, pub = ctx.socket(zmq.PULL), ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    tracklets = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
    events = f"tcp://127.0.0.1:{pub.bind_to_random_port('tcp://127.0.0.1')}"
    mport = free_port()
    cfg = write_deployment(tmp_path / "w.yaml", cameras=[{"id": "cam0", "source": camera.url, "modality": "rgb"}],
                           zmq={"tracklets": tracklets, "events": events},
                           metrics={"host": "127.0.0.1", "worker_port_base": mport})
    worker = start("worker", cfg, "--camera", "cam0", log=tmp_path / "worker.log")
    rejected = lambda: scrape(mport, camera=None).get("starreid_worker_events_rejected_total", 0)  # noqa: E731
    frames = lambda: scrape(mport, camera=None).get("starreid_worker_frames_processed_total", 0)  # noqa: E731
    try:
        wait_for(lambda: frames() >= 5, timeout_s=120, step_s=0.2)
        time.sleep(1.0)  # the subscription is up (a SUB socket misses what is published before it joins)
        started = time.monotonic()
        sent_expected = 0
        for at in range(0, len(poison), 200):  # in bursts, each taken in before the next (SUB's queue is bounded)
            chunk = poison[at: at + 200]
            for data in chunk:
                pub.send(data)
            sent_expected += expected_rejections(chunk, accepted=wire.IdentityEvent)
            wait_for(lambda: rejected() >= sent_expected, timeout_s=60, step_s=0.05)
        took = time.monotonic() - started
        before = frames()
        wait_for(lambda: frames() > before + 10, timeout_s=60, step_s=0.2)  # still processing its camera
        up, got = worker.poll() is None, rejected()
    finally:
        code, _ = stop(worker, 60)
        camera.stop()
        pull.close(0)
        pub.close(0)
    reliability("live fuzz: a worker's event subscription", emitted=len(poison),
                committed=int(got) + (len(poison) - expected), lost=int(not up),
                notes=f"{int(got)} rejected and counted (expected {expected}), {len(poison) - expected} valid events "
                      f"for unknown tracklets ignored, in {took:.1f} s; kept processing frames; exit {code}")
    assert up and code == 0 and got == expected
