"""The embedded Redis is a process of its own (`starreid redis`): it refuses a port another process holds,
caps its memory without evicting, and never outlives its parent."""
import os
import signal
import subprocess
import sys
import time

import pytest

from starreid.storage.redis_server import ping
from support.deployment import start, stop, write_deployment
from support.net import free_port
from support.redis_admin import admin
from support.waiting import wait_for


def config(tmp_path, port: int, **redis) -> str:
    return write_deployment(tmp_path / "d.yaml", redis={"data_dir": str(tmp_path / "redis"), "port": port, **redis})


@pytest.mark.timeout(60)
def test_the_redis_verb_runs_the_configured_server(tmp_path):
    port = free_port()
    proc = start("redis", config(tmp_path, port, maxmemory_mb=64), log=tmp_path / "redis.out")
    try:
        wait_for(lambda: ping("127.0.0.1", port), timeout_s=20)
        r = admin(f"redis://127.0.0.1:{port}/0")
        assert r.config_get("appendonly")["appendonly"] == "yes" and r.config_get("bind")["bind"] == "127.0.0.1"
        assert r.config_get("maxmemory")["maxmemory"] == str(64 << 20)
        assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert r.info("server")["process_id"] == proc.pid  # the supervised process is redis-server itself
    finally:
        code, _ = stop(proc)
    assert code == 0 and not ping("127.0.0.1", port)
    assert any((tmp_path / "redis").iterdir())  # the append-only data stays for the next start


@pytest.mark.timeout(60)
def test_a_taken_port_is_a_configuration_error_not_a_stranger_adopted(tmp_path, redis_server):
    proc = start("redis", config(tmp_path, redis_server.port))
    code, out = proc.wait(30), proc.stdout.read().decode()
    assert code == 2, out
    assert "already taken" in out and "Traceback" not in out


@pytest.mark.timeout(60)
def test_the_server_dies_with_its_parent(tmp_path):
    """A parent that is killed outright (SIGKILL, no cleanup) takes its redis-server with it."""
    port = free_port()
    cfg = config(tmp_path, port)
    parent = subprocess.Popen([sys.executable, "-c", f"""
import subprocess, sys, time
from starreid.storage.redis_server import die_with_parent
child = subprocess.Popen([sys.executable, "-m", "starreid", "redis", "--config", {cfg!r}],
                         preexec_fn=die_with_parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(600)
"""], stdout=subprocess.PIPE)
    child = int(parent.stdout.readline())
    wait_for(lambda: ping("127.0.0.1", port), timeout_s=20)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child) and not ping("127.0.0.1", port)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has exited; its parent (init) reaps it
        return f.read().split(")")[-1].split()[0] != "Z"
