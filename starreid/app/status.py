"""A one-line status of a running deployment, every few seconds, from its daemons' own /metrics: frames per
second per camera, tracklets sent and confirmed, identities in the gallery."""
from __future__ import annotations

import logging
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger("starreid.status")


def scrape(host: str, port: int) -> dict[str, float]:
    """Sample name -> value summed over its series (each worker has one camera), {} when unreachable."""
    try:
        text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=1).read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


class DeploymentStatus:
    def __init__(self, cfg, camera_ids: list[str], every_s: float):
        m = cfg.metrics
        host = "127.0.0.1" if m.host in ("0.0.0.0", "") else m.host
        self.workers = {cam: (host, m.worker_port_base + cfg.camera_index(cam)) for cam in camera_ids
                        if m.worker_port_base}
        self.gallery = (host, m.gallery_port) if m.gallery_port else None
        self.every_s = every_s
        self._due = time.monotonic() + every_s
        self._frames: dict[str, tuple[float, float]] = {}  # camera -> (time, frames) at the last line

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._due:
            return
        self._due = now + self.every_s
        parts = []
        for cam, (host, port) in self.workers.items():
            got = scrape(host, port)
            if not got:
                parts.append(f"{cam}: -")
                continue
            frames = got.get("starreid_worker_frames_processed_total", 0.0)
            then, before = self._frames.get(cam, (now, frames))
            self._frames[cam] = (now, frames)
            fps = (frames - before) / (now - then) if now > then else 0.0
            parts.append(f"{cam}: {fps:.1f} fps, {int(got.get('starreid_worker_tracklets_sent_total', 0))} sent, "
                         f"{int(got.get('starreid_worker_tracklets_confirmed_total', 0))} confirmed")
        if self.gallery is not None:
            got = scrape(*self.gallery)
            parts.append(f"gallery: {int(got['starreid_gallery_identities'])} identities" if got else "gallery: -")
        log.info("status: %s", "; ".join(parts) or "no daemon metrics to read")
