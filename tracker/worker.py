"""The camera worker loop: source -> pipeline -> (optional embedder) -> sender, with metrics.

Runs until the stop event is set (SIGTERM) or a file source ends; either way it flushes the tracklets it
holds. An unreadable source is counted and retried with backoff; it never ends the process."""
from __future__ import annotations

import logging
import sys
import threading
from collections import deque
import time
from typing import Callable

from tqdm import tqdm

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
        self.poses = lab(metrics.counter("starreid_tracker_pose_estimates_total",
                                         "people (tracked box, frame) the pose model was asked about", LABELS))
        self.poses_found = lab(metrics.counter("starreid_tracker_pose_found_total",
                                               "pose estimates that found a pose (at least 4 joints)", LABELS))
        self.pose_ratio = lab(metrics.gauge("starreid_tracker_pose_valid_ratio",
                                            "share of the last pose_warn_window pose estimates that found a pose "
                                            "(NaN until the first estimate)", LABELS))
        self.pose_ratio.set(float("nan"))


class PoseWatch:
    """The share of recent pose estimates that found a pose, and a WARNING when it collapses (the pose model
    does not see people in this camera's picture: IR, contrast, scale), again when it recovers."""

    def __init__(self, camera: str, *, warn_below: float | None, window: int):
        self.camera, self.warn_below, self.window = camera, warn_below, window
        self._recent: deque[tuple[int, int]] = deque()  # (found, estimated) per frame, newest last
        self._found = self._estimated = 0
        self.low = False

    def add(self, found: int, estimated: int) -> float:
        """Record one frame's estimates; returns the share over the window."""
        self._recent.append((found, estimated))
        self._found += found
        self._estimated += estimated
        while self._recent and self._estimated - self._recent[0][1] >= self.window:
            f, e = self._recent.popleft()
            self._found -= f
            self._estimated -= e
        ratio = self._found / max(self._estimated, 1)
        if self.warn_below is not None and self._estimated >= self.window:
            if ratio < self.warn_below and not self.low:
                self.low = True
                log.warning("camera %s: a pose was found in only %.0f%% of the last %d pose estimates (below "
                            "%.0f%%): the pose model does not see people in this picture; docs/ingest.md "
                            "(\"Infrared cameras\") has what helps", self.camera, 100 * ratio, self._estimated,
                            100 * self.warn_below)
            elif ratio >= self.warn_below and self.low:
                self.low = False
                log.info("camera %s: poses found again in %.0f%% of the last %d estimates", self.camera,
                         100 * ratio, self._estimated)
        return ratio


class Worker:
    """One camera: a Source, its CameraPipeline, an optional embed(tracklet) -> Embedding, a TrackletSender."""

    RETRY_S = (0.5, 5.0)  # first and longest wait before reopening a source that failed
    STATUS_EVERY_S = 10.0

    def __init__(self, source: Source, pipeline: CameraPipeline, sender: TrackletSender,
                 embed_batch: Callable | None, *, flush_timeout: float, queue_size: int, max_batch: int,
                 pose_warn_below: float | None, pose_warn_window: int):
        """embed_batch(tracklets) -> embeddings, or None to send crops for the gallery to embed; queue_size and
        max_batch size the embedding stage's queue and batches; pose_warn_below and pose_warn_window: when to
        warn that the pose model finds too few poses (PoseWatch)."""
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
        self.pose_watch = PoseWatch(source.camera, warn_below=pose_warn_below, window=pose_warn_window)
        pipeline.on_pose = self._poses
        pipeline.builder.on_purity_cut = self.metrics.purity_cuts.inc
        sender.on_sent = lambda t: self.metrics.sent.inc()
        sender.on_confirmed = lambda tracklet_id: self.metrics.confirmed.inc()
        sender.on_error = lambda t, exc: self.metrics.send_errors.inc()
        sender.on_rejected_events = self.metrics.events_rejected.inc
        self._retry = Backoff(*self.RETRY_S)
        self.emitted = 0
        self.frames_seen = 0
        self._status_at = (time.monotonic(), 0)
        self._status_due = time.monotonic() + self.STATUS_EVERY_S

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
        total = self.source.frame_count
        # a progress bar when a person watches (a terminal), besides the periodic status line in the log
        bar = tqdm(total=total, desc=self.camera, unit="frame", leave=False, disable=not sys.stderr.isatty())
        try:
            for frame in self.source.frames(stop):
                self._frame(frame, stop)
                bar.update()
                self._status(total)
        finally:
            bar.close()

    def _status(self, total: int | None) -> None:
        now = time.monotonic()
        if now < self._status_due:
            return
        then, before = self._status_at
        self._status_at, self._status_due = (now, self.frames_seen), now + self.STATUS_EVERY_S
        s = self.sender
        log.info("camera %s: %.1f fps, frame %d%s, %d tracklets (%d sent, %d confirmed, %d unconfirmed)",
                 self.camera, (self.frames_seen - before) / max(now - then, 1e-9), self.frames_seen,
                 f"/{total}" if total else "", self.emitted, s.sent, s.confirmed, s.unconfirmed)

    def _frame(self, frame, stop: threading.Event) -> None:
        self.frames_seen += 1
        start = time.perf_counter()
        try:
            tracklets = self.pipeline.process(frame)
        except Exception:  # one bad frame must not end the camera
            self.metrics.frame_errors.inc()
            log.exception("camera %s: frame %d failed", self.camera, frame.index)
            return
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

    def _poses(self, found: int, estimated: int) -> None:
        self.metrics.poses.inc(estimated)
        self.metrics.poses_found.inc(found)
        self.metrics.pose_ratio.set(self.pose_watch.add(found, estimated))

    def _embedded(self, n: int, seconds: float) -> None:
        for _ in range(n):
            self.metrics.embed.observe(seconds / n)
        self.metrics.embed_queue.set(self.embed_stage.depth)

    def _send(self, tracklet) -> None:
        self.sender.put(tracklet, self.stop, grace=self.flush_timeout)
        self.metrics.queue.set(self.sender.depth)
        self.metrics.unconfirmed.set(self.sender.unconfirmed)
