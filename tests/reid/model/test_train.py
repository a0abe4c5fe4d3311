"""Graph-mode training steps (ms.jit) on a tiny synthetic batch."""
import numpy as np
import pytest

import mindspore as ms
from model_tiny import make_batch, optim, star_loss, tensors, tiny_star
from starreid.reid.models.train_step import TrainStep, make_optimizer


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_thirty_graph_mode_steps_lower_the_loss():
    ms.set_seed(4)
    net = tiny_star("full", num_classes=2)
    clips, kp, mod = make_batch(4, seed=7)
    labels = np.array([0, 1, 0, 1], np.int32)
    clips[labels == 1] += 0.5  # the two identities differ in appearance
    step = TrainStep(net, star_loss(net), make_optimizer(net, 0.01, optim()), jit=True)
    batch = tensors(clips, kp, mod, labels)
    losses = []
    for _ in range(30):
        total, parts = step(*batch)
        losses.append(float(total.asnumpy()))
        assert parts.shape == (4,) and np.all(np.isfinite(parts.asnumpy()))
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses


def test_optimizer_gives_the_backbone_a_tenth_of_the_rate():
    net = tiny_star("baseline", num_classes=2)
    opt = make_optimizer(net, 0.1, optim(backbone_lr_scale=0.1))
    rates = {p.name: float(lr.asnumpy()) for p, lr in zip(opt.parameters, opt.get_lr_parameter(list(opt.parameters)))}
    assert all(np.isclose(r, 0.01) for n, r in rates.items() if n.startswith("backbone."))
    assert np.isclose(rates["classifier.weight"], 0.1)
    assert "neck.beta" not in rates  # BN-neck has no learnt shift


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("variant", ["baseline", "fg", "sg"])
def test_every_variant_trains_in_graph_mode(variant):
    ms.set_seed(6)
    net = tiny_star(variant, num_classes=2)
    step = TrainStep(net, star_loss(net), make_optimizer(net, 0.01, optim()), jit=True)
    clips, kp, mod = make_batch(4, seed=8)
    batch = tensors(clips, kp, mod, np.array([0, 1, 0, 1], np.int32))
    before = [p.asnumpy().copy() for p in net.trainable_params()]
    for _ in range(3):
        total, parts = step(*batch)
        assert np.isfinite(float(total.asnumpy()))
    assert float(parts.asnumpy()[2]) == 0.0  # no KL term without both guidances
    changed = sum(not np.array_equal(b, p.asnumpy()) for b, p in zip(before, net.trainable_params()))
    assert changed == len(before)
