"""Stream fixtures: a real MJPEG-over-HTTP camera on 127.0.0.1."""
import itertools

import pytest

from stream_frames import jpeg, pattern
from starreid.streams.mjpeg_server import MjpegServer


@pytest.fixture
def mjpeg_server():
    """Sends pattern frames at 50 fps; stop() and start() it to take the camera away and back."""
    parts = lambda: (jpeg(pattern(i)) for i in itertools.count())  # noqa: E731
    server = MjpegServer(parts, host="127.0.0.1", port=0, fps=50).start()
    try:
        yield server
    finally:
        server.stop()
