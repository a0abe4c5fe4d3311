"""Eq 10-13: GAT attention over the skeleton graph, GeM, multi-p weights; the exportable ELU."""
import numpy as np

import mindspore as ms
from mindspore import nn
from starreid.reid import skeleton
from starreid.reid.models.seq_guidance import GEM_POWERS, GATLayer, SequenceGuidance, elu, gem

from model_tiny import make_batch


def test_gat_attention_sums_to_one_over_neighbours_and_is_zero_off_graph():
    t = 3
    sg = SequenceGuidance(t, gat_hidden=4, guide_hidden=8)
    sg.set_train(False)
    _, kp, _ = make_batch(2, t)
    kp[0, 1, 9, 2] = 0.0  # a missing joint: it must get no attention from its neighbours
    _, valid, alpha = sg.node_features(ms.Tensor(kp))
    alpha, valid = alpha.asnumpy(), valid.asnumpy()
    n = t * 17
    assert alpha.shape == (2, 2, n, n)
    np.testing.assert_allclose(alpha.sum(-1), 1.0, atol=1e-5)
    allowed = skeleton.adjacency(t) > 0
    assert np.all(alpha[:, :, ~allowed] == 0.0)
    assert np.all(alpha[:, :, allowed] >= 0.0)
    missing = 1 * 17 + 9
    assert valid[0, missing] == 0 and valid[1, missing] == 1
    others = [i for i in range(n) if i != missing]
    assert np.all(alpha[0][:, others, missing] == 0.0)  # masked, not trusted
    assert np.all(alpha[1][:, others, missing][:, allowed[others, missing]] > 0.0)


def test_gat_layer_output_is_elu_of_attention_weighted_projection():
    layer = GATLayer(3, 4, heads=2)
    h = np.random.default_rng(1).standard_normal((1, 5, 3)).astype(np.float32)
    mask = np.eye(5, dtype=np.float32)[None]  # only self-loops: each node attends to itself with weight 1
    out, alpha = layer(ms.Tensor(h), ms.Tensor(mask))
    np.testing.assert_allclose(alpha.asnumpy()[0, 0], np.eye(5), atol=1e-6)
    wh = layer.w(ms.Tensor(h)).asnumpy()
    np.testing.assert_allclose(out.asnumpy(), np.where(wh > 0, wh, np.expm1(wh)), atol=1e-5)


def test_exportable_elu_matches_nn_elu():
    x = np.linspace(-30, 30, 101, dtype=np.float32)
    np.testing.assert_allclose(elu(ms.Tensor(x)).asnumpy(), nn.ELU()(ms.Tensor(x)).asnumpy(), atol=1e-6)


def test_gem_is_the_mean_at_p1_and_approaches_the_max_for_large_p():
    x = np.random.default_rng(2).uniform(0.1, 2.0, (3, 6, 8)).astype(np.float32)
    np.testing.assert_allclose(gem(ms.Tensor(x), 1.0, 1).asnumpy(), x.mean(1), rtol=1e-5)
    big = gem(ms.Tensor(x), 60.0, 1).asnumpy()
    assert np.all(big <= x.max(1) + 1e-5)
    np.testing.assert_allclose(big, x.max(1), rtol=0.04)
    p3 = gem(ms.Tensor(x), 3.0, 1).asnumpy()
    np.testing.assert_allclose(p3, np.cbrt((x ** 3).mean(1)), rtol=1e-5)
    assert np.all(x.mean(1) <= p3) and np.all(p3 <= big + 1e-5)  # power means grow with p


def test_multi_p_weights_sum_to_one_and_mix_the_gem_features():
    t, c = 4, 8
    sg = SequenceGuidance(t, guide_dim=6, gat_hidden=4, guide_hidden=8)
    sg.set_train(False)
    _, kp, _ = make_batch(3, t)
    y = np.random.default_rng(3).uniform(0.1, 1.0, (3, t, c)).astype(np.float32)
    last = np.random.default_rng(4).standard_normal((3, 6)).astype(np.float32)
    g, w, parts = (a.asnumpy() for a in sg(ms.Tensor(y), ms.Tensor(kp), ms.Tensor(last)))
    assert w.shape == (3, len(GEM_POWERS)) and np.all(w > 0)
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)
    expected = sum(w[:, i:i + 1] * gem(ms.Tensor(y), p, 1).asnumpy() for i, p in enumerate(GEM_POWERS))
    np.testing.assert_allclose(g, expected, rtol=1e-5)
    assert parts.shape == (3, len(skeleton.BODY_PARTS) * 12)
