"""Readers of neural-network weight files into numpy: torch.save files (zip and legacy), safetensors, MindSpore
.ckpt. Torch pickles go through a restricted unpickler, so reading a file never runs code from it. mapping.py
renames other projects' backbone state dicts (torchvision/timm, mindcv, STAR-release ResNets; torchvision
MobileNetV2) to this project's two-stream backbone parameters and names every tensor that does not fit."""
from .errors import WeightFileError, WeightMappingError
from .mapping import NAMINGS, check_mapped, map_backbone
from .read import read_weights, weight_format
from .state_dict import select_state_dict

__all__ = ["NAMINGS", "WeightFileError", "WeightMappingError", "check_mapped", "map_backbone", "read_weights",
           "select_state_dict", "weight_format"]
