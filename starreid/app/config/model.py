"""The re-identification model used to embed tracklets, and the architecture sizes training and deployment share."""
from typing import Literal

from pydantic import Field, model_validator

from starreid.app.config.base import Section

SIZE_KEYS = ("base_width", "last_stride", "lstm_hidden", "attn_heads", "ffn_hidden", "gat_hidden", "gat_heads",
             "gat_out", "guide_hidden")


BACKBONES = ("resnet18", "resnet34", "resnet50", "mobilenetv2")


STAR_ONLY = ("variant", "attn_heads", "ffn_hidden", "gat_hidden", "gat_heads", "gat_out", "guide_hidden")


class Architecture(Section):
    """The model (STAR or IBAN), its backbone, STAR's variant and the sizes; the defaults are STAR's paper's. A
    model deploys with the architecture it was trained with, so the deployment config repeats the training
    config's values."""
    arch: Literal["star", "iban"] = Field(default="star", description="star: skeleton-guided STAR; iban: the "
                                          "anaglyph-intermediary IBAN (docs/model.md), which uses backbone, "
                                          "base_width, last_stride and lstm_hidden (its BSTA's LSTM) only")
    backbone: Literal["resnet18", "resnet34", "resnet50", "mobilenetv2"] = Field(
        default="resnet50", description="two-stream backbone: modality-specific stem, shared body")
    variant: Literal["baseline", "fg", "sg", "full"] = "full"
    base_width: int = Field(default=64, ge=4, le=256, description="backbone width, 64 = the standard network "
                            "(ResNet's first stage; MobileNetV2 x base_width/64); smaller trains faster on CPU; "
                            "ImageNet weights need 64")
    last_stride: Literal[1, 2] = Field(default=1, description="stride of the last stage (1: feature maps of "
                                                              "1/16 of the input, the re-id custom; 2: 1/32)")
    lstm_hidden: int = Field(default=1024, ge=8)
    attn_heads: int = Field(default=4, ge=1)
    ffn_hidden: int | None = Field(default=None, ge=8, description="frame-guidance FFN width; none = paper")
    gat_hidden: int = Field(default=16, ge=2)
    gat_heads: int = Field(default=2, ge=1)
    gat_out: int = Field(default=12, ge=2)
    guide_hidden: int = Field(default=128, ge=4)

    @model_validator(mode="before")
    @classmethod
    def _depth_was_replaced(cls, data):
        if isinstance(data, dict) and "depth" in data:
            raise ValueError(f"'depth' was replaced by 'backbone': write backbone: resnet{data['depth']} "
                             "(resnet18 | resnet34 | resnet50 | mobilenetv2)")
        if isinstance(data, dict) and "name" in data:
            raise ValueError(f"'name' was replaced by 'arch': write arch: {data['name']} (star | iban)")
        return data

    @model_validator(mode="after")
    def _heads_divide(self):
        if self.arch == "iban":
            # (their defaults pass: `config show` writes every key, and what it writes must load again)
            given = [k for k in STAR_ONLY if getattr(self, k) != type(self).model_fields[k].default]
            if given:
                raise ValueError(f"arch iban does not take STAR's {', '.join(given)}")
            return self
        if (2 * self.lstm_hidden) % self.attn_heads:
            raise ValueError(f"attn_heads ({self.attn_heads}) must divide 2 * lstm_hidden ({2 * self.lstm_hidden})")
        return self

    def sizes(self) -> dict:
        """The build_star keyword arguments beyond backbone, variant and seq_len."""
        return {k: getattr(self, k) for k in SIZE_KEYS}


class ModelConfig(Architecture):
    weights: str | None = Field(default=None, description="checkpoint path; none = embedding done elsewhere")
    backend: Literal["onnx", "mindspore", "lite"] = "onnx"
    device: Literal["CPU", "GPU", "Ascend"] = "CPU"
    seq_len: int = Field(default=12, ge=1, le=64)
    height: int = Field(default=288, ge=32)
    width: int = Field(default=144, ge=16)
    batch_size: int = Field(default=8, ge=1, description="tracklets per model call (a graph exported with a "
                            "fixed batch batches by that instead)")
    threads: int = Field(default=1, ge=0, description="CPU threads of the ONNX Runtime and Lite backends (0: the "
                         "runtime's default, every core); 1 keeps embedding from starving a worker's camera loop")
