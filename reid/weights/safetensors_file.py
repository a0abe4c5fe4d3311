"""safetensors files, read without the safetensors package: an 8-byte little-endian header length, a JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data buffer, which
the tensors must tile exactly (offsets relative to its start, in order, no gaps or overlaps)."""
import json
import math
from pathlib import Path

import numpy as np

from .dtypes import BFLOAT16, finish, numpy_dtype
from .errors import WeightFileError

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": BFLOAT16, "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "|i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "|u1", "BOOL": "|b1", "C64": "<c8"}
MAX_HEADER_BYTES = 100_000_000  # the safetensors package's own limit


def looks_like_safetensors(head: bytes) -> bool:
    """A plausible header length, then "{". The file size is not consulted, so that a truncated file is
    reported as such rather than as an unknown format."""
    return int.from_bytes(head[:8], "little") <= MAX_HEADER_BYTES and head[8:9] == b"{"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise WeightFileError(f"{path}: truncated safetensors file: its header alone needs {length} bytes after "
                              f"the first 8, the file has {len(data)} in all")
    try:
        header = json.loads(data[8:8 + length])
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise WeightFileError(f"{path}: safetensors header is not valid JSON ({error})") from None
    header.pop("__metadata__", None)  # an object: the header starts with "{" (looks_like_safetensors)
    buffer = memoryview(data)[8 + length:]
    entries = {name: _entry(path, name, info) for name, info in header.items()}
    end = 0
    for name, (_, _, begin, stop) in sorted(entries.items(), key=lambda item: item[1][2:]):
        if begin != end:
            raise WeightFileError(f"{path}: tensor {name!r} starts at byte {begin} of the data, expected {end} "
                                  "(tensors must tile the data without gaps or overlaps)")
        end = stop
    if end != len(buffer):
        raise WeightFileError(f"{path}: the tensors cover {end} bytes of data, the file holds {len(buffer)}"
                              + (" (truncated)" if end > len(buffer) else ""))
    return {name: finish(np.frombuffer(buffer[begin:stop], numpy_dtype(dtype)).reshape(shape), dtype)
            for name, (dtype, shape, begin, stop) in entries.items()}


def _entry(path: Path, name: str, info) -> tuple:
    """(dtype, shape, begin, end) of one header entry, checked."""
    if not (isinstance(info, dict) and isinstance(info.get("shape"), list)
            and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2):
        raise WeightFileError(f"{path}: malformed safetensors entry {name!r}: {info!r:.120}")
    dtype, shape, (begin, end) = info.get("dtype"), info["shape"], info["data_offsets"]
    if dtype not in _DTYPES:
        raise WeightFileError(f"{path}: tensor {name!r} has dtype {dtype!r}; supported: {', '.join(_DTYPES)}")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (*shape, begin, end)):
        raise WeightFileError(f"{path}: tensor {name!r}: shape and offsets must be non-negative integers")
    nbytes = math.prod(shape) * numpy_dtype(_DTYPES[dtype]).itemsize
    if end - begin != nbytes:
        raise WeightFileError(f"{path}: tensor {name!r} of shape {shape} and dtype {dtype} needs {nbytes} bytes, "
                              f"its offsets [{begin}, {end}] span {end - begin}")
    return _DTYPES[dtype], tuple(shape), begin, end
