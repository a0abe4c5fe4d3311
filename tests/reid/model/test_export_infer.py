"""Export (ONNX, MindIR) and the Embedder's backends, sampling, batching and errors."""
import hashlib

import numpy as np
import pytest

import mindspore as ms
from model_tiny import H, T, W, arch, deployed, make_batch, tensors, tiny_star
from starreid.reid.export import build_inference_net, export_model
from starreid.reid.infer import Embedder, frame_indices
from starreid.reid.infer.sampler import normalize_clips
from starreid.reid.models.checkpoint import CheckpointError, save_weights


def embedder(weights: str, backend: str, **overrides) -> Embedder:
    return Embedder.from_config(deployed(weights, backend, **overrides))


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    net = build_inference_net(arch("full"), weights=tiny_checkpoint)
    prefix = str(tmp_path_factory.mktemp("export") / "star")
    meta = {"backbone": "resnet18", "variant": "full"}
    paths = {fmt: export_model(net, prefix, fmt, None, T, H, W, meta) for fmt in ("onnx", "mindir")}
    paths["onnx-fixed"] = export_model(net, prefix + "-fixed", "onnx", 4, T, H, W, meta)
    return paths


def test_a_dynamic_batch_graph_runs_any_batch_unpadded(tiny_checkpoint, exported):
    """The dynamic ONNX (batch-1 graph looped over the batch) and MindIR graphs give, for every batch size,
    what the checkpoint gives, and the same as the fixed-batch graph."""
    import onnxruntime as ort

    net = build_inference_net(arch("full"), weights=tiny_checkpoint)
    dynamic = ort.InferenceSession(exported["onnx"], providers=["CPUExecutionProvider"])
    fixed = ort.InferenceSession(exported["onnx-fixed"], providers=["CPUExecutionProvider"])
    assert dynamic.get_inputs()[0].shape[0] == "batch" and fixed.get_inputs()[0].shape[0] == 4
    names = [i.name for i in dynamic.get_inputs()]
    graph = ms.nn.GraphCell(ms.load(exported["mindir"]))
    clips, kp, mod = make_batch(5, seed=21)
    for n in (1, 3, 5):
        ref = net(*tensors(clips[:n], kp[:n], mod[:n])).asnumpy()
        out = dynamic.run(None, dict(zip(names, (clips[:n], kp[:n], mod[:n]))))[0]
        assert out.shape == (n, 512) and np.abs(out - ref).max() < 1e-4
        assert np.abs(graph(*tensors(clips[:n], kp[:n], mod[:n])).asnumpy() - ref).max() < 1e-5
        if n <= 4:
            pad = [np.concatenate([a[:n], np.repeat(a[n - 1:n], 4 - n, axis=0)]) for a in (clips, kp, mod)]
            assert np.abs(fixed.run(None, dict(zip(names, pad)))[0][:n] - out).max() < 1e-6
    emb = embedder(exported["onnx"], "onnx", batch_size=3)
    assert emb.backend.dynamic and emb.batch_size == 3  # the configured batch, nothing padded
    assert embedder(exported["onnx-fixed"], "onnx", batch_size=3).batch_size == 4


def _tracklets(b=6, t=9, h=H, w=W, seed=0):
    rng = np.random.default_rng(seed)
    clips = rng.integers(0, 256, (b, t, h, w, 3), dtype=np.uint8)
    kp = rng.random((b, t, 17, 3)).astype(np.float32)
    return clips, kp, ["rgb", "ir", "ir", "rgb", "ir", "rgb"][:b]


def test_onnx_and_mindspore_embeddings_agree(tiny_checkpoint, exported):
    onnx = embedder(exported["onnx-fixed"], "onnx", batch_size=4)
    mind = embedder(tiny_checkpoint, "mindspore", batch_size=4)
    clips, kp, mod = _tracklets()  # 6 tracklets: one full batch of 4 and a padded one
    a, b = onnx.embed(clips, kp, mod), mind.embed(clips, kp, mod)
    assert a.shape == (6, 512) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)
    assert np.abs(a - b).max() < 1e-4
    assert np.abs(a[0] - a[3]).max() > 1e-3  # different tracklets, different embeddings
    one = onnx.embed(clips[4:5], kp[4:5], mod[4:5])  # batching does not change a tracklet's embedding
    assert np.abs(one[0] - a[4]).max() < 1e-5
    codes = onnx.embed(clips, kp, [0 if m == "rgb" else 1 for m in mod])
    np.testing.assert_array_equal(codes, a)
    digest = hashlib.sha256(open(exported["onnx-fixed"], "rb").read()).hexdigest()[:12]
    assert onnx.model_id == f"star-r18-full:{digest}"


def test_mindir_round_trip(tiny_checkpoint, exported):
    net = build_inference_net(arch("full"), weights=tiny_checkpoint)
    graph = ms.nn.GraphCell(ms.load(exported["mindir"]))
    clips, kp, mod = tensors(*make_batch(4, seed=11))
    from_graph = graph(clips, kp, mod).asnumpy()
    assert from_graph.shape == (4, 512)
    assert np.abs(from_graph - net(clips, kp, mod).asnumpy()).max() < 1e-5
    onnx = embedder(exported["onnx"], "onnx")
    mindir = embedder(exported["mindir"], "mindspore", batch_size=4)
    tracks = _tracklets(4, 4, seed=3)
    assert np.abs(mindir.embed(*tracks) - onnx.embed(*tracks)).max() < 1e-4


@pytest.mark.parametrize("variant", ["baseline", "fg", "sg"])
def test_every_variant_exports_to_onnx(variant, tmp_path):
    import onnxruntime as ort

    ms.set_seed(5)
    net = build_inference_net(arch(variant))
    path = export_model(net, str(tmp_path / variant), "onnx", 2, T, H, W)
    clips, kp, mod = make_batch(2, seed=12)
    ref = net(*tensors(clips, kp, mod)).asnumpy()
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = sess.run(None, dict(zip([i.name for i in sess.get_inputs()], (clips, kp, mod))))[0]
    assert np.abs(out - ref).max() < 1e-4


def test_test_sampler_indices():
    assert frame_indices(24, 12).tolist() == list(range(0, 24, 2))
    assert frame_indices(25, 12).tolist() == [0, 3, 6, 9, 12, 15, 18, 21, 24, 24, 24, 24]
    assert frame_indices(12, 12).tolist() == list(range(12))
    assert frame_indices(5, 8).tolist() == [0, 1, 2, 3, 4, 4, 4, 4]
    with pytest.raises(ValueError):
        frame_indices(0, 4)


def test_crops_of_another_size_are_resized(exported):
    import cv2

    onnx = embedder(exported["onnx"], "onnx")
    clips, kp, mod = _tracklets(2, T, 2 * H, 2 * W, seed=4)
    small = np.stack([[cv2.resize(f, (W, H), interpolation=cv2.INTER_LINEAR) for f in c] for c in clips])
    np.testing.assert_allclose(onnx.embed(clips, kp, mod), onnx.embed(small, kp, mod), atol=1e-6)
    x = normalize_clips(small, H, W)
    assert x.shape == (2, T, 3, H, W) and abs(float(x.mean())) < 0.5


def test_clear_errors(tiny_checkpoint, exported, tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        embedder(str(tmp_path / "absent.onnx"), "onnx")
    with pytest.raises(ValueError, match="inputs"):  # the ONNX graph holds 4 frames, not 6
        embedder(exported["onnx"], "onnx", seq_len=6)
    with pytest.raises(ValueError, match="variant=full"):
        embedder(exported["onnx"], "onnx", variant="sg")
    with pytest.raises(RuntimeError, match="mindspore_lite"):
        embedder(exported["mindir"], "lite")
    with pytest.raises(ValueError, match="backend"):
        embedder(exported["onnx"], "tensorrt")
    wider = save_weights(tiny_star("full", lstm_hidden=16), str(tmp_path / "wider.ckpt"))
    with pytest.raises(CheckpointError, match="fg.lstm"):
        embedder(wider, "mindspore")
    with pytest.raises(CheckpointError, match=r"missing from checkpoint: kl_fc.bias, .*sg\.bn"):
        embedder(save_weights(tiny_star("fg"), str(tmp_path / "fg.ckpt")), "mindspore")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        embedder(str(tmp_path / "junk.ckpt"), "mindspore")
    onnx = embedder(exported["onnx"], "onnx")
    clips, kp, mod = _tracklets(2, T)
    with pytest.raises(ValueError, match="uint8"):
        onnx.embed(clips.astype(np.float32), kp, mod)
    with pytest.raises(ValueError, match="keypoints"):
        onnx.embed(clips, kp[:, :, :13], mod)
    with pytest.raises(ValueError, match="modality"):
        onnx.embed(clips, kp, ["rgb", "thermal"])


def test_a_list_of_tracklets_of_different_lengths_and_sizes(exported):
    onnx = embedder(exported["onnx"], "onnx")
    long_, _, _ = _tracklets(1, 24, seed=6)
    short, _, _ = _tracklets(1, 3, 2 * H, W, seed=7)
    rng = np.random.default_rng(8)
    kp_long, kp_short = rng.random((24, 17, 3)).astype(np.float32), rng.random((3, 17, 3)).astype(np.float32)
    both = onnx.embed([long_[0], short[0]], [kp_long, kp_short], ["rgb", "ir"])
    assert both.shape == (2, 512)
    np.testing.assert_allclose(both[0], onnx.embed(long_, kp_long[None], ["rgb"])[0], atol=1e-6)
    np.testing.assert_allclose(both[1], onnx.embed(short, kp_short[None], ["ir"])[0], atol=1e-6)


def test_the_onnx_embedder_does_not_import_mindspore(exported):
    # Processes that run MediaPipe cannot import MindSpore (clashing protobuf descriptors): ONNX must not need it.
    import subprocess
    import sys

    code = (f"import sys, numpy as np; from starreid.reid.infer import Embedder; "
            f"from starreid.app.config.model import ModelConfig; "
            f"e = Embedder.from_config(ModelConfig(weights={exported['onnx']!r}, backbone='resnet18', seq_len={T}, "
            f"height={H}, width={W})); v = e.embed(np.zeros((1, {T}, {H}, {W}, 3), np.uint8), "
            f"np.zeros((1, {T}, 17, 3), np.float32), ['ir']); "
            f"print(v.shape, 'mindspore' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "False" and "(1, 512)" in out.stdout


@pytest.mark.parametrize("kind", ["onnx", "onnx-fixed", "mindspore-ckpt", "mindspore-mindir"])
def test_backend_contract(kind, tiny_checkpoint, exported):
    """Every embedder backend: a batch, and run() of 1..batch tracklets -> (n, D) float32."""
    from starreid.reid.infer.backends import Backend

    weights, backend = {"onnx": (exported["onnx"], "onnx"), "onnx-fixed": (exported["onnx-fixed"], "onnx"),
                        "mindspore-ckpt": (tiny_checkpoint, "mindspore"),
                        "mindspore-mindir": (exported["mindir"], "mindspore")}[kind]
    run = embedder(weights, backend, batch_size=4).backend
    assert isinstance(run, Backend) and run.batch == 4
    clips, kp, mod = make_batch(4, seed=13)
    for n in (1, 3, 4):
        out = np.asarray(run.run(clips[:n], kp[:n], mod[:n]))
        assert out.shape == (n, 512) and np.isfinite(out).all()
