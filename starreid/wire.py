"""What crosses processes: tracklets and identity events as versioned msgpack maps. No pickle.

Every limit is checked before or while decoding, and every failure is one error type, WireError, so a daemon
loop catches exactly that, counts it and drops the message.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import msgpack
import numpy as np

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_FRAMES = 128
MAX_CROP_BYTES = 1024 * 1024
MAX_EMBEDDING_DIM = 16384
MAX_TEXT = 256
MODALITIES = ("rgb", "ir")
EVENT_KINDS = ("new", "matched")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


class WireError(ValueError):
    """A message that cannot be accepted: undecodable, wrong version, too large, or not matching the schema."""


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

def _field(body: dict, key: str, kind, optional: bool = False):
    if key not in body:
        raise WireError(f"missing field '{key}'")
    value = body[key]
    if value is None and optional:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise WireError(f"field '{key}' must be {kind.__name__}, got {type(value).__name__}")
    if kind is float and not math.isfinite(value):
        raise WireError(f"field '{key}' must be finite")
    if kind is str and not (0 < len(value) <= MAX_TEXT):
        raise WireError(f"field '{key}' must hold 1 to {MAX_TEXT} characters")
    return value


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


def _array(body: dict, key: str, dtype: str, shape: tuple) -> np.ndarray:
    """shape: ints fix a dimension, None leaves it free; the data length must match exactly."""
    spec = _field(body, key, dict)
    if set(spec) != {"dtype", "shape", "data"}:
        raise WireError(f"array '{key}' must have exactly dtype, shape and data")
    if spec["dtype"] != dtype:
        raise WireError(f"array '{key}' must have dtype {dtype}, got {spec['dtype']!r}")
    dims = spec["shape"]
    if (not isinstance(dims, list) or len(dims) != len(shape)
            or any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in dims)
            or any(want is not None and d != want for d, want in zip(dims, shape))):
        raise WireError(f"array '{key}' must have shape {shape}, got {dims}")
    data = spec["data"]
    if not isinstance(data, bytes) or len(data) != np.dtype(dtype).itemsize * math.prod(dims):
        raise WireError(f"array '{key}' data does not match its shape {dims}")
    return np.frombuffer(data, dtype=dtype).reshape(dims).copy()


def _decode_tracklet(body: dict) -> Tracklet:
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
    crops = _field(body, "crops", list, optional=True)
    if crops is not None:
        if len(crops) != frames:
            raise WireError(f"{len(crops)} crops for {frames} frames")
        for crop in crops:
            if not isinstance(crop, bytes) or not crop.startswith(_IMAGE_MAGIC):
                raise WireError("each crop must be JPEG or PNG bytes")
            if len(crop) > MAX_CROP_BYTES:
                raise WireError(f"a crop of {len(crop)} bytes exceeds {MAX_CROP_BYTES}")
    embedding = _field(body, "embedding", dict, optional=True)
    if embedding is not None:
        vector = _array(embedding, "vector", "<f4", (None,))
        if not 1 <= vector.shape[0] <= MAX_EMBEDDING_DIM:
            raise WireError(f"embedding dimension must be 1 to {MAX_EMBEDDING_DIM}")
        if not np.isfinite(vector).all() or abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:
            raise WireError("embedding must be finite and L2-normalised")
        embedding = Embedding(vector, _field(embedding, "model_id", str))
    if crops is None and embedding is None:
        raise WireError("a tracklet needs crops or an embedding")
    start_ts, end_ts = _field(body, "start_ts", float), _field(body, "end_ts", float)
    if end_ts < start_ts:
        raise WireError("end_ts precedes start_ts")
    track_id = _field(body, "track_id", int)
    if track_id < 0:
        raise WireError("track_id must be >= 0")
    return Tracklet(id=_name(body, "id"), camera=_name(body, "camera"),
                    modality=_choice(body, "modality", MODALITIES), track_id=track_id,
                    start_ts=start_ts, end_ts=end_ts, keypoints=keypoints, valid=valid, crops=crops,
                    embedding=embedding)


def _decode_event(body: dict) -> IdentityEvent:
    return IdentityEvent(identity_id=_name(body, "identity_id"), tracklet_id=_name(body, "tracklet_id"),
                         kind=_choice(body, "event", EVENT_KINDS), score=_field(body, "score", float),
                         camera=_name(body, "camera"), modality=_choice(body, "modality", MODALITIES),
                         time=_field(body, "time", float))


_DECODERS = {"tracklet": _decode_tracklet, "identity_event": _decode_event}


def decode(data: bytes) -> Tracklet | IdentityEvent:
    """Validate and decode one message; raises WireError for anything that is not a valid message."""
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
    if version != SCHEMA_VERSION:
        raise WireError(f"unsupported schema version {version!r} (this build speaks {SCHEMA_VERSION})")
    decoder = _DECODERS.get(body.get("kind"))
    if decoder is None:
        raise WireError(f"unknown message kind {body.get('kind')!r}")
    return decoder(body)


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
