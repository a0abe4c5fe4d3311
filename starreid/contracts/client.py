"""Sending tracklets to the gallery without losing any: PUSH, then resend until its identity event arrives.

ZeroMQ PUSH/PULL does not acknowledge, and a gallery killed mid-stream loses what its socket had buffered.
Tracklet ids are stable, so resending is safe: the gallery processes an id once and answers a repeat by
publishing the stored event again.
"""
from __future__ import annotations

import logging
import time

import zmq

from starreid.contracts import wire
from starreid.contracts.curve import ClientKeys

MAX_EVENTS_PER_POLL = 10_000
HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
log = logging.getLogger(__name__)


class GalleryClient:
    SEND_TIMEOUT_MS = 100  # a send that cannot go out within this is retried later (the gallery is away)
    REFUSED_LOG_EVERY_S = 30.0  # a refused handshake is retried by ZeroMQ every 0.1 s: say so this often

    def __init__(self, tracklets_endpoint: str, events_endpoint: str, *, resend_after_s: float, send_hwm: int,
                 curve: ClientKeys | None):
        """curve: this worker's CURVE keys and the gallery's public key, or None for plain TCP. A gallery that
        refuses the handshake (a key it does not know, a wrong server key) looks like a gallery that is away:
        tracklets wait and are resent; the refusals are counted (.refused) and logged."""
        self.resend_after_s = resend_after_s
        self.tracklets_endpoint = tracklets_endpoint
        ctx = zmq.Context.instance()
        self._push = ctx.socket(zmq.PUSH)
        self._monitor = None
        if curve is not None:
            curve.apply(self._push)
            self._monitor = self._push.get_monitor_socket(HANDSHAKE_FAILED)
        self._push.setsockopt(zmq.SNDHWM, send_hwm)
        self._push.setsockopt(zmq.SNDTIMEO, self.SEND_TIMEOUT_MS)
        self._push.setsockopt(zmq.LINGER, 0)
        self._push.connect(tracklets_endpoint)
        self._sub = ctx.socket(zmq.SUB)
        if curve is not None:
            curve.apply(self._sub)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._sub.setsockopt(zmq.RCVHWM, 0)  # never drop events on our side
        self._sub.setsockopt(zmq.LINGER, 0)
        self._sub.connect(events_endpoint)
        self._unconfirmed: dict[str, tuple[bytes, float]] = {}  # tracklet id -> (wire bytes, last sent)
        self._blocked_until = 0.0  # after a send timed out, queue without trying for a moment
        self.resent = 0
        self.rejected = 0  # event messages that were not valid identity events
        self.refused = 0  # handshakes the gallery refused (CURVE: an unknown client key, a wrong server key)
        self._refused_logged = 0.0

    @classmethod
    def from_config(cls, zmq) -> "GalleryClient":
        """From the zmq config section (the connect addresses tracklets and events, resend_after_s, send_hwm,
        curve: its key files are read here)."""
        return cls(zmq.tracklets, zmq.events, resend_after_s=zmq.resend_after_s, send_hwm=zmq.send_hwm,
                   curve=ClientKeys.from_config(zmq.curve))

    @property
    def unconfirmed(self) -> int:
        return len(self._unconfirmed)

    def send(self, tracklet: wire.Tracklet) -> None:
        self.send_raw(tracklet.id, wire.encode(tracklet))

    def send_raw(self, tracklet_id: str, data: bytes) -> None:
        """A tracklet already encoded (kept until confirmed, like send's)."""
        self._unconfirmed[tracklet_id] = (data, 0.0)
        self._try_send(tracklet_id, data)

    def _try_send(self, tid: str, data: bytes) -> bool:
        now = time.monotonic()
        if now < self._blocked_until:
            return False
        try:
            self._push.send(data)
        except zmq.Again:  # the gallery is away and our queue is full: resend later
            self._blocked_until = time.monotonic() + 0.5
            return False
        self._unconfirmed[tid] = (data, now)
        return True

    def poll(self, timeout_ms: int = 0) -> list[wire.IdentityEvent]:
        """Every identity event received (other senders' too); resends tracklets unconfirmed for
        resend_after_s."""
        return [event for event, _ in self._receive(timeout_ms)]

    def poll_confirmed(self, timeout_ms: int = 0) -> list[str]:
        """Ids of this client's tracklets confirmed since the last call, each once however often it was sent
        (the gallery answers every resend); resends as poll() does."""
        return [event.tracklet_id for event, ours in self._receive(timeout_ms) if ours]

    def _receive(self, timeout_ms: int) -> list[tuple[wire.IdentityEvent, bool]]:
        """(event, whether it confirmed one of our unconfirmed tracklets) for each event received."""
        events = []
        for _ in range(MAX_EVENTS_PER_POLL):  # a flood on the events port cannot hold the sender here
            if not self._sub.poll(timeout_ms):
                break
            timeout_ms = 0
            try:
                msg = wire.decode(self._sub.recv(zmq.NOBLOCK))
            except zmq.Again:
                continue
            except wire.WireError:  # anyone who reaches the events port can send anything: count, drop
                self.rejected += 1
                continue
            if not isinstance(msg, wire.IdentityEvent):
                self.rejected += 1
                continue
            events.append((msg, self._unconfirmed.pop(msg.tracklet_id, None) is not None))
        self._check_handshakes()
        now = time.monotonic()
        for tid, (data, sent) in list(self._unconfirmed.items()):
            if now - sent >= self.resend_after_s:
                if not self._try_send(tid, data):
                    break
                self.resent += 1
        return events

    def _check_handshakes(self) -> None:
        """Count the gallery's refusals of our CURVE handshake (the PUSH socket's monitor) and say so in the log."""
        if self._monitor is None:
            return
        from zmq.utils.monitor import recv_monitor_message

        refused, why = 0, ""
        while self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            refused += 1
            why = ("the gallery does not know this worker's key"
                   if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH else
                   "the handshake failed: is zmq.curve.server_public_key the gallery's key, and does the gallery "
                   "use CURVE?")
        if refused:
            self.refused += refused
            now = time.monotonic()
            if now - self._refused_logged >= self.REFUSED_LOG_EVERY_S:
                self._refused_logged = now
                log.error("the gallery at %s refused this worker (%d times so far): %s; tracklets are kept and "
                          "resent once it lets us in", self.tracklets_endpoint, self.refused, why)

    def close(self) -> None:
        if self._monitor is not None:
            self._push.disable_monitor()
            self._monitor.close(linger=0)
        self._push.close(linger=0)
        self._sub.close(linger=0)
