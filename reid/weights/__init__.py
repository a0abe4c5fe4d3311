"""Readers of neural-network weight files into numpy: torch.save files (zip and legacy), safetensors, MindSpore
.ckpt. Torch pickles go through a restricted unpickler, so reading a file never runs code from it."""
from .errors import WeightFileError
from .read import read_weights, weight_format
from .state_dict import select_state_dict

__all__ = ["WeightFileError", "read_weights", "select_state_dict", "weight_format"]
