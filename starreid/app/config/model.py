"""The re-identification model used to embed tracklets, and the architecture sizes training and deployment share."""
from typing import Literal

from pydantic import Field, model_validator

from starreid.app.config.base import Section

SIZE_KEYS = ("base_width", "lstm_hidden", "attn_heads", "ffn_hidden", "gat_hidden", "gat_heads", "gat_out",
             "guide_hidden")


class Architecture(Section):
    """STAR's sizes beyond depth and variant; the defaults are the paper's. A model deploys with the sizes it
    was trained with, so the deployment config repeats the training config's values."""
    depth: Literal[18, 34, 50] = 50
    variant: Literal["baseline", "fg", "sg", "full"] = "full"
    base_width: int = Field(default=64, ge=4, le=256, description="ResNet width (64 = standard); smaller "
                                                                   "trains faster on CPU")
    lstm_hidden: int = Field(default=1024, ge=8)
    attn_heads: int = Field(default=4, ge=1)
    ffn_hidden: int | None = Field(default=None, ge=8, description="frame-guidance FFN width; none = paper")
    gat_hidden: int = Field(default=16, ge=2)
    gat_heads: int = Field(default=2, ge=1)
    gat_out: int = Field(default=12, ge=2)
    guide_hidden: int = Field(default=128, ge=4)

    @model_validator(mode="after")
    def _heads_divide(self):
        if (2 * self.lstm_hidden) % self.attn_heads:
            raise ValueError(f"attn_heads ({self.attn_heads}) must divide 2 * lstm_hidden ({2 * self.lstm_hidden})")
        return self

    def sizes(self) -> dict:
        """The build_star keyword arguments beyond depth, variant and seq_len."""
        return {k: getattr(self, k) for k in SIZE_KEYS}


class ModelConfig(Architecture):
    name: Literal["star"] = "star"
    weights: str | None = Field(default=None, description="checkpoint path; none = embedding done elsewhere")
    backend: Literal["onnx", "mindspore", "lite"] = "onnx"
    device: Literal["CPU", "GPU", "Ascend"] = "CPU"
    seq_len: int = Field(default=12, ge=1, le=64)
    height: int = Field(default=288, ge=32)
    width: int = Field(default=144, ge=16)
    batch_size: int = Field(default=8, ge=1)
