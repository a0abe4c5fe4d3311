"""Publishes tracklets on a ZeroMQ PUSH socket from its own thread, behind a bounded queue.

The queue gives back-pressure: when the gallery is slow or away, ZeroMQ holds up to send_hwm messages, then
the queue fills, then put() blocks the camera loop (and a live source drops stale frames instead of memory
growing). close() delivers what is queued within a deadline."""
from __future__ import annotations

import logging
import queue
import threading
import time

import zmq

from starreid import wire

log = logging.getLogger(__name__)
_END = object()


class TrackletSender:
    def __init__(self, endpoint: str, send_hwm: int = 1000, queue_size: int = 64,
                 on_sent=None, on_error=None):
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._ctx = zmq.Context.instance()
        self._socket = self._ctx.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.SNDHWM, send_hwm)
        self._socket.setsockopt(zmq.SNDTIMEO, 200)  # lets the thread notice a shutdown deadline
        self._socket.connect(endpoint)
        self.on_sent = on_sent or (lambda t: None)
        self.on_error = on_error or (lambda t, exc: None)
        self._deadline: float | None = None
        self.sent = 0
        self.lost = 0
        self._thread = threading.Thread(target=self._run, name="tracklet-sender", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def put(self, tracklet: wire.Tracklet, stop: threading.Event | None = None, grace: float = 10.0) -> bool:
        """Queue one tracklet, blocking while the queue is full. Once `stop` is set it waits at most `grace`
        seconds more, then counts the tracklet as lost and returns False."""
        stopped_at = None
        while True:
            try:
                self._queue.put(tracklet, timeout=0.2)
                return True
            except queue.Full:
                if stop is not None and stop.is_set():
                    stopped_at = stopped_at or time.monotonic()
                    if time.monotonic() - stopped_at > grace:
                        self.lost += 1
                        self.on_error(tracklet, TimeoutError("send queue full at shutdown"))
                        return False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            try:
                data = wire.encode(item)
            except Exception as exc:  # a bad tracklet is logged and counted, never kills the sender
                self.lost += 1
                self.on_error(item, exc)
                log.error("tracklet %s cannot be encoded: %s", item.id, exc)
                continue
            while True:
                late = self._deadline is not None and time.monotonic() > self._deadline
                try:
                    self._socket.send(data, flags=zmq.NOBLOCK if late else 0, copy=False)
                    self.sent += 1
                    self.on_sent(item)
                    break
                except zmq.Again:
                    if late:
                        self.lost += 1
                        self.on_error(item, TimeoutError("gallery unreachable at shutdown"))
                        log.error("tracklet %s not delivered before the shutdown deadline", item.id)
                        break

    def close(self, timeout: float = 10.0) -> None:
        """Send everything queued (up to `timeout` seconds), then close the socket."""
        self._deadline = time.monotonic() + timeout
        while True:
            try:
                self._queue.put(_END, timeout=0.2)
                break
            except queue.Full:
                if time.monotonic() > self._deadline:
                    break
        self._thread.join(max(0.0, self._deadline - time.monotonic()) + 1.0)
        remaining = max(0, int((self._deadline - time.monotonic()) * 1000))
        self._socket.close(linger=remaining)  # ZeroMQ still delivers what it holds within the linger
