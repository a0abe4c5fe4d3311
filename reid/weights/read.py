"""read_weights: any supported weight file into numpy arrays, its format told by content, not by suffix."""
from pathlib import Path

import numpy as np

from .errors import WeightFileError
from .mindspore_file import looks_like_mindspore, read_mindspore
from .safetensors_file import looks_like_safetensors, read_safetensors
from .torch_file import looks_like_torch_legacy, looks_like_torch_zip, read_torch_legacy, read_torch_zip

# Checked in this order; a zip, a pickle or a MindSpore protobuf never has "{" after a small 8-byte number.
_FORMATS = {
    "safetensors": (looks_like_safetensors, read_safetensors),
    "torch-zip": (looks_like_torch_zip, read_torch_zip),
    "torch-legacy": (looks_like_torch_legacy, read_torch_legacy),
    "mindspore": (looks_like_mindspore, read_mindspore),
}
SUPPORTED = ("PyTorch torch.save files (zip or legacy format), safetensors, MindSpore .ckpt "
             "(torch pickles may hold only tensors and plain data)")
_HEAD = 4096  # enough for a MindSpore parameter name and torch's magic-number pickle


def weight_format(path) -> str:
    """'safetensors', 'torch-zip', 'torch-legacy' or 'mindspore', from the file's first bytes."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            head = file.read(_HEAD)
    except OSError as error:
        raise WeightFileError(f"{path}: cannot read ({error.strerror or error})") from error
    if not head:
        raise WeightFileError(f"{path}: empty file; supported: {SUPPORTED}")
    for name, (looks_like, _) in _FORMATS.items():
        if looks_like(head):
            return name
    raise WeightFileError(f"{path}: not a weight file of a known format (it starts {head[:16]!r}); "
                          f"supported: {SUPPORTED}")


def read_weights(path) -> dict[str, np.ndarray]:
    """The named tensors of a weight file, as numpy arrays (native byte order, bfloat16 widened to float32).

    Torch checkpoints that wrap the state dict are unwrapped by select_state_dict's rule (e.g. {"state_dict":
    sd, "epoch": 3} gives sd's tensors). Every failure, including a pickle that names a global other than
    tensors, storages, OrderedDict and numeric numpy scalars, raises WeightFileError, whose message names the file.
    """
    path = Path(path)
    return _FORMATS[weight_format(path)][1](path)
