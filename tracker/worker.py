"""The camera worker loop: source -> pipeline -> (optional embedder) -> sender, with metrics.

Runs until the stop event is set (SIGTERM) or a file source ends; either way it flushes the tracklets it
holds. An unreadable source is counted and retried with backoff; it never ends the process."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from starreid.contracts import metrics
from starreid.contracts.backoff import Backoff
from starreid.streams.files import SourceError
from starreid.streams.source import Source
from starreid.tracker.embed_stage import EmbedStage
from starreid.tracker.pipeline import CameraPipeline
from starreid.tracker.sender import TrackletSender

log = logging.getLogger(__name__)
EXIT_UNCONFIRMED = 3  # stopped with tracklets the gallery has not confirmed (they wait in the spool)
LABELS = ("camera", "modality")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class WorkerMetrics:
    def __init__(self, camera: str, modality: str):
        def lab(metric):
            return metric.labels(camera=camera, modality=modality)

        self.frames = lab(metrics.counter("starreid_worker_frames_processed_total", "frames through the pipeline", LABELS))
        self.frame_latency = lab(metrics.histogram("starreid_worker_frame_latency_seconds", "time per frame",
                                                   LABELS, LATENCY_BUCKETS))
        self.stage = {s: lab(metrics.histogram(f"starreid_tracker_{s}_latency_seconds", f"{s} time per call",
                                               LABELS, LATENCY_BUCKETS)) for s in ("detect", "pose", "track")}
        self.embed = lab(metrics.histogram("starreid_worker_embed_latency_seconds",
                                           "embedding time per tracklet (a batch's time over its tracklets)",
                                           LABELS, LATENCY_BUCKETS))
        self.embed_queue = lab(metrics.gauge("starreid_worker_embed_queue_depth",
                                             "tracklets waiting for the embedding thread", LABELS))
        self.purity_cuts = lab(metrics.counter("starreid_tracker_purity_cuts_total",
                                               "tracklet windows cut where the track's appearance changed", LABELS))
        self.active = lab(metrics.gauge("starreid_tracker_active_tracks", "tracks currently followed", LABELS))
        self.emitted = lab(metrics.counter("starreid_worker_tracklets_emitted_total", "tracklets cut", LABELS))
        self.sent = lab(metrics.counter("starreid_worker_tracklets_sent_total", "tracklets handed to ZeroMQ", LABELS))
        self.confirmed = lab(metrics.counter("starreid_worker_tracklets_confirmed_total",
                                             "tracklets the gallery confirmed with an identity event", LABELS))
        self.unconfirmed = lab(metrics.gauge("starreid_worker_tracklets_unconfirmed",
                                             "tracklets sent, kept (in memory and the spool) for resending until "
                                             "the gallery confirms; at exit, those left in the spool", LABELS))
        self.send_errors = lab(metrics.counter("starreid_worker_send_errors_total",
                                               "tracklets that could not be encoded (lost)", LABELS))
        self.queue = lab(metrics.gauge("starreid_worker_send_queue_depth", "tracklets waiting to be sent", LABELS))
        self.source_errors = lab(metrics.counter("starreid_worker_source_errors_total",
                                                 "source failures (unreadable file or folder)", LABELS))
        self.events_rejected = lab(metrics.counter("starreid_worker_events_rejected_total",
                                                   "messages on the identity-event subscription that were not "
                                                   "valid events (dropped)", LABELS))
        self.frame_errors = lab(metrics.counter("starreid_worker_frame_errors_total",
                                                "frames that failed in the pipeline (skipped)", LABELS))


class Worker:
    """One camera: a Source, its CameraPipeline, an optional embed(tracklet) -> Embedding, a TrackletSender."""

    RETRY_S = (0.5, 5.0)  # first and longest wait before reopening a source that failed

    def __init__(self, source: Source, pipeline: CameraPipeline, sender: TrackletSender,
                 embed_batch: Callable | None, *, flush_timeout: float, queue_size: int, max_batch: int):
        """embed_batch(tracklets) -> embeddings, or None to send crops for the gallery to embed; queue_size and
        max_batch size the embedding stage's queue and batches."""
        self.source, self.pipeline, self.sender = source, pipeline, sender
        self.camera, self.flush_timeout = source.camera, flush_timeout
        self.metrics = WorkerMetrics(source.camera, source.modality)
        self.stop = threading.Event()
        self.embed_stage = None
        if embed_batch is not None:
            self.embed_stage = EmbedStage(embed_batch, self._send, sender.keep, queue_size=queue_size,
                                          max_batch=max_batch)
            self.embed_stage.on_batch = self._embedded
        pipeline.observe = lambda stage, seconds: self.metrics.stage[stage].observe(seconds)
        pipeline.builder.on_purity_cut = self.metrics.purity_cuts.inc
        sender.on_sent = lambda t: self.metrics.sent.inc()
        sender.on_confirmed = lambda tracklet_id: self.metrics.confirmed.inc()
        sender.on_error = lambda t, exc: self.metrics.send_errors.inc()
        sender.on_rejected_events = self.metrics.events_rejected.inc
        self._retry = Backoff(*self.RETRY_S)
        self.emitted = 0

    def run(self, stop: threading.Event) -> int:
        self.stop = stop
        try:
            while not stop.is_set():
                try:
                    self._consume(stop)
                except SourceError as exc:
                    self.metrics.source_errors.inc()
                    metrics.set_ready("source", False)
                    log.error("%s (retrying)", exc)
                    stop.wait(self._retry.next_delay())
                    continue
                if not self.source.live:
                    log.info("camera %s: source ended", self.camera)
                    break
        finally:
            done = threading.Event()
            done.set()  # shutting down: wait at most flush_timeout for room in the queue
            self._publish(self.pipeline.flush(), done)
            self.source.close()
            if self.embed_stage is not None:
                self.embed_stage.close(self.flush_timeout)
            self.sender.close(self.flush_timeout)
            s = self.sender
            self.metrics.queue.set(0)
            self.metrics.unconfirmed.set(s.kept)  # the gauge and the line below say the same
            complete = s.kept == 0 and s.lost == 0
            (log.info if complete else log.error)(
                "camera %s: stopped after %d tracklets (%d sent, %d confirmed, %d resent, %d from an earlier run's "
                "spool, %d unconfirmed: kept in %s for the next start, %d lost)", self.camera, self.emitted, s.sent,
                s.confirmed, s.resent, s.from_spool, s.kept, s.spool.folder, s.lost)
        return 0 if complete else EXIT_UNCONFIRMED

    def _consume(self, stop: threading.Event) -> None:
        for frame in self.source.frames(stop):
            start = time.perf_counter()
            try:
                tracklets = self.pipeline.process(frame)
            except Exception:  # one bad frame must not end the camera
                self.metrics.frame_errors.inc()
                log.exception("camera %s: frame %d failed", self.camera, frame.index)
                continue
            self.metrics.frames.inc()
            metrics.set_ready("source", True)  # /readyz: the source is open and frames flow
            self.metrics.frame_latency.observe(time.perf_counter() - start)
            self.metrics.active.set(len(self.pipeline.views))
            self._retry.reset()
            self._publish(tracklets, stop)

    def _publish(self, tracklets, stop: threading.Event | None) -> None:
        for tracklet in tracklets:
            self.emitted += 1
            self.metrics.emitted.inc()
            if self.embed_stage is not None:
                self.embed_stage.put(tracklet, stop, grace=self.flush_timeout)
                self.metrics.embed_queue.set(self.embed_stage.depth)
            else:
                self._send(tracklet)

    def _embedded(self, n: int, seconds: float) -> None:
        for _ in range(n):
            self.metrics.embed.observe(seconds / n)
        self.metrics.embed_queue.set(self.embed_stage.depth)

    def _send(self, tracklet) -> None:
        self.sender.put(tracklet, self.stop, grace=self.flush_timeout)
        self.metrics.queue.set(self.sender.depth)
        self.metrics.unconfirmed.set(self.sender.unconfirmed)
