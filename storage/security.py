"""The gallery's CURVE guard: who may connect, and a count of who was refused.

- A ZAP handler (pyzmq's ThreadAuthenticator, on the gallery's own ZeroMQ context) lets in the clients whose
  public key is in the `authorized_clients` folder. The folder is read again when a file is added or removed
  there, and when an unknown key knocks (at most once a second), so adding or removing a camera host's key
  needs no restart (CURVE checks keys at the handshake: a removed key keeps a connection it already has until
  it reconnects); a key still unknown is refused and logged (once a minute per key).
- A monitor on each CURVE socket counts every failed handshake in starreid_gallery_auth_failures_total, by
  socket (tracklets, events) and reason: `key` (the ZAP handler refused the client's key) or `handshake` (a
  client with the wrong server key, a plain-TCP client, or anything else that does not speak CURVE to us).
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import zmq
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

from starreid.contracts.curve import ServerKeys
from starreid.storage import metrics as M

log = logging.getLogger(__name__)
_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)


class AuthorizedKeys:
    """The ZAP credentials provider: public keys (Z85) of the *.key files in a folder. The folder is read again
    when it changes (a key file added or removed: its mtime) and, at most once a second, when an unknown key
    knocks."""

    RELOAD_S = 1.0
    LOG_EVERY_S = 60.0

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self._keys: set[bytes] = set()
        self._loaded = 0.0
        self._mtime = None
        self._logged: dict[bytes, float] = {}
        self.load()

    def load(self) -> None:
        import zmq.auth

        self._mtime = self.folder.stat().st_mtime_ns
        self._keys = set(zmq.auth.load_certificates(str(self.folder)))
        self._loaded = time.monotonic()

    def _reload(self) -> None:
        try:
            self.load()
        except OSError as exc:  # keep the keys we have
            log.error("cannot read the authorized client keys in %s: %s", self.folder, exc)

    def callback(self, domain: str, key: bytes) -> bool:
        try:
            changed = self.folder.stat().st_mtime_ns != self._mtime
        except OSError:
            changed = False
        if changed or (key not in self._keys and time.monotonic() - self._loaded >= self.RELOAD_S):
            self._reload()
        if key in self._keys:
            return True
        now = time.monotonic()
        if now - self._logged.get(key, -self.LOG_EVERY_S) >= self.LOG_EVERY_S:
            self._logged[key] = now
            log.warning("refused a client with the public key %s: not in %s", key.decode(errors="replace"),
                        self.folder)
        return False


class CurveGuard:
    """Authentication and refusal counting for the CURVE sockets of one ZeroMQ context (the gallery's own:
    one ZAP handler per context)."""

    def __init__(self, context: zmq.Context, keys: ServerKeys):
        self.keys = keys
        self._ctx = context
        self._auth = ThreadAuthenticator(context, log=logging.getLogger("starreid.storage.zap"))
        self._auth.start()
        self.authorized = AuthorizedKeys(keys.authorized_clients)
        self._auth.configure_curve_callback("*", credentials_provider=self.authorized)
        self._monitors: list[tuple[zmq.Socket, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="gallery-curve-monitor", daemon=True)

    def secure(self, sock: zmq.Socket, name: str) -> None:
        """Make sock a CURVE server and count its failed handshakes under socket=name (before bind)."""
        self.keys.apply(sock)
        self._monitors.append((sock.get_monitor_socket(_EVENTS), name))
        M.AUTH_FAILURES.labels(name, "key")
        M.AUTH_FAILURES.labels(name, "handshake")

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        poller = zmq.Poller()
        for mon, _ in self._monitors:
            poller.register(mon, zmq.POLLIN)
        names = {mon: name for mon, name in self._monitors}
        logged: dict[str, float] = {}
        try:
            while not self._stop.is_set():
                for mon, _ in poller.poll(200):
                    try:
                        event = recv_monitor_message(mon, zmq.NOBLOCK)
                    except zmq.Again:
                        continue
                    reason = "key" if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH else "handshake"
                    M.AUTH_FAILURES.labels(names[mon], reason).inc()
                    now = time.monotonic()
                    if reason == "handshake" and now - logged.get(names[mon], -60.0) >= 60.0:
                        logged[names[mon]] = now  # the key refusals are logged by AuthorizedKeys, with the key
                        log.warning("a client failed the CURVE handshake on the %s socket (a wrong server public "
                                    "key, or a client without CURVE); counted in "
                                    "starreid_gallery_auth_failures_total, logged once a minute", names[mon])
        finally:
            for mon, _ in self._monitors:
                mon.close(linger=0)

    def stop(self) -> None:
        """Stop counting and authenticating (before the context is terminated)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        else:
            for mon, _ in self._monitors:
                mon.close(linger=0)
        self._auth.stop()
