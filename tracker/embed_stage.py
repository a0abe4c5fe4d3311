"""Embedding off the camera loop: tracklets wait in a bounded queue and one thread embeds whatever is waiting
in one batch (up to max_batch), then hands each on. The camera loop only blocks when the queue is full
(back-pressure, as the sender's), so a slow model costs frames only when it cannot keep up at all."""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable

from starreid.contracts.wire import Embedding, Tracklet

log = logging.getLogger(__name__)
_END = object()


class EmbedStage:
    def __init__(self, embed_batch: Callable[[list[Tracklet]], list[Embedding]], sink: Callable[[Tracklet], None],
                 keep: Callable[[Tracklet], None], *, queue_size: int, max_batch: int):
        """embed_batch: tracklets -> their embeddings; sink(tracklet) takes each one on (the sender); keep(tracklet)
        saves one as it arrives (the sender's spool), so a worker killed with tracklets waiting here loses none."""
        self._embed, self._sink, self._keep, self.max_batch = embed_batch, sink, keep, max_batch
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.on_batch = lambda n, seconds: None  # for the worker's metrics
        self.failed = 0  # tracklets the model could not embed (handed on without an embedding)
        self._thread = threading.Thread(target=self._run, name="embed", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def put(self, tracklet: Tracklet, stop: threading.Event | None = None, grace: float = 10.0) -> None:
        """Queue one tracklet, blocking while the queue is full; once `stop` is set, at most `grace` seconds
        more, then it goes on unembedded (the gallery embeds it if it has the model)."""
        self._keep(tracklet)
        stopped_at = None
        while True:
            try:
                self._queue.put(tracklet, timeout=0.2)
                return
            except queue.Full:
                if stop is not None and stop.is_set():
                    stopped_at = stopped_at or time.monotonic()
                    if time.monotonic() - stopped_at > grace:
                        log.warning("tracklet %s handed on unembedded: the embedding queue stayed full", tracklet.id)
                        self._sink(tracklet)
                        return

    def _run(self) -> None:
        while True:
            batch, ending = [], False
            item = self._queue.get()
            while item is not _END:
                batch.append(item)
                if len(batch) >= self.max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            ending = item is _END
            if batch:
                self._embed_and_hand_on(batch)
            if ending:
                return

    def _embed_and_hand_on(self, batch: list[Tracklet]) -> None:
        start = time.perf_counter()
        try:
            for tracklet, embedding in zip(batch, self._embed(batch)):
                tracklet.embedding = embedding
        except Exception:  # handed on without embeddings: the gallery can embed them centrally
            self.failed += len(batch)
            log.exception("embedding %d tracklets failed (first: %s)", len(batch), batch[0].id)
        self.on_batch(len(batch), time.perf_counter() - start)
        for tracklet in batch:
            self._sink(tracklet)

    def close(self, timeout: float) -> None:
        """Embed and hand on everything queued (within timeout), then stop the thread."""
        deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self._queue.put(_END, timeout=0.2)
                break
            except queue.Full:
                if time.monotonic() > deadline:
                    break
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.error("the embedding thread did not finish within %.0f s", timeout)
