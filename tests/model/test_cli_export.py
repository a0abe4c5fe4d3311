"""`starreid export`: checkpoint -> ONNX and MindIR files a runtime can load."""
import numpy as np

from model_tiny import H, SMALL, T, W
from starreid.cli import main

ARCH = [f"--arch={k}={v}" for k, v in SMALL.items()]
SHAPE = ["--depth", "18", "--variant", "full", "--seq-len", str(T), "--height", str(H), "--width", str(W),
         "--batch-size", "2"]


def test_export_verb_writes_both_formats(tiny_checkpoint, tmp_path, capsys):
    out = str(tmp_path / "model")
    assert main(["export", "--checkpoint", tiny_checkpoint, "--out", out, "--format", "both", *SHAPE, *ARCH]) == 0
    printed = capsys.readouterr().out
    assert f"{out}.onnx" in printed and f"{out}.mindir" in printed

    from reid.infer import Embedder

    emb = Embedder(f"{out}.onnx", "onnx", depth=18, variant="full", seq_len=T, height=H, width=W)
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
