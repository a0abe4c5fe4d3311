"""Drawing tracks on a frame: boxes, track ids and COCO-17 skeletons."""
from __future__ import annotations

import cv2
import numpy as np

from starreid.tracker.detection import COCO17_EDGES


def track_colour(track_id: int) -> tuple[int, int, int]:
    hue = (track_id * 47) % 180  # spread neighbouring ids around the colour wheel
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def draw_tracks(image: np.ndarray, views, min_score: float = 0.3, labels: dict[int, str] | None = None,
                colours: dict[int, tuple[int, int, int]] | None = None) -> np.ndarray:
    """A copy of the RGB image with each TrackView drawn (thin box when only predicted); labels and colours
    replace the track id and its colour for the tracks they name (e.g. a gallery identity)."""
    out = image.copy()
    labels, colours = labels or {}, colours or {}
    for view in views:
        colour = colours.get(view.track_id) or track_colour(view.track_id)
        x1, y1, x2, y2 = (int(round(v)) for v in view.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2 if view.detected else 1)
        label = labels.get(view.track_id, f"#{view.track_id}")
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        cv2.rectangle(out, (x1, y1 - th - 6), (x1 + tw + 4, y1), colour, -1)
        cv2.putText(out, label, (x1 + 2, y1 - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        if view.keypoints is None:
            continue
        kp = view.keypoints
        for a, b in COCO17_EDGES:
            if kp[a, 2] >= min_score and kp[b, 2] >= min_score:
                cv2.line(out, (int(kp[a, 0]), int(kp[a, 1])), (int(kp[b, 0]), int(kp[b, 1])), colour, 2, cv2.LINE_AA)
        for x, y, s in kp:
            if s >= min_score:
                cv2.circle(out, (int(x), int(y)), 3, (255, 255, 255), -1, cv2.LINE_AA)
    return out


def tracklet_sheet(tracklet, per_row: int = 12) -> np.ndarray:
    """All crops of a wire Tracklet side by side with their skeletons (keypoints are crop-normalised);
    frames marked invalid get a grey frame instead of the track colour."""
    from starreid.contracts.wire import decode_crops

    crops = decode_crops(tracklet.crops)
    colour = track_colour(tracklet.track_id)
    tiles = []
    for crop, kps, valid in zip(crops, tracklet.keypoints, tracklet.valid):
        kp = kps.copy()
        kp[:, 0] *= crop.shape[1]
        kp[:, 1] *= crop.shape[0]
        tile = draw_tracks(crop, [_SheetView(tracklet.track_id, kp)])
        cv2.rectangle(tile, (0, 0), (tile.shape[1] - 1, tile.shape[0] - 1), colour if valid else (128, 128, 128), 2)
        tiles.append(tile)
    while len(tiles) % per_row:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i:i + per_row], axis=1) for i in range(0, len(tiles), per_row)]
    return np.concatenate(rows, axis=0)


class _SheetView:
    """A skeleton without a box (draw_tracks draws boxes off-tile when given one that covers the tile)."""

    def __init__(self, track_id: int, keypoints: np.ndarray):
        self.track_id, self.keypoints, self.detected = track_id, keypoints, True
        self.box = np.array([-10, -10, -5, -5], np.float32)
