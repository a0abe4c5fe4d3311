"""Delivers tracklets to the gallery from its own thread, behind a bounded queue, until each is confirmed.

PUSH/PULL does not acknowledge, and a gallery killed mid-stream loses what its socket had buffered, so the
sender keeps every tracklet until the gallery's identity event for it arrives, resending the unconfirmed
ones (starreid.contracts.client.GalleryClient; tracklet ids make a resend harmless).

Back-pressure: at most max_unconfirmed tracklets wait for confirmation; past that the thread stops taking
from the queue, the queue fills, and put() blocks the camera loop (a live source then drops stale frames
instead of memory growing). close() waits, within a deadline, until everything queued is confirmed."""
from __future__ import annotations

import logging
import queue
import threading
import time

from starreid.contracts import wire
from starreid.contracts.client import GalleryClient

log = logging.getLogger(__name__)
_END = object()


class TrackletSender:
    def __init__(self, endpoint: str, events_endpoint: str, *, send_hwm: int, queue_size: int, max_unconfirmed: int,
                 resend_after_s: float):
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._client = GalleryClient(endpoint, events_endpoint, resend_after_s=resend_after_s, send_hwm=send_hwm)
        self.max_unconfirmed = max_unconfirmed
        # callbacks for the worker's metrics
        self.on_sent = lambda t: None
        self.on_confirmed = lambda tracklet_id: None
        self.on_error = lambda t, exc: None
        self.on_rejected_events = lambda n: None
        self.rejected_events = 0  # messages on the events subscription that were not valid identity events
        self._deadline: float | None = None
        self.sent = 0  # handed to ZeroMQ (first sends; resends are in .resent)
        self.confirmed = 0  # the gallery's identity event arrived
        self.lost = 0  # not encodable, or still queued at the shutdown deadline
        self.unconfirmed_at_exit = 0  # sent, but no confirmation by the shutdown deadline
        self._thread = threading.Thread(target=self._run, name="tracklet-sender", daemon=True)
        self._thread.start()

    @classmethod
    def from_config(cls, zmq, tracker) -> "TrackletSender":
        """From the zmq section (endpoints, send_hwm, max_unconfirmed, resend_after_s) and the tracker section
        (queue_size)."""
        return cls(zmq.tracklets, zmq.events, send_hwm=zmq.send_hwm, queue_size=tracker.queue_size,
                   max_unconfirmed=zmq.max_unconfirmed, resend_after_s=zmq.resend_after_s)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    @property
    def unconfirmed(self) -> int:
        return self._client.unconfirmed

    @property
    def resent(self) -> int:
        return self._client.resent

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
        ending = False
        try:
            while True:
                if not ending and self._client.unconfirmed < self.max_unconfirmed:
                    ending = self._take()
                for tracklet_id in self._client.poll_confirmed(0 if self._queue.qsize() else 20):
                    self.confirmed += 1
                    self.on_confirmed(tracklet_id)
                if self._client.rejected > self.rejected_events:
                    self.on_rejected_events(self._client.rejected - self.rejected_events)
                    self.rejected_events = self._client.rejected
                if ending and self._client.unconfirmed == 0:
                    return
                if self._deadline is not None and time.monotonic() > self._deadline:
                    self._give_up()
                    return
        finally:
            self._client.close()

    def _take(self) -> bool:
        """Sends the next queued tracklet, if any; True once the end marker is reached."""
        try:
            item = self._queue.get(timeout=0.02)
        except queue.Empty:
            return False
        if item is _END:
            return True
        try:
            data = wire.encode(item)
        except Exception as exc:  # a bad tracklet is logged and counted, never kills the sender
            self.lost += 1
            self.on_error(item, exc)
            log.error("tracklet %s cannot be encoded: %s", item.id, exc)
            return False
        self._client.send(item, data)
        self.sent += 1
        self.on_sent(item)
        return False

    def _give_up(self) -> None:
        self.unconfirmed_at_exit = self._client.unconfirmed  # sent; the gallery may yet process them
        left = 0
        while True:
            try:
                left += self._queue.get_nowait() is not _END
            except queue.Empty:
                break
        self.lost += left
        for _ in range(left):
            self.on_error(None, TimeoutError("still queued at the shutdown deadline"))
        if left or self.unconfirmed_at_exit:
            log.error("shutdown deadline: %d tracklets never sent, %d sent but not confirmed by the gallery",
                      left, self.unconfirmed_at_exit)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver everything queued and wait for its confirmation, up to `timeout` seconds."""
        self._deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self._queue.put(_END, timeout=0.2)
                break
            except queue.Full:
                if time.monotonic() > self._deadline:
                    break
        self._thread.join(max(0.0, self._deadline - time.monotonic()) + 2.0)
