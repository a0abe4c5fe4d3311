"""Poison for the daemons' sockets: the message shapes a fuzzer or an attacker sends (shared by the gallery and
worker tests)."""
import msgpack
import numpy as np

from starreid.contracts import wire


def _valid_bodies(rng: np.random.Generator) -> list[dict]:
    vector = rng.standard_normal(16).astype(np.float32)
    t = wire.Tracklet(id="cam0:1:0", camera="cam0", modality="rgb", track_id=1, start_ts=0.0, end_ts=1.0,
                      keypoints=np.zeros((4, 17, 3), np.float32), valid=np.ones(4, bool),
                      embedding=wire.Embedding(vector / np.linalg.norm(vector), "m:1"))
    return [msgpack.unpackb(wire.encode(t)),
            msgpack.unpackb(wire.encode(wire.IdentityEvent("i", "t", "new", 0.5, "c", "rgb", 1.0)))]


NASTY = [None, True, False, 0, -1, 2 ** 64 - 1, -(2 ** 63), float("nan"), float("inf"), -0.0, "", "x" * 300,
         b"\xff\xd8\xff", [], [1, [2, [3]]], {}, {"a": {"b": None}}, msgpack.ExtType(1, b"x"), ["tracklet"],
         {"tracklet": 1}]


def poison_messages(rng: np.random.Generator, n: int) -> list[bytes]:
    """The three shapes that once stopped the gallery, then valid messages of both kinds with one field, at
    any depth, replaced by a nasty value, and random documents and bytes."""
    good = _valid_bodies(rng)
    out = [msgpack.packb(dict(good[0], kind=["tracklet"])), msgpack.packb(dict(good[0], kind={"k": 1})),
           msgpack.packb(dict(good[0], id=["cam0:1:0"]))]
    while len(out) < n:
        pick = int(rng.integers(0, 4))
        if pick < 2:
            body = msgpack.unpackb(msgpack.packb(good[pick]))
            node = body
            while True:  # walk down into a random field, sometimes stopping inside a nested map
                key = list(node)[int(rng.integers(0, len(node)))]
                if isinstance(node[key], dict) and rng.random() < 0.5:
                    node = node[key]
                    continue
                node[key] = NASTY[int(rng.integers(0, len(NASTY)))]
                break
            out.append(msgpack.packb(body, use_bin_type=True))
        elif pick == 2:
            out.append(msgpack.packb({str(i): NASTY[int(j)] for i, j in enumerate(rng.integers(0, len(NASTY), 5))}))
        else:
            out.append(rng.bytes(int(rng.integers(1, 512))))
    return out


def expected_rejections(messages: list[bytes], accepted=wire.Tracklet) -> int:
    """How many a receiver must reject: every message that is not a valid `accepted` message."""
    count = 0
    for data in messages:
        try:
            count += not isinstance(wire.decode(data), accepted)
        except wire.WireError:
            count += 1
    return count
