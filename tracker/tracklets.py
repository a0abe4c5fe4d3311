"""Per-track windows of T frames (crops + keypoints) cut into wire Tracklets.

Windows start every `stride` frames of a track (stride < length overlaps, stride > length skips frames, and
skipped frames need no pose: ask wants() first). Pose may be estimated on every `pose_every`-th frame of a
window only (ask wants_pose()); the frames between get keypoints interpolated in crop coordinates, which
move with the person, so a walking skeleton stays plausible at a fraction of the cost. A track that ends, or a flush, emits what it holds as a
shorter window padded to T with invalid frames, if it holds at least `min_frames`. Buffers live only as long
as their track, so memory is bounded by the number of live tracks."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from starreid.contracts.wire import Tracklet, encode_crops
from starreid.streams.frame import Frame
from starreid.tracker.purity import appearance, split_point


@dataclass
class _Buffer:
    indices: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    crops: list[bytes] = field(default_factory=list)
    keypoints: list[np.ndarray | None] = field(default_factory=list)  # None: pose not estimated
    looks: list[np.ndarray] = field(default_factory=list)  # appearance descriptors (tracker.purity)
    skip: int = 0  # frames still to skip before the next window starts (stride > length)
    session: str = ""  # the source session of the track's frames (a track never spans two)

    def __len__(self) -> int:
        return len(self.indices)

    def drop(self, n: int) -> None:
        for seq in (self.indices, self.times, self.crops, self.keypoints, self.looks):
            del seq[:n]


class TrackletBuilder:
    MIN_JOINTS = 4  # a frame's pose is valid with at least this many joints
    PURITY_MIN_PART = 4  # frames on each side of an appearance change (a shorter blip is an occlusion)

    def __init__(self, camera: str, modality: str, *, length: int, stride: int, min_frames: int, jpeg_quality: int,
                 pose_every: int, purity_split: float | None):
        """purity_split: appearance distance (tracker.purity) past which a window is cut where its look
        changes, None = never cut."""
        if length < 1 or stride < 1 or pose_every < 1 or not 1 <= min_frames <= length:
            raise ValueError("need length, stride, pose_every >= 1 and 1 <= min_frames <= length")
        self.camera, self.modality = camera, modality
        self.length, self.stride, self.min_frames = length, stride, min_frames
        self.min_joints, self.jpeg_quality, self.pose_every = self.MIN_JOINTS, jpeg_quality, pose_every
        self.purity_split = purity_split
        self.on_purity_cut = lambda: None  # for the worker's metrics
        self._buffers: dict[int, _Buffer] = {}

    @classmethod
    def from_config(cls, tracker, camera: str, modality: str) -> "TrackletBuilder":
        """From the tracker config section (tracklet_len, tracklet_stride, min_frames, jpeg_quality, pose_every,
        purity_split)."""
        return cls(camera, modality, length=tracker.tracklet_len, stride=tracker.tracklet_stride,
                   min_frames=tracker.min_frames, jpeg_quality=tracker.jpeg_quality, pose_every=tracker.pose_every,
                   purity_split=tracker.purity_split)

    def wants(self, track_id: int) -> bool:
        """Whether the next frame of this track goes into a window (else skip its crop and pose)."""
        buf = self._buffers.get(track_id)
        return buf is None or buf.skip == 0

    def wants_pose(self, track_id: int) -> bool:
        """Whether the next frame's pose should be estimated (others are interpolated at the cut)."""
        buf = self._buffers.get(track_id)
        pos = len(buf) if buf is not None else 0
        return pos % self.pose_every == 0 or pos == self.length - 1

    def add(self, track_id: int, frame: Frame, crop: np.ndarray, keypoints: np.ndarray | None) -> Tracklet | None:
        """One frame of a track: crop (H, W, 3) uint8 RGB, keypoints (17, 3) normalised to the crop, or None
        when pose was not estimated for this frame."""
        buf = self._buffers.setdefault(track_id, _Buffer(session=frame.session))
        if buf.skip:
            buf.skip -= 1
            return None
        buf.indices.append(frame.index)
        buf.times.append(frame.timestamp)
        buf.crops.append(encode_crops(crop[None], self.jpeg_quality)[0])
        buf.keypoints.append(None if keypoints is None else np.asarray(keypoints, np.float32))
        if self.purity_split is not None:
            buf.looks.append(appearance(crop, self.modality))
        if len(buf) < self.length:
            return None
        k = self._impure_at(buf)
        if k is not None:  # two people in this window: what came before the change is one tracklet
            tracklet = self._cut(track_id, buf, k) if k >= self.min_frames else None
            buf.drop(k)
            return tracklet
        tracklet = self._cut(track_id, buf, self.length)
        if self.stride >= self.length:
            buf.drop(self.length)
            buf.skip = self.stride - self.length
        else:
            buf.drop(self.stride)
        return tracklet

    def _impure_at(self, buf: _Buffer) -> int | None:
        if self.purity_split is None:
            return None
        k = split_point(buf.looks, self.PURITY_MIN_PART, self.purity_split)
        if k is not None:
            self.on_purity_cut()
        return k

    def end(self, track_id: int) -> list[Tracklet]:
        """The track is gone: emit its partial window (padded) if long enough, split where its look changes,
        and free its buffer."""
        buf = self._buffers.pop(track_id, None)
        if buf is None:
            return []
        out = []
        k = self._impure_at(buf) if len(buf) >= self.min_frames else None
        if k is not None:
            if k >= self.min_frames:
                out.append(self._cut(track_id, buf, k))
            buf.drop(k)
        if len(buf) >= self.min_frames:
            out.append(self._cut(track_id, buf, len(buf)))
        return out

    def flush(self) -> list[Tracklet]:
        return [t for track_id in list(self._buffers) for t in self.end(track_id)]

    @property
    def buffered_frames(self) -> int:
        return sum(len(b) for b in self._buffers.values())

    @property
    def tracks(self) -> int:
        return len(self._buffers)

    def _cut(self, track_id: int, buf: _Buffer, n: int) -> Tracklet:
        pad = self.length - n
        crops = buf.crops[:n] + [buf.crops[n - 1]] * pad  # padding repeats the last crop, marked invalid
        keypoints = np.zeros((self.length, 17, 3), np.float32)
        keypoints[:n] = interpolate(buf.keypoints[:n])
        valid = np.zeros(self.length, bool)
        valid[:n] = (keypoints[:n, :, 2] > 0).sum(axis=1) >= self.min_joints
        # Unique across worker restarts and stable across replays of the same file: the session names the
        # source run, and track ids and frame indices count within it.
        return Tracklet(id=f"{self.camera}:{buf.session}:{track_id}:{buf.indices[0]}", camera=self.camera,
                        modality=self.modality, track_id=int(track_id), start_ts=float(buf.times[0]),
                        end_ts=float(buf.times[n - 1]), keypoints=keypoints, valid=valid, crops=crops)


def interpolate(keypoints: list[np.ndarray | None]) -> np.ndarray:
    """(T, 17, 3) from T entries where None means not estimated: linear in x, y between the nearest estimated
    frames, score the smaller of the two (a joint missing on either side stays missing); the ends copy the
    nearest estimate. With no estimate at all, every joint is missing."""
    n = len(keypoints)
    known = [i for i, k in enumerate(keypoints) if k is not None]
    out = np.zeros((n, 17, 3), np.float32)
    if not known:
        return out
    for i in known:
        out[i] = keypoints[i]
    for i in range(n):
        if keypoints[i] is not None:
            continue
        before = max((k for k in known if k < i), default=None)
        after = min((k for k in known if k > i), default=None)
        if before is None or after is None:
            out[i] = out[after if before is None else before]
            continue
        w = (i - before) / (after - before)
        a, b = out[before], out[after]
        out[i, :, :2] = (1 - w) * a[:, :2] + w * b[:, :2]
        out[i, :, 2] = np.minimum(a[:, 2], b[:, 2])
        out[i, out[i, :, 2] <= 0] = 0.0
    return out
