"""`starreid export`: checkpoint -> ONNX and MindIR files a runtime can load."""
import numpy as np
import pytest

from model_tiny import H, SMALL, T, W, deployed
from starreid.contracts import wire
from starreid.app.cli import main

ARCH = [f"--arch={k}={v}" for k, v in SMALL.items()]
SHAPE = ["--backbone", "resnet18", "--variant", "full", "--seq-len", str(T), "--height", str(H), "--width", str(W),
         "--batch-size", "2"]


def test_export_verb_writes_both_formats(tiny_checkpoint, tmp_path, capsys):
    out = str(tmp_path / "model")
    assert main(["export", "--checkpoint", tiny_checkpoint, "--out", out, "--format", "both", *SHAPE, *ARCH]) == 0
    printed = capsys.readouterr().out
    assert f"{out}.onnx" in printed and f"{out}.mindir" in printed

    from starreid.reid.infer import Embedder
    from starreid.reid.models.checkpoint import CheckpointError

    emb = Embedder.from_config(deployed(f"{out}.onnx", "onnx"))
    assert emb.batch_size == 2
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (3, T, H, W, 3), dtype=np.uint8)
    vectors = emb.embed(clips, rng.random((3, T, 17, 3)).astype(np.float32), ["ir", "rgb", "ir"])
    assert vectors.shape == (3, 512)


def test_export_verb_reports_a_mismatched_checkpoint(tiny_checkpoint, tmp_path, capsys):
    # Paper-size heads do not fit a checkpoint trained with small ones: exit 1 naming the parameters.
    code = main(["export", "--checkpoint", tiny_checkpoint, "--out", str(tmp_path / "m"), *SHAPE])
    assert code == 1
    err = capsys.readouterr().err
    assert "does not match the architecture" in err and "fg.lstm" in err
    assert not (tmp_path / "m.onnx").exists()


def test_the_training_config_gives_export_and_daemons_the_sizes(tiny_checkpoint, tmp_path, capsys):
    # A model trained with non-paper sizes deploys without repeating them as flags: export reads the training
    # config, and a deployment model section carrying the same sizes builds the checkpoint for MindSpore.
    import onnx
    import yaml

    from starreid.reid.infer import Embedder
    from starreid.reid.models.checkpoint import CheckpointError
    from starreid.app.config.model import ModelConfig
    from starreid.app.embedding import tracklet_embedder

    arch = {"backbone": "resnet18", "variant": "full", "seq_len": T, "height": H, "width": W}
    train_cfg = tmp_path / "train.yaml"
    train_cfg.write_text(yaml.safe_dump({"kind": "train", "out_dir": str(tmp_path / "run"),
                                         "data": {"root": str(tmp_path)}, "model": {**arch, **SMALL}}))
    out = str(tmp_path / "model")
    assert main(["export", "--checkpoint", tiny_checkpoint, "--config", str(train_cfg), "--out", out,
                 "--batch-size", "2"]) == 0
    meta = {p.key: p.value for p in onnx.load(f"{out}.onnx").metadata_props}
    assert meta["lstm_hidden"] == "32" and meta["base_width"] == "64"

    m = ModelConfig(weights=tiny_checkpoint, backend="mindspore", batch_size=2, **arch, **SMALL)
    embed = tracklet_embedder(m)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (T + 2, H, W, 3), dtype=np.uint8)
    tracklet = wire.Tracklet(id="cam0:1:0", camera="cam0", modality="ir", track_id=1, start_ts=0.0, end_ts=1.0,
                             keypoints=rng.random((T + 2, 17, 3)).astype(np.float32),
                             valid=np.ones(T + 2, bool), crops=wire.encode_crops(images))
    vector = embed(tracklet).vector
    onnx_embedder = Embedder.from_config(ModelConfig(weights=f"{out}.onnx", **arch, **SMALL))
    reference = onnx_embedder.embed(wire.decode_crops(tracklet.crops)[None], tracklet.keypoints[None], ["ir"])[0]
    np.testing.assert_allclose(vector, reference, atol=1e-4)

    # the paper's sizes (the deployment default) do not fit this checkpoint, and say so
    paper = ModelConfig(weights=tiny_checkpoint, backend="mindspore", **arch)
    with pytest.raises(CheckpointError, match="does not match the architecture"):
        tracklet_embedder(paper)


def test_export_refuses_imagenet_weights_for_a_resnet(tmp_path, capsys):
    code = main(["export", "--pretrained", "imagenet", "--out", str(tmp_path / "m"), *SHAPE, *ARCH])
    err = capsys.readouterr().err
    assert code == 1 and "imagenet is a MobileNetV2; the resnet18 backbone needs a weight file" in err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_export_builds_the_backbone_from_pretrained_weights(tmp_path, capsys):
    """`--pretrained imagenet`: the ImageNet MobileNetV2 backbone, untrained heads; the ONNX file says so."""
    import onnx

    from starreid.reid.models.pretrained import PretrainedError, imagenet_file

    try:
        imagenet_file()
    except PretrainedError as exc:
        pytest.skip(str(exc))
    out = str(tmp_path / "mbv2")
    shape = ["--backbone", "mobilenetv2", *SHAPE[2:]]
    assert main(["export", "--pretrained", "imagenet", "--out", out, *shape, *ARCH]) == 0
    meta = {p.key: p.value for p in onnx.load(f"{out}.onnx").metadata_props}
    assert (meta["backbone"], meta["pretrained"], meta["last_stride"]) == ("mobilenetv2", "imagenet", "1")
    assert meta["input"].startswith("RGB / 255, minus mean (0.485, 0.456, 0.406)")

    from starreid.reid.infer import Embedder

    emb = Embedder.from_config(deployed(f"{out}.onnx", "onnx", backbone="mobilenetv2"))
    rng = np.random.default_rng(2)
    vectors = emb.embed(rng.integers(0, 256, (2, T, H, W, 3), dtype=np.uint8),
                        rng.random((2, T, 17, 3)).astype(np.float32), ["rgb", "ir"])
    assert vectors.shape == (2, 1280) and emb.model_id.startswith("star-mbv2-full:")
