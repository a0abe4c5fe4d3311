"""IBAN's equations on hand-made inputs, its training step (gradients, 30 graph-mode steps, the reconstruction's
schedule) and its inference graph (checkpoint -> inference net, ONNX agrees with MindSpore)."""
import numpy as np
import pytest

import mindspore as ms
from model_tiny import H, T, W, iban_arch, iban_loss, make_batch, optim, tensors, tiny_iban
from starreid.reid.losses.iban_loss import cross_reconstruction, easy_samples, esb_loss
from starreid.reid.models.anaglyph import EMBOSS, OFFSET, Anaglyph, anaglyph_numpy
from starreid.reid.models.bsta import BSTA
from starreid.reid.models.train_step import TrainStep, make_optimizer
from starreid.reid.preprocess import IMAGENET_MEAN, IMAGENET_STD

MEAN, STD = IMAGENET_MEAN.reshape(1, 3, 1, 1), IMAGENET_STD.reshape(1, 3, 1, 1)


def test_the_anaglyph_of_a_hand_made_image():
    # a flat grey image with one bright pixel: eq 1 puts the kernel, mirrored, around it, plus the offset
    grey = np.full((5, 5), 0.2, np.float32)
    grey[2, 2] = 0.3
    rgb = np.repeat(grey[None, None], 3, axis=1)  # R = G = B: its luma is the grey level
    out = Anaglyph()(ms.Tensor((rgb - MEAN) / STD)).asnumpy() * STD + MEAN
    expected = np.full((5, 5), 0.2 + OFFSET, np.float32)  # the kernel sums to 1: flat stays flat, + k
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):  # a(i, j) = sum x(i+m, j+n) A(m, n): the bright pixel at (2, 2) weighs A(-dy, -dx)
            expected[2 + dy, 2 + dx] += 0.1 * EMBOSS[1 - dy, 1 - dx]
    inner = (slice(1, 4), slice(1, 4))  # the border sees the zero padding
    np.testing.assert_allclose(out[0, 0][inner], expected[inner], atol=1e-5)
    np.testing.assert_allclose(out[0, 0], anaglyph_numpy(grey), atol=1e-5)
    assert np.allclose(out[0, 0], out[0, 1], atol=1e-5) and np.allclose(out[0, 0], out[0, 2], atol=1e-5)
    # the emboss lights the pixel's upper left and darkens its lower right (0.2 + k +- 2 x 0.1)
    assert out[0, 0, 1, 1] == pytest.approx(0.9, abs=1e-5) and out[0, 0, 3, 3] == pytest.approx(0.5, abs=1e-5)


def test_bsta_weights_frames_by_cosine_with_both_directions():
    f = np.array([[[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0]]], np.float32)
    forward, backward = np.array([[1, 0, 0, 0]], np.float32), np.array([[0, 0, 0, 1]], np.float32)
    w = BSTA.frame_weights(*tensors(f, forward, backward)).asnumpy()
    np.testing.assert_allclose(w, [[0.5, 0.0, (1 / np.sqrt(2)) / 2]], atol=1e-6)  # eq 8
    bsta = BSTA(8, 8)
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    m, w = bsta(ms.Tensor(x))
    fwd, bwd = (a.asnumpy() for a in bsta.directions(ms.Tensor(x)))
    cos = lambda a, b: (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)  # noqa: E731
    np.testing.assert_allclose(w.asnumpy(), (cos(x, fwd[:, None]) + cos(x, bwd[:, None])) / 2, atol=1e-5)
    assert m.shape == (2, 8)


def test_esb_picks_the_most_similar_sample_of_the_other_modality_and_stops_its_gradient():
    e = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.8, 0.6], [0.1, 1.0]], np.float32)
    mod = np.array([0, 0, 0, 1, 1], np.int32)
    easy = easy_samples(*tensors(e, mod)).asnumpy()
    # rgb anchors look among ir samples (3, 4), ir anchors among rgb ones (0, 1, 2); never their own modality
    assert list(easy) == [3, 3, 4, 1, 2]
    grad = ms.grad(lambda x: esb_loss(x, ms.Tensor(mod)))(ms.Tensor(e)).asnumpy()
    # with E(.) detached, sample j is only pulled towards the easy samples of the other modality's anchors
    pairs = [(a, j) for a in range(5) for j in range(5) if mod[a] != mod[j]]
    expected = np.zeros_like(e)
    for a, j in pairs:
        expected[j] += 2 * (e[j] - e[easy[a]]) / e.shape[1] / len(pairs)
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_cross_reconstruction_pairs_the_same_identity_across_modalities():
    rng = np.random.default_rng(1)
    maps = rng.standard_normal((4, 2, 3, 2, 2)).astype(np.float32)
    labels, mod = np.array([7, 7, 9, 9], np.int32), np.array([0, 1, 1, 0], np.int32)
    recon = maps[[1, 0, 3, 2]].copy()  # each tracklet reconstructs its partner exactly
    assert float(cross_reconstruction(*tensors(maps, recon, labels, mod)).asnumpy()) < 1e-5
    shifted = recon + 1.0  # off by one in each of 3 channels: sqrt(3) at every position
    assert float(cross_reconstruction(*tensors(maps, shifted, labels, mod)).asnumpy()) == pytest.approx(np.sqrt(3),
                                                                                                      rel=1e-5)


def _batch():
    clips, kp, _ = make_batch(4, seed=7)
    labels, mod = np.array([0, 0, 1, 1], np.int32), np.array([0, 1, 0, 1], np.int32)
    clips[labels == 1] += 0.5  # the two identities differ in appearance
    return tensors(clips, kp, mod, labels)


def _grads(net, loss, epoch, steps: int = 0):
    """Gradients of each parameter after `steps` updates (IG's residual BatchNorm starts at scale 0, so IG's
    attention gets its first gradient after the first update)."""
    step = TrainStep(net, loss, make_optimizer(net, 0.01, optim()), jit=False)
    for _ in range(steps):
        step(*_batch(), epoch=epoch)
    net.set_train(True)
    weights = ms.Tensor(loss.weights(epoch), ms.float32)
    (_, parts), grads = step.grad_fn(*_batch(), weights)
    return {p.name: np.abs(g.asnumpy()).max() for p, g in zip(step.optimizer.parameters, grads)}, parts.asnumpy()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_gradient_reaches_every_parameter_and_the_reconstruction_only_from_its_epoch():
    ms.set_seed(3)
    net, loss = tiny_iban(num_classes=2, base_width=8), iban_loss(cr_from_epoch=2)
    assert list(loss.weights(1)) == [1.0, 1.5, 1.5, 0.0] and list(loss.weights(2)) == [1.0, 1.5, 1.5, 1.0]
    before, parts = _grads(net, loss, epoch=1)
    assert parts[3] > 0  # the term is computed (and logged) before its epoch, with weight 0
    assert all(before[n] == 0 for n in before if n.startswith("recon."))  # R learns nothing before its epoch
    after, _ = _grads(net, loss, epoch=2, steps=1)
    dead = [n for n, g in after.items() if not g > 0]
    assert not dead, dead
    for prefix in ("anaglyph.", "ig3.", "ig4.", "bsta.", "recon.", "backbone."):
        assert any(n.startswith(prefix) for n in after), prefix


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_thirty_graph_mode_steps_lower_the_loss():
    ms.set_seed(4)
    net = tiny_iban(num_classes=2, base_width=8)
    step = TrainStep(net, iban_loss(cr_from_epoch=0), make_optimizer(net, 0.01, optim()), jit=True)
    batch = _batch()
    losses = []
    for _ in range(30):
        total, parts = step(*batch, epoch=0)
        assert parts.shape == (4,) and np.all(np.isfinite(parts.asnumpy()))
        losses.append(float(total.asnumpy()))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5]), losses  # 0.71 measured


def test_the_inference_net_drops_the_anaglyph_stream_and_loads_a_training_checkpoint(tmp_path):
    from starreid.app.config.model import ModelConfig
    from starreid.reid.export import architecture_metadata, build_inference_net, export_model
    from starreid.reid.infer.backends import OnnxBackend
    from starreid.reid.models.checkpoint import save_weights

    ms.set_seed(5)
    trained = tiny_iban(num_classes=3, base_width=8)
    path = save_weights(trained, str(tmp_path / "iban.ckpt"))
    deployed = ModelConfig(**{k: v for k, v in iban_arch(base_width=8).model_dump().items()
                              if k in ModelConfig.model_fields}, weights=path)
    net = build_inference_net(deployed, weights=path)
    names = [p.name for p in net.get_parameters()]
    assert not [n for n in names if n.startswith(("star.anaglyph.", "star.ig3.", "star.recon.", "star.classifier."))]
    clips, kp, mod, _ = _batch()
    trained.set_train(False)
    np.testing.assert_allclose(net(clips, kp, mod).asnumpy(), trained.embed(clips, kp, mod).asnumpy(), atol=1e-5)
    onnx = export_model(net, str(tmp_path / "iban"), "onnx", None, T, H, W, architecture_metadata(deployed))
    backend = OnnxBackend(onnx, "CPU", T, H, W, deployed, batch=4, threads=1)
    np.testing.assert_allclose(backend.run(clips.asnumpy(), kp.asnumpy(), mod.asnumpy()),
                               net(clips, kp, mod).asnumpy(), atol=1e-4)
