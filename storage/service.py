"""The gallery daemon: PULL tracklets -> durable log (Redis Stream) -> resolve -> commit + ack -> events.

Two threads, each with its own Redis connection, meeting only at the log: ingest (receive, validate, XADD)
and resolution (read the log, resolve, commit). Each spends much of its time waiting on Redis or in faiss,
which release the GIL, so they overlap. A tracklet is acknowledged in the same MULTI/EXEC that commits its
resolution, so a crash replays exactly the unacknowledged entries, and tracklet ids make a replay or a
sender's retry a no-op (the stored event is published again instead). Any Redis failure rebuilds the
resolution state from Redis; ingest just retries, receiving nothing meanwhile (back-pressure).
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import Counter
from typing import Callable

import numpy as np
import redis
import zmq

from starreid.contracts import metrics, wire
from starreid.contracts.curve import ServerKeys
from starreid.storage import log as durable
from starreid.storage import metrics as M
from starreid.storage import store
from starreid.contracts.backoff import Backoff
from starreid.storage.connect import REDIS_RETRY_S, RETRYABLE
from starreid.storage.housekeeping import Housekeeper
from starreid.storage.keys import GROUP, Keys
from starreid.storage.resolver import Observation, Resolver

log = logging.getLogger(__name__)


class GalleryService:
    def __init__(self, connect: Callable[[], redis.Redis], keys: Keys, make_resolver: Callable[[], Resolver],
                 tracklets_endpoint: str, events_endpoint: str, embed: Callable[[wire.Tracklet], wire.Embedding] | None,
                 *, batch_size: int, recv_hwm: int, events_hwm: int, retention_s: float | None,
                 retention_sweep_s: float, log_retention_s: float, events_retention_s: float, dedupe_ttl_s: float,
                 drain_timeout_s: float, max_crop: tuple[int, int], recv_budget_bytes: int, cache_budget_bytes: int,
                 log_crops: str, curve: ServerKeys | None):
        """tracklets_endpoint and events_endpoint are bound here (PULL and PUB). curve: the gallery's CURVE keys
        and the folder of client keys it lets in (starreid.storage.security), or None for plain TCP."""
        self._connect, self.keys, self._make_resolver = connect, keys, make_resolver
        self.embed, self.batch_size, self.dedupe_ttl_s = embed, batch_size, dedupe_ttl_s
        self.drain_timeout_s, self.log_crops = drain_timeout_s, log_crops
        self._house_args = dict(retention_s=retention_s, retention_sweep_s=retention_sweep_s,
                                log_retention_s=log_retention_s, events_retention_s=events_retention_s)
        self.max_crop = tuple(max_crop)
        # Memory is budgeted in bytes, not only in messages: ZeroMQ's queue is bounded in messages, so its
        # length is the receive budget over the largest message it lets through (a peer sending more is cut off).
        self._max_recv = wire.MAX_MESSAGE_BYTES + (64 << 10)  # a little over the limit: decode rejects and counts
        self._recv_budget = recv_budget_bytes
        self._cache_budget = cache_budget_bytes
        self._stop = threading.Event()
        # CURVE needs a ZAP handler, one per context: the gallery then has a context of its own.
        self._ctx = zmq.Context.instance() if curve is None else zmq.Context()
        self._guard = None
        if curve is not None:
            from starreid.storage.security import CurveGuard

            self._guard = CurveGuard(self._ctx, curve)
        self._pull = self._ctx.socket(zmq.PULL)
        self._pull.setsockopt(zmq.RCVHWM, max(1, min(recv_hwm, recv_budget_bytes // self._max_recv)))
        self._pull.setsockopt(zmq.MAXMSGSIZE, self._max_recv)
        self._pub = self._ctx.socket(zmq.PUB)
        self._pub.setsockopt(zmq.SNDHWM, events_hwm)
        try:
            if self._guard is not None:
                self._guard.secure(self._pull, "tracklets")
                self._guard.secure(self._pub, "events")
            self._pull.bind(tracklets_endpoint)
            self._pub.bind(events_endpoint)
        except zmq.ZMQError:
            self.close_sockets()
            raise
        if self._guard is not None:
            self._guard.start()
        self.tracklets_endpoint = self._pull.getsockopt_string(zmq.LAST_ENDPOINT)
        self.events_endpoint = self._pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self.client: redis.Redis | None = None  # resolution's connection
        self._ingest_client: redis.Redis | None = None  # the ingest thread's
        self.resolver: Resolver | None = None
        self._held: list[tuple[wire.Tracklet, bytes, bytes | None]] = []  # (message, its log bytes, thumbnail)
        self._decoded: dict[bytes, tuple[wire.Tracklet, int]] = {}  # log entry id -> (message, its bytes)
        self._decoded_bytes = 0
        self._decoded_lock = threading.Lock()
        self._read_count = batch_size  # log entries per read: fewer when entries are large (crops)
        self._pending_mode = True  # first re-read entries delivered before a crash
        self._broken = True  # (re)load state before the first step
        self._backoff = Backoff(*REDIS_RETRY_S)
        self._house: Housekeeper | None = None
        self._ingest_stop = threading.Event()
        self._ingest_error: Exception | None = None
        self._ingest_thread = threading.Thread(target=self._ingest_loop, name="gallery-ingest", daemon=True)

    @classmethod
    def from_config(cls, gallery, zmq, model, connect: Callable[[], redis.Redis], keys: Keys,
                    embed: Callable[[wire.Tracklet], wire.Embedding] | None,
                    make_resolver: Callable[[], Resolver] | None = None) -> "GalleryService":
        """From the gallery and zmq config sections (the bind addresses; curve: its key files are read here);
        the model section gives the input size crops are checked against. make_resolver defaults to
        Resolver.from_config(gallery)."""
        return cls(connect, keys, make_resolver or (lambda: Resolver.from_config(gallery)), zmq.tracklets_bind,
                   zmq.events_bind, embed, batch_size=gallery.batch_size, recv_hwm=zmq.recv_hwm,
                   events_hwm=zmq.events_hwm,
                   retention_s=gallery.retention_s, retention_sweep_s=gallery.retention_sweep_s,
                   log_retention_s=gallery.log_retention_s, events_retention_s=gallery.events_retention_s,
                   dedupe_ttl_s=gallery.dedupe_ttl_s, drain_timeout_s=gallery.drain_timeout_s,
                   max_crop=(int(model.height * gallery.max_crop_scale), int(model.width * gallery.max_crop_scale)),
                   recv_budget_bytes=gallery.recv_budget_mb << 20, cache_budget_bytes=gallery.cache_budget_mb << 20,
                   log_crops=gallery.log_crops, curve=ServerKeys.from_config(zmq.curve))

    # ------------------------------------------------------------ lifecycle
    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Serve until request_stop(), then drain: log what ZeroMQ holds, resolve the log, close."""
        log.info("gallery: tracklets on %s, events on %s", self.tracklets_endpoint, self.events_endpoint)
        metrics.set_ready("gallery", lambda: not self._broken and not self._stop.is_set())  # state loaded, Redis up
        self._ingest_thread.start()
        try:
            while not self._stop.is_set():
                self._guarded(self._step)
        finally:
            self._drain()
        if self._ingest_error is not None:  # exit non-zero: the supervisor restarts the gallery
            raise RuntimeError("the gallery's ingest thread failed") from self._ingest_error

    def _guarded(self, step: Callable[[], int]) -> int | None:
        try:
            if self._broken:
                self._recover()
            busy = step()
            self._backoff.reset()
            return busy
        except (*RETRYABLE, redis.OutOfMemoryError) as exc:
            full = isinstance(exc, redis.OutOfMemoryError)
            (M.REDIS_FULL if full else M.REDIS_ERRORS).inc()
            self._broken = True  # the failed commit changed nothing in Redis: reload what memory holds
            delay = self._backoff.next_delay()
            log.warning("redis %s (%s); retrying in %.2f s", "is full (maxmemory)" if full else "unavailable", exc,
                        delay)
            time.sleep(delay)
            return None

    def _ingest_loop(self) -> None:
        try:
            self._ingest_until_stopped()
        except Exception as exc:  # unexpected: stop the whole service rather than serve without ingest
            log.exception("ingest failed; stopping the gallery")
            self._ingest_error = exc
            self._stop.set()
            self._pull.close(linger=0)

    def _ingest_until_stopped(self) -> None:
        """ZeroMQ -> log until stopped, then what ZeroMQ still holds (for half the drain time)."""
        backoff = Backoff(*REDIS_RETRY_S)
        stop_taking = None
        while True:
            if self._ingest_stop.is_set() and stop_taking is None:
                stop_taking = time.monotonic() + self.drain_timeout_s / 2  # senders that keep sending keep the rest
            try:
                if self._ingest_client is None:
                    self._ingest_client = self._connect()
                got = self._ingest(0 if stop_taking is not None else 50)
                backoff.reset()
            except RETRYABLE as exc:
                M.REDIS_ERRORS.inc()
                delay = backoff.next_delay()
                log.warning("ingest: redis unavailable (%s); retrying in %.2f s", exc, delay)
                time.sleep(delay)
                got = None
            except redis.OutOfMemoryError:
                # Redis is full (maxmemory, noeviction): hold what was received (ZeroMQ back-pressure reaches the
                # workers, which keep their tracklets) until trimming frees room; nothing is dropped.
                M.REDIS_FULL.inc()
                delay = backoff.next_delay()
                log.warning("ingest: redis is full (maxmemory); holding %d tracklets, retrying in %.2f s",
                            len(self._held), delay)
                time.sleep(delay)
                got = None
            if stop_taking is not None and (time.monotonic() > stop_taking or (got == 0 and not self._held)):
                break
        if self._held:
            log.warning("%d received tracklets could not be logged (redis unavailable); their senders resend them",
                        len(self._held))
        self._pull.close(linger=0)  # senders keep what they have not sent for the next gallery

    def _recover(self) -> None:
        """(Re)connect and rebuild the resolver from Redis: in-memory state never outlives a failed commit."""
        if self.client is None:
            self.client = self._connect()
        self.client.ping()
        moved = store.migrate_untagged(self.client, self.keys)
        if moved:
            log.warning("renamed %d keys of the layout before hash tags (%s:*) to %s:*", moved, self.keys.prefix,
                        self.keys.tag)
        durable.ensure_group(self.client, self.keys)
        started = time.monotonic()
        identities, vectors = store.load_all(self.client, self.keys)
        self.resolver = self._make_resolver()
        self.resolver.load(identities, vectors)
        self._house = Housekeeper(self.client, self.keys, self.resolver, **self._house_args)
        self._pending_mode, self._broken = True, False
        with self._decoded_lock:
            self._decoded.clear()
            self._decoded_bytes = 0
        log.info("gallery state loaded from redis: %d identities, %d exemplars in %.2f s",
                 len(identities), self.resolver.index_size(), time.monotonic() - started)

    def _drain(self) -> None:
        deadline = time.monotonic() + self.drain_timeout_s
        self._ingest_stop.set()
        while time.monotonic() < deadline:
            ingesting = self._ingest_thread.is_alive()
            if self._guarded(self._process) == 0 and not ingesting:
                break
        self._ingest_thread.join(max(0.0, deadline - time.monotonic()) + 1.0)
        if self.client is not None and not self._broken:
            try:
                self.client.delete(self.keys.alive)
            except RETRYABLE:
                pass
        self._pub.close(linger=1000)
        if self._guard is not None:
            self._guard.stop()
            if not self._ingest_thread.is_alive():  # every socket of our own context is closed
                self._ctx.term()
        log.info("gallery drained and stopped")

    def close_sockets(self) -> None:
        """Close the sockets of a service that will not run (run() closes them itself)."""
        self._pull.close(linger=0)
        self._pub.close(linger=0)
        if self._guard is not None:
            self._guard.stop()
            self._ctx.term()

    # ------------------------------------------------------------ the loop
    def _step(self) -> int:
        self._house.tick(time.time())  # first: its trimming is what frees a full Redis for the commits below
        return self._process(block_ms=20)

    def _ingest(self, timeout_ms: int) -> int:
        """Move what ZeroMQ holds into the log; while Redis is down nothing more is received (back-pressure).
        Runs on the ingest thread, with its own connection."""
        got, held_bytes = 0, 0
        if not self._held and self._pull.poll(timeout_ms):
            # a batch is bounded in bytes too: it is held twice (raw and decoded) until it is in the log
            while got < self.batch_size and held_bytes < self._recv_budget // 4:
                try:
                    raw = self._pull.recv(zmq.NOBLOCK, copy=True)
                except zmq.Again:
                    break
                got += 1
                held_bytes += len(raw)
                try:
                    self._accept(raw)
                except Exception:  # a message nobody foresaw must cost only itself
                    M.MESSAGE_ERRORS.labels("ingest").inc()
                    log.exception("ingest: dropped a message of %d bytes that failed unexpectedly", len(raw))
        if self._held:
            ids = durable.append(self._ingest_client, self.keys, [(m.id, raw, thumb) for m, raw, thumb in self._held])
            received = Counter((msg.camera, msg.modality) for msg, _, _ in self._held)
            self._cache([(eid, msg, len(raw)) for eid, (msg, raw, _) in zip(ids, self._held)])
            for (camera, modality), count in received.items():
                M.RECEIVED.labels(camera, modality).inc(count)
            self._held = []
        return got

    def _cache(self, entries: list[tuple[bytes, wire.Tracklet, int]]) -> None:
        """Keep decoded messages (log entry id, message, its size) for resolution (saves decoding them again),
        within the cache's byte budget; past it, resolution decodes from the log."""
        with self._decoded_lock:
            for eid, msg, size in entries:
                if self._decoded_bytes + size <= self._cache_budget:
                    self._decoded[eid] = (msg, size)
                    self._decoded_bytes += size

    def _cached(self, eid: bytes) -> wire.Tracklet | None:
        with self._decoded_lock:
            hit = self._decoded.pop(eid, None)
            if hit is None:
                return None
            self._decoded_bytes -= hit[1]
            return hit[0]

    def _accept(self, raw: bytes) -> None:
        try:
            msg = wire.decode(raw, self.max_crop)
        except wire.CropTooLarge as exc:
            M.REJECTED.labels("crop_too_large").inc()
            log.warning("rejected a tracklet: %s", exc)
            return
        except wire.WireError as exc:
            M.REJECTED.labels("malformed").inc()
            log.debug("rejected a malformed message of %d bytes: %s", len(raw), exc)
            return
        if not isinstance(msg, wire.Tracklet):
            M.REJECTED.labels("not_a_tracklet").inc()
            return
        if msg.embedding is None and self.embed is None:
            M.REJECTED.labels("no_embedding").inc()
            log.warning("tracklet %s (camera %s) has no embedding and no model is configured", msg.id, msg.camera)
            return
        thumb = None
        if msg.embedding is not None and msg.crops and self.log_crops != "all":
            # Embedded already: the log needs the embedding, not 24 crops (~190 KB); a thumbnail is kept for
            # identity sheets unless log_crops is "none".
            if self.log_crops == "thumbnail":
                thumb = msg.crops[len(msg.crops) // 2]
            msg = dataclasses.replace(msg, crops=None)
            raw = wire.encode(msg)
        self._held.append((msg, raw, thumb))

    def _process(self, block_ms: int | None = None) -> int:
        count = self._read_count
        entries = durable.read(self.client, self.keys, count, pending=self._pending_mode)
        if self._pending_mode and not entries:
            self._pending_mode = False
            entries = durable.read(self.client, self.keys, count, pending=False, block_ms=block_ms)
        elif not self._pending_mode and not entries and block_ms:
            entries = durable.read(self.client, self.keys, count, pending=False, block_ms=block_ms)
        if not entries:
            M.LAG.set(0)
            return 0
        M.LAG.set(max(0.0, time.time() - durable.entry_time(entries[0][0])))
        # The next read takes as many entries as fit a quarter of the receive budget at this read's mean size.
        mean = sum(len(f.get(b"msg", b"")) for _, f in entries) / len(entries)
        self._read_count = int(max(1, min(self.batch_size, self._recv_budget // 4 // max(mean, 1))))
        try:
            self._resolve(entries)
        except RETRYABLE:
            raise
        except Exception:
            # One entry nobody foresaw must not stop the gallery, nor block the log behind it: reload the
            # state the failed batch may have half-changed, then resolve its entries one at a time, dropping
            # (acknowledging) only the ones that fail again.
            log.exception("resolving a batch of %d log entries failed; retrying them one by one", len(entries))
            self._recover()
            for entry in entries:
                try:
                    self._resolve([entry])
                except RETRYABLE:
                    raise
                except Exception:
                    M.MESSAGE_ERRORS.labels("resolve").inc()
                    log.exception("dropped log entry %s (tracklet %s): resolving it failed", entry[0],
                                  entry[1].get(b"tid"))
                    self._recover()
                    self.client.xack(self.keys.log, GROUP, entry[0])
        return len(entries)

    def _resolve(self, entries) -> None:
        acks, replays, parsed = [], [], []
        for eid, fields in entries:
            try:
                msg = self._cached(eid)
                parsed.append((eid, msg if msg is not None else wire.decode(fields[b"msg"], self.max_crop)))
            except (wire.WireError, KeyError):
                M.REJECTED.labels("malformed").inc()
                acks.append(eid)
        done_before = store.markers(self.client, self.keys, [m.id for _, m in parsed])
        todo, seen = [], set()
        for eid, msg in parsed:
            if msg.id in done_before or msg.id in seen:
                acks.append(eid)
                M.PROCESSED.labels("duplicate").inc()
                if msg.id in done_before:
                    replays.append(wire.encode(done_before[msg.id]))
                continue
            seen.add(msg.id)
            obs = self._observe(msg)
            if obs is None:
                acks.append(eid)
            else:
                todo.append((eid, obs))
        now = time.time()
        decisions = self.resolver.resolve([o for _, o in todo], now) if todo else []
        done = [(eid, o, d, self.resolver.identities[d.iid]) for (eid, o), d in zip(todo, decisions)]
        events = store.commit(self.client, self.keys, done, acks, now, self.dedupe_ttl_s)
        committed = time.time()
        kinds = Counter(dec.kind for _, _, dec, _ in done)
        for kind, count in kinds.items():
            M.PROCESSED.labels(kind).inc(count)
        if kinds.get("new"):
            M.NEW_IDENTITIES.inc(kinds["new"])
        for eid, obs, dec, _ in done:
            M.LATENCY.observe(max(0.0, committed - durable.entry_time(eid)))
            if dec.pair is not None:
                M.SCORES.labels(dec.pair, dec.kind).observe(dec.score)
        for data in events + replays:
            try:
                self._pub.send(data, zmq.NOBLOCK)
                M.EVENTS.inc()
            except zmq.Again:
                pass  # PUB drops past its high-water mark; the events stream in Redis has every event
        M.IDENTITIES.set(len(self.resolver.identities))

    def _observe(self, msg: wire.Tracklet) -> Observation | None:
        """The tracklet as an observation to resolve, embedding it first if needed; None = rejected."""
        emb = msg.embedding
        if emb is None:
            if self.embed is None:
                M.REJECTED.labels("no_embedding").inc()
                return None
            try:
                emb = self.embed(msg)
            except Exception:  # a tracklet the model cannot embed must not stop the gallery
                M.REJECTED.labels("embed_failed").inc()
                log.exception("embedding tracklet %s (camera %s) failed", msg.id, msg.camera)
                return None
        vec = np.asarray(emb.vector, np.float32)
        try:
            self.resolver.index_for(emb.model_id, vec.shape[0])
        except ValueError as exc:
            M.REJECTED.labels("dimension").inc()
            log.warning("tracklet %s (camera %s): %s", msg.id, msg.camera, exc)
            return None
        return Observation(msg.id, msg.camera, msg.modality, msg.start_ts, msg.end_ts, vec, emb.model_id)
