"""Strict checkpoint loading with skipped prefixes (fine-tuning from another classifier or a backbone)."""
import numpy as np
import pytest

import mindspore as ms
from model_tiny import tiny_star
from starreid.reid.models.checkpoint import TRAINING_HEADS, CheckpointError, load_weights, save_weights


def test_skipped_prefixes_are_neither_checked_nor_loaded(tmp_path):
    ms.set_seed(7)
    src = tiny_star("baseline", num_classes=5)
    path = save_weights(src, str(tmp_path / "baseline.ckpt"))
    dst = tiny_star("full", num_classes=7)
    before = dst.classifier.weight.asnumpy().copy()
    with pytest.raises(CheckpointError, match="shape mismatch: classifier.weight"):
        load_weights(dst, path, skip_prefixes=("fg.", "sg.", "kl_fc."))
    load_weights(dst, path, skip_prefixes=(*TRAINING_HEADS, "fg.", "sg.", "kl_fc."))
    np.testing.assert_array_equal(dst.classifier.weight.asnumpy(), before)  # skipped: left as initialised
    for name in ("backbone.stem_ir.conv1.weight", "backbone.layer4.1.conv2.weight", "neck.gamma"):
        a = {p.name: p for p in src.get_parameters()}[name].asnumpy()
        b = {p.name: p for p in dst.get_parameters()}[name].asnumpy()
        np.testing.assert_array_equal(a, b)
