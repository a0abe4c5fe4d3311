import numpy as np
import pytest

from eval_reference import reference_evaluate, vcm_like
from starreid.reid.eval import distance, evaluate, evaluate_features


def test_hand_computed_single_query():
    # Gallery ranked by distance: g0 (wrong id), g1 (right id), g2 (wrong), g3 (right id).
    dist = np.array([[0.1, 0.2, 0.3, 0.4]])
    res = evaluate(dist, np.array([7]), np.array([1, 7, 2, 7]), np.array([1]), np.array([2, 2, 2, 3]))
    assert res.cmc[0] == 0.0 and res.cmc[1] == 1.0 and res.cmc[3] == 1.0
    assert res.mAP == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert res.mINP == pytest.approx(2 / 4)
    assert res.num_valid == 1


def test_same_id_same_camera_entries_are_removed_before_ranking():
    # The nearest gallery entry is the same person in the query's camera: it must vanish from the ranking,
    # which shifts the other entries up one rank.
    dist = np.array([[0.0, 0.1, 0.2, 0.3]])
    q_pid, q_cam = np.array([5]), np.array([4])
    g_pids, g_cams = np.array([5, 9, 5, 8]), np.array([4, 1, 2, 4])
    res = evaluate(dist, q_pid, g_pids, q_cam, g_cams)
    assert res.cmc[0] == 0.0 and res.cmc[1] == 1.0  # filtered ranking: 9, 5(cam 2), 8
    assert res.mAP == pytest.approx(1 / 2)
    # A different-identity entry in the same camera stays in the ranking.
    res2 = evaluate(np.array([[0.0, 0.1]]), q_pid, np.array([8, 5]), q_cam, np.array([4, 1]))
    assert res2.cmc[0] == 0.0 and res2.mAP == pytest.approx(0.5)


def test_queries_without_positive_are_skipped():
    dist = np.array([[0.1, 0.2], [0.2, 0.1], [0.5, 0.4]])
    q_pids, q_cams = np.array([1, 2, 3]), np.array([1, 1, 1])
    g_pids, g_cams = np.array([1, 2]), np.array([2, 1])  # query 2's only positive shares its camera
    res = evaluate(dist, q_pids, g_pids, q_cams, g_cams)
    assert res.num_valid == 1 and res.num_query == 3
    assert res.cmc[0] == 1.0 and res.mAP == 1.0


def test_no_valid_query_raises():
    with pytest.raises(ValueError, match="no query"):
        evaluate(np.zeros((1, 2)), np.array([1]), np.array([1, 2]), np.array([1]), np.array([1, 3]))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        evaluate(np.zeros((2, 3)), np.array([1]), np.array([1, 2, 3]), np.array([1]), np.array([1, 2, 3]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_per_query_loop(seed):
    rng = np.random.default_rng(seed)
    qf, gf, qp, gp, qc, gc = vcm_like(rng, 300, 420, n_ids=60)
    dist = distance(qf, gf)
    cmc, m_ap, m_inp, nv = reference_evaluate(dist, qp, gp, qc, gc)
    res = evaluate(dist, qp, gp, qc, gc, chunk=64)  # small chunks exercise the chunk seams
    assert res.num_valid == nv
    np.testing.assert_allclose(res.cmc, cmc, atol=1e-6)
    assert abs(res.mAP - m_ap) < 1e-6 and abs(res.mINP - m_inp) < 1e-6
    assert 0 < res.mAP < 1 and res.cmc[0] < res.cmc[-1]  # the case is not degenerate


def test_small_gallery_limits_ranks():
    rng = np.random.default_rng(3)
    qf, gf, qp, gp, qc, gc = vcm_like(rng, 30, 12, n_ids=10)
    res = evaluate_features(qf, gf, qp, gp, qc, gc)
    cmc, m_ap, _, _ = reference_evaluate(distance(qf, gf), qp, gp, qc, gc)
    assert len(res.cmc) == 12 and res.rank(20) == res.cmc[-1]
    np.testing.assert_allclose(res.cmc, cmc, atol=1e-6)
    assert abs(res.mAP - m_ap) < 1e-6


def test_distance_normalises():
    d = distance(np.array([[3.0, 0.0]]), np.array([[0.0, 2.0], [5.0, 0.0]]))
    np.testing.assert_allclose(d, [[0.0, -1.0]], atol=1e-6)
