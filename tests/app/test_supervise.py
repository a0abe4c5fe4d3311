"""The one-machine supervisor with real child processes: restart on failure (backoff that resets after a
healthy run), never on a configuration error or on completion, health checks, and a clean ordered stop."""
import sys
import time

import pytest

from starreid.app.supervise import Child, Supervisor

FAIL_TWICE = """
import pathlib, sys
p = pathlib.Path(sys.argv[1]); n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1))
sys.exit(3 if n < 2 else 0)
"""
SERVE = """
import signal, sys, time, pathlib
signal.signal(signal.SIGTERM, lambda *_: (pathlib.Path(sys.argv[1]).write_text('flushed'), sys.exit(0)))
while True: time.sleep(0.05)
"""
FAIL_AFTER = """
import sys, time
time.sleep(float(sys.argv[1])); sys.exit(1)
"""


def wait_until(predicate, sup, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sup.poll()
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.timeout(60)
def test_failed_children_restart_with_backoff_finished_ones_do_not(tmp_path):
    counter, flushed = tmp_path / "count", tmp_path / "flushed"
    flaky = Child("flaky", [sys.executable, "-c", FAIL_TWICE, str(counter)])
    done = Child("done", [sys.executable, "-c", "pass"])
    server = Child("server", [sys.executable, "-c", SERVE, str(flushed)])
    sup = Supervisor([server, done, flaky], grace_s=20, backoff_s=(0.05, 1.0))
    sup.start()
    try:
        assert wait_until(lambda: flaky.finished and done.finished, sup)
        assert flaky.exit_codes == [3, 3, 0] and flaky.restarts == 2
        assert done.exit_codes == [0] and done.restarts == 0
        assert sup.running() and not sup.running({"flaky", "done"})
    finally:
        sup.stop()
    assert flushed.read_text() == "flushed"  # stopped with SIGTERM, which it handled
    assert server.exit_codes[-1] == 0 and not sup.running()


@pytest.mark.timeout(60)
def test_a_configuration_error_is_not_restarted():
    bad = Child("bad", [sys.executable, "-c", "import sys; sys.exit(2)"])
    sup = Supervisor([bad], grace_s=5, backoff_s=(0.05, 1.0))
    sup.start()
    try:
        assert wait_until(lambda: bad.finished, sup)
        time.sleep(0.3)
        sup.poll()
        assert bad.exit_codes == [2] and bad.restarts == 0 and sup.config_errors() == ["bad"]
    finally:
        sup.stop()


@pytest.mark.timeout(60)
def test_the_backoff_resets_after_a_healthy_run():
    """Quick failures wait longer each time (0.2, 0.4, 0.8 s); a child that had run healthily for a while
    fails, and its next restart waits the shortest delay again."""
    quick = Child("quick", [sys.executable, "-c", FAIL_AFTER, "0"])
    sup = Supervisor([quick], grace_s=5, backoff_s=(0.2, 10.0), healthy_after_s=1.0)
    sup.start()
    waits = []
    try:
        for _ in range(3):
            n = len(quick.exit_codes)
            assert wait_until(lambda: len(quick.exit_codes) > n, sup)
            waits.append(round(quick.next_start - time.monotonic(), 1))
        assert waits[0] < waits[1] < waits[2]
        quick.argv = [sys.executable, "-c", FAIL_AFTER, "1.5"]  # the next run lasts past healthy_after_s
        n = len(quick.exit_codes)
        assert wait_until(lambda: len(quick.exit_codes) > n, sup, timeout_s=30)
        assert quick.next_start - time.monotonic() <= 0.21
    finally:
        sup.stop()


@pytest.mark.timeout(60)
def test_an_unhealthy_child_is_restarted(tmp_path):
    flag = tmp_path / "healthy"
    hangs = Child("hangs", [sys.executable, "-c", "import time; time.sleep(60)"], health=flag.exists)
    sup = Supervisor([hangs], grace_s=5, backoff_s=(0.05, 1.0), health_timeout_s=0.5)
    sup.start()
    try:
        first = hangs.proc.pid
        assert wait_until(lambda: hangs.restarts >= 1 and hangs.proc is not None, sup)
        assert hangs.proc.pid != first and hangs.exit_codes[0] == -9
        flag.touch()  # healthy from now on: left alone
        restarts = hangs.restarts
        time.sleep(1.5)
        sup.poll()
        assert hangs.restarts == restarts
    finally:
        sup.stop()


@pytest.mark.timeout(60)
def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path):
    stubborn = Child("stubborn", [sys.executable, "-c",
                                  "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                  "print('ready', flush=True)\ntime.sleep(60)"])
    sup = Supervisor([stubborn], grace_s=0.5)
    sup.start()
    time.sleep(0.5)
    started = time.monotonic()
    sup.stop()
    assert time.monotonic() - started < 10
    assert stubborn.exit_codes[-1] == -9
