"""Deployment configs and daemon processes for tests: `starreid gallery` and `starreid worker` as real child
processes on 127.0.0.1, their configs, and their /metrics."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

THRESHOLDS = {"rgb_rgb": 0.65, "ir_ir": 0.65, "rgb_ir": 0.58}


def write_deployment(path: Path, **sections) -> str:
    """A deployment config: one camera cam0, metrics on 127.0.0.1, the test thresholds, the workers' spool
    beside the file; each keyword replaces (dict values: updates) that section."""
    cfg = {
        "kind": "deployment",
        "cameras": [{"id": "cam0", "source": "/dev/null", "modality": "rgb"}],
        "tracker": {"spool_dir": str(Path(path).parent / "spool")},  # never the working directory's
        "gallery": {"thresholds": THRESHOLDS},
        "metrics": {"host": "127.0.0.1", "gallery_port": 0, "supervisor_port": 0},
        "logging": {"level": "INFO"},
    }
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    Path(path).write_text(yaml.safe_dump(cfg))
    return str(path)


def start(verb: str, config: str, *args: str, log=subprocess.PIPE) -> subprocess.Popen:
    """`python -m starreid VERB --config CONFIG ARGS` as a child; output to log (a path or a pipe)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    out = open(log, "ab") if isinstance(log, (str, Path)) else log
    return subprocess.Popen([sys.executable, "-m", "starreid", verb, "--config", str(config), *args], stdout=out,
                            stderr=subprocess.STDOUT, env=env)


def stop(proc: subprocess.Popen, timeout: float = 30.0) -> tuple[int, str]:
    """SIGTERM, wait; (exit code, output if it was piped)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, (out or b"").decode(errors="replace")


def scrape(port: int, camera: str | None = "cam0") -> dict[str, float]:
    """Sample name (with its reason/outcome label, if any, after a '|') -> value from /metrics; series with
    another camera label are left out."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if camera is not None and sample.labels.get("camera", camera) != camera:
                continue
            tag = sample.labels.get("reason") or sample.labels.get("outcome") or sample.labels.get("stage")
            out[sample.name + (f"|{tag}" if tag else "")] = sample.value
    return out


def children_of(pid: int) -> dict[int, str]:
    """Live child processes of pid: {child pid: command line}."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out[int(entry.name)] = cmdline
    return out


def alive(pid: int) -> bool:
    """A process that exists and has not exited (a zombie has)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
