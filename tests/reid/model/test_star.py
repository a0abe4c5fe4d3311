"""The STAR network: variants, masking of untrusted joints, gradients reaching every parameter."""
import numpy as np
import pytest

import mindspore as ms
from model_tiny import SMALL, T, arch, make_batch, star_loss, tensors, tiny_star
from starreid.app.config.model import ModelConfig
from starreid.reid.models import STAR, VARIANTS, build_star


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_give_training_outputs_and_unit_embeddings(variant):
    ms.set_seed(0)
    net = tiny_star(variant, num_classes=3)
    assert (net.fg is not None, net.sg is not None) == VARIANTS[variant]
    clips, kp, mod = tensors(*make_batch(4))
    net.set_train(True)
    logits, feat, kl_p, kl_q, frame_logits, sad_logits, clean, disturbed = net(clips, kp, mod)
    assert logits.shape == (4, 3) and feat.shape == (4, 512)
    assert frame_logits.shape == sad_logits.shape == (4 * T, 3)  # frame level: clean and disturbed
    assert clean.shape == disturbed.shape == (4 * T, 512)
    assert not np.allclose(clean.asnumpy(), disturbed.asnumpy())  # the style disturbance changed something
    if variant == "full":
        assert kl_p.shape == kl_q.shape == (4, 2 * SMALL["lstm_hidden"])
    net.set_train(False)
    emb = net.embed(clips, kp, mod).asnumpy()
    assert emb.shape == (4, 512) and np.all(np.isfinite(emb))
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_default_sizes_are_the_papers():
    net = build_star(ModelConfig(), num_classes=10)  # the schema's defaults
    assert net.dim == 2048 and net.seq_len == 12
    assert net.fg.out_dim == 2048 and net.fg.proj is None and net.fg.temporal_attn.heads == 4
    assert net.sg.gat1.heads == 2 and net.sg.gat1.out_dim == 16 and net.sg.gat2.out_dim == 12


def test_thin_backbone_scales_every_width():
    net = tiny_star("full", num_classes=3, base_width=16)
    assert net.dim == 128 and net.backbone.stem_rgb.conv1.out_channels == 16
    assert net.backbone.layer3[0].conv1.out_channels == 64
    net.set_train(False)
    emb = net.embed(*tensors(*make_batch(2))).asnumpy()
    assert emb.shape == (2, 128) and np.all(np.isfinite(emb))
    kwargs = dict(num_classes=0, seq_len=T, sad=False, **arch().sizes())
    with pytest.raises(ValueError, match="base_width"):
        STAR(**{**kwargs, "base_width": 2}, backbone="resnet18", variant="baseline")


def test_bad_arguments_are_rejected():
    kwargs = dict(num_classes=0, seq_len=T, sad=False, **arch().sizes())
    with pytest.raises(ValueError, match="variant"):
        STAR(**kwargs, backbone="resnet18", variant="everything")
    with pytest.raises(ValueError, match="backbone"):
        STAR(**kwargs, backbone="resnet101", variant="full")
    net = tiny_star("baseline")
    net.set_train(False)
    with pytest.raises(ValueError, match="seq_len"):
        net.embed(*tensors(*make_batch(2, t=T + 1)))


def test_low_score_joints_are_masked_not_trusted():
    ms.set_seed(1)
    net = tiny_star("full")
    net.set_train(False)
    clips, kp, mod = make_batch(2, seed=5)
    kp[:, :, [9, 10, 15], 2] = 0.1  # wrists and an ankle lost by the pose model
    base = net.embed(*tensors(clips, kp, mod)).asnumpy()
    moved = kp.copy()
    moved[:, :, [9, 10, 15], :2] = np.random.default_rng(9).random((2, T, 3, 2))
    np.testing.assert_allclose(net.embed(*tensors(clips, moved, mod)).asnumpy(), base, atol=1e-6)
    trusted = kp.copy()  # trusted joints moving do change the embedding
    keep = [j for j in range(17) if j not in (9, 10, 15)]
    trusted[:, :, keep, :2] = np.random.default_rng(4).random((2, T, len(keep), 2))
    assert np.abs(net.embed(*tensors(clips, trusted, mod)).asnumpy() - base).max() > 1e-6
    none = kp.copy()
    none[..., 2] = 0.0  # no skeleton at all (common on IR): still a finite unit embedding
    emb = net.embed(*tensors(clips, none, mod)).asnumpy()
    assert np.all(np.isfinite(emb)) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_one_training_step_gives_every_trainable_parameter_a_gradient():
    ms.set_seed(2)
    net = tiny_star("full", num_classes=2)
    loss = star_loss(net)
    clips, kp, mod = tensors(*make_batch(4, seed=6))
    labels = ms.Tensor(np.array([0, 0, 1, 1], np.int32))
    params = net.trainable_params()

    def forward(c, k, m, y):
        return loss(*net(c, k, m), y)[0]

    net.set_train(True)
    _, grads = ms.value_and_grad(forward, None, params)(clips, kp, mod, labels)
    without = [p.name for p, g in zip(params, grads) if not np.any(g.asnumpy() != 0)]
    assert without == [], f"parameters without a gradient: {without}"
    assert len(params) > 100
