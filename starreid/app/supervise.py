"""A small process supervisor for a one-machine deployment: the embedded Redis, the gallery and one worker per
camera.

- Children run in process groups of their own, so a terminal's Ctrl-C (a SIGINT to the whole foreground
  group) reaches only the supervisor, which then stops them in order; and each child gets a parent-death
  signal, so a killed supervisor leaves no orphan behind.
- A child that fails is restarted with exponential backoff, which starts again from the shortest delay once
  a child has run healthily for a while; a child with a health check (Redis answering PING) that stays
  unhealthy is killed and restarted.
- A child that exits 0 (a file source came to its end) stays finished; one that exits with the
  configuration-error code is not restarted (the same config would fail the same way).
- On stop, children are stopped in reverse start order (workers flush their last tracklets while the gallery
  still runs, the gallery drains while Redis still runs, Redis stops last), each with SIGTERM, then SIGKILL
  after a grace period.
"""
from __future__ import annotations

import logging
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable

from starreid.app.verbs import EXIT_CONFIG
from starreid.contracts import metrics
from starreid.contracts.backoff import Backoff
from starreid.storage.redis_server import die_with_parent

log = logging.getLogger(__name__)
# starreid.tracker.worker.EXIT_UNCONFIRMED, not imported here: that module loads OpenCV (tests check they agree)
EXIT_UNCONFIRMED = 3

RESTARTS = metrics.counter("starreid_supervisor_restarts_total", "child restarts after a failure", ("child",))
EXITS = metrics.counter("starreid_supervisor_child_exits_total",
                        "child exits by reason: done (0), config (2), unconfirmed (3: a worker stopped with tracklets "
                        "unconfirmed), signal (killed), error (any other code)", ("child", "reason"))
UP = metrics.gauge("starreid_supervisor_child_up", "1 while the child process runs", ("child",))
FINISHED = metrics.gauge("starreid_supervisor_child_finished",
                         "1 once the child has stopped for good (done, a configuration error, or stopped)", ("child",))
EXIT_REASONS = ("done", "config", "unconfirmed", "signal", "error")


def exit_reason(code: int) -> str:
    if code == 0:
        return "done"
    if code == EXIT_CONFIG:
        return "config"
    if code == EXIT_UNCONFIRMED:
        return "unconfirmed"
    return "signal" if code < 0 else "error"


@dataclass
class Child:
    name: str
    argv: list[str]
    health: Callable[[], bool] | None = None  # None: alive is healthy
    proc: subprocess.Popen | None = None
    restarts: int = 0
    finished: bool = False  # exited 0, or on a configuration error: not restarted
    config_error: bool = False
    next_start: float = 0.0
    started_at: float = 0.0
    unhealthy_since: float | None = None
    exit_codes: list[int] = field(default_factory=list)
    backoff: Backoff | None = None


class Supervisor:
    def __init__(self, children: list[Child], *, grace_s: float, backoff_s: tuple[float, float] = (1.0, 30.0),
                 healthy_after_s: float = 30.0, health_timeout_s: float = 10.0):
        """backoff_s: the first and the longest wait before a restart; healthy_after_s: a run this long resets
        the backoff; health_timeout_s: how long a child may fail its health check (after its own start)."""
        self.children = children
        self.grace_s = grace_s
        self.healthy_after_s = healthy_after_s
        self.health_timeout_s = health_timeout_s
        for child in children:
            child.backoff = Backoff(*backoff_s, jitter=False)
            RESTARTS.labels(child.name)  # every series from the start, at 0: increase() sees the first event
            for reason in EXIT_REASONS:
                EXITS.labels(child.name, reason)
            UP.labels(child.name).set(0)
            FINISHED.labels(child.name).set(0)
        self._stopping = False

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        log.info("starting %s: %s", child.name, " ".join(child.argv))
        child.proc = subprocess.Popen(child.argv, process_group=0, preexec_fn=die_with_parent)
        child.started_at, child.unhealthy_since = time.monotonic(), None
        UP.labels(child.name).set(1)

    def poll(self) -> None:
        """Reap exited children, kill ones that stayed unhealthy, restart failed ones whose backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is None:
                self._check_health(child, now)
            if child.proc is not None and child.proc.poll() is not None:
                self._reaped(child, now)
            if child.proc is None and not child.finished and not self._stopping and now >= child.next_start:
                self._spawn(child)

    def _check_health(self, child: Child, now: float) -> None:
        if child.health is None or now - child.started_at < self.health_timeout_s or child.health():
            child.unhealthy_since = None
            return
        child.unhealthy_since = child.unhealthy_since or now
        if now - child.unhealthy_since >= self.health_timeout_s:
            log.error("%s has failed its health check for %.0f s; restarting it", child.name,
                      now - child.unhealthy_since)
            child.proc.kill()
            child.proc.wait()

    def _reaped(self, child: Child, now: float) -> None:
        code = child.proc.returncode
        child.exit_codes.append(code)
        child.proc = None
        self._count_exit(child, code)
        if code == 0:
            child.finished = True
            log.info("%s finished (exit 0)", child.name)
        elif code == EXIT_CONFIG:
            child.finished = child.config_error = True
            log.error("%s failed on its configuration (exit %d); not restarting it", child.name, code)
        else:
            if now - child.started_at >= self.healthy_after_s:
                child.backoff.reset()  # it ran well for a while: this failure starts the backoff afresh
            delay = child.backoff.next_delay()
            child.restarts += 1
            RESTARTS.labels(child.name).inc()
            child.next_start = now + delay
            log.warning("%s exited with %d; restart %d in %.1f s", child.name, code, child.restarts, delay)
        FINISHED.labels(child.name).set(int(child.finished))

    @staticmethod
    def _count_exit(child: Child, code: int) -> None:
        EXITS.labels(child.name, exit_reason(code)).inc()
        UP.labels(child.name).set(0)

    def ready(self) -> bool:
        """Every child that is not finished is running (none is waiting for a restart); for /readyz."""
        return not self._stopping and all(c.proc is not None or c.finished for c in self.children)

    def running(self, names: set[str] | None = None) -> bool:
        """Whether any (named) child is still running or due for a restart."""
        return any(not c.finished for c in self.children if names is None or c.name in names)

    def config_errors(self) -> list[str]:
        return [c.name for c in self.children if c.config_error]

    def stop(self, keep: set[str] = frozenset()) -> None:
        """Stop every child (but those named in keep) in reverse start order."""
        self._stopping = True
        for child in reversed(self.children):
            if child.name not in keep:
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
        self._count_exit(child, child.proc.returncode)
        child.proc = None
        child.finished = True
        FINISHED.labels(child.name).set(1)
