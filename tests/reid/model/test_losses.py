"""Eq 14 KL, batch-hard triplet, SAD disturbance and the eq 15 weighted total."""
import numpy as np

import mindspore as ms
from starreid.reid.losses import StarLoss, batch_hard_triplet, sad_loss, symmetric_kl
from starreid.reid.models.sad import adain, channel_stats, random_partner


def _t(a):
    return ms.Tensor(np.asarray(a))


def test_kl_is_symmetric_zero_for_equal_inputs_and_matches_the_formula():
    rng = np.random.default_rng(0)
    p, q = rng.standard_normal((2, 4, 10)).astype(np.float32)
    pq, qp = symmetric_kl(_t(p), _t(q)).asnumpy(), symmetric_kl(_t(q), _t(p)).asnumpy()
    assert pq > 0 and np.isclose(pq, qp, rtol=1e-6)
    assert abs(symmetric_kl(_t(p), _t(p)).asnumpy()) < 1e-7
    sp = np.exp(p) / np.exp(p).sum(-1, keepdims=True)
    sq = np.exp(q) / np.exp(q).sum(-1, keepdims=True)
    expected = np.mean(0.5 * (sp * np.log(sp / sq) + sq * np.log(sq / sp)).sum(-1))
    assert np.isclose(pq, expected, rtol=1e-5)


def test_triplet_is_zero_when_the_margin_holds_and_hand_computed_otherwise():
    labels = np.array([0, 0, 1, 1], np.int32)
    far = np.array([[0, 0], [0, 0.1], [5, 0], [5, 0.1]], np.float32)  # d(pos) = 0.1, d(neg) >= 5
    assert batch_hard_triplet(_t(far), _t(labels), 0.3).asnumpy() == 0.0
    near = np.array([[0, 0], [0, 1.0], [0.5, 0], [0.5, 1.0]], np.float32)
    # Every anchor: hardest positive at 1.0, hardest negative at 0.5 -> 1.0 - 0.5 + 0.3.
    assert np.isclose(batch_hard_triplet(_t(near), _t(labels), 0.3).asnumpy(), 0.8, atol=1e-5)


def test_sad_disturbance_gives_the_target_statistics():
    rng = np.random.default_rng(1)
    content = rng.standard_normal((3, 4, 6, 5)).astype(np.float32)
    style = (rng.standard_normal((3, 4, 6, 5)) * rng.uniform(0.5, 3, (3, 4, 1, 1))
             + rng.uniform(-2, 2, (3, 4, 1, 1))).astype(np.float32)
    out = adain(_t(content), _t(style))
    (om, os_), (sm, ss) = channel_stats(out), channel_stats(_t(style))
    np.testing.assert_allclose(om.asnumpy(), sm.asnumpy(), atol=1e-4)
    np.testing.assert_allclose(os_.asnumpy(), ss.asnumpy(), rtol=1e-3)
    # The content's normalised pattern is kept: per channel, out is an increasing affine map of content.
    corr = np.corrcoef(out.asnumpy()[0, 0].ravel(), content[0, 0].ravel())[0, 1]
    assert corr > 0.999


def test_sad_partners_have_the_requested_modality():
    modality = _t(np.array([0, 0, 0, 1, 1, 1], np.int32))
    for _ in range(5):
        same = random_partner(modality, True).asnumpy()
        cross = random_partner(modality, False).asnumpy()
        m = modality.asnumpy()
        assert np.all(m[same] == m) and np.all(same != np.arange(6))
        assert np.all(m[cross] != m)


def test_sad_loss_defense_term_and_weighted_total():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((4, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 0], np.int32)
    feat = rng.standard_normal((4, 8)).astype(np.float32)
    base = sad_loss(_t(logits), _t(labels), _t(feat), _t(feat), 1.0).asnumpy()
    moved = sad_loss(_t(logits), _t(labels), _t(feat), _t(feat + 0.5), 2.0).asnumpy()
    assert np.isclose(moved - base, 2.0 * np.sqrt(8 * 0.25), atol=1e-5)  # per-frame L2 norm, weighted
    # 2 tracklets x 2 frames: tracklet-level logits (2, 3), frame-level (4, 3)
    tl = _t(logits[:2].copy())
    args = [tl, _t(feat[:2].copy()), _t(logits), _t(logits[::-1].copy()), _t(logits), _t(logits[::-1].copy()),
            _t(feat), _t(feat + 0.5), _t(labels[:2].copy())]
    terms = dict(margin=0.3, label_smoothing=0.0, use_kl=True, use_sad=True)
    parts = [x.asnumpy() for x in StarLoss(w_id=1.0, w_tri=1.0, w_kl=1.0, w_sad=1.0, **terms)(*args)]
    weighted = [x.asnumpy() for x in StarLoss(w_id=2.0, w_tri=0.5, w_kl=3.0, w_sad=0.0, **terms)(*args)]
    assert np.isclose(parts[0], sum(parts[1:]), rtol=1e-5)
    assert np.isclose(weighted[0], 2.0 * parts[1] + 0.5 * parts[2] + 3.0 * parts[3], rtol=1e-5)
