"""A restricted unpickler for torch.save pickles. It resolves only OrderedDict, torch's tensor and parameter
rebuild functions, storage types and a few dtypes, and builds references to tensors instead of tensors; any
other global is refused when the pickle names it, before anything is called. Materialising a reference checks
its offset, size and stride against the storage's bytes.

Numeric numpy scalars are allowed too (training scripts such as torchreid's store metrics like rank1 as numpy
floats beside the state dict): their pickle names numpy.dtype, numpy's scalar constructor and _codecs.encode,
each replaced here by a data-only stand-in that accepts numeric dtypes and latin-1 text only."""
import collections
import pickle
from typing import BinaryIO, NamedTuple

import numpy as np

from .dtypes import BFLOAT16, finish, numpy_dtype
from .errors import WeightFileError


class StorageRef(NamedTuple):
    """A storage named by a persistent id; its bytes lie outside the pickle."""
    key: str
    dtype: str  # of its elements, see dtypes.py
    numel: int  # elements of dtype, as the file declares


# NamedTuples, not classes: pickle's BUILD opcode cannot set attributes on them.
class TensorRef(NamedTuple):
    """A tensor as torch's rebuild functions describe it: a strided view of a storage."""
    storage: StorageRef
    dtype: str
    offset: int
    size: tuple
    stride: tuple


class _StorageType(NamedTuple):
    dtype: str


class _Dtype(NamedTuple):
    dtype: str


_STORAGE_TYPES = {
    "DoubleStorage": "<f8", "FloatStorage": "<f4", "HalfStorage": "<f2", "BFloat16Storage": BFLOAT16,
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "|i1",
    "ByteStorage": "|u1", "BoolStorage": "|b1", "ComplexFloatStorage": "<c8", "ComplexDoubleStorage": "<c16",
}
# torch >= 2.3 keeps these dtypes in an untyped (byte) storage and names them in _rebuild_tensor_v3.
_V3_DTYPES = {"uint16": "<u2", "uint32": "<u4", "uint64": "<u8"}


def _tensor(storage, dtype: str, offset, size, stride) -> TensorRef:
    if not isinstance(storage, StorageRef):
        raise ValueError(f"a tensor's storage is a {type(storage).__name__}, not a persistent storage")
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)):
        raise ValueError(f"a tensor's size {size!r} and stride {stride!r} do not match")
    if not all(isinstance(n, int) and n >= 0 for n in (offset, *size, *stride)):
        raise ValueError(f"a tensor's offset, size or stride is not a non-negative integer: "
                         f"{offset!r}, {size!r}, {stride!r}")
    return TensorRef(storage, dtype, offset, size, stride)


def _plain(metadata) -> None:
    # torch records conjugate/negative bits here; weights never carry them, and numpy has no lazy equivalent.
    if metadata:
        raise ValueError(f"tensor metadata {metadata!r} (conjugate or negative view) is not supported")


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _tensor(storage, getattr(storage, "dtype", None), storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    _plain(metadata)
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    if not isinstance(dtype, _Dtype):
        raise ValueError(f"_rebuild_tensor_v3 got dtype {dtype!r}")
    _plain(metadata)
    return _tensor(storage, dtype.dtype, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    """Also torch's _rebuild_parameter_with_state: a Parameter is its data tensor here."""
    if not isinstance(data, TensorRef):
        raise ValueError(f"a Parameter's data is a {type(data).__name__}, not a tensor")
    return data


class _NumpyDtype:
    """numpy.dtype(name, align, copy) of a numeric type, then BUILD's state (version, byte order, ...)."""

    def __init__(self, name, align=False, copy=True):
        if not (isinstance(name, str) and len(name) <= 4 and np.dtype(name).kind in "biufc"):
            raise ValueError(f"numpy dtype {name!r} is not a numeric type")
        self.dtype = np.dtype(name)

    def __setstate__(self, state):
        order = state[1] if isinstance(state, tuple) and len(state) > 1 else "="
        if order not in ("<", ">", "|", "="):
            raise ValueError(f"numpy dtype byte order {order!r}")
        self.dtype = self.dtype.newbyteorder(order) if order in "<>" else self.dtype


def _numpy_scalar(dtype, data=None):
    """numpy's scalar(dtype, bytes) as a plain Python number."""
    if not (isinstance(dtype, _NumpyDtype) and isinstance(data, bytes) and len(data) == dtype.dtype.itemsize):
        raise ValueError("a numpy scalar needs a numeric dtype and exactly its bytes")
    return np.frombuffer(data, dtype.dtype)[0].item()


def _latin1(text, encoding):
    """_codecs.encode(text, 'latin1'): how protocol-2 pickles write bytes."""
    if not (isinstance(text, str) and encoding in ("latin1", "latin-1")):
        raise ValueError(f"_codecs.encode is allowed only for latin-1 text, not {encoding!r}")
    return text.encode("latin1")


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "UntypedStorage"): _StorageType("|u1"),
    **{("torch", name): _StorageType(dtype) for name, dtype in _STORAGE_TYPES.items()},
    **{("torch", name): _Dtype(dtype) for name, dtype in _V3_DTYPES.items()},
    ("numpy", "dtype"): _NumpyDtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,  # numpy >= 2
    ("_codecs", "encode"): _latin1,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, source: str, storages: dict):
        super().__init__(file, encoding="utf-8")
        self._source, self._storages = source, storages

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise WeightFileError(
                f"{self._source}: refused the Python global {module}.{name} that its pickle asks for; only "
                f"tensors, storages, OrderedDict and numeric numpy scalars are allowed, so that reading a file "
                f"never runs code from it. If you trust the file, re-save just its state dict (of plain tensors) "
                f"with torch.") from None

    def persistent_load(self, pid):
        # zip format: ("storage", type, key, location, numel); legacy adds view metadata (None since torch 0.4).
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise ValueError(f"unsupported persistent id {pid!r:.80}")
        storage_type, key, _location, numel = pid[1:5]
        if len(pid) == 6 and pid[5] is not None:
            raise ValueError("storage views (files written by torch before 0.4) are not supported")
        if not (isinstance(storage_type, _StorageType) and isinstance(key, str) and isinstance(numel, int)
                and numel >= 0):
            raise ValueError(f"malformed storage id {pid!r:.120}")
        # The first reference fixes the storage's element type, as torch's writer does.
        return self._storages.setdefault(key, StorageRef(key, storage_type.dtype, numel))


def unpickle(file: BinaryIO, source: str, storages: dict):
    """One pickle from `file`; the storages it references are added to `storages` (key -> StorageRef)."""
    try:
        return _Unpickler(file, source, storages).load()
    except WeightFileError:
        raise
    except Exception as error:  # a damaged pickle fails in many ways: EOFError, UnpicklingError, TypeError, ...
        raise WeightFileError(f"{source}: truncated or corrupt pickle ({type(error).__name__}: {error})") from error


def materialise(ref: TensorRef, data, source: str) -> np.ndarray:
    """The tensor's values copied out of its storage's bytes `data`, after checking they lie within them."""
    stored = numpy_dtype(ref.dtype)
    count = len(data) // stored.itemsize
    if 0 in ref.size:
        return finish(np.zeros(ref.size, stored), ref.dtype)
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride))
    if last >= count:
        raise WeightFileError(f"{source}: a tensor of size {ref.size} (offset {ref.offset}, stride {ref.stride}) "
                              f"reaches past the end of its storage {ref.storage.key!r} of {count} elements")
    flat = np.frombuffer(data, stored, count)
    view = np.lib.stride_tricks.as_strided(flat[ref.offset:], ref.size, [s * stored.itemsize for s in ref.stride],
                                           writeable=False)
    return finish(view, ref.dtype)
