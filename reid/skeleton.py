"""COCO-17 skeleton: joint names, the 19 bones, body parts and the spatial-temporal skeleton graph.

Pure numpy so that any stage (tracker, data, model) can import it without a deep-learning framework.
"""
from __future__ import annotations

import numpy as np

JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)
NUM_JOINTS = 17

# The COCO keypoint skeleton (0-based); a bone points from its first joint to its second.
BONES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)
NUM_BONES = len(BONES)

# Body parts for the part-contribution weights; every joint belongs to exactly one part.
BODY_PARTS = {
    "head": (0, 1, 2, 3, 4),
    "left_arm": (5, 7, 9),
    "right_arm": (6, 8, 10),
    "left_leg": (11, 13, 15),
    "right_leg": (12, 14, 16),
}

DEFAULT_SCORE_THRESHOLD = 0.3


def joint_mask(keypoints: np.ndarray, threshold: float = DEFAULT_SCORE_THRESHOLD) -> np.ndarray:
    """(..., 17, 3) -> bool (..., 17): joints whose score reaches the threshold."""
    return keypoints[..., 2] >= threshold


def bone_features(keypoints: np.ndarray, threshold: float = DEFAULT_SCORE_THRESHOLD) -> np.ndarray:
    """Eq 1-2 per bone: (..., 17, 3) -> (..., 38) = 19 lengths then 19 atan2 angles; bones with a masked joint are 0."""
    kp = np.asarray(keypoints, dtype=np.float64)
    src = np.array([b[0] for b in BONES])
    dst = np.array([b[1] for b in BONES])
    dx = kp[..., dst, 0] - kp[..., src, 0]
    dy = kp[..., dst, 1] - kp[..., src, 1]
    valid = joint_mask(kp, threshold)
    ok = valid[..., src] & valid[..., dst]
    length = np.where(ok, np.sqrt(dx * dx + dy * dy), 0.0)
    angle = np.where(ok, np.arctan2(dy, dx), 0.0)
    return np.concatenate([length, angle], axis=-1).astype(np.float32)


def graph_edges(seq_len: int) -> np.ndarray:
    """Directed edges (2, E) of the spatial-temporal graph over seq_len * 17 nodes (node = t * 17 + joint).

    Eq 8: the 19 bones inside each frame; eq 9: each joint to itself in the next frame; both directions.
    """
    pairs = []
    for t in range(seq_len):
        base = t * NUM_JOINTS
        pairs += [(base + i, base + j) for i, j in BONES]
        if t + 1 < seq_len:
            pairs += [(base + k, base + NUM_JOINTS + k) for k in range(NUM_JOINTS)]
    fwd = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
    return np.concatenate([fwd, fwd[::-1]], axis=1)


def adjacency(seq_len: int, self_loops: bool = True) -> np.ndarray:
    """Dense (N, N) float32 adjacency of the graph; adj[i, j] = 1 when j is a neighbour of i."""
    n = seq_len * NUM_JOINTS
    adj = np.zeros((n, n), dtype=np.float32)
    src, dst = graph_edges(seq_len)
    adj[dst, src] = 1.0
    if self_loops:
        adj[np.arange(n), np.arange(n)] = 1.0
    return adj


def part_matrix(seq_len: int) -> np.ndarray:
    """(P, N) float32: row n averages the nodes of body part n over all frames (rows sum to 1)."""
    parts = list(BODY_PARTS.values())
    mat = np.zeros((len(parts), seq_len * NUM_JOINTS), dtype=np.float32)
    for p, joints in enumerate(parts):
        for t in range(seq_len):
            mat[p, [t * NUM_JOINTS + j for j in joints]] = 1.0
    return mat / mat.sum(axis=1, keepdims=True)
