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
from starreid.contracts.backoff import Backoff
from starreid.contracts.curve import ClientKeys

MAX_EVENTS_PER_POLL = 10_000
HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
log = logging.getLogger(__name__)


class GalleryClient:
    SEND_TIMEOUT_MS = 100  # a send that cannot go out within this is retried later (the gallery is away)
    REFUSED_LOG_EVERY_S = 30.0  # say this often that the gallery refuses us
    REFUSED_RETRY_S = (1.0, 30.0)  # first and longest wait before trying again after a refused handshake

    def __init__(self, tracklets_endpoint: str, events_endpoint: str, *, resend_after_s: float, send_hwm: int,
                 curve: ClientKeys | None):
        """curve: this worker's CURVE keys and the gallery's public key, or None for plain TCP.

        A gallery that refuses the handshake (a key it does not know, a wrong server key, CURVE on one side
        only) looks like a gallery that is away: tracklets wait and are resent. ZeroMQ itself never retries a
        refused handshake, so each socket's monitor sees the refusal and the socket connects again after a
        backoff (1 s doubling to 30 s): a key the gallery authorizes later is let in without a restart. The
        refusals are counted (.refused) and logged."""
        self.resend_after_s = resend_after_s
        self.tracklets_endpoint = tracklets_endpoint
        ctx = zmq.Context.instance()
        self._push = ctx.socket(zmq.PUSH)
        self._push.setsockopt(zmq.SNDHWM, send_hwm)
        self._push.setsockopt(zmq.SNDTIMEO, self.SEND_TIMEOUT_MS)
        self._push.setsockopt(zmq.LINGER, 0)
        self._sub = ctx.socket(zmq.SUB)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._sub.setsockopt(zmq.RCVHWM, 0)  # never drop events on our side
        self._sub.setsockopt(zmq.LINGER, 0)
        self._endpoints = {self._push: tracklets_endpoint, self._sub: events_endpoint}
        self._monitors, self._retry, self._reconnect_at, self._handshaken = {}, {}, {}, {}
        for sock, endpoint in self._endpoints.items():
            if curve is not None:
                curve.apply(sock)
            self._monitors[sock] = sock.get_monitor_socket(HANDSHAKE_FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED
                                                           | zmq.EVENT_DISCONNECTED)
            self._retry[sock] = Backoff(*self.REFUSED_RETRY_S)
            sock.connect(endpoint)
        self._unconfirmed: dict[str, tuple[bytes, float]] = {}  # tracklet id -> (wire bytes, last sent)
        self._blocked_until = 0.0  # after a send timed out, queue without trying for a moment
        self.resent = 0
        self.rejected = 0  # event messages that were not valid identity events
        self.refused = 0  # handshakes the gallery refused (CURVE: an unknown client key, a wrong server key)
        self._refused_logged = -self.REFUSED_LOG_EVERY_S

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
        """Count the gallery's refusals of our handshake (the sockets' monitors), say so in the log, and connect
        a refused socket again after its backoff. A refusal is a failed handshake (an unknown key, CURVE on one
        side only), or a connection the gallery closes before the handshake ends (a wrong server key)."""
        from zmq.utils.monitor import recv_monitor_message

        now = time.monotonic()
        for sock, monitor in self._monitors.items():
            while monitor.poll(0):
                event = recv_monitor_message(monitor)["event"]
                if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    self._handshaken[sock] = True
                    self._retry[sock].reset()
                    continue
                if event == zmq.EVENT_DISCONNECTED:
                    if self._handshaken.pop(sock, False) or sock in self._reconnect_at:
                        continue  # the gallery went away after letting us in (ZeroMQ reconnects), or a refusal ends
                self._refused(sock, event, now)
        for sock, at in list(self._reconnect_at.items()):
            if now >= at:
                del self._reconnect_at[sock]
                sock.connect(self._endpoints[sock])

    def _refused(self, sock: zmq.Socket, event: int, now: float) -> None:
        self.refused += 1
        if sock not in self._reconnect_at:
            # ZeroMQ either gives up on a refused handshake or retries it every 0.1 s: neither helps, so the
            # socket tries again after its backoff (a key authorized meanwhile gets in without a restart)
            try:
                sock.disconnect(self._endpoints[sock])
            except zmq.ZMQError:
                pass  # ZeroMQ had given up on the endpoint already
            self._reconnect_at[sock] = now + self._retry[sock].next_delay()
        if now - self._refused_logged >= self.REFUSED_LOG_EVERY_S:
            self._refused_logged = now
            why = ("it does not know this worker's key (is its public key in the gallery's "
                   "zmq.curve.authorized_clients?)" if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH else
                   "the handshake failed (is zmq.curve.server_public_key the gallery's key? do both sides use "
                   "CURVE, or neither?)")
            log.error("the gallery at %s refused this worker (%d times so far): %s; tracklets are kept and resent "
                      "once it lets us in", self._endpoints[sock], self.refused, why)

    def close(self) -> None:
        for sock, monitor in self._monitors.items():
            sock.disable_monitor()
            monitor.close(linger=0)
        self._push.close(linger=0)
        self._sub.close(linger=0)
