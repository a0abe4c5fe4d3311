"""One Prometheus registry for the process, metric constructors that enforce the naming rule, and the
/metrics HTTP server bound to a configured address."""
from __future__ import annotations

import re
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)
_NAME = re.compile(r"^starreid_[a-z][a-z0-9]*(_[a-z0-9]+)+$")
_lock = threading.Lock()
_metrics: dict[str, object] = {}


def _get_or_create(cls, name: str, doc: str, labels, **kwargs):
    if not _NAME.match(name):
        raise ValueError(f"metric name {name!r} must look like starreid_<stage>_<what>_<unit>")
    labels = tuple(labels)
    with _lock:
        metric = _metrics.get(name)
        if metric is None:
            metric = cls(name, doc, labelnames=labels, registry=REGISTRY, **kwargs)
            _metrics[name] = metric
        elif type(metric) is not cls or tuple(metric._labelnames) != labels:
            raise ValueError(f"metric {name!r} already exists as {type(metric).__name__}"
                             f" with labels {metric._labelnames}")
        return metric


def counter(name: str, doc: str, labels=()) -> Counter:
    return _get_or_create(Counter, name, doc, labels)


def gauge(name: str, doc: str, labels=()) -> Gauge:
    return _get_or_create(Gauge, name, doc, labels)


def histogram(name: str, doc: str, labels=(), buckets=None) -> Histogram:
    kwargs = {} if buckets is None else {"buckets": tuple(buckets)}
    return _get_or_create(Histogram, name, doc, labels, **kwargs)


class MetricsServer:
    """The /metrics endpoint of this process; port 0 picks a free port (read it back from .port)."""

    def __init__(self, host: str, port: int):
        self._server, self._thread = start_http_server(port, addr=host, registry=REGISTRY)
        self.host = host
        self.port = self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(host: str, port: int) -> MetricsServer:
    return MetricsServer(host, port)
