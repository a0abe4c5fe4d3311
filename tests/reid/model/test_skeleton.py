"""Eq 1-2 bone features and the eq 8-9 spatial-temporal skeleton graph."""
import math

import numpy as np

import mindspore as ms
from starreid.reid import skeleton
from starreid.reid.models.frame_guidance import bone_features


def _pose():
    kp = np.zeros((1, 1, 17, 3), np.float32)
    kp[..., 2] = 1.0
    kp[0, 0, 5, :2] = (0.2, 0.3)  # left shoulder
    kp[0, 0, 7, :2] = (0.5, 0.7)  # left elbow: bone 5 -> 7 is (0.3, 0.4)
    kp[0, 0, 6, :2] = (0.1, 0.3)  # right shoulder: bone 5 -> 6 is (-0.1, 0), pointing left
    kp[0, 0, 11, :2] = (0.2, 0.1)  # left hip: bone 5 -> 11 is (0, -0.2)
    kp[0, 0, 9, 2] = 0.1  # left wrist below the score threshold
    return kp


def _bone(i, j):
    return skeleton.BONES.index((i, j))


def test_bone_features_match_hand_computed_values():
    kp = _pose()
    feats, ok = (x.asnumpy()[0, 0] for x in bone_features(ms.Tensor(kp), 0.3))
    nb = skeleton.NUM_BONES
    assert feats.shape == (2 * nb,)
    b = _bone(5, 7)
    assert math.isclose(feats[b], 0.5, abs_tol=1e-6)
    assert math.isclose(feats[nb + b], math.atan2(0.4, 0.3), abs_tol=1e-6)
    b = _bone(5, 6)
    assert math.isclose(feats[b], 0.1, abs_tol=1e-6)
    assert math.isclose(abs(feats[nb + b]), math.pi, abs_tol=1e-6)  # atan2 quadrant, not atan(dy/dx) = 0
    b = _bone(5, 11)
    assert math.isclose(feats[b], 0.2, abs_tol=1e-6)
    assert math.isclose(feats[nb + b], -math.pi / 2, abs_tol=1e-6)
    b = _bone(7, 9)  # the wrist is masked: the bone is not trusted
    assert feats[b] == 0.0 and feats[nb + b] == 0.0 and ok[b] == 0.0
    assert ok.sum() == nb - 1
    np.testing.assert_allclose(feats, skeleton.bone_features(kp, 0.3)[0, 0], atol=1e-6)


def test_skeleton_has_19_bones_inside_17_joints():
    assert skeleton.NUM_BONES == 19 and len(set(skeleton.BONES)) == 19
    assert {j for b in skeleton.BONES for j in b} == set(range(17))
    parts = sorted(j for p in skeleton.BODY_PARTS.values() for j in p)
    assert parts == list(range(17))


def test_graph_has_bones_and_temporal_links_in_both_directions():
    t = 5
    edges = skeleton.graph_edges(t)
    n = t * skeleton.NUM_JOINTS
    assert edges.min() >= 0 and edges.max() == n - 1
    pairs = set(map(tuple, edges.T.tolist()))
    assert len(pairs) == edges.shape[1] == 2 * (19 * t + 17 * (t - 1))
    assert all((j, i) in pairs for i, j in pairs)
    for f in range(t):  # every bone inside every frame
        assert all((f * 17 + i, f * 17 + j) in pairs for i, j in skeleton.BONES)
    for f in range(t - 1):  # every joint to itself in the next frame, and nothing further
        assert all((f * 17 + k, (f + 1) * 17 + k) in pairs for k in range(17))
    assert (0, 2 * 17) not in pairs
    adj = skeleton.adjacency(t)
    assert adj.shape == (n, n) and np.array_equal(adj, adj.T)
    assert np.all(np.diag(adj) == 1) and adj.sum() == len(pairs) + n


def test_part_matrix_averages_each_part_over_frames():
    mat = skeleton.part_matrix(3)
    np.testing.assert_allclose(mat.sum(1), 1.0, rtol=1e-6)
    assert np.all((mat > 0).sum(0) == 1)  # every node in exactly one part
