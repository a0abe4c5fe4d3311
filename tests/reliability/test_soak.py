"""A soak: `starreid run` with 4 live cameras (vtest.avi looped through the loopback MJPEG server at 10 fps
each, the tiny model embedding every tracklet) for STARREID_SOAK_S seconds (600 by default, as in CI; an hour by
hand: STARREID_SOAK_S=3600). The resident memory and open file descriptors of every process are sampled every
STARREID_SOAK_EVERY_S seconds; after a warm-up (STARREID_SOAK_WARMUP_S, default a fifth of the run, at most
120 s) the supervisor's, the gallery's and each worker's memory may grow by less than 5% and their descriptors
not at all. Redis's memory is reported, not asserted: it holds the data (the log for log_retention_s, events
and markers for a day), so it grows with what was stored. STARREID_SOAK_SAMPLES=PATH keeps every sample as
JSON."""
import json
import os
import signal
import statistics
import time
from collections import defaultdict

import pytest

from starreid.storage.redis_server import ping
from support.cameras import cameras
from support.deployment import scrape, start, stop
from support.faults import Deployment, tally
from support.footage import VTEST
from support.procstat import descendants, open_fds, peak_rss_mb, role, rss_mb
from support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.reliability,
              pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi missing: opencv-doc")]
DURATION_S = float(os.environ.get("STARREID_SOAK_S", "600"))
EVERY_S = float(os.environ.get("STARREID_SOAK_EVERY_S", "5"))
WARMUP_S = float(os.environ.get("STARREID_SOAK_WARMUP_S", str(min(120.0, DURATION_S / 5))))
CAMERAS = int(os.environ.get("STARREID_SOAK_CAMERAS", "4"))
GROWTH_LIMIT = 0.05


def sample(root: int) -> dict[str, tuple[float, int]]:
    """role -> (RSS MiB, open fds) of the supervisor and every process under it."""
    out = {}
    for pid in [root, *descendants(root)]:
        try:
            out["supervisor" if pid == root else role(pid)] = (rss_mb(pid), open_fds(pid))
        except (OSError, KeyError):
            pass  # exited between the listing and the read
    return out


def growth(series: list[tuple[float, float]], after: float, key: int) -> tuple[float, float, float]:
    """(value at the end of the warm-up, value at the end, relative growth): medians of 3 samples each."""
    kept = [s for t, *s in series if t >= after]
    if len(kept) < 6:
        raise AssertionError(f"too few samples after the warm-up ({len(kept)}): lengthen STARREID_SOAK_S")
    first = statistics.median(s[key] for s in kept[:3])
    last = statistics.median(s[key] for s in kept[-3:])
    return first, last, (last - first) / max(first, 1e-9)


@pytest.mark.timeout(int(DURATION_S) + 900)
def test_soak_four_cameras(tmp_path, model, reliability):
    servers = cameras(str(VTEST), CAMERAS, fps=10)
    d = Deployment(tmp_path, model, cameras=[{"id": f"cam{i}", "source": s.url, "modality": "rgb" if i % 2 == 0
                                              else "ir"} for i, s in enumerate(servers)],
                   gallery={"log_retention_s": 300})
    proc = d.run()
    series: dict[str, list] = defaultdict(list)
    peaks: dict[str, float] = {}
    try:
        wait_for(lambda: all(d.worker_frames(i) > 0 for i in range(CAMERAS)), timeout_s=300, step_s=1.0)
        began = time.monotonic()
        while time.monotonic() - began < DURATION_S:
            now = time.monotonic() - began
            for name, (rss, fds) in sample(proc.pid).items():
                series[name].append((now, rss, fds))
            assert proc.poll() is None, d.log.read_text()[-3000:]
            time.sleep(EVERY_S)
        for pid in [proc.pid, *descendants(proc.pid)]:
            try:
                peaks["supervisor" if pid == proc.pid else role(pid)] = peak_rss_mb(pid)
            except OSError:
                pass
        restarts = sum(v for k, v in scrape(d.metrics["supervisor_port"], camera=None).items()
                       if k.startswith("starreid_supervisor_restarts_total"))
        frames = [d.worker_frames(i) for i in range(CAMERAS)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(180) == 0, d.log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for s in servers:
            s.stop()
    server = start("redis", d.config, log=tmp_path / "redis.out")
    try:
        wait_for(lambda: ping("127.0.0.1", d.redis_port), timeout_s=20)
        counts = tally(d.events(), sum(r["emitted"] for r in d.runs()))
    finally:
        stop(server)
    report = {}
    for name, points in sorted(series.items()):
        first, last, g = growth(points, WARMUP_S, 0)
        fd_first, fd_last, _ = growth(points, WARMUP_S, 1)
        report[name] = {"rss_mb_after_warmup": first, "rss_mb_end": last, "rss_growth": g,
                        "fds_after_warmup": fd_first, "fds_end": fd_last, "peak_rss_mb": peaks.get(name)}
    if os.environ.get("STARREID_SOAK_SAMPLES"):
        with open(os.environ["STARREID_SOAK_SAMPLES"], "w") as f:
            json.dump({"duration_s": DURATION_S, "warmup_s": WARMUP_S, "every_s": EVERY_S, "summary": report,
                       "samples": series}, f, indent=1)
    checked = {k: v for k, v in report.items() if k != "redis"}
    worst = max(checked, key=lambda k: checked[k]["rss_growth"])
    workers = [v["rss_growth"] for k, v in checked.items() if k.startswith("worker")]
    redis = report.get("redis", {})
    reliability(f"soak: {CAMERAS} live cameras, {DURATION_S / 60:.0f} min", **counts,
                notes=f"RSS growth after {WARMUP_S:.0f} s warm-up: gallery {report['gallery']['rss_growth']:+.1%}, "
                      f"workers {min(workers):+.1%} to {max(workers):+.1%}, supervisor "
                      f"{report['supervisor']['rss_growth']:+.1%} (limit +5%); open fds "
                      f"{'unchanged' if all(v['fds_end'] <= v['fds_after_warmup'] for v in checked.values()) else 'GREW'}; "
                      f"Redis {redis.get('rss_mb_after_warmup', 0):.0f} -> {redis.get('rss_mb_end', 0):.0f} MiB (data); "
                      f"{int(restarts)} restarts; {min(frames):.0f}-{max(frames):.0f} frames per camera",
                extra=report)
    assert restarts == 0
    assert counts["lost"] == 0 and counts["duplicated"] == 0 and counts["committed"] > 0
    assert checked[worst]["rss_growth"] < GROWTH_LIMIT, (worst, checked[worst])
    assert all(v["fds_end"] <= v["fds_after_warmup"] + 2 for v in checked.values()), checked
