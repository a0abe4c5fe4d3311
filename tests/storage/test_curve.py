"""ZeroMQ CURVE between workers and the gallery: `starreid keys` makes the key files; an authorized worker's
tracklets go through encrypted; a worker with an unknown key, the wrong server key or no CURVE at all is
refused and counted on the gallery (starreid_gallery_auth_failures_total) and does not crash; a key added to
the authorized folder is let in without a restart; the gallery and the worker refuse to start (exit 2) on
missing key files."""
from __future__ import annotations

import shutil
import socket
import threading

import numpy as np
import pytest
import yaml
from gallery_helpers import RunningGallery, metric, tracklet, unit, wait_for

from starreid.app.cli import main as cli
from starreid.app.config.zmq import ZmqConfig
from starreid.contracts.client import GalleryClient
from support.deployment import start, stop, write_deployment
from support.net import free_port
from support.redis_admin import admin, redis_section

pytestmark = pytest.mark.skipif(not __import__("zmq").has("curve"), reason="libzmq without CURVE")


@pytest.fixture
def keys(tmp_path):
    """Key files made by `starreid keys`: the gallery's pair, two camera hosts' (cam-a authorized, cam-b
    not), and the gallery's authorized folder holding cam-a.key."""
    folder = tmp_path / "keys"
    for name in ("gallery", "cam-a", "cam-b", "impostor"):
        assert cli(["keys", "--out", str(folder), "--name", name]) == 0
    authorized = folder / "authorized"
    authorized.mkdir()
    shutil.copy(folder / "cam-a.key", authorized / "cam-a.key")
    return folder


def curve_section(keys, client: str = "cam-a", server: str = "gallery") -> dict:
    return {"server_public_key": str(keys / f"{server}.key"), "server_secret_key": str(keys / "gallery.key_secret"),
            "client_secret_key": str(keys / f"{client}.key_secret"), "authorized_clients": str(keys / "authorized")}


def client_for(gallery, curve: dict | None) -> GalleryClient:
    service = gallery.service
    return GalleryClient.from_config(ZmqConfig.model_validate({
        "tracklets": service.tracklets_endpoint, "events": service.events_endpoint, "resend_after_s": 1.0,
        "curve": curve}))


def failures(reason: str, sock: str = "tracklets") -> float:
    return metric("starreid_gallery_auth_failures_total", socket=sock, reason=reason)


def send_and_confirm(client: GalleryClient, ids: list[str], rng, timeout_s: float = 30.0) -> set[str]:
    for tid in ids:
        client.send(tracklet(tid, unit(rng)))
    confirmed: set[str] = set()

    def done():
        confirmed.update(e.tracklet_id for e in client.poll(100))
        return set(ids) <= confirmed
    wait_for(done, timeout_s)
    return confirmed


def test_keys_verb_writes_a_pair_with_a_private_secret(tmp_path):
    import stat

    import zmq.auth

    assert cli(["keys", "--out", str(tmp_path), "--name", "gallery"]) == 0
    public, secret = zmq.auth.load_certificate(str(tmp_path / "gallery.key_secret"))
    assert zmq.auth.load_certificate(str(tmp_path / "gallery.key")) == (public, None) and len(secret) == 40
    assert stat.S_IMODE((tmp_path / "gallery.key_secret").stat().st_mode) == 0o600
    assert cli(["keys", "--out", str(tmp_path), "--name", "gallery"]) == 1  # never overwritten silently
    assert cli(["keys", "--out", str(tmp_path), "--name", "gallery", "--force"]) == 0
    assert zmq.auth.load_certificate(str(tmp_path / "gallery.key"))[0] != public


class Recorder:
    """A TCP relay from a port of its own to target that keeps every byte it forwards (the wire, as an
    eavesdropper on the network would see it)."""

    def __init__(self, target_port: int):
        self.port, self.target, self.seen = free_port(), target_port, bytearray()
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while data := src.recv(65536):
                self.seen += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._server.close()


def test_authorized_worker_gets_through_encrypted_and_others_are_refused_and_counted(redis_server, keys):
    gallery = RunningGallery(redis_server, zmq={"curve": curve_section(keys)})
    rng = np.random.default_rng(0)
    tracklets_port = int(gallery.service.tracklets_endpoint.rsplit(":", 1)[1])
    wire = Recorder(tracklets_port)
    clients = []
    try:
        # an authorized worker, through a relay that records the bytes: everything arrives, nothing readable
        good = GalleryClient.from_config(ZmqConfig.model_validate({
            "tracklets": f"tcp://127.0.0.1:{wire.port}", "events": gallery.service.events_endpoint,
            "resend_after_s": 1.0, "curve": curve_section(keys)}))
        clients.append(good)
        ids = [f"secret-tracklet-{i}" for i in range(20)]
        assert send_and_confirm(good, ids, rng) >= set(ids)
        assert len(wire.seen) > 20 * 4 * 17 * 3 * 4  # the keypoints alone
        assert b"secret-tracklet" not in wire.seen and b"cam0" not in wire.seen

        # refused: a key the gallery does not know, a wrong server key, no CURVE at all
        key0, hs0, ev0 = failures("key"), failures("handshake"), failures("key", "events")
        unknown = client_for(gallery, curve_section(keys, client="cam-b"))
        wrong_server = client_for(gallery, curve_section(keys, server="impostor"))
        plain = client_for(gallery, None)
        clients += [unknown, wrong_server, plain]
        for c, prefix in ((unknown, "unknown"), (wrong_server, "wrong-server"), (plain, "plain")):
            for i in range(3):
                c.send(tracklet(f"{prefix}-{i}", unit(rng)))

        def refused():
            for c in (unknown, wrong_server, plain):
                c.poll(50)
            return (failures("key") > key0 and failures("key", "events") > ev0 and failures("handshake") >= hs0 + 2
                    and unknown.refused > 0 and wrong_server.refused > 0 and plain.refused > 0)
        wait_for(refused, 20)
        assert unknown.unconfirmed == wrong_server.unconfirmed == plain.unconfirmed == 3  # kept, never lost
        r = admin(redis_server)
        assert not any(t.startswith((b"unknown", b"wrong", b"plain"))
                       for t in (f[b"tid"] for _, f in r.xrange(gallery.keys.log)))

        # the operator authorizes cam-b: no restart; its kept tracklets are resent and confirmed
        shutil.copy(keys / "cam-b.key", keys / "authorized" / "cam-b.key")
        confirmed: set[str] = set()

        def let_in():
            confirmed.update(e.tracklet_id for e in unknown.poll(100))
            return {"unknown-0", "unknown-1", "unknown-2"} <= confirmed
        wait_for(let_in, 30)
        assert unknown.unconfirmed == 0 and plain.unconfirmed == 3

        # ... and removes cam-a: from its next connection on, cam-a is refused
        (keys / "authorized" / "cam-a.key").unlink()
        key1 = failures("key")
        again = client_for(gallery, curve_section(keys))
        clients.append(again)
        again.send(tracklet("after-removal", unit(rng)))
        wait_for(lambda: (again.poll(50), again.refused > 0 and failures("key") > key1)[1], 20)
        assert again.unconfirmed == 1
    finally:
        for c in clients:
            c.close()
        wire.close()
        gallery.stop()


def test_gallery_and_worker_processes_over_curve_and_their_key_errors(redis_server, keys, tmp_path):
    """The daemons read their key files from the config: the gallery process serves CURVE, a worker's sender
    built from the same config gets through; a missing key file is a configuration error (exit 2)."""
    import cv2

    from starreid.app.config import load_config
    from starreid.tracker.sender import TrackletSender

    port, events = free_port(), free_port()
    zmq = {"tracklets": f"tcp://127.0.0.1:{port}", "events": f"tcp://127.0.0.1:{events}",
           "curve": curve_section(keys), "resend_after_s": 1.0}
    cfg = write_deployment(tmp_path / "site.yaml", zmq=zmq, redis={**redis_section(redis_server), "key_prefix": "test"},
                           metrics={"host": "127.0.0.1", "gallery_port": free_port()})
    proc = start("gallery", cfg, log=tmp_path / "gallery.log")
    sender = None
    try:
        c = load_config(cfg)
        sender = TrackletSender.from_config(c.zmq, c.tracker_for("cam0"), "cam0")
        rng = np.random.default_rng(1)
        for i in range(10):
            sender.put(tracklet(f"p{i}", unit(rng)))
        sender.close(60)
        assert sender.confirmed == 10 and sender.kept == 0
    finally:
        code, _ = stop(proc)
        assert code == 0, (tmp_path / "gallery.log").read_text()[-3000:]

    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0.png"), np.zeros((8, 8, 3), np.uint8))
    for verb, missing in (("gallery", "server_secret_key"), ("gallery", "authorized_clients"),
                          ("worker", "client_secret_key"), ("worker", "server_public_key")):
        section = {**curve_section(keys), missing: str(tmp_path / "nowhere")}
        bad = write_deployment(tmp_path / f"bad-{verb}-{missing}.yaml",
                               cameras=[{"id": "cam0", "source": str(frames), "modality": "rgb"}],
                               zmq={**zmq, "curve": section}, redis=yaml.safe_load(open(cfg))["redis"],
                               metrics={"host": "127.0.0.1", "gallery_port": 0, "worker_port_base": 0})
        args = ("--camera", "cam0") if verb == "worker" else ()
        proc = start(verb, bad, *args)
        out = proc.communicate(timeout=120)[0].decode(errors="replace")
        assert proc.returncode == 2 and "zmq.curve" in out and "nowhere" in out, out[-2000:]
