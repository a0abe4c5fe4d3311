"""A ByteTrack-class multi-object tracker on numpy: Kalman prediction, then two-stage IoU association
(confident detections first, then low-score ones to keep tracks alive through occlusion).

Written here because the packaged ByteTrack implementations (BoxMOT, Ultralytics) depend on torch."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from starreid.tracker import kalman
from starreid.tracker.tracking import TrackStep

NEW, TRACKED, LOST = "new", "tracked", "lost"


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N, 4) with every box in b (M, 4), xyxy."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def centre_match(tracks: list, boxes: np.ndarray, max_dist: float):
    """Assignment by centre distance in units of box height, for lost tracks whose prediction drifted off
    their person (no IoU left) and similar heights (ratio within 1.5)."""
    if not tracks or len(boxes) == 0:
        return [], list(range(len(tracks))), list(range(len(boxes)))
    tb = np.stack([t.box for t in tracks])
    tc, bc = (tb[:, :2] + tb[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2
    th, bh = tb[:, 3] - tb[:, 1], boxes[:, 3] - boxes[:, 1]
    dist = np.linalg.norm(tc[:, None] - bc[None], axis=2) / np.maximum((th[:, None] + bh[None]) / 2, 1e-6)
    ratio = np.maximum(th[:, None], bh[None]) / np.maximum(np.minimum(th[:, None], bh[None]), 1e-6)
    ok = (dist <= max_dist) & (ratio <= 1.5)
    rows, cols = linear_sum_assignment(np.where(ok, dist, 1e6))
    pairs = [(r, c) for r, c in zip(rows, cols) if ok[r, c]]
    matched_r, matched_c = {r for r, _ in pairs}, {c for _, c in pairs}
    return (pairs, [r for r in range(len(tracks)) if r not in matched_r],
            [c for c in range(len(boxes)) if c not in matched_c])


def match(tracks: list, boxes: np.ndarray, min_iou: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Optimal one-to-one assignment by IoU; pairs below min_iou are not matches."""
    if not tracks or len(boxes) == 0:
        return [], list(range(len(tracks))), list(range(len(boxes)))
    iou = iou_matrix(np.stack([t.box for t in tracks]), boxes)
    cost = np.where(iou >= min_iou, 1.0 - iou, 1e6)
    rows, cols = linear_sum_assignment(cost)
    pairs = [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= min_iou]
    matched_r, matched_c = {r for r, _ in pairs}, {c for _, c in pairs}
    return (pairs, [r for r in range(len(tracks)) if r not in matched_r],
            [c for c in range(len(boxes)) if c not in matched_c])


class Track:
    __slots__ = ("track_id", "mean", "cov", "score", "state", "hits", "start_frame", "last_frame", "det_index")

    def __init__(self, box: np.ndarray, score: float, frame: int):
        self.mean, self.cov = kalman.initiate(kalman.xyxy_to_xyah(box))
        self.track_id, self.score, self.state = 0, score, NEW
        self.hits, self.start_frame, self.last_frame, self.det_index = 1, frame, frame, -1

    @property
    def box(self) -> np.ndarray:
        return kalman.xyah_to_xyxy(self.mean[:4]).astype(np.float32)

    def correct(self, box: np.ndarray, score: float, frame: int, det_index: int) -> None:
        self.mean, self.cov = kalman.update(self.mean, self.cov, kalman.xyxy_to_xyah(box))
        self.score, self.last_frame, self.det_index = score, frame, det_index
        self.hits += 1


class ByteTracker:
    """The Tracker contract (tracker.tracking): update(boxes, scores) on frames with detections, predict() on
    frames without. Both return a TrackStep: the confirmed, currently tracked Tracks (track.det_index is the
    matched detection or -1) and the ids of tracks that ended on this step."""

    LOW_MATCH_IOU = 0.5  # stage 2: a low-score detection must overlap a track well to keep it alive
    NEW_MATCH_IOU = 0.3  # a new track's second hit

    def __init__(self, *, high_score: float, low_score: float, new_track_score: float, match_iou: float,
                 max_lost: int, min_hits: int, lost_match_dist: float):
        self.high_score, self.low_score, self.new_track_score = high_score, low_score, new_track_score
        self.match_iou, self.low_match_iou, self.new_match_iou = match_iou, self.LOW_MATCH_IOU, self.NEW_MATCH_IOU
        self.max_lost, self.min_hits, self.lost_match_dist = max_lost, min_hits, lost_match_dist
        self.tracks: list[Track] = []
        self.frame = 0
        self._ended: list[int] = []
        self._next_id = 1

    @classmethod
    def from_config(cls, tracker) -> "ByteTracker":
        """From the tracker config section."""
        return cls(high_score=tracker.high_score, low_score=tracker.low_score,
                   new_track_score=tracker.new_track_score, match_iou=tracker.match_iou,
                   max_lost=tracker.max_lost_frames, min_hits=tracker.min_hits,
                   lost_match_dist=tracker.lost_match_dist)

    def _advance(self) -> None:
        self.frame += 1
        self._ended = []
        if self.tracks:
            means, covs = kalman.predict(np.stack([t.mean for t in self.tracks]), np.stack([t.cov for t in self.tracks]))
            for t, m, c in zip(self.tracks, means, covs):
                t.mean, t.cov, t.det_index = m, c, -1

    def predict(self) -> TrackStep:
        self._advance()
        self._expire(set())
        return self._output()

    def update(self, boxes: np.ndarray, scores: np.ndarray) -> TrackStep:
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        if len(boxes) != len(scores):
            raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
        self._advance()
        high = np.flatnonzero(scores >= self.high_score)
        low = np.flatnonzero((scores >= self.low_score) & (scores < self.high_score))
        confirmed = [t for t in self.tracks if t.state != NEW]
        fresh = [t for t in self.tracks if t.state == NEW]

        # Stage 1: tracked and lost tracks against confident detections.
        pairs, left_t, left_h = match(confirmed, boxes[high], self.match_iou)
        for r, c in pairs:
            confirmed[r].correct(boxes[high[c]], float(scores[high[c]]), self.frame, int(high[c]))
            confirmed[r].state = TRACKED
        # Stage 2: still-unmatched tracked tracks against low-score detections (occluded people score low).
        remaining = [confirmed[r] for r in left_t if confirmed[r].state == TRACKED]
        pairs, left_r, _ = match(remaining, boxes[low], self.low_match_iou)
        for r, c in pairs:
            remaining[r].correct(boxes[low[c]], float(scores[low[c]]), self.frame, int(low[c]))
        for r in left_r:
            remaining[r].state = LOST
        # Stage 3: lost tracks against confident detections left over, by centre distance.
        lost = [confirmed[r] for r in left_t if confirmed[r].state == LOST and confirmed[r].last_frame < self.frame]
        pairs, _, left_c = centre_match(lost, boxes[high[left_h]], self.lost_match_dist)
        for r, c in pairs:
            i = int(high[left_h][c])
            lost[r].mean, lost[r].cov = kalman.initiate(kalman.xyxy_to_xyah(boxes[i]))  # restart the motion model
            lost[r].correct(boxes[i], float(scores[i]), self.frame, i)
            lost[r].state = TRACKED
        left_h = [left_h[c] for c in left_c]
        # New tracks need a second hit before they get an id (one-frame false positives never do).
        high_left = high[left_h]
        pairs, left_f, left_new = match(fresh, boxes[high_left], self.new_match_iou)
        for r, c in pairs:
            fresh[r].correct(boxes[high_left[c]], float(scores[high_left[c]]), self.frame, int(high_left[c]))
            if fresh[r].hits >= self.min_hits:
                fresh[r].state, fresh[r].track_id = TRACKED, self._next_id
                self._next_id += 1
        dead = {id(fresh[r]) for r in left_f}
        for c in left_new:
            i = int(high_left[c])
            if scores[i] >= self.new_track_score:
                track = Track(boxes[i], float(scores[i]), self.frame)
                track.det_index = i
                if self.min_hits <= 1:
                    track.state, track.track_id = TRACKED, self._next_id
                    self._next_id += 1
                self.tracks.append(track)
        self._expire(dead)
        return self._output()

    def _expire(self, dead: set[int]) -> None:
        keep = []
        for t in self.tracks:
            if id(t) in dead or (t.state == LOST and self.frame - t.last_frame > self.max_lost):
                if t.track_id:
                    self._ended.append(t.track_id)
                continue
            keep.append(t)
        self.tracks = keep

    def _output(self) -> TrackStep:
        # Lost tracks are not reported; they may still be re-found (same id) within max_lost frames.
        return TrackStep([t for t in self.tracks if t.state == TRACKED], list(self._ended))
