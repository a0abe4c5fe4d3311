"""Fixtures of the model tests."""
import pytest

import mindspore as ms


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A randomly initialised full STAR (ResNet-18, small heads) saved as a .ckpt with a 5-way classifier."""
    from model_tiny import tiny_star
    from starreid.reid.models.checkpoint import save_weights

    ms.set_seed(3)
    net = tiny_star("full", num_classes=5)
    path = str(tmp_path_factory.mktemp("ckpt") / "star.ckpt")
    return save_weights(net, path)
