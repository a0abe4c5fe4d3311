"""Element types shared by the readers, as numpy dtype strings (little-endian, as the files store them)."""
import numpy as np

# numpy has no bfloat16: it is stored as the upper 16 bits of a float32, and read as float32 (exactly).
BFLOAT16 = "bfloat16"


def numpy_dtype(name: str) -> np.dtype:
    """The dtype of the stored elements (bfloat16 as raw 16-bit words)."""
    return np.dtype("<u2") if name == BFLOAT16 else np.dtype(name)


def finish(stored: np.ndarray, name: str) -> np.ndarray:
    """A writable, native-endian copy that no longer points into the file's buffer; bfloat16 widened."""
    if name == BFLOAT16:
        widened = stored.astype(np.uint32)
        widened <<= 16  # in place: a 0-d array stays an array
        return widened.view(np.float32)
    return stored.astype(stored.dtype.newbyteorder("="))
