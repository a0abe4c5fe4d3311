"""Tiny STAR and IBAN configurations for the model tests: ResNet-18, 4 frames of 64 x 32, small heads."""
import numpy as np
import mindspore as ms

from starreid.app.config.model import ModelConfig
from starreid.app.config.train import IbanLossConfig, LossConfig, OptimConfig, TrainModelConfig
from starreid.reid.losses import IbanLoss, StarLoss
from starreid.reid.models import build_iban, build_star

ms.set_device("CPU")

T, H, W = 4, 64, 32
SMALL = {"lstm_hidden": 32, "gat_hidden": 8, "guide_hidden": 16}


def arch(variant: str = "full", backbone: str = "resnet18", **overrides) -> TrainModelConfig:
    """The training model section of a tiny STAR (validated by the schema, like a config file's)."""
    return TrainModelConfig(backbone=backbone, variant=variant, seq_len=T, height=H, width=W, **{**SMALL, **overrides})


def tiny_star(variant: str = "full", num_classes: int = 0, sad: bool = True, **overrides):
    return build_star(arch(variant, **overrides), num_classes=num_classes, sad=sad)


def iban_arch(backbone: str = "resnet18", **overrides) -> TrainModelConfig:
    return TrainModelConfig(arch="iban", backbone=backbone, sad=False, seq_len=T, height=H, width=W,
                            **{"lstm_hidden": 32, **overrides})


def tiny_iban(num_classes: int = 0, **overrides):
    return build_iban(iban_arch(**overrides), num_classes=num_classes)


def iban_loss(**weights) -> IbanLoss:
    return IbanLoss.from_config(IbanLossConfig(**weights), None)


def deployed(weights: str, backend: str, variant: str = "full", **overrides) -> ModelConfig:
    """The deployment model section that loads a tiny STAR's weights."""
    values = {"weights": weights, "backend": backend, "backbone": "resnet18", "variant": variant, "seq_len": T,
              "height": H, "width": W, **SMALL}
    return ModelConfig(**{**values, **overrides})


def star_loss(net, **weights) -> StarLoss:
    return StarLoss.from_config(LossConfig(**weights), net)


def optim(**values) -> OptimConfig:
    return OptimConfig(**values)


def make_batch(b: int = 4, t: int = T, h: int = H, w: int = W, seed: int = 0, score: float = 0.9):
    """Float clips (B, T, 3, H, W), keypoints with all joints scored `score`, modality alternating rgb/ir."""
    rng = np.random.default_rng(seed)
    clips = rng.standard_normal((b, t, 3, h, w)).astype(np.float32)
    kp = rng.random((b, t, 17, 3)).astype(np.float32)
    kp[..., 2] = score
    modality = (np.arange(b) % 2).astype(np.int32)
    return clips, kp, modality


def tensors(*arrays):
    return [ms.Tensor(a) for a in arrays]
