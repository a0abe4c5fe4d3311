"""One Prometheus registry for the process, metric constructors that enforce the naming rule, and the HTTP
server of a daemon's metrics port: /metrics (the registry), /healthz (alive) and /readyz (ready).

Besides the project's starreid_* metrics the registry carries the standard process_* collector (CPU seconds,
resident memory, open files, start time) and python_info, starreid_build_info{version} (set by the CLI) and
starreid_daemon_ready (what /readyz answers, 1 or 0).

Readiness: a daemon declares what it waits for with set_ready(name, value), value a bool or a callable that
returns one (asked at each request); /readyz answers 200 once at least one check is declared and all of them
pass, 503 naming the failing ones otherwise. A process that declares nothing is never ready."""
from __future__ import annotations

import re
import socket
import threading
from socketserver import ThreadingMixIn
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector,
                               make_wsgi_app)
from prometheus_client.core import GaugeMetricFamily

REGISTRY = CollectorRegistry(auto_describe=True)
_NAME = re.compile(r"^starreid_[a-z][a-z0-9]*(_[a-z0-9]+)+$")
_lock = threading.Lock()
_metrics: dict[str, object] = {}
_ready: dict[str, bool | Callable[[], bool]] = {}
_build: dict[str, str] = {}

ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
PlatformCollector(registry=REGISTRY)  # python_info


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


# ------------------------------------------------------------------ build info and readiness
def set_build_info(version: str) -> None:
    """starreid_build_info{version} 1 from now on (the CLI sets it from starreid.__version__)."""
    _build["version"] = version


def set_ready(name: str, value: bool | Callable[[], bool] | None) -> None:
    """Declare (or update) the readiness check `name`: a bool, or a callable asked at each /readyz request and
    scrape (it must be cheap and must not block); None removes the check."""
    with _lock:
        if value is None:
            _ready.pop(name, None)
        else:
            _ready[name] = value


def readiness() -> tuple[bool, list[str]]:
    """(ready, names of the checks that fail); not ready while no check is declared."""
    with _lock:
        checks = dict(_ready)
    failing = []
    for name, check in checks.items():
        try:
            ok = bool(check() if callable(check) else check)
        except Exception:  # a check that cannot answer says no
            ok = False
        if not ok:
            failing.append(name)
    return bool(checks) and not failing, failing


class _StatusCollector:
    """starreid_build_info and starreid_daemon_ready, computed at each scrape."""

    def collect(self):
        if _build:
            info = GaugeMetricFamily("starreid_build_info", "the starreid version this process runs (always 1)",
                                     labels=list(_build))
            info.add_metric(list(_build.values()), 1)
            yield info
        yield GaugeMetricFamily("starreid_daemon_ready", "1 when /readyz answers 200 (the daemon is ready), else 0",
                                value=1 if readiness()[0] else 0)


REGISTRY.register(_StatusCollector())


# ------------------------------------------------------------------ the HTTP server
class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds the process at exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # no access log on stderr for every scrape
        pass


def _app():
    metrics_app = make_wsgi_app(REGISTRY)

    def text(start_response, status: str, body: str):
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")])
        return [body.encode()]

    def app(environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path == "/healthz":
            return text(start_response, "200 OK", "ok\n")
        if path == "/readyz":
            ready, failing = readiness()
            if ready:
                return text(start_response, "200 OK", "ready\n")
            return text(start_response, "503 Service Unavailable",
                        f"not ready: {', '.join(failing)}\n" if failing else "not ready: starting\n")
        if path == "/":
            return text(start_response, "200 OK", "/metrics /healthz /readyz\n")
        return text(start_response, "404 Not Found", "not found: try /metrics, /healthz or /readyz\n")

    return app


def _family(host: str, port: int) -> int:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]


class MetricsServer:
    """This process's metrics port: /metrics, /healthz, /readyz. Port 0 picks a free port (read it back from
    .port). Raises OSError when the address cannot be bound."""

    def __init__(self, host: str, port: int):
        server_class = type("_MetricsHTTPServer", (_Server,), {"address_family": _family(host, port)})
        self._server = make_server(host, port, _app(), server_class, _QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="metrics-http", daemon=True)
        self._thread.start()
        self.host = host
        self.port = self._server.server_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(host: str, port: int) -> MetricsServer:
    return MetricsServer(host, port)
