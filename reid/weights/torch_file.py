"""torch.save files, both formats, read without torch.

Zip format (torch >= 1.6): <folder>/data.pkl, whose persistent ids name storages kept as raw records
<folder>/data/<key>; the folder is the file's name when saved, so it is found, not assumed.
Legacy format: five pickles back to back (magic number, protocol version, system info, the object, the sorted
storage keys), then per storage key an int64 element count and the raw little-endian bytes.
"""
import io
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .dtypes import numpy_dtype
from .errors import WeightFileError
from .state_dict import select_state_dict
from .torch_pickle import TensorRef, materialise, unpickle

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
_ZIP_MAGIC = b"PK\x03\x04"


def looks_like_torch_zip(head: bytes) -> bool:
    return head.startswith(_ZIP_MAGIC)


def looks_like_torch_legacy(head: bytes) -> bool:
    """The file opens with a pickle (protocol >= 2) of torch's magic number."""
    if not head.startswith(b"\x80"):
        return False
    try:
        return unpickle(io.BytesIO(head), "", {}) == MAGIC_NUMBER
    except WeightFileError:
        return False


def _storage_bytes(ref) -> int:
    return ref.numel * numpy_dtype(ref.dtype).itemsize


def read_torch_zip(path: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            folder = _archive_folder(archive, path)
            # Unlike the legacy writer, the zip writer stores the saving machine's byte order, named in "byteorder"
            # (absent from older files: little-endian).
            byteorder = archive.read(folder + "byteorder") if folder + "byteorder" in archive.NameToInfo else b"little"
            if byteorder != b"little":
                raise WeightFileError(f"{path}: saved on a {byteorder.decode(errors='replace')!r}-endian machine; "
                                      "only little-endian torch files are supported")
            tree = unpickle(io.BytesIO(archive.read(folder + "data.pkl")), str(path), {})
            tensors = select_state_dict(tree, TensorRef, str(path))
            data = {}  # storage key -> bytes; read once however many tensors share it
            for ref in tensors.values():
                key = ref.storage.key
                if key not in data:
                    data[key] = _read_record(archive, f"{folder}data/{key}", ref.storage, path)
            return {name: materialise(ref, data[ref.storage.key], str(path)) for name, ref in tensors.items()}
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as error:  # the last: compression method
        raise WeightFileError(f"{path}: truncated or corrupt zip archive ({error})") from error


def _archive_folder(archive: zipfile.ZipFile, path: Path) -> str:
    pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
    if len(pickles) != 1:
        raise WeightFileError(f"{path}: a zip archive, but not a torch.save file (it needs exactly one "
                              f"<folder>/data.pkl; found {len(pickles)})")
    return pickles[0][:-len("data.pkl")]


def _read_record(archive: zipfile.ZipFile, name: str, ref, path: Path) -> bytes:
    info = archive.NameToInfo.get(name)
    if info is None:
        raise WeightFileError(f"{path}: storage record {name} is missing")
    if info.file_size != _storage_bytes(ref):  # checked before reading: the size bounds what is decompressed
        raise WeightFileError(f"{path}: storage record {name} holds {info.file_size} bytes, its pickle declares "
                              f"{_storage_bytes(ref)}")
    return archive.read(info)


def read_torch_legacy(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    stream, source, storages = io.BytesIO(data), str(path), {}
    if unpickle(stream, source, storages) != MAGIC_NUMBER:
        raise WeightFileError(f"{path}: a pickle, but not a torch.save file (no torch magic number)")
    version = unpickle(stream, source, storages)
    if version != PROTOCOL_VERSION:
        raise WeightFileError(f"{path}: torch legacy protocol version {version!r}; only {PROTOCOL_VERSION} exists")
    unpickle(stream, source, storages)  # system info: C type sizes and byte order, moot as the data is little-endian
    tensors = select_state_dict(unpickle(stream, source, storages), TensorRef, source)
    keys = unpickle(stream, source, storages)
    if not (isinstance(keys, list) and all(isinstance(key, str) for key in keys)):
        raise WeightFileError(f"{path}: corrupt storage key list")
    records, position = {}, stream.tell()
    for key in keys:
        ref = storages.get(key)
        if ref is None:
            raise WeightFileError(f"{path}: the storage key list names {key!r}, which its pickle never references")
        if position + 8 > len(data):
            raise WeightFileError(f"{path}: truncated: the data of storage {key!r} is missing")
        count = int.from_bytes(data[position:position + 8], "little", signed=True)
        if count != ref.numel:
            raise WeightFileError(f"{path}: storage {key!r} declares {ref.numel} elements, its data {count}")
        start, position = position + 8, position + 8 + _storage_bytes(ref)
        if position > len(data):
            raise WeightFileError(f"{path}: truncated: storage {key!r} needs {position - len(data)} more bytes")
        records[key] = memoryview(data)[start:position]
    missing = sorted({ref.storage.key for ref in tensors.values()} - records.keys())
    if missing:
        raise WeightFileError(f"{path}: tensors refer to storages that the file lacks: {missing[:5]}")
    return {name: materialise(ref, records[ref.storage.key], source) for name, ref in tensors.items()}
