"""The re-identification model used to embed tracklets."""
from typing import Literal

from pydantic import Field

from starreid.config.base import Section


class ModelConfig(Section):
    name: Literal["star"] = "star"
    depth: Literal[18, 34, 50] = 50
    variant: Literal["baseline", "fg", "sg", "full"] = "full"
    weights: str | None = Field(default=None, description="checkpoint path; none = embedding done elsewhere")
    backend: Literal["onnx", "mindspore", "lite"] = "onnx"
    device: Literal["CPU", "GPU", "Ascend"] = "CPU"
    seq_len: int = Field(default=12, ge=1, le=64)
    height: int = Field(default=288, ge=32)
    width: int = Field(default=144, ge=16)
    batch_size: int = Field(default=8, ge=1)
