"""TrackletSender over real ZeroMQ sockets on 127.0.0.1 without a gallery: back-pressure from the bound on
unconfirmed tracklets, and a bounded shutdown that counts what was not confirmed. (Delivery through a real
gallery, killed and restarted mid-stream, is in tests/storage/test_gallery_crash.py.)"""
import threading
import time

import numpy as np
import pytest
import zmq

from starreid.contracts import wire
from support.net import free_port
from support.sections import sender as sender_of


def tracklet(i: int) -> wire.Tracklet:
    return wire.Tracklet(id=f"cam0:s:{i}:0", camera="cam0", modality="rgb", track_id=i, start_ts=1.0, end_ts=2.0,
                         keypoints=np.zeros((24, 17, 3), np.float32), valid=np.ones(24, bool),
                         crops=wire.encode_crops(np.zeros((24, 16, 8, 3), np.uint8)))


@pytest.mark.timeout(30)
def test_sent_tracklets_are_kept_and_resent_until_confirmed(tmp_path):
    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    pub = ctx.socket(zmq.PUB)
    events_port = pub.bind_to_random_port("tcp://127.0.0.1")
    sender = sender_of(f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{events_port}", tmp_path, queue_size=4,
                       resend_after_s=0.5)
    try:
        for i in range(5):
            sender.put(tracklet(i))
        first = [wire.decode(pull.recv()).id for _ in range(5)]
        assert first == [f"cam0:s:{i}:0" for i in range(5)]
        resent = {wire.decode(pull.recv()).id for _ in range(5)}  # nothing confirmed: all come again
        assert resent == set(first) and sender.unconfirmed == 5
        time.sleep(0.3)  # the subscription is up long before this (the resends took 0.5 s)
        # Three of ours, one of them answered twice (a resend is answered again), and another camera's.
        for tid in [*first[:3], first[0], "cam9:1:0"]:
            pub.send(wire.encode(wire.IdentityEvent(tracklet_id=tid, identity_id="p1", kind="new", score=0.0,
                                                    camera="cam0", modality="rgb", time=1.0)))
        deadline = time.monotonic() + 5
        while sender.confirmed < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # time for the repeat and the stranger to be (wrongly) counted
        assert sender.confirmed == 3 and sender.unconfirmed == 2
    finally:
        sender.close(0.5)
        pull.close(linger=0)
        pub.close(linger=0)
    assert sender.kept == 2 and sender.lost == 0  # never confirmed: counted, not hidden, and kept on disk
    assert sorted(tid for tid, _ in sender.spool.pending()) == sorted(first[3:])


@pytest.mark.timeout(30)
def test_back_pressure_then_bounded_shutdown_without_a_gallery(tmp_path):
    # Nothing listens: max_unconfirmed tracklets go out, then the queue fills, then put() blocks.
    sender = sender_of(f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}", tmp_path, send_hwm=2,
                       queue_size=3, max_unconfirmed=4)
    stop = threading.Event()
    done = []
    t = threading.Thread(target=lambda: done.extend(sender.put(tracklet(i), stop, grace=0.2) for i in range(20)),
                         daemon=True)
    t.start()
    time.sleep(1.0)
    assert t.is_alive() and sender.depth == 3 and sender.unconfirmed == 4  # bounded, not growing memory
    stop.set()
    t.join(15)
    assert not t.is_alive() and False in done
    start = time.monotonic()
    sender.close(timeout=1.0)
    assert time.monotonic() - start < 4.0
    # sent and unconfirmed, still queued, or refused by put() after the grace: all kept for the next start
    assert sender.confirmed == 0 and sender.lost == 0
    assert sender.kept == len(sender.spool) == 4 + 3 + done.count(False)


@pytest.mark.timeout(60)
def test_a_killed_sender_leaves_its_unconfirmed_tracklets_for_the_next_start(tmp_path):
    """Each tracklet is on disk before it is sent: a worker killed outright (no flush, no close) loses none,
    and its next start sends them again until they are confirmed."""
    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    pub = ctx.socket(zmq.PUB)
    events_port = pub.bind_to_random_port("tcp://127.0.0.1")
    endpoints = (f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{events_port}")
    first = sender_of(*endpoints, tmp_path, resend_after_s=30)
    for i in range(6):
        first.put(tracklet(i))
    ids = [wire.decode(pull.recv()).id for _ in range(6)]
    assert len(first.spool) == 6  # "killed" here: the first sender is never closed or flushed
    second = sender_of(*endpoints, tmp_path, resend_after_s=30)
    try:
        again = sorted(wire.decode(pull.recv()).id for _ in range(6))
        assert again == sorted(ids)
        time.sleep(0.3)
        for tid in ids:
            pub.send(wire.encode(wire.IdentityEvent(tracklet_id=tid, identity_id="p1", kind="new", score=0.0,
                                                    camera="cam0", modality="rgb", time=1.0)))
        deadline = time.monotonic() + 10
        while second.confirmed < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert second.from_spool == 6 and second.confirmed == 6
    finally:
        second.close(1.0)
        pull.close(linger=0)
        pub.close(linger=0)
    assert second.kept == 0 and len(second.spool) == 0


@pytest.mark.timeout(60)
def test_poison_on_the_events_subscription_is_counted_and_confirming_goes_on(tmp_path):
    """Anyone who reaches the events port can send anything; the sender drops and counts it, and still
    recognises its own confirmations among the poison."""
    from support.hostile import expected_rejections, poison_messages

    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    events_port = pub.bind_to_random_port("tcp://127.0.0.1")
    sender = sender_of(f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{events_port}", tmp_path, resend_after_s=30)
    poison = poison_messages(np.random.default_rng(5), 1000)
    expected = expected_rejections(poison, accepted=wire.IdentityEvent)
    try:
        time.sleep(0.3)  # the subscription is up
        for i in range(10):
            sender.put(tracklet(i))
            tid = wire.decode(pull.recv()).id
            for data in poison[i * 100:(i + 1) * 100]:
                pub.send(data)
            pub.send(wire.encode(wire.IdentityEvent(tracklet_id=tid, identity_id="p1", kind="new", score=0.0,
                                                    camera="cam0", modality="rgb", time=1.0)))
        deadline = time.monotonic() + 20
        while (sender.confirmed < 10 or sender.rejected_events < expected) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sender.confirmed == 10 and sender.unconfirmed == 0
        assert sender.rejected_events == expected
    finally:
        sender.close(1.0)
        pull.close(linger=0)
        pub.close(linger=0)
