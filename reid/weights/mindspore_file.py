"""MindSpore .ckpt files: protobuf (no pickle), read through mindspore.load_checkpoint, which also joins the
slices MindSpore splits large tensors into."""
import tempfile
from pathlib import Path

import numpy as np

from .errors import WeightFileError


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """A protobuf varint at `at`: (value, index after it); value -1 if it runs off the end."""
    value = shift = 0
    while at < len(data):
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at
    return -1, at


def looks_like_mindspore(head: bytes) -> bool:
    """Checkpoint {repeated Value value = 1}, Value {string tag = 1; TensorProto tensor = 2 | maptensor = 3}:
    the first bytes are field 1 (a Value), its field 1 (a UTF-8 tag), then field 2 or 3. The Value's length is
    not checked against the file's, so that a truncated file is reported as such by MindSpore."""
    if head[:1] != b"\n":
        return False
    length, at = _varint(head, 1)
    if length < 0 or head[at:at + 1] != b"\n":
        return False
    tag_length, start = _varint(head, at + 1)
    end = start + tag_length
    if tag_length < 0 or head[end:end + 1] not in (b"\x12", b"\x1a"):
        return False
    try:
        head[start:end].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_mindspore(path: Path) -> dict[str, np.ndarray]:
    """Every parameter of the checkpoint (optimizer state included, if it was saved); bfloat16 as float32.
    MindSpore is imported here, on demand: it is heavy, and cannot share a process with MediaPipe."""
    import mindspore as ms

    with tempfile.TemporaryDirectory() as folder:
        # load_checkpoint insists on a .ckpt name; a link lets the content, not the name, decide.
        link = Path(folder) / "weights.ckpt"
        link.symlink_to(path.resolve())
        try:
            params = ms.load_checkpoint(str(link))
        except Exception as error:  # MindSpore raises ValueError, RuntimeError, TypeError for damaged files
            raise WeightFileError(f"{path}: unreadable MindSpore checkpoint ({error})") from error
    return {name: (param.astype(ms.float32) if param.dtype == ms.bfloat16 else param).asnumpy()
            for name, param in params.items()}
