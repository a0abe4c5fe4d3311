"""Delivers tracklets to the gallery from its own thread, behind a bounded queue, until each is confirmed.

PUSH/PULL does not acknowledge, and a gallery killed mid-stream loses what its socket had buffered, so the
sender keeps every tracklet until the gallery's identity event for it arrives, resending the unconfirmed
ones (starreid.contracts.client.GalleryClient; tracklet ids make a resend harmless). Each one is also written
to a spool on disk when it is handed over (before it is queued) and removed once confirmed, so a worker that
stops, crashes or is killed with tracklets queued or unconfirmed sends them again at its next start. Nothing
is dropped: the only tracklets lost are ones that cannot be encoded.

Back-pressure: at most max_unconfirmed tracklets wait for confirmation; past that the thread stops taking
from the queue, the queue fills, and put() blocks the camera loop (a live source then drops stale frames
instead of memory growing). close() waits, within a deadline, until everything queued is confirmed."""
from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

from starreid.contracts import wire
from starreid.contracts.client import GalleryClient
from starreid.contracts.curve import ClientKeys
from starreid.tracker.spool import Spool

log = logging.getLogger(__name__)
_END = object()


class TrackletSender:
    def __init__(self, endpoint: str, events_endpoint: str, *, send_hwm: int, queue_size: int, max_unconfirmed: int,
                 resend_after_s: float, spool: Spool, curve: ClientKeys | None):
        """curve: CURVE keys for both sockets (None: plain TCP); see starreid.contracts.client."""
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._client = GalleryClient(endpoint, events_endpoint, resend_after_s=resend_after_s, send_hwm=send_hwm,
                                     curve=curve)
        self.spool = spool
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
        self.lost = 0  # could not be encoded (nothing else is ever dropped)
        self.from_spool = 0  # kept by an earlier run and sent again by this one
        self.kept = 0  # in the spool when the sender stopped: not confirmed, sent again at the next start
        self._earlier = spool.pending()  # read now, before put() adds this run's own
        self._thread = threading.Thread(target=self._run, name="tracklet-sender", daemon=True)
        self._thread.start()

    @classmethod
    def from_config(cls, zmq, tracker, camera: str) -> "TrackletSender":
        """From the zmq section (the connect addresses, send_hwm, max_unconfirmed, resend_after_s, curve: its key
        files are read here) and the tracker section (queue_size, spool_dir: this camera's spool is the
        subfolder named after it)."""
        return cls(zmq.tracklets, zmq.events, send_hwm=zmq.send_hwm, queue_size=tracker.queue_size,
                   max_unconfirmed=zmq.max_unconfirmed, resend_after_s=zmq.resend_after_s,
                   spool=Spool(Path(tracker.spool_dir) / camera), curve=ClientKeys.from_config(zmq.curve))

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    @property
    def unconfirmed(self) -> int:
        return self._client.unconfirmed

    @property
    def resent(self) -> int:
        return self._client.resent

    @property
    def refused(self) -> int:
        """Handshakes the gallery refused (CURVE)."""
        return self._client.refused

    def keep(self, tracklet: wire.Tracklet) -> None:
        """Into the spool only (a tracklet still on its way here, e.g. being embedded); put() replaces it."""
        data = self._encode(tracklet)
        if data is not None:
            self.spool.put(tracklet.id, data)

    def put(self, tracklet: wire.Tracklet, stop: threading.Event | None = None, grace: float = 10.0) -> bool:
        """Write one tracklet to the spool and queue it for sending, blocking while the queue is full. Once
        `stop` is set it waits at most `grace` seconds more, then leaves the tracklet in the spool for the next
        start and returns False."""
        data = self._encode(tracklet)
        if data is None:
            return False
        self.spool.put(tracklet.id, data)  # before anything else: from here on a crash cannot lose it
        stopped_at = None
        while True:
            try:
                self._queue.put((tracklet, data), timeout=0.2)
                return True
            except queue.Full:
                if stop is not None and stop.is_set():
                    stopped_at = stopped_at or time.monotonic()
                    if time.monotonic() - stopped_at > grace:
                        return False

    def _encode(self, tracklet: wire.Tracklet) -> bytes | None:
        try:
            return wire.encode(tracklet)
        except Exception as exc:  # a bad tracklet is logged and counted, never kills the sender
            self.lost += 1
            self.on_error(tracklet, exc)
            log.error("tracklet %s cannot be encoded: %s", tracklet.id, exc)
            return None

    def _run(self) -> None:
        ending = False
        try:
            for tracklet_id, data in self._earlier:  # what an earlier run sent and never saw confirmed
                self._client.send_raw(tracklet_id, data)
                self.from_spool += 1
            self._earlier = []
            if self.from_spool:
                log.info("resending %d tracklets kept in %s by an earlier run", self.from_spool, self.spool.folder)
            while True:
                if not ending and self._client.unconfirmed < self.max_unconfirmed:
                    ending = self._take()
                for tracklet_id in self._client.poll_confirmed(0 if self._queue.qsize() else 20):
                    self.spool.done(tracklet_id)
                    self.confirmed += 1
                    self.on_confirmed(tracklet_id)
                if self._client.rejected > self.rejected_events:
                    self.on_rejected_events(self._client.rejected - self.rejected_events)
                    self.rejected_events = self._client.rejected
                if ending and self._client.unconfirmed == 0:
                    return
                if self._deadline is not None and time.monotonic() > self._deadline:
                    return
        finally:
            self._spool_the_rest()
            self._client.close()

    def _take(self) -> bool:
        """Sends the next queued tracklet, if any; True once the end marker is reached."""
        try:
            item = self._queue.get(timeout=0.02)
        except queue.Empty:
            return False
        if item is _END:
            return True
        tracklet, data = item
        self._client.send_raw(tracklet.id, data)
        self.sent += 1
        self.on_sent(tracklet)
        return False

    def _spool_the_rest(self) -> None:
        """At the stop: what is unconfirmed or still queued stays in the spool (it is there already)."""
        queued = 0
        while True:
            try:
                queued += self._queue.get_nowait() is not _END
            except queue.Empty:
                break
        self.kept = len(self.spool)
        if self.kept:
            log.error("%d tracklets not confirmed by the gallery (%d never sent): kept in %s and sent again at the "
                      "next start", self.kept, queued, self.spool.folder)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver everything queued and wait for its confirmation, up to `timeout` seconds; the rest is kept."""
        self._deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self._queue.put(_END, timeout=0.2)
                break
            except queue.Full:
                if time.monotonic() > self._deadline:
                    break
        self._thread.join(max(0.0, self._deadline - time.monotonic()) + 2.0)
