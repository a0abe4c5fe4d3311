"""What crosses processes: tracklets and identity events as versioned msgpack maps. No pickle.

Every limit is checked before or while decoding, and every failure is one error type, WireError, so a daemon
loop catches exactly that, counts it and drops the message.
"""
from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

import msgpack
import numpy as np

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_FRAMES = 128
MAX_CROP_BYTES = 1024 * 1024
MAX_CROP_SIZE = (1024, 1024)  # (height, width) in pixels, unless the receiver passes its own limit
MAX_EMBEDDING_DIM = 16384
MAX_TEXT = 256
MODALITIES = ("rgb", "ir")
EVENT_KINDS = ("new", "matched")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


class WireError(ValueError):
    """A message that cannot be accepted: undecodable, wrong version, too large, or not matching the schema."""


class CropTooLarge(WireError):
    """A crop whose header declares more pixels than the receiver accepts (a decompression bomb)."""


@dataclass
class Embedding:
    vector: np.ndarray  # (D,) float32, L2-normalised
    model_id: str


@dataclass
class Tracklet:
    id: str
    camera: str
    modality: str
    track_id: int
    start_ts: float
    end_ts: float
    keypoints: np.ndarray  # (T, 17, 3) float32: x, y in crop coords in [0, 1], score in [0, 1]
    valid: np.ndarray  # (T,) bool: frame has a usable pose
    crops: list[bytes] | None = None  # T JPEG/PNG-encoded RGB crops
    embedding: Embedding | None = None

    @property
    def length(self) -> int:
        return int(self.keypoints.shape[0])


@dataclass
class IdentityEvent:
    identity_id: str
    tracklet_id: str
    kind: str
    score: float
    camera: str
    modality: str
    time: float


# ---------------------------------------------------------------- encoding

def _pack_array(arr: np.ndarray, dtype: str) -> dict:
    arr = np.ascontiguousarray(arr, dtype=np.dtype(dtype))
    return {"dtype": arr.dtype.str, "shape": list(arr.shape), "data": arr.tobytes()}


def encode(msg: Tracklet | IdentityEvent) -> bytes:
    """Serialise a message; the result is validated by decode() on the other side."""
    if isinstance(msg, Tracklet):
        body = {
            "kind": "tracklet", "id": msg.id, "camera": msg.camera, "modality": msg.modality,
            "track_id": int(msg.track_id), "start_ts": float(msg.start_ts), "end_ts": float(msg.end_ts),
            "keypoints": _pack_array(msg.keypoints, "<f4"), "valid": _pack_array(msg.valid, "|b1"),
            "crops": [bytes(c) for c in msg.crops] if msg.crops is not None else None,
            "embedding": None if msg.embedding is None else {
                "vector": _pack_array(msg.embedding.vector, "<f4"), "model_id": msg.embedding.model_id},
        }
    elif isinstance(msg, IdentityEvent):
        body = {"kind": "identity_event", "identity_id": msg.identity_id, "tracklet_id": msg.tracklet_id,
                "event": msg.kind, "score": float(msg.score), "camera": msg.camera, "modality": msg.modality,
                "time": float(msg.time)}
    else:
        raise TypeError(f"cannot encode {type(msg).__name__}")
    data = msgpack.packb({"v": SCHEMA_VERSION, **body}, use_bin_type=True)
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    return data


# ---------------------------------------------------------------- decoding
# Every value is checked for its exact type before it is used: msgpack can put any type (list, map, bytes,
# nil, bool, huge ints, NaN) in any position, and a check that compares or hashes a value of the wrong type
# raises something other than WireError (a list as `kind` once stopped the gallery).

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # True == 1 in Python; not on the wire


def _field(body: dict, key: str, kind, optional: bool = False):
    if key not in body:
        raise WireError(f"missing field '{key}'")
    value = body[key]
    if value is None and optional:
        return None
    if kind is float and _is_int(value):
        value = float(value)
    if kind is int:
        ok = _is_int(value)
    else:
        ok = isinstance(value, kind) and not isinstance(value, bool)
    if not ok:
        raise WireError(f"field '{key}' must be {kind.__name__}, got {type(value).__name__}")
    if kind is float and not math.isfinite(value):
        raise WireError(f"field '{key}' must be finite")
    if kind is str and not (0 < len(value) <= MAX_TEXT):
        raise WireError(f"field '{key}' must hold 1 to {MAX_TEXT} characters")
    return value


def _exact_keys(body: dict, required: set[str], where: str) -> None:
    """No missing and no unknown keys (a new field is a new schema version)."""
    if body.keys() == required:  # the usual case, in one comparison
        return
    for key in sorted(required):
        if key not in body:
            raise WireError(f"missing field '{key}'")
    extra = [k for k in body if k not in required]
    if extra:
        raise WireError(f"unknown field{'s' * (len(extra) > 1)} in {where}: {', '.join(map(repr, extra[:5]))}")


def _name(body: dict, key: str) -> str:
    value = _field(body, key, str)
    if not _NAME.match(value):
        raise WireError(f"field '{key}' has characters outside [A-Za-z0-9_.:-]")
    return value


def _choice(body: dict, key: str, choices: tuple[str, ...]) -> str:
    value = _field(body, key, str)
    if value not in choices:
        raise WireError(f"field '{key}' must be one of {choices}, got {value!r}")
    return value


_ARRAY_KEYS = {"dtype", "shape", "data"}


def _array(body: dict, key: str, dtype: str, shape: tuple) -> np.ndarray:
    """shape: ints fix a dimension, None leaves it free; the data length must match exactly."""
    spec = _field(body, key, dict)
    if spec.keys() != _ARRAY_KEYS:
        raise WireError(f"array '{key}' must have exactly dtype, shape and data")
    if not isinstance(spec["dtype"], str) or spec["dtype"] != dtype:
        raise WireError(f"array '{key}' must have dtype {dtype}, got {spec['dtype']!r:.40}")
    dims = spec["shape"]
    if (not isinstance(dims, list) or len(dims) != len(shape)
            or any(not _is_int(d) or d < 0 or d > MAX_MESSAGE_BYTES for d in dims)
            or any(want is not None and d != want for d, want in zip(dims, shape))):
        raise WireError(f"array '{key}' must have shape {shape}, got {dims!r:.80}")
    data = spec["data"]
    if not isinstance(data, bytes) or len(data) != np.dtype(dtype).itemsize * math.prod(dims):
        raise WireError(f"array '{key}' data does not match its shape {dims}")
    return np.frombuffer(data, dtype=dtype).reshape(dims).copy()


def crop_size(data: bytes) -> tuple[int, int]:
    """(height, width) of a JPEG or PNG from its header, without decoding it; WireError if unreadable.

    A small file can declare a huge image (a 4000 x 4000 JPEG fits in 200 KB), so sizes are checked here,
    before anything decodes the pixels."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise WireError("PNG crop without an IHDR header")
        width, height = struct.unpack(">II", data[16:24])
        return height, width
    if not data.startswith(b"\xff\xd8"):
        raise WireError("each crop must be JPEG or PNG bytes")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise WireError("JPEG crop with a corrupt marker sequence")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if length < 2:
            raise WireError("JPEG crop with a corrupt segment length")
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            if height == 0 or width == 0:
                raise WireError("JPEG crop without a declared size")
            return height, width
        if marker == 0xDA:  # start of scan before any frame header
            break
        pos += 2 + length
    raise WireError("JPEG crop without a frame header")


_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _crops(body: dict, frames: int, max_crop: tuple[int, int]) -> list[bytes] | None:
    crops = _field(body, "crops", list, optional=True)
    if crops is None:
        return None
    if len(crops) != frames:
        raise WireError(f"{len(crops)} crops for {frames} frames")
    for crop in crops:
        if not isinstance(crop, bytes) or not crop.startswith(_IMAGE_MAGIC):
            raise WireError("each crop must be JPEG or PNG bytes")
        if len(crop) > MAX_CROP_BYTES:
            raise WireError(f"a crop of {len(crop)} bytes exceeds {MAX_CROP_BYTES}")
        height, width = crop_size(crop)
        if height > max_crop[0] or width > max_crop[1]:
            raise CropTooLarge(f"a crop of {height} x {width} pixels exceeds the {max_crop[0]} x {max_crop[1]} "
                               f"allowed")
    return crops


def _embedding(body: dict) -> Embedding | None:
    spec = _field(body, "embedding", dict, optional=True)
    if spec is None:
        return None
    _exact_keys(spec, {"vector", "model_id"}, "embedding")
    vector = _array(spec, "vector", "<f4", (None,))
    if not 1 <= vector.shape[0] <= MAX_EMBEDDING_DIM:
        raise WireError(f"embedding dimension must be 1 to {MAX_EMBEDDING_DIM}")
    # one product checks both: a NaN or an infinity makes the squared norm NaN or infinite
    if not abs(math.sqrt(float(np.dot(vector, vector))) - 1.0) <= 1e-3:
        raise WireError("embedding must be finite and L2-normalised")
    return Embedding(vector, _name(spec, "model_id"))


_TRACKLET_FIELDS = {"v", "kind", "id", "camera", "modality", "track_id", "start_ts", "end_ts", "keypoints",
                    "valid", "crops", "embedding"}
_EVENT_FIELDS = {"v", "kind", "identity_id", "tracklet_id", "event", "score", "camera", "modality", "time"}


def _decode_tracklet(body: dict, max_crop: tuple[int, int]) -> Tracklet:
    _exact_keys(body, _TRACKLET_FIELDS, "a tracklet")
    keypoints = _array(body, "keypoints", "<f4", (None, 17, 3))
    frames = keypoints.shape[0]
    if not 1 <= frames <= MAX_FRAMES:
        raise WireError(f"a tracklet holds 1 to {MAX_FRAMES} frames, got {frames}")
    if not np.isfinite(keypoints).all():
        raise WireError("keypoints must be finite")
    scores = keypoints[..., 2]
    if (scores < 0).any() or (scores > 1).any():
        raise WireError("keypoint scores must lie in [0, 1]")
    valid = _array(body, "valid", "|b1", (frames,))
    crops = _crops(body, frames, max_crop)
    embedding = _embedding(body)
    if crops is None and embedding is None:
        raise WireError("a tracklet needs crops or an embedding")
    start_ts, end_ts = _field(body, "start_ts", float), _field(body, "end_ts", float)
    if end_ts < start_ts:
        raise WireError("end_ts precedes start_ts")
    track_id = _field(body, "track_id", int)
    if not 0 <= track_id < 2 ** 63:
        raise WireError("track_id must be in [0, 2^63)")
    return Tracklet(id=_name(body, "id"), camera=_name(body, "camera"),
                    modality=_choice(body, "modality", MODALITIES), track_id=track_id,
                    start_ts=start_ts, end_ts=end_ts, keypoints=keypoints, valid=valid, crops=crops,
                    embedding=embedding)


def _decode_event(body: dict, max_crop: tuple[int, int]) -> IdentityEvent:
    _exact_keys(body, _EVENT_FIELDS, "an identity event")
    return IdentityEvent(identity_id=_name(body, "identity_id"), tracklet_id=_name(body, "tracklet_id"),
                         kind=_choice(body, "event", EVENT_KINDS), score=_field(body, "score", float),
                         camera=_name(body, "camera"), modality=_choice(body, "modality", MODALITIES),
                         time=_field(body, "time", float))


_DECODERS = {"tracklet": _decode_tracklet, "identity_event": _decode_event}


def decode(data: bytes, max_crop: tuple[int, int] = MAX_CROP_SIZE) -> Tracklet | IdentityEvent:
    """Validate and decode one message; raises WireError for anything that is not a valid message.

    max_crop = (height, width): the largest crop accepted, read from each crop's header (a receiver that
    decodes crops passes its model's input size with a margin); larger ones raise CropTooLarge."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WireError(f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        body = msgpack.unpackb(bytes(data), raw=False, strict_map_key=True, use_list=True,
                               max_bin_len=MAX_MESSAGE_BYTES, max_str_len=64 * 1024,
                               max_array_len=4 * MAX_FRAMES, max_map_len=64, max_ext_len=0)
    except Exception as exc:  # msgpack raises several unrelated types for garbage input
        raise WireError(f"not a msgpack message: {exc}") from None
    if not isinstance(body, dict):
        raise WireError("a message must be a map")
    version = body.get("v")
    if not _is_int(version) or version != SCHEMA_VERSION:
        raise WireError(f"unsupported schema version {version!r:.40} (this build speaks {SCHEMA_VERSION})")
    kind = body.get("kind")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise WireError(f"unknown message kind {kind!r:.40}")
    return decoder(body, max_crop)


# ---------------------------------------------------------------- crops

def encode_crops(images: np.ndarray, quality: int = 90) -> list[bytes]:
    """(T, H, W, 3) uint8 RGB -> T JPEG byte strings."""
    import cv2

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"crops must be (T, H, W, 3) uint8, got {images.shape} {images.dtype}")
    out = []
    for image in images:
        ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise ValueError("JPEG encoding failed")
        out.append(buf.tobytes())
    return out


def decode_crops(crops: list[bytes]) -> np.ndarray:
    """T encoded crops -> (T, H, W, 3) uint8 RGB; all crops must share one size."""
    import cv2

    images = []
    for i, crop in enumerate(crops):
        image = cv2.imdecode(np.frombuffer(crop, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise WireError(f"crop {i} cannot be decoded")
        if images and image.shape != images[0].shape:
            raise WireError(f"crop {i} is {image.shape[:2]}, crop 0 is {images[0].shape[:2]}")
        images.append(image[..., ::-1])
    if not images:
        raise WireError("no crops")
    return np.ascontiguousarray(np.stack(images))
