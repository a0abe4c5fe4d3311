"""The systemd units in deploy/systemd/: valid for systemd (`systemd-analyze verify`, skipped with the reason
where systemd's tools are absent), hardened (their own user, no root, a read-only system, secrets from an
environment file), ordered after the network, and given more time to stop than the daemon takes to drain or
flush (the timeouts of the config schema)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from starreid.app.config.gallery import GalleryConfig
from starreid.app.config.tracker import TrackerConfig

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")
EXEC = "/opt/starreid/.venv/bin/starreid"
HARDENING = {"User": "starreid", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
             "PrivateTmp": "yes", "StateDirectory": "starreid", "CapabilityBoundingSet": "",
             "EnvironmentFile": "-/etc/starreid/starreid.env", "RestrictSUIDSGID": "yes"}


def settings(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def runnable_copies(tmp_path: Path) -> list[Path]:
    """The units with ExecStart pointing at a stub executable (verify checks that the command exists), and a
    worker instance beside the template."""
    stub = tmp_path / "bin" / "starreid"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(EXEC, str(stub)))
        copies.append(copy)
        if unit.name.endswith("@.service"):
            instance = tmp_path / unit.name.replace("@.", "@gate-1.")
            instance.write_text(copy.read_text())
            copies.append(instance)
    return copies


def test_the_four_units_exist():
    assert [u.name for u in UNITS] == ["starreid-gallery.service", "starreid-redis.service",
                                       "starreid-worker@.service", "starreid.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_is_hardened_and_ordered(unit):
    s = settings(unit)
    for key, value in HARDENING.items():
        assert s.get(key) == [value], f"{unit.name}: {key}={s.get(key)}, want {value!r}"
    assert s.get("SupplementaryGroups", ["video"]) == ["video"]  # V4L2 cameras only: no other group
    assert s["Wants"] == ["network-online.target"] and "network-online.target" in s["After"][0]
    assert s["WorkingDirectory"] == ["/var/lib/starreid"]  # relative data_dir and spool_dir land in the state dir
    assert s["RestartPreventExitStatus"] == ["2"]
    assert s["ExecStart"][0].startswith(f"{EXEC} --log-json ")


def stop_timeout(unit: str) -> float:
    return float(settings(ROOT / "deploy" / "systemd" / unit)["TimeoutStopSec"][0])


def test_stop_timeouts_exceed_drain_and_flush_timeouts():
    drain, flush = GalleryConfig().drain_timeout_s, TrackerConfig().flush_timeout_s
    assert stop_timeout("starreid-gallery.service") > drain
    assert stop_timeout("starreid-worker@.service") > 2 * flush  # the embedding queue, then the sender
    run = settings(ROOT / "deploy" / "systemd" / "starreid.service")
    grace = float(re.search(r"--grace (\d+(?:\.\d+)?)", run["ExecStart"][0]).group(1))
    assert grace > drain and grace > 2 * flush
    assert stop_timeout("starreid.service") >= 5 * grace  # a few cameras, the gallery and Redis, one at a time
    assert run["KillMode"] == ["mixed"]


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze missing (Debian's systemd package)")
def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    copies = runnable_copies(tmp_path)
    probe = subprocess.run([ANALYZE, "verify", str(copies[0])], capture_output=True, text=True, timeout=60)
    if "Failed to" in probe.stderr and "sysinit.target" in probe.stderr:
        pytest.skip(f"systemd-analyze cannot load the system's units here: {probe.stderr.strip()[:200]}")
    for copy in copies:
        out = subprocess.run([ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60)
        # verify exits 0 on unknown keys and bad values ("... ignoring"): any word from it is a finding
        assert out.returncode == 0 and not (out.stdout + out.stderr).strip(), f"{copy.name}: {out.stdout}{out.stderr}"


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze missing (Debian's systemd package)")
def test_systemd_analyze_security_rates_the_daemons_ok(tmp_path):
    for copy in runnable_copies(tmp_path):
        out = subprocess.run([ANALYZE, "security", "--offline=yes", str(copy)], capture_output=True, text=True,
                             timeout=60)
        if "--offline" in out.stderr:
            pytest.skip(f"systemd-analyze security --offline is not supported here: {out.stderr.strip()[:200]}")
        level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout)
        assert level, out.stdout[-1000:] + out.stderr[-1000:]
        assert float(level.group(1)) <= 4.0, f"{copy.name}: exposure {level.group(1)}\n{out.stdout[-3000:]}"
