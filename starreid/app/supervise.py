"""A small process supervisor for a one-machine deployment: the gallery and one worker per camera.

A child that fails is restarted with exponential backoff; a child that finishes (exit 0: a file source came
to its end) stays finished. On stop, children are stopped in reverse start order (workers flush their last
tracklets before the gallery drains), each with SIGTERM, then SIGKILL after a grace period.
"""
from __future__ import annotations

import logging
import signal
import subprocess
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    restart: bool = True  # restart after a failure (non-zero exit)
    proc: subprocess.Popen | None = None
    restarts: int = 0
    finished: bool = False  # exited 0; not restarted
    next_start: float = 0.0
    exit_codes: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(self, children: list[Child], backoff_s: float = 1.0, max_backoff_s: float = 30.0,
                 grace_s: float = 20.0):
        self.children = children
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.grace_s = grace_s
        self._stopping = False

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        log.info("starting %s: %s", child.name, " ".join(child.argv))
        child.proc = subprocess.Popen(child.argv)

    def poll(self) -> None:
        """Reap exited children and restart failed ones whose backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                code = child.proc.returncode
                child.exit_codes.append(code)
                child.proc = None
                if code == 0 or not child.restart:
                    child.finished = True
                    log.info("%s finished (exit %d)", child.name, code)
                else:
                    delay = min(self.max_backoff_s, self.backoff_s * 2 ** child.restarts)
                    child.restarts += 1
                    child.next_start = now + delay
                    log.warning("%s exited with %d; restart %d in %.1f s", child.name, code, child.restarts, delay)
            if child.proc is None and not child.finished and not self._stopping and now >= child.next_start:
                self._spawn(child)

    def running(self, names: set[str] | None = None) -> bool:
        """Whether any (named) child is still running or due for a restart."""
        return any(not c.finished for c in self.children if names is None or c.name in names)

    def stop(self) -> None:
        self._stopping = True
        for child in reversed(self.children):
            self.stop_child(child)

    def stop_child(self, child: Child) -> None:
        if child.proc is None:
            return
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
            try:
                child.proc.wait(self.grace_s)
            except subprocess.TimeoutExpired:
                log.error("%s did not stop within %.0f s; killing it", child.name, self.grace_s)
                child.proc.kill()
                child.proc.wait()
        child.exit_codes.append(child.proc.returncode)
        child.proc = None
        child.finished = True
