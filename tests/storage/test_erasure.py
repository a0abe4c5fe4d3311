"""Privacy: `forget` leaves no trace of an identity anywhere in Redis or the index; retention expires idle ones."""
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from gallery_helpers import RunningGallery, tracklet, unit, wait_for, write_config

from support.redis_admin import admin
from support.sections import gallery_client
from starreid.storage.connect import connect
from starreid.storage.query import forget, list_identities

pytestmark = pytest.mark.timeout(90)


def _dump_redis(r) -> bytes:
    """Every key and every value in the server, as one byte string to search."""
    parts = []
    for key in r.scan_iter(count=1000):
        parts.append(key)
        kind = r.type(key)
        if kind == b"string":
            parts.append(r.get(key) or b"")
        elif kind == b"hash":
            parts += [x for kv in r.hgetall(key).items() for x in kv]
        elif kind == b"zset":
            parts += r.zrange(key, 0, -1)
        elif kind == b"set":
            parts += list(r.smembers(key))
        elif kind == b"list":
            parts += r.lrange(key, 0, -1)
        elif kind == b"stream":
            for eid, fields in r.xrange(key):
                parts += [x for kv in fields.items() for x in kv]
        else:
            raise AssertionError(f"unexpected key type {kind} for {key}")
    return b"\n".join(parts)


def _populate(client, rng, people: int = 3, each: int = 3):
    centres = [unit(rng) for _ in range(people)]
    for p, c in enumerate(centres):
        for k in range(each):
            v = c + 0.05 * unit(rng)
            client.send(tracklet(f"p{p}-{k}", v / np.linalg.norm(v), camera=f"cam{k}", t=100.0 * k))
    events = {}
    wait_for(lambda: events.update((e.tracklet_id, e) for e in client.poll(50)) or len(events) == people * each)
    return centres, events


ON_A_CLUSTER_TOO = pytest.mark.parametrize("redis_server", ["standalone", "cluster"], indirect=True)


@ON_A_CLUSTER_TOO
def test_forget_leaves_no_trace_and_drops_from_the_index(redis_server):
    gallery = RunningGallery(redis_server)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    r = admin(redis_server)
    try:
        centres, events = _populate(client, np.random.default_rng(0))
        victim = events["p0-0"].identity_id
        other = events["p1-0"].identity_id
        assert all(events[f"p0-{k}"].identity_id == victim for k in range(3))
        secrets = [victim.encode()] + [f"p0-{k}".encode() for k in range(3)]
        assert all(s in _dump_redis(r) for s in secrets)
        wait_for(lambda: r.exists(gallery.keys.alive))
        result = forget(r, gallery.keys, victim, wait_s=10)
        assert result["by"] == "gallery"
        dump = _dump_redis(r)
        leaks = [s for s in secrets if s in dump]
        assert leaks == [], f"traces left: {leaks}"
        assert other.encode() in dump  # only the victim went
        # the running gallery's index forgot the exemplars: the same person now starts a new identity
        client.send(tracklet("p0-again", centres[0], camera="cam0", t=1000.0))
        back = []
        wait_for(lambda: back.extend(client.poll(50)) or back)
        assert back[0].kind == "new" and back[0].identity_id != victim
    finally:
        client.close()
        gallery.stop()


def test_retention_expires_idle_identities(redis_server):
    gallery = RunningGallery(redis_server.url, retention_s=1.5, retention_sweep_s=0.2)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    r = admin(redis_server.url)
    try:
        _, events = _populate(client, np.random.default_rng(1), people=2, each=2)
        old = {e.identity_id for e in events.values()}
        keep = unit(np.random.default_rng(9))
        deadline = time.monotonic() + 4.0
        i = 0
        while time.monotonic() < deadline:  # one identity stays active
            client.send(tracklet(f"active{i}", keep, camera="cam0", t=5000.0 + 10 * i))
            client.poll(200)
            i += 1
        wait_for(lambda: client.poll(50) is not None and client.unconfirmed == 0)
        left = {row["id"] for row in list_identities(r, gallery.keys)}
        assert old.isdisjoint(left) and len(left) == 1
        dump = _dump_redis(r)
        assert not any(iid.encode() in dump for iid in old)
    finally:
        client.close()
        gallery.stop()


@ON_A_CLUSTER_TOO
def test_forget_and_query_commands(redis_server, tmp_path):
    """The CLI verbs against a Redis with no gallery running (forget erases directly)."""
    gallery = RunningGallery(redis_server)
    client = gallery_client(gallery.service.tracklets_endpoint, gallery.service.events_endpoint)
    try:
        _, events = _populate(client, np.random.default_rng(2), people=2, each=2)
    finally:
        client.close()
        gallery.stop()
    cfg = write_config(tmp_path / "g.yaml", redis_server, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2")
    cli = [sys.executable, "-m", "starreid"]
    listed = json.loads(subprocess.run(cli + ["query", "--config", cfg, "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    assert {row["id"] for row in listed} == {e.identity_id for e in events.values()}
    victim = events["p0-0"].identity_id
    shown = json.loads(subprocess.run(cli + ["query", victim, "--config", cfg, "--json"], check=True,
                                      capture_output=True, text=True).stdout)
    assert sorted(s["tid"] for s in shown["sightings"]) == ["p0-0", "p0-1"]
    assert {s["camera"] for s in shown["sightings"]} == {"cam0", "cam1"}
    assert [n["id"] for n in shown["neighbours"]] == [events["p1-0"].identity_id]
    out = subprocess.run(cli + ["forget", victim, "--config", cfg], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["by"] == "forget"
    assert victim.encode() not in _dump_redis(admin(redis_server))
    again = subprocess.run(cli + ["forget", victim, "--config", cfg], capture_output=True, text=True)
    assert again.returncode == 3
