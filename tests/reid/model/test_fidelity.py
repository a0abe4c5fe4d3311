"""STAR as the paper and the authors' code define it (issue 18): each test fails on the earlier behaviour."""
import numpy as np
import pytest

import mindspore as ms
from model_tiny import H, T, W, make_batch, optim, tensors, tiny_star
from starreid.app.config.train import AugmentConfig, SamplerConfig
from starreid.reid.data import PKSampler
from starreid.reid.losses import StarLoss
from starreid.reid.models.frame_guidance import bone_features
from starreid.reid.models.seq_guidance import GATLayer, elu
from starreid.reid.models.train_step import make_optimizer


def _stats(bn):
    return bn.moving_mean.asnumpy().copy(), bn.moving_variance.asnumpy().copy()


def test_the_embedding_neck_learns_statistics_of_clean_tracklets_only():
    """Deviation 3: one training pass moves the BN-neck's statistics by the clean tracklet features alone
    (before, the disturbed features went through the same neck)."""
    ms.set_seed(0)
    net = tiny_star("full", num_classes=3, sad=True)
    net.set_train(True)
    mean0, var0 = _stats(net.neck)
    out = net(*tensors(*make_batch(4)))
    g = out[1].asnumpy().astype(np.float64)
    m = net.neck.momentum
    mean, var = _stats(net.neck)
    np.testing.assert_allclose(mean, (1 - m) * mean0 + m * g.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(var, (1 - m) * var0 + m * g.var(0, ddof=1), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenetv2"])
def test_each_stem_learns_the_statistics_of_its_own_modality(backbone):
    """Deviation 4: an RGB-only batch leaves the IR stem's BN statistics untouched, and in a mixed batch each
    stem's statistics are those of its own modality's frames (before, both stems saw every frame)."""
    ms.set_seed(1)
    bb = tiny_star("baseline", num_classes=0, sad=False, backbone=backbone, base_width=16).backbone
    bb.set_train(True)
    bn_ir = bb.stem_ir.bn1 if backbone == "resnet18" else bb.stem_ir.bn
    bn_rgb = bb.stem_rgb.bn1 if backbone == "resnet18" else bb.stem_rgb.bn
    conv_rgb = bb.stem_rgb.conv1 if backbone == "resnet18" else bb.stem_rgb.conv
    x = np.random.default_rng(0).standard_normal((6, 3, H, W)).astype(np.float32)
    ir_before, rgb_before = _stats(bn_ir), _stats(bn_rgb)
    bb.stem(ms.Tensor(x), ms.Tensor(np.zeros(6, np.int32)))
    np.testing.assert_array_equal(_stats(bn_ir)[0], ir_before[0])
    np.testing.assert_array_equal(_stats(bn_ir)[1], ir_before[1])
    assert not np.allclose(_stats(bn_rgb)[0], rgb_before[0])

    mod = np.array([0, 1, 1, 0, 1, 0], np.int32)
    before = _stats(bn_rgb)
    bb.stem(ms.Tensor(x), ms.Tensor(mod))
    y = conv_rgb(ms.Tensor(x[mod == 0])).asnumpy().astype(np.float64)
    m = bn_rgb.momentum
    np.testing.assert_allclose(_stats(bn_rgb)[0], (1 - m) * before[0] + m * y.mean((0, 2, 3)), rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_allclose(_stats(bn_rgb)[1], (1 - m) * before[1] + m * y.var((0, 2, 3), ddof=1),
                               rtol=1e-4, atol=1e-6)


def test_inference_stems_are_unchanged_by_the_modality_masks():
    """The exported (inference) stem is still both stems + select: each frame gets its own stem's output."""
    ms.set_seed(2)
    bb = tiny_star("baseline", num_classes=0, sad=False).backbone
    bb.set_train(False)
    x = np.random.default_rng(1).standard_normal((4, 3, H, W)).astype(np.float32)
    mod = np.array([1, 0, 0, 1], np.int32)
    out = bb.stem(ms.Tensor(x), ms.Tensor(mod)).asnumpy()
    np.testing.assert_allclose(out[0], bb.stem_ir(ms.Tensor(x[:1])).asnumpy()[0], atol=1e-6)
    np.testing.assert_allclose(out[1], bb.stem_rgb(ms.Tensor(x[1:2])).asnumpy()[0], atol=1e-6)


def _ce(logits, labels):
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -logp[np.arange(len(labels)), labels].mean()


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_eq15_has_frame_level_identity_losses_and_a_per_frame_l2_defense():
    """Deviation 2: L_id = CE(tracklets) + CE(clean frames), L_SAD = CE(disturbed frames) + mean_frames
    ||clean - disturbed||_2 (the authors' loss), on a hand-built case with 2 tracklets of 3 frames."""
    rng = np.random.default_rng(5)
    b, t, c, n = 2, 3, 4, 3
    labels = np.array([2, 0], np.int32)
    logits = rng.standard_normal((b, n)).astype(np.float32)
    feature = rng.standard_normal((b, c)).astype(np.float32)
    kl_p, kl_q = rng.standard_normal((2, b, 5)).astype(np.float32)
    frame_logits, sad_logits = rng.standard_normal((2, b * t, n)).astype(np.float32)
    clean, disturbed = rng.standard_normal((2, b * t, c)).astype(np.float32)
    loss = StarLoss(w_id=1.0, w_tri=1.0, w_kl=1.0, w_sad=1.0, margin=0.3, label_smoothing=0.0, use_kl=True,
                    use_sad=True)
    total, l_id, l_tri, l_kl, l_sad = (x.asnumpy() for x in loss(*tensors(
        logits, feature, kl_p, kl_q, frame_logits, sad_logits, clean, disturbed, labels)))
    per_frame = np.repeat(labels, t)  # tracklet-major frames
    assert np.isclose(l_id, _ce(logits, labels) + _ce(frame_logits, per_frame), rtol=1e-5)
    defense = np.linalg.norm(clean - disturbed, axis=1).mean()
    assert np.isclose(l_sad, _ce(sad_logits, per_frame) + defense, rtol=1e-5)
    d = np.linalg.norm(feature[0] - feature[1])  # two identities: each anchor's only positive is itself
    assert np.isclose(l_tri, max(0.0, 0.3 - d), atol=1e-5)
    p, q = _softmax(kl_p), _softmax(kl_q)
    assert np.isclose(l_kl, (0.5 * ((p - q) * (np.log(p) - np.log(q))).sum(-1)).mean(), rtol=1e-5)
    assert np.isclose(total, l_id + l_tri + l_kl + l_sad, rtol=1e-5)


def test_the_frame_guidance_ffn_ends_in_relu():
    """Deviation 7 (FFN): the correction FFN(...) * SE is non-negative, as in the authors' FFN."""
    ms.set_seed(3)
    net = tiny_star("fg", num_classes=0, sad=False)
    net.set_train(False)
    assert type(net.fg.ffn[-1]).__name__ == "ReLU"
    clips, kp, mod = tensors(*make_batch(2))
    x = net.frame_features(clips, mod)
    y, _ = net.guided_frames(x, kp, W / H)
    assert (y.asnumpy() - x.asnumpy() - net.fg.eps >= -1e-5).all()


def test_bone_angles_are_measured_in_pixels():
    """Deviation 7 (eq 2): keypoints are in [0, 1] of a W x H crop; a bone (0.5, 0.5) of the crop is
    (0.5 W, 0.5 H) in pixels, so its angle is atan2(H, W), not 45 degrees."""
    kp = np.zeros((1, 1, 17, 3), np.float32)
    kp[..., 2] = 1.0
    kp[0, 0, 13, :2] = (0.5, 0.5)  # bone (15, 13): joint 15 at (0, 0) -> joint 13
    feats, _ = bone_features(ms.Tensor(kp), 0.3, W / H)
    angle, length = feats.asnumpy()[0, 0, 19], feats.asnumpy()[0, 0, 0]
    assert np.isclose(angle, np.arctan2(0.5, 0.5 * W / H), atol=1e-6)
    assert np.isclose(length, np.hypot(0.5, 0.5 * W / H), atol=1e-6)  # in units of the crop height
    from starreid.reid.models.star import STAR
    assert STAR._aspect(np.zeros((1, T, 3, H, W))) == W / H


def test_gat_has_the_authors_dropouts_and_biases():
    """Deviation 6: attention dropout 0.6 in both GAT layers, feature dropout 0.3 between them, biases."""
    net = tiny_star("sg", num_classes=0, sad=False)
    assert net.sg.gat1.dropout == net.sg.gat2.dropout == 0.6 and net.sg.feat_dropout == 0.3
    assert net.sg.gat1.bias.shape == (net.sg.gat1.heads * net.sg.gat1.out_dim,)
    layer = GATLayer(3, 4, heads=2)
    layer.bias.set_data(ms.Tensor(np.linspace(-1, 1, 8).astype(np.float32)))
    layer.set_train(False)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((1, 5, 3)).astype(np.float32)
    mask = np.ones((1, 5, 5), np.float32)
    out, alpha = layer(ms.Tensor(h), ms.Tensor(mask))
    wh = (h @ layer.w.weight.asnumpy().T).reshape(1, 5, 2, 4).transpose(0, 2, 1, 3)
    agg = (alpha.asnumpy() @ wh).transpose(0, 2, 1, 3).reshape(1, 5, 8) + layer.bias.asnumpy()
    np.testing.assert_allclose(out.asnumpy(), elu(ms.Tensor(agg.astype(np.float32))).asnumpy(), atol=1e-5)


def _hitsz_vcm_like():
    """500 identities; 4,291 IR and 5,460 RGB training tracklets (HITSZ-VCM after the 12-frame minimum)."""
    rng = np.random.default_rng(0)
    ir = np.concatenate([np.arange(500), rng.integers(0, 500, 4291 - 500)])
    rgb = np.concatenate([np.arange(500), rng.integers(0, 500, 5460 - 500)])
    return np.concatenate([ir, rgb]), np.array(["ir"] * 4291 + ["rgb"] * 5460)


def test_an_epoch_is_the_authors_number_of_batches():
    """Deviation 1: min(RGB, IR tracklets) // (P x K) = 4,291 // 16 = 268 batches on HITSZ-VCM (before: one
    pass over the identities, 500 // 8 = 62)."""
    pids, mods = _hitsz_vcm_like()
    sampler = PKSampler(pids, mods, p=8, k=2, seed=0, epoch=SamplerConfig().epoch)
    assert len(sampler) == 268 and len(list(sampler)) == 268
    assert len(PKSampler(pids, mods, p=8, k=2, epoch="identities")) == 62
    for ir, rgb in list(sampler)[:20]:
        ids = pids[ir].reshape(8, 2)[:, 0]
        assert len(set(ids.tolist())) == 8 and (pids[rgb].reshape(8, 2)[:, 0] == ids).all()
        assert (mods[ir] == "ir").all() and (mods[rgb] == "rgb").all()


def test_paper_recipe_defaults_nesterov_and_style_on_every_clip():
    """Deviations 10 and 8: Nesterov momentum (the authors' SGD); style augmentation on every clip (p = 1)."""
    net = tiny_star("baseline", num_classes=2, sad=False)
    assert make_optimizer(net, 0.1, optim()).use_nesterov
    assert not make_optimizer(net, 0.1, optim(nesterov=False)).use_nesterov
    assert AugmentConfig().style_p == 1.0


def test_onnx_agrees_with_mindspore_after_per_modality_stem_training(tmp_path):
    """Acceptance of deviation 4: stems whose statistics were learnt per modality still export to one ONNX
    graph (both stems + select), and ONNX Runtime gives MindSpore's embeddings within 1e-5."""
    import onnxruntime as ort
    from model_tiny import arch
    from starreid.reid.export import build_inference_net, export_model
    from starreid.reid.models.checkpoint import save_weights

    ms.set_seed(4)
    net = tiny_star("full", num_classes=3, sad=True)
    net.set_train(True)
    clips, kp, mod = make_batch(4, seed=8)
    clips[mod == 1] = clips[mod == 1] * 0.3 + 1.0  # an "IR" look: other statistics than the RGB clips
    for _ in range(3):
        net(*tensors(clips, kp, mod))
    rgb, ir = net.backbone.stem_rgb.bn1, net.backbone.stem_ir.bn1
    assert np.abs(rgb.moving_mean.asnumpy() - ir.moving_mean.asnumpy()).max() > 1e-3
    ckpt = save_weights(net, str(tmp_path / "star.ckpt"))
    inference = build_inference_net(arch("full"), weights=ckpt)
    path = export_model(inference, str(tmp_path / "star"), "onnx", None, T, H, W,
                        {"backbone": "resnet18", "variant": "full"})
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    test_clips, test_kp, test_mod = make_batch(5, seed=9)
    test_clips[test_mod == 1] = test_clips[test_mod == 1] * 0.3 + 1.0
    ref = inference(*tensors(test_clips, test_kp, test_mod)).asnumpy()
    out = session.run(None, dict(zip(names, (test_clips, test_kp, test_mod))))[0]
    diff = np.abs(out - ref).max()
    print(f"ONNX vs MindSpore max abs difference: {diff:.2e}")
    assert diff <= 1e-5
