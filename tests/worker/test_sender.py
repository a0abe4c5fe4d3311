"""TrackletSender over real ZeroMQ sockets on 127.0.0.1: delivery, back-pressure, bounded shutdown."""
import threading
import time

import numpy as np
import pytest
import zmq

from starreid import wire
from tracker.sender import TrackletSender


def tracklet(i: int) -> wire.Tracklet:
    return wire.Tracklet(id=f"cam0:{i}:0", camera="cam0", modality="rgb", track_id=i, start_ts=1.0, end_ts=2.0,
                         keypoints=np.zeros((24, 17, 3), np.float32), valid=np.ones(24, bool),
                         crops=wire.encode_crops(np.zeros((24, 16, 8, 3), np.uint8)))


@pytest.mark.timeout(30)
def test_everything_sent_arrives_in_order():
    pull = zmq.Context.instance().socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    sender = TrackletSender(f"tcp://127.0.0.1:{port}", queue_size=4)
    for i in range(50):
        sender.put(tracklet(i))
    got = [wire.decode(pull.recv()).track_id for _ in range(50)]
    sender.close(5)
    pull.close(linger=0)
    assert got == list(range(50)) and sender.sent == 50 and sender.lost == 0


@pytest.mark.timeout(30)
def test_back_pressure_then_bounded_shutdown_without_a_gallery():
    port = 5  # nothing listens: ZeroMQ holds send_hwm messages, then the queue fills, then put() blocks
    sender = TrackletSender(f"tcp://127.0.0.1:{port}", send_hwm=2, queue_size=3)
    stop = threading.Event()
    done = []
    t = threading.Thread(target=lambda: done.extend(sender.put(tracklet(i), stop, grace=0.2) for i in range(10)),
                         daemon=True)
    t.start()
    time.sleep(1.0)
    assert t.is_alive() and sender.depth == 3  # blocked on a full queue, not growing memory
    stop.set()
    t.join(15)
    assert not t.is_alive() and False in done
    start = time.monotonic()
    sender.close(timeout=1.0)
    assert time.monotonic() - start < 4.0
    assert sender.sent <= 2 + 1 and sender.lost >= 1  # what could not be delivered is counted, not hidden
