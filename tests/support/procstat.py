"""What a process holds, from /proc (Linux): resident memory now and at its peak, open file descriptors, and its
descendants. Shared by the reliability soak and the benchmarks' peak-memory figures."""
from __future__ import annotations

import os
from pathlib import Path


def _status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def rss_mb(pid: int) -> float:
    """Resident set size now (VmRSS), MiB."""
    return int(_status(pid)["VmRSS"].split()[0]) / 1024


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size so far (VmHWM), MiB."""
    return int(_status(pid)["VmHWM"].split()[0]) / 1024


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()


def descendants(pid: int) -> list[int]:
    """Every live process below pid (children, their children, ...), zombies left out."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parent_of[int(entry.name)] = int(fields[1])
    out, frontier = [], [pid]
    while frontier:
        here = frontier.pop()
        kids = [p for p, pp in parent_of.items() if pp == here]
        out += kids
        frontier += kids
    return out


def role(pid: int) -> str:
    """A short name for a starreid process from its command line: 'redis', 'gallery', 'worker:cam0', 'run', ..."""
    cmd = command(pid)
    if "redis-server" in cmd:
        return "redis"
    words = cmd.split()
    for verb in ("gallery", "worker", "run", "redis"):
        if verb in words:
            if verb == "worker" and "--camera" in words:
                return f"worker:{words[words.index('--camera') + 1]}"
            return verb
    return words[0].rsplit("/", 1)[-1] if words else str(pid)
