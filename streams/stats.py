"""Per-source counters, kept as plain numbers for callers and exported as Prometheus metrics."""
from __future__ import annotations

import threading

from starreid.contracts import metrics

_LABELS = ("camera", "modality")
_DOCS = {
    "frames_read": ("starreid_stream_frames_read_total", "frames decoded from the source"),
    "frames_dropped": ("starreid_stream_frames_dropped_total", "live frames replaced by a newer one before use"),
    "decode_errors": ("starreid_stream_decode_errors_total", "corrupt or undecodable frames skipped"),
    "open_errors": ("starreid_stream_open_errors_total", "failed attempts to open the source"),
    "reconnects": ("starreid_stream_reconnects_total", "connections re-established after a loss"),
}


class SourceStats:
    """Thread-safe counts of what happened to one source."""

    def __init__(self, camera: str, modality: str):
        self._lock = threading.Lock()
        self._counts = {key: 0 for key in _DOCS}
        self._metrics = {
            key: metrics.counter(name, doc, labels=_LABELS).labels(camera=camera, modality=modality)
            for key, (name, doc) in _DOCS.items()
        }

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n
        self._metrics[key].inc(n)

    def __getattr__(self, key: str) -> int:
        counts = self.__dict__.get("_counts")
        if counts is None or key not in counts:
            raise AttributeError(key)
        return counts[key]

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
