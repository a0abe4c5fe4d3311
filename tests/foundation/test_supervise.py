"""The one-machine supervisor with real child processes: restart on failure, not on completion, clean stop."""
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
    sup = Supervisor([server, done, flaky], backoff_s=0.05)
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
