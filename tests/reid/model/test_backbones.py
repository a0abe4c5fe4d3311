"""Backbones by config: ResNet-18/34/50 and MobileNetV2 in STAR (shapes, heads sized from the backbone's channels,
last stride, freezing), the depthwise convolution's fast backward pass, export and the Embedder for
MobileNetV2, the config schema and the shipped MobileNetV2 configs."""
from pathlib import Path

import numpy as np
import pytest
import yaml

import mindspore as ms
from model_tiny import H, T, W, arch, make_batch, star_loss, tensors, tiny_star
from starreid.app.config.model import BACKBONES as SCHEMA_BACKBONES
from starreid.app.config.model import ModelConfig
from starreid.app.config.train import OptimConfig, TrainModelConfig
from starreid.reid.models import build_star
from starreid.reid.models.backbones import BACKBONES, build_backbone
from starreid.reid.models.mobilenet import DepthwiseConv

ROOT = Path(__file__).resolve().parents[3]


def test_the_schema_and_the_library_name_the_same_backbones():
    assert set(SCHEMA_BACKBONES) == set(BACKBONES)
    assert set(TrainModelConfig.model_fields["backbone"].annotation.__args__) == set(BACKBONES)


@pytest.mark.parametrize("backbone, channels", [("resnet18", 512), ("resnet34", 512), ("resnet50", 2048),
                                                ("mobilenetv2", 1280)])
@pytest.mark.parametrize("last_stride", [1, 2])
def test_every_backbone_gives_its_channels_at_its_stride(backbone, channels, last_stride):
    bb = build_backbone(backbone, base_width=64, last_stride=last_stride)
    bb.set_train(False)
    x = ms.Tensor(np.random.default_rng(0).standard_normal((2, 3, 64, 32)).astype(np.float32))
    out = bb(x, ms.Tensor(np.array([0, 1], np.int32)))
    factor = 16 * last_stride
    assert bb.out_channels == channels and out.shape == (2, channels, 64 // factor, 32 // factor)
    assert set(n for n, _ in bb.cells_and_names()) >= {"stem_rgb", "stem_ir", "layer1", "layer2", "layer3", "layer4"}


def test_the_modality_selects_the_stem():
    bb = build_backbone("mobilenetv2", base_width=16, last_stride=1)
    bb.set_train(False)
    x = ms.Tensor(np.repeat(np.random.default_rng(1).standard_normal((1, 3, 64, 32)), 2, 0).astype(np.float32))
    same = bb(x, ms.Tensor(np.array([0, 0], np.int32))).asnumpy()
    assert np.abs(same[0] - same[1]).max() == 0
    mixed = bb(x, ms.Tensor(np.array([0, 1], np.int32))).asnumpy()
    assert np.abs(mixed[0] - mixed[1]).max() > 1e-4  # two differently initialised stems


def test_mobilenetv2_width_follows_base_width():
    bb = build_backbone("mobilenetv2", base_width=32, last_stride=1)  # torchvision's width_mult 0.5
    assert bb.stem_rgb.conv.out_channels == 16 and bb.layer1[0].project.conv.out_channels == 8
    assert bb.out_channels == 1280  # torchvision keeps the last 1280 below width 1.0


@pytest.mark.parametrize("backbone", ["mobilenetv2", "resnet34"])
def test_star_heads_size_themselves_from_the_backbone(backbone):
    ms.set_seed(0)
    net = tiny_star("full", num_classes=3, backbone=backbone, base_width=16)
    dim = net.backbone.out_channels
    assert net.dim == dim and net.neck.gamma.shape == (dim,) and net.classifier.weight.shape == (3, dim)
    assert net.fg.proj.weight.shape == (dim, 2 * 32)  # the skeleton tokens projected to the channels
    net.set_train(True)
    logits, feat, *_ = net(*tensors(*make_batch(4)))
    assert logits.shape == (4, 3) and feat.shape == (4, dim)
    net.set_train(False)
    emb = net.embed(*tensors(*make_batch(2))).asnumpy()
    assert emb.shape == (2, dim) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("shape, stride", [((3, 8, 7, 5), 1), ((3, 8, 7, 5), 2), ((2, 4, 8, 6), 2),
                                           ((2, 4, 1, 1), 2), ((2, 4, 2, 1), 1)])
def test_the_depthwise_backward_pass_is_the_convolutions_gradient(shape, stride):
    rng = np.random.default_rng(3)
    c = shape[1]
    fast = DepthwiseConv(c, stride)
    plain = ms.nn.Conv2d(c, c, 3, stride=stride, pad_mode="pad", padding=1, group=c, has_bias=False)
    plain.weight.set_data(fast.weight.value())
    x = ms.Tensor(rng.standard_normal(shape).astype(np.float32))
    target = ms.Tensor(rng.standard_normal(plain(x).shape).astype(np.float32))

    def fast_loss(x):
        return (fast(x) * target).sum()

    def plain_loss(x):
        return (plain(x) * target).sum()

    # the fast pass in graph mode, as training runs it; the reference is MindSpore's own gradient
    dx_fast, (dw_fast,) = ms.jit(ms.grad(fast_loss, 0, fast.trainable_params()))(x)
    dx_plain, (dw_plain,) = ms.grad(plain_loss, 0, plain.trainable_params())(x)
    np.testing.assert_allclose(fast(x).asnumpy(), plain(x).asnumpy(), atol=1e-5)
    np.testing.assert_allclose(dx_fast.asnumpy(), dx_plain.asnumpy(), atol=1e-4)
    np.testing.assert_allclose(dw_fast.asnumpy(), dw_plain.asnumpy(), atol=1e-4, rtol=1e-5)


def test_freezing_stops_updates_gradients_and_batch_statistics():
    from starreid.reid.models.train_step import TrainStep, make_optimizer

    ms.set_seed(2)
    net = tiny_star("baseline", num_classes=2, backbone="resnet18", base_width=8, sad=True)  # (the base class's)
    net.backbone.freeze(3)  # stem, layer1, layer2
    frozen = {p.name for c in net.backbone.stage_cells(3) for p in c.get_parameters()}
    assert frozen and not frozen & {p.name for p in net.trainable_params()}
    before = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    opt = make_optimizer(net, 0.05, OptimConfig(weight_decay=0.01))
    step = TrainStep(net, star_loss(net), opt, jit=True)
    clips, kp, mod = make_batch(4)
    step(*tensors(clips, kp, mod, np.array([0, 0, 1, 1], np.int32)))
    after = {p.name: p.asnumpy() for p in net.get_parameters()}
    changed = {n for n in after if not np.array_equal(after[n], before[n])}
    assert not changed & frozen  # weights, BN affine and BN statistics of frozen stages: all unchanged
    assert any(n.startswith("backbone.layer3.") for n in changed)
    assert any(not n.startswith("backbone.") for n in changed)  # the heads train
    with pytest.raises(ValueError, match="freeze"):
        net.backbone.freeze(6)


def test_the_schema_names_the_replacement_of_depth():
    with pytest.raises(ValueError, match="'depth' was replaced by 'backbone': write backbone: resnet18"):
        ModelConfig(depth=18)
    with pytest.raises(ValueError, match="pretrained: imagenet is the ImageNet MobileNetV2"):
        TrainModelConfig(backbone="resnet50", pretrained="imagenet")
    assert TrainModelConfig(backbone="mobilenetv2", pretrained="imagenet", freeze=2).freeze == 2


def test_the_mobilenetv2_configs_differ_only_in_initialisation():
    a = yaml.safe_load((ROOT / "configs/train/synthetic-cpu-mobilenetv2.yaml").read_text())
    b = yaml.safe_load((ROOT / "configs/train/synthetic-cpu-mobilenetv2-random.yaml").read_text())
    assert (a["model"].pop("pretrained"), b["model"].pop("pretrained")) == ("imagenet", None)
    assert a.pop("out_dir") != b.pop("out_dir")
    assert a == b and a["model"]["backbone"] == "mobilenetv2"


@pytest.mark.slow
def test_mobilenetv2_star_exports_and_the_embedder_runs_it(tmp_path):
    """Export to ONNX and MindIR, and the Embedder over ONNX Runtime and MindSpore (a .ckpt), agree."""
    from starreid.reid.export import architecture_metadata, build_inference_net, export_model
    from starreid.reid.infer import Embedder
    from starreid.reid.models.checkpoint import save_weights

    ms.set_seed(4)
    model = arch("full", backbone="mobilenetv2", base_width=16)
    ckpt = save_weights(build_star(model, num_classes=0), str(tmp_path / "mbv2.ckpt"))
    net = build_inference_net(model, weights=ckpt)
    prefix = str(tmp_path / "mbv2")
    paths = {fmt: export_model(net, prefix, fmt, 2, T, H, W, architecture_metadata(model))
             for fmt in ("onnx", "mindir")}
    deploy = dict(backbone="mobilenetv2", base_width=16, variant="full", seq_len=T, height=H, width=W,
                  lstm_hidden=32, gat_hidden=8, guide_hidden=16, batch_size=2)
    onnx = Embedder.from_config(ModelConfig(weights=paths["onnx"], backend="onnx", **deploy))
    mind = Embedder.from_config(ModelConfig(weights=ckpt, backend="mindspore", **deploy))
    mindir = Embedder.from_config(ModelConfig(weights=paths["mindir"], backend="mindspore", **deploy))
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (3, 7, H, W, 3), dtype=np.uint8)
    kp = rng.random((3, 7, 17, 3)).astype(np.float32)
    a = onnx.embed(clips, kp, ["rgb", "ir", "rgb"])
    assert a.shape == (3, 1280) and onnx.model_id.startswith("star-mbv2-full:")
    assert np.abs(a - mind.embed(clips, kp, ["rgb", "ir", "rgb"])).max() < 1e-4
    assert np.abs(a - mindir.embed(clips, kp, ["rgb", "ir", "rgb"])).max() < 1e-4
    with pytest.raises(ValueError, match="exported with backbone=mobilenetv2, not resnet18"):
        Embedder.from_config(ModelConfig(weights=paths["onnx"], backend="onnx", **{**deploy, "backbone": "resnet18"}))
