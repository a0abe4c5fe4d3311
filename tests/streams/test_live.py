"""Live MJPEG-over-HTTP source against a real server on 127.0.0.1: reconnects, stale frames, corrupt parts."""
import itertools
import threading
import time

import pytest

from support.sections import camera
from starreid.streams import open_source
from starreid.streams.live import LiveSource
from starreid.streams.mjpeg_server import MjpegServer
from stream_frames import jpeg, pattern


def next_frame(frames, deadline=5.0):
    result = {}
    t = threading.Thread(target=lambda: result.update(frame=next(frames)), daemon=True)
    t.start()
    t.join(deadline)
    assert "frame" in result, "no frame within the deadline"
    return result["frame"]


@pytest.mark.timeout(30)
def test_frames_arrive_in_rgb(mjpeg_server):
    source = open_source(camera(mjpeg_server.url, "live1", "rgb"))
    assert isinstance(source, LiveSource)
    try:
        frame = next_frame(source.frames())
        assert frame.image.shape == (120, 160, 3)
        assert frame.image[60, 20, 0] > 150 and frame.image[60, 20, 2] < 60
        assert abs(frame.timestamp - time.time()) < 2
    finally:
        source.close()


@pytest.mark.timeout(30)
def test_resumes_within_two_seconds_after_server_restart(mjpeg_server):
    source = open_source(camera(mjpeg_server.url, "live2", "rgb", backoff_max=1.0))
    frames = source.frames()
    try:
        next_frame(frames)
        mjpeg_server.stop()
        time.sleep(1.5)  # down long enough for several failed attempts (backoff grows)
        assert source.stats.open_errors >= 1
        mjpeg_server.start()  # same port
        restarted = time.monotonic()
        while source.stats.reconnects == 0:
            next_frame(frames)
        next_frame(frames)
        assert time.monotonic() - restarted < 2.0
        assert source.stats.reconnects == 1
    finally:
        source.close()


@pytest.mark.timeout(30)
def test_slow_consumer_gets_fresh_frames_and_drops_are_counted(mjpeg_server):
    source = open_source(camera(mjpeg_server.url, "live3", "rgb"))
    frames = source.frames()
    try:
        next_frame(frames)
        slept_at = time.time()
        time.sleep(0.5)  # ~25 frames arrive meanwhile; only the newest is kept
        frame = next_frame(frames)
        assert frame.timestamp > slept_at + 0.25  # read late in the sleep, not queued from its start
        assert source.stats.frames_dropped >= 10
        assert frame.index == 1  # indices count frames handed out, not frames read
    finally:
        source.close()


@pytest.mark.timeout(30)
def test_corrupt_parts_are_counted_and_skipped(caplog):
    good = jpeg(pattern(50))

    def parts():
        for i in itertools.count():
            yield b"\xff\xd8\xff garbage, not a jpeg" if i % 3 == 1 else good

    with MjpegServer(parts, fps=50) as server:
        source = open_source(camera(server.url, "live4", "rgb"))
        frames = source.frames()
        try:
            for _ in range(5):
                assert next_frame(frames).image.shape == (120, 160, 3)
            assert source.stats.decode_errors >= 2
            assert source.stats.reconnects == 0  # a bad frame is not a lost stream
        finally:
            source.close()
    assert "undecodable JPEG" in caplog.text


@pytest.mark.timeout(30)
def test_unreachable_source_is_retried_not_fatal():
    source = open_source(camera("http://127.0.0.1:9/none.mjpg", "live5", "rgb", backoff_max=0.2))
    stop = threading.Event()
    got = []
    t = threading.Thread(target=lambda: got.extend(source.frames(stop)), daemon=True)
    t.start()
    time.sleep(1.0)
    stop.set()
    t.join(2)
    source.close()
    assert not t.is_alive() and got == []
    assert source.stats.open_errors >= 3


@pytest.mark.timeout(60)
def test_non_mjpeg_http_goes_through_ffmpeg_and_reconnects_at_its_end(tmp_path):
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import cv2

    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(10):
        writer.write(pattern(i * 20))
    writer.release()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = open_source(camera(f"http://127.0.0.1:{server.server_port}/clip.avi", "live6", "rgb", backoff_max=0.2))
    frames = source.frames()
    try:
        frame = next_frame(frames, 15)
        assert frame.image.shape == (120, 160, 3) and frame.image[60, 20, 0] > 150
        deadline = time.monotonic() + 20
        while source.stats.reconnects == 0 and time.monotonic() < deadline:
            next_frame(frames, 15)  # a remote file ends like a dropped stream: the source opens it again
        assert source.stats.reconnects >= 1
    finally:
        source.close()
        server.shutdown()
        server.server_close()
