"""Writes the weight-file fixtures of tests/reid/model/test_weight_readers.py with real torch (not run by the tests).

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch safetensors
    /tmp/torchvenv/bin/python tests/reid/data/weights/make_fixtures.py

expected.npz holds torch's own view of every tensor (.numpy(); bfloat16 as float32, which is exact).
"""
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
# The payload of the malicious fixtures: running it would create this file.
MARKER = "/tmp/starreid-weights-payload-ran"


class Payload:
    """Unpickles into a call of `func(arg)`, like a booby-trapped checkpoint."""

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


def state_dict() -> OrderedDict:
    """Small tensors of every dtype a checkpoint holds, plus the layouts a reader must honour."""
    g = torch.Generator().manual_seed(0)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    line = torch.arange(10, dtype=torch.float32) * 0.5
    shared = torch.randn(6, generator=g)
    return OrderedDict([
        ("conv.weight", torch.randn(4, 2, 3, 3, generator=g)),
        ("conv.bias", torch.randn(4, generator=g)),
        ("bn.running_mean", torch.randn(4, generator=g)),
        ("bn.running_var", torch.rand(4, generator=g) + 0.5),
        ("bn.num_batches_tracked", torch.tensor(7)),                    # int64, 0-d
        ("half", torch.randn(3, 4, generator=g).half()),
        ("bf16", torch.randn(5, generator=g).bfloat16()),
        ("double", torch.randn(2, 3, generator=g).double()),
        ("int32", torch.tensor([-3, 0, 2**31 - 1], dtype=torch.int32)),
        ("int16", torch.tensor([-300, 300], dtype=torch.int16)),
        ("int8", torch.tensor([-128, 0, 5, 127], dtype=torch.int8)),
        ("uint8", torch.tensor([0, 1, 128, 255, 7, 9], dtype=torch.uint8)),
        ("uint16", torch.tensor([0, 40000, 65535], dtype=torch.uint16)),  # saved by _rebuild_tensor_v3
        ("mask", torch.tensor([[True, False, True], [False, False, True]])),
        ("transposed", base.t()),                                      # strides (1, 4)
        ("offset_view", line[3:8]),                                     # storage offset 3
        ("every_other", line[::2]),                                     # stride 2, same storage as offset_view
        ("shared_flat", shared),
        ("shared_matrix", shared.view(2, 3)),                           # same storage as shared_flat
        ("expanded", torch.arange(3, dtype=torch.float32).expand(2, 3)),  # stride 0
        ("empty", torch.zeros(0, 3)),
        ("param", torch.nn.Parameter(torch.randn(2, generator=g))),     # saved by _rebuild_parameter
    ])


def expected(sd: OrderedDict) -> dict:
    return {k: (v.detach().float() if v.dtype == torch.bfloat16 else v.detach()).numpy() for k, v in sd.items()}


def write_malicious() -> None:
    """A state dict whose second entry calls a foreign global when unpickled: os.system in the legacy file
    (pickled as posix.system), builtins.exec in the zip file."""
    weight = torch.ones(2)
    legacy = OrderedDict([("weight", weight), ("evil", Payload(__import__("os").system, f"touch {MARKER}"))])
    torch.save(legacy, HERE / "malicious_legacy.pt", _use_new_zipfile_serialization=False)
    zipped = OrderedDict([("weight", weight), ("evil", Payload(exec, f"open({MARKER!r}, 'w').close()"))])
    torch.save(zipped, HERE / "malicious_zip.pt")


def main() -> None:
    sd = state_dict()
    torch.save(sd, HERE / "state_dict_legacy.pt", _use_new_zipfile_serialization=False)
    torch.save(sd, HERE / "state_dict_zip.pt")
    nested = {"state_dict": OrderedDict(list(sd.items())[:4]), "epoch": 3, "arch": "tiny",
              "history": [0.5, 0.25], "optimizer": {"state": {0: {"momentum_buffer": torch.ones(4)}}}}
    torch.save(nested, HERE / "checkpoint_nested.pt")
    # safetensors refuses shared and non-contiguous tensors: save independent contiguous copies.
    save_file({k: v.detach().contiguous().clone() for k, v in sd.items()}, str(HERE / "state_dict.safetensors"),
              metadata={"format": "pt"})
    np.savez(HERE / "expected.npz", **expected(sd))
    write_malicious()
    for path in sorted(HERE.iterdir()):
        print(f"{path.name:28} {path.stat().st_size:7d} bytes")


if __name__ == "__main__":
    main()
