"""Property-based fuzzing of the wire decoder: whatever the bytes, decode() returns a valid message or raises
WireError, never anything else (a list where a string was expected once stopped the gallery)."""
import math

import cv2
import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starreid.contracts import wire
from starreid.contracts.wire import CropTooLarge, Embedding, IdentityEvent, Tracklet, WireError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any msgpack value: nil, bools, ints of any size msgpack encodes (and the edges), floats with NaN and inf,
# str, bytes, ext, nested lists and maps.
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 64 - 1),
    st.sampled_from([0, 1, -1, 2 ** 31, 2 ** 63 - 1, 2 ** 64 - 1, -(2 ** 63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40), st.binary(max_size=64),
    st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=16)),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)), max_leaves=25)


def _jpeg(h=16, w=8) -> bytes:
    return wire.encode_crops(np.zeros((1, h, w, 3), np.uint8))[0]


def _tracklet(frames=3) -> Tracklet:
    rng = np.random.default_rng(0)
    vector = rng.standard_normal(16).astype(np.float32)
    return Tracklet(id="cam:1:0", camera="cam", modality="rgb", track_id=1, start_ts=1.0, end_ts=2.0,
                    keypoints=rng.random((frames, 17, 3)).astype(np.float32), valid=np.ones(frames, bool),
                    crops=[_jpeg()] * frames, embedding=Embedding(vector / np.linalg.norm(vector), "m:1"))


EVENT = IdentityEvent("id-1", "cam:1:0", "new", 0.5, "cam", "ir", 5.0)
BODIES = {"tracklet": msgpack.unpackb(wire.encode(_tracklet())), "event": msgpack.unpackb(wire.encode(EVENT))}


def _paths(body, prefix=()):
    """Every position in a message body (nested maps and lists included)."""
    for key, value in (body.items() if isinstance(body, dict) else enumerate(body)):
        yield prefix + (key,)
        if isinstance(value, (dict, list)):
            yield from _paths(value, prefix + (key,))


PATHS = [(kind, path) for kind, body in BODIES.items() for path in _paths(body)]


def _replace(body, path, value):
    body = msgpack.unpackb(msgpack.packb(body))  # a deep copy
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def _decode_or_wire_error(data: bytes):
    try:
        msg = wire.decode(data)
    except WireError:
        return None
    assert isinstance(msg, (Tracklet, IdentityEvent))
    if isinstance(msg, Tracklet):  # what comes out is what the schema promises
        assert msg.keypoints.dtype == np.float32 and msg.keypoints.shape[1:] == (17, 3)
        assert msg.valid.shape == (msg.length,) and isinstance(msg.track_id, int)
        assert not isinstance(msg.track_id, bool) and math.isfinite(msg.start_ts)
    else:
        assert math.isfinite(msg.score) and math.isfinite(msg.time)
    return msg


@FUZZ
@given(st.sampled_from(PATHS), values)
def test_any_value_in_any_field(target, value):
    kind, path = target
    _decode_or_wire_error(msgpack.packb(_replace(BODIES[kind], path, value), use_bin_type=True))


@FUZZ
@given(st.sampled_from(sorted(BODIES)), st.text(max_size=12), values)
def test_unknown_fields_rejected(kind, key, value):
    body = dict(BODIES[kind])
    if key in body:
        return
    body[key] = value
    with pytest.raises(WireError):  # "unknown field", or msgpack's own refusal (ext types)
        wire.decode(msgpack.packb(body, use_bin_type=True))


@FUZZ
@given(values)
def test_any_msgpack_document(doc):
    _decode_or_wire_error(msgpack.packb(doc, use_bin_type=True))


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes(data):
    _decode_or_wire_error(data)


@pytest.mark.parametrize("depth", [100, 5000, 200_000])
def test_deep_nesting(depth):
    # msgpack has no depth limit of its own here: deep lists (not an object per level) are built as bytes.
    data = b"\x91" * depth + b"\xc0"
    for kind_value in (data, b"\x82\xa1v\x01\xa4kind" + data):
        _decode_or_wire_error(kind_value)


@pytest.mark.parametrize("kind", [["tracklet"], {"tracklet": 1}, b"tracklet", None, 1, True])
def test_unhashable_or_foreign_kind(kind):
    body = dict(BODIES["tracklet"], kind=kind)
    with pytest.raises(WireError, match="unknown message kind"):
        wire.decode(msgpack.packb(body, use_bin_type=True))


@pytest.mark.parametrize("version", [True, 1.0, "1", [1], None])
def test_version_is_an_integer_not_a_boolean(version):
    body = dict(BODIES["event"], v=version)
    with pytest.raises(WireError, match="schema version"):
        wire.decode(msgpack.packb(body, use_bin_type=True))


@pytest.mark.parametrize("field,value", [("track_id", True), ("track_id", 2 ** 64 - 1), ("start_ts", False),
                                         ("id", ["cam:1:0"]), ("camera", {"a": 1})])
def test_booleans_and_containers_are_not_scalars(field, value):
    with pytest.raises(WireError):
        wire.decode(msgpack.packb(dict(BODIES["tracklet"], **{field: value}), use_bin_type=True))


def test_crop_size_read_from_the_header():
    image = np.zeros((37, 21, 3), np.uint8)
    png = cv2.imencode(".png", image)[1].tobytes()
    progressive = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    for data in (_jpeg(37, 21), png, progressive):
        assert wire.crop_size(data) == (37, 21)
    for bad in (b"\xff\xd8", b"\xff\xd8\xff\xda\x00\x02", b"\xff\xd8\x00\x00", b"\x89PNG\r\n\x1a\n"):
        with pytest.raises(WireError):
            wire.crop_size(bad)


def test_decompression_bomb_rejected_before_decoding():
    # A 4000 x 4000 JPEG of one colour is small on the wire and 48 MB decoded.
    bomb = cv2.imencode(".jpg", np.zeros((4000, 4000, 3), np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 50])[1].tobytes()
    assert len(bomb) < wire.MAX_CROP_BYTES
    tracklet = _tracklet(frames=2)
    tracklet.crops = [bomb, bomb]
    data = wire.encode(tracklet)
    with pytest.raises(CropTooLarge, match="4000 x 4000"):
        wire.decode(data)
    with pytest.raises(CropTooLarge):
        wire.decode(data, max_crop=(576, 288))
    assert wire.decode(data, max_crop=(4000, 4000)).crops == [bomb, bomb]
