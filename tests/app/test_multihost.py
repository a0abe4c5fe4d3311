"""Two hosts on one machine: the gallery (with its Redis) in one network namespace, camera workers in another,
joined only by a veth pair, talking ZeroMQ over CURVE with one config file: the workers connect to the
gallery's address, the gallery binds every interface of its own host. An authorized worker's tracklets are all
confirmed; a worker with a key the gallery does not know is refused, counted by the gallery, and keeps its
tracklets without crashing. Needs root (`ip netns`); skipped with the reason where that is not permitted."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from starreid.app.cli import main as cli
from support.deployment import write_deployment

IP = shutil.which("ip")
SUFFIX = f"{os.getpid() % 100000}"
GALLERY_NS, WORKER_NS = f"sr-gal-{SUFFIX}", f"sr-cam-{SUFFIX}"
GALLERY_IF, WORKER_IF = f"srg{SUFFIX}", f"src{SUFFIX}"
GALLERY_IP, WORKER_IP = "10.231.0.1", "10.231.0.2"
ROOT = Path(__file__).resolve().parents[2]

# A worker's sending side as its own process on the camera host: the TrackletSender the worker verb builds,
# from the same config file, sending tracklets with embeddings (no camera or model needed).
SENDER = """
import json, sys, time
import numpy as np
from starreid.app.config import load_config
from starreid.contracts import wire
from starreid.tracker.sender import TrackletSender

cfg = load_config(sys.argv[1])
camera, n, wait = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
tracker = cfg.tracker_for(camera) if camera in [c.id for c in cfg.cameras] else cfg.tracker
sender = TrackletSender.from_config(cfg.zmq, tracker, camera)
rng = np.random.default_rng(abs(hash(camera)) % 1000)
for i in range(n):
    v = rng.standard_normal(64).astype(np.float32)
    kp = np.zeros((4, 17, 3), np.float32)
    kp[..., 2] = 0.9
    sender.put(wire.Tracklet(id=f"{camera}:s:{i}", camera=camera, modality="rgb", track_id=1, start_ts=float(i),
                             end_ts=i + 2.4, keypoints=kp, valid=np.ones(4, bool),
                             embedding=wire.Embedding(v / np.linalg.norm(v), "synthetic:test")))
sender.close(wait)
print(json.dumps({"confirmed": sender.confirmed, "kept": sender.kept, "refused": sender.refused}))
"""
SCRAPE = """
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=check)


def in_ns(ns: str, *argv: str) -> list[str]:
    return [IP, "netns", "exec", ns, *argv]


def teardown() -> None:
    for ns in (GALLERY_NS, WORKER_NS):  # deleting a namespace deletes its end of the veth pair, and the pair
        sh(IP, "netns", "del", ns, check=False)
    sh(IP, "link", "del", GALLERY_IF, check=False)  # a pair that never left this namespace


@pytest.fixture
def hosts():
    """Two namespaces joined by a veth pair: the gallery host 10.231.0.1, the camera host 10.231.0.2."""
    if IP is None:
        pytest.skip("no `ip` command (Debian's iproute2)")
    probe = sh(IP, "netns", "add", GALLERY_NS, check=False)
    if probe.returncode != 0:
        pytest.skip(f"`ip netns add` is not permitted here ({probe.stderr.strip()}): needs root and "
                    "CAP_SYS_ADMIN (a privileged container)")
    try:
        sh(IP, "netns", "add", WORKER_NS)
        sh(IP, "link", "add", GALLERY_IF, "type", "veth", "peer", "name", WORKER_IF)
        sh(IP, "link", "set", GALLERY_IF, "netns", GALLERY_NS)
        sh(IP, "link", "set", WORKER_IF, "netns", WORKER_NS)
        for ns, dev, addr in ((GALLERY_NS, GALLERY_IF, GALLERY_IP), (WORKER_NS, WORKER_IF, WORKER_IP)):
            sh(IP, "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            sh(IP, "-n", ns, "link", "set", dev, "up")
            sh(IP, "-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        teardown()


@pytest.mark.timeout(240)
def test_workers_and_gallery_on_separate_hosts_over_curve(hosts, tmp_path):
    keys = tmp_path / "keys"
    for name in ("gallery", "cam-host", "stranger"):
        assert cli(["keys", "--out", str(keys), "--name", name]) == 0
    (keys / "authorized").mkdir()
    shutil.copy(keys / "cam-host.key", keys / "authorized")
    curve = {"server_public_key": str(keys / "gallery.key"), "server_secret_key": str(keys / "gallery.key_secret"),
             "client_secret_key": str(keys / "cam-host.key_secret"), "authorized_clients": str(keys / "authorized")}
    # One config for both hosts: workers connect to the gallery host's address, which the gallery binds as
    # tcp://*:PORT (a non-loopback connect address); its Redis is the embedded one on its own loopback.
    site = {"zmq": {"tracklets": f"tcp://{GALLERY_IP}:5555", "events": f"tcp://{GALLERY_IP}:5556", "curve": curve,
                    "resend_after_s": 2.0},
            "redis": {"data_dir": str(tmp_path / "redis"), "port": 6399},
            "metrics": {"host": "127.0.0.1", "gallery_port": 9400, "worker_port_base": 9401},
            "cameras": [{"id": "gate-1", "source": "/dev/null", "modality": "rgb"},
                        {"id": "gate-2", "source": "/dev/null", "modality": "ir"}]}
    config = write_deployment(tmp_path / "site.yaml", **site)
    stranger = write_deployment(tmp_path / "stranger.yaml", **{
        **site, "zmq": {**site["zmq"], "curve": {**curve, "client_secret_key": str(keys / "stranger.key_secret")}}})
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    run_py = [sys.executable, "-m", "starreid"]
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in ("redis", "gallery")}
    redis = subprocess.Popen(in_ns(GALLERY_NS, *run_py, "redis", "--config", config), stdout=logs["redis"],
                             stderr=subprocess.STDOUT, env=env)
    gallery = subprocess.Popen(in_ns(GALLERY_NS, *run_py, "gallery", "--config", config), stdout=logs["gallery"],
                               stderr=subprocess.STDOUT, env=env)

    def scrape() -> str:
        return subprocess.run(in_ns(GALLERY_NS, sys.executable, "-c", SCRAPE, "9400"), capture_output=True,
                              text=True, timeout=30, env=env).stdout

    try:
        deadline = time.monotonic() + 60
        while "starreid_daemon_ready 1.0" not in scrape():
            assert gallery.poll() is None, (tmp_path / "gallery.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "gallery.log").read_text()[-3000:]
            time.sleep(0.5)
        # the camera host has no route to anything but the gallery host: the gallery is not on its loopback
        probe = subprocess.run(in_ns(WORKER_NS, sys.executable, "-c", SCRAPE, "9400"), capture_output=True,
                               text=True, timeout=30, env=env)
        assert probe.returncode != 0
        started = time.monotonic()
        senders = {cam: subprocess.Popen(in_ns(WORKER_NS, sys.executable, "-c", SENDER, cfg, cam, str(n), wait),
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                   for cam, cfg, n, wait in (("gate-1", config, 200, "60"), ("gate-2", config, 200, "60"),
                                             ("intruder", stranger, 20, "6"))}
        results = {}
        for cam, proc in senders.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-3000:]  # a refused worker does not crash either
            results[cam] = json.loads(out.strip().splitlines()[-1])
        elapsed = time.monotonic() - started
        assert results["gate-1"] == {"confirmed": 200, "kept": 0, "refused": 0}
        assert results["gate-2"] == {"confirmed": 200, "kept": 0, "refused": 0}
        assert results["intruder"]["confirmed"] == 0 and results["intruder"]["kept"] == 20
        assert results["intruder"]["refused"] > 0
        metrics = scrape()
        refused = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                      if line.startswith("starreid_gallery_auth_failures_total{") and 'reason="key"' in line)
        assert refused >= 2, metrics  # both of the intruder's sockets, at least once
        # a tracklet resent because its confirmation came late (a loaded machine) is processed as a duplicate
        processed = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                        if line.startswith("starreid_gallery_tracklets_processed_total{")
                        and 'outcome="duplicate"' not in line)
        assert processed == 400
        print(f"400 tracklets from 2 workers on another host over CURVE in {elapsed:.1f} s; the intruder was "
              f"refused {results['intruder']['refused']} times, counted {refused:.0f} times by the gallery")
    finally:
        for proc in (gallery, redis):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for fh in logs.values():
            fh.close()
    assert gallery.returncode == 0, (tmp_path / "gallery.log").read_text()[-3000:]
