"""Live sources (RTSP/HTTP streams, V4L2 devices): a reader thread keeps only the newest frame and
reconnects with exponential backoff and jitter, so a slow consumer sees fresh frames, never a backlog."""
from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Callable, Iterator

import cv2
import numpy as np

from starreid.contracts.backoff import Backoff
from starreid.streams.frame import Frame, to_rgb
from starreid.streams.mjpeg import CorruptFrame, MjpegReader, NotMjpeg, StreamEnded
from starreid.streams.stats import SourceStats

log = logging.getLogger(__name__)


class CaptureReader:
    """OpenCV/FFmpeg (RTSP, non-MJPEG HTTP) or V4L2 capture behind the reader interface."""

    def __init__(self, uri: str, timeout: float):
        ms = int(timeout * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        if uri.isdigit() or uri.startswith("/dev/video"):
            device = int(uri) if uri.isdigit() else uri
            self._cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
        else:
            self._cap = cv2.VideoCapture(uri, cv2.CAP_FFMPEG, params)
        if not self._cap.isOpened():
            self._cap.release()
            raise OSError(f"cannot open {uri}")

    def read(self) -> np.ndarray:
        ok, image = self._cap.read()
        if not ok or image is None:
            raise StreamEnded("capture returned no frame")
        return image

    def close(self) -> None:
        self._cap.release()


def open_reader(uri: str, timeout: float):
    """MJPEG over HTTP is parsed directly; everything else goes through OpenCV."""
    if uri.startswith(("http://", "https://")):
        try:
            return MjpegReader(uri, timeout)
        except NotMjpeg:
            pass
    return CaptureReader(uri, timeout)


class LiveSource:
    live = True
    RECONNECT_FIRST_S = 0.05  # the first reconnect is quick: most losses are one dropped connection

    def __init__(self, uri: str, camera: str, modality: str, timeout: float, reconnect_max: float,
                 opener: Callable[[str, float], object] = open_reader):
        self.uri, self.camera, self.modality = uri, camera, modality
        self.timeout, self._opener = timeout, opener
        self._backoff = Backoff(self.RECONNECT_FIRST_S, reconnect_max)
        # A live camera never shows the same frames twice: each start is a new session (tracklet ids of a
        # restarted worker cannot repeat the previous run's).
        self._session = f"{int(time.time()):x}-{secrets.token_hex(3)}"  # start time, readable; then unique
        self.stats = SourceStats(camera, modality)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._latest: tuple[float, np.ndarray] | None = None
        self._thread: threading.Thread | None = None

    @property
    def session(self) -> str:
        return self._session

    frame_count = None  # a live camera has no end

    def start(self) -> "LiveSource":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"source-{self.camera}", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        lost_before = False
        while not self._stop.is_set():
            try:
                reader = self._opener(self.uri, self.timeout)
            except Exception as exc:  # any failure to open is counted and retried, never fatal
                self.stats.add("open_errors")
                log.warning("camera %s: cannot open %s: %s", self.camera, self.uri, exc)
                self._stop.wait(self._backoff.next_delay())
                continue
            if lost_before:
                self.stats.add("reconnects")
                log.info("camera %s: reconnected to %s", self.camera, self.uri)
            self.connected.set()
            try:
                self._pump(reader)
            finally:
                self.connected.clear()
                reader.close()
            lost_before = True
            if not self._stop.is_set():
                log.warning("camera %s: lost %s, reconnecting", self.camera, self.uri)
                self._stop.wait(self._backoff.next_delay())

    def _pump(self, reader) -> None:
        while not self._stop.is_set():
            try:
                image = reader.read()
            except CorruptFrame as exc:
                self.stats.add("decode_errors")
                log.warning("camera %s: %s", self.camera, exc)
                continue
            except Exception as exc:  # StreamEnded, socket errors: reconnect
                log.debug("camera %s: read failed: %s", self.camera, exc)
                return
            self._backoff.reset()  # a frame arrived: the next loss starts from the shortest delay
            self.stats.add("frames_read")
            with self._cond:
                if self._latest is not None:
                    self.stats.add("frames_dropped")  # the consumer never saw it: keep only the newest
                self._latest = (time.time(), image)
                self._cond.notify()

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        self.start()
        index = 0
        while not self._stop.is_set() and (stop is None or not stop.is_set()):
            with self._cond:
                if self._latest is None:
                    self._cond.wait(0.1)
                item, self._latest = self._latest, None
            if item is None:
                continue
            timestamp, image = item
            yield Frame(self.camera, self.modality, index, timestamp, to_rgb(image, self.modality), self._session)
            index += 1

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(self.timeout + 1.0)
