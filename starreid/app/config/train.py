"""The training config (`kind: train`): dataset, model, sampler, augmentation, optimiser, losses, schedule."""
from typing import Literal

from pydantic import Field

from starreid.app.config.base import Section
from starreid.app.config.model import Architecture


class DataConfig(Section):
    root: str = Field(description="dataset root in the HITSZ-VCM layout")
    skeletons: str | None = Field(default=None, description="keypoint file from `starreid skeletons`; "
                                                            "none = no poses (every frame marked missing)")
    min_len: int = Field(default=12, ge=1, description="drop tracklets shorter than this (the protocol: 12)")
    threads: int = Field(default=2, ge=1, le=64, description="frame-loading threads")


class TrainModelConfig(Architecture):
    seq_len: int = Field(default=12, ge=2, le=64)
    height: int = Field(default=288, ge=32)
    width: int = Field(default=144, ge=16)
    pretrained: str | None = Field(default=None, description="backbone checkpoint to start from")
    sad: bool = Field(default=True, description="style disturbance and defense during training")


class SamplerConfig(Section):
    p: int = Field(default=8, ge=2, description="identities per batch")
    k: int = Field(default=2, ge=1, description="tracklets per identity and modality")


class AugmentConfig(Section):
    pad: int = Field(default=10, ge=0)
    flip_p: float = Field(default=0.5, ge=0, le=1)
    erase_p: float = Field(default=0.5, ge=0, le=1)
    style_p: float = Field(default=0.5, ge=0, le=1, description="SAD input style augmentation")
    exchange_p: float = Field(default=0.0, ge=0, le=1, description="RGB clip -> one channel or grey, repeated "
                                                                    "(channel exchange; not in the paper's recipe)")


class OptimConfig(Section):
    epochs: int = Field(default=130, ge=1)
    lr: float = Field(default=0.1, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=5e-4, ge=0)
    warmup_epochs: int = Field(default=10, ge=0)
    milestones: list[int] = Field(default=[60, 100], description="epochs at which lr is multiplied by gamma")
    gamma: float = Field(default=0.1, gt=0, le=1)
    backbone_lr_scale: float = Field(default=0.1, gt=0, le=1)


class LossConfig(Section):
    w_id: float = Field(default=1.0, ge=0)
    w_tri: float = Field(default=1.0, ge=0)
    w_kl: float = Field(default=1.0, ge=0)
    w_sad: float = Field(default=1.0, ge=0)
    margin: float = Field(default=0.3, ge=0)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)


class ScheduleConfig(Section):
    eval_every: int = Field(default=10, ge=1, description="epochs between evaluations (both directions)")
    checkpoint_every: int = Field(default=10, ge=1, description="epochs between resumable checkpoints")
    eval_batch: int = Field(default=16, ge=1)


class TrainConfig(Section):
    kind: Literal["train"]
    out_dir: str = Field(description="checkpoints, logs and plots go here")
    seed: int = 0
    device: Literal["CPU", "GPU", "Ascend"] = "CPU"
    jit: bool = Field(default=True, description="graph mode (ms.jit) for the training step")
    data: DataConfig
    model: TrainModelConfig = TrainModelConfig()
    sampler: SamplerConfig = SamplerConfig()
    augment: AugmentConfig = AugmentConfig()
    optim: OptimConfig = OptimConfig()
    loss: LossConfig = LossConfig()
    schedule: ScheduleConfig = ScheduleConfig()
