"""The metrics helper serves one registry over real HTTP; logging emits readable text or JSON lines."""
import io
import json
import logging
import urllib.request

import pytest

from starreid.contracts import metrics
from starreid.contracts.logs import setup_logging


@pytest.mark.timeout(30)
def test_metrics_endpoint_serves_the_registry():
    hits = metrics.counter("starreid_test_hits_total", "test hits", labels=("camera",))
    latency = metrics.histogram("starreid_test_latency_seconds", "test latency", buckets=(0.01, 0.1, 1))
    hits.labels(camera="cam-1").inc(3)
    latency.observe(0.05)
    server = metrics.serve("127.0.0.1", 0)
    try:
        assert server.port > 0
        with urllib.request.urlopen(server.url, timeout=5) as response:
            assert response.status == 200
            body = response.read().decode()
    finally:
        server.close()
    assert 'starreid_test_hits_total{camera="cam-1"} 3.0' in body
    assert 'starreid_test_latency_seconds_bucket{le="0.1"} 1.0' in body
    assert "python_gc" not in body  # our own registry, not the global default one


def test_metric_get_or_create_and_naming_rule():
    first = metrics.gauge("starreid_test_depth_items", "depth")
    assert metrics.gauge("starreid_test_depth_items", "depth") is first
    with pytest.raises(ValueError, match="already exists"):
        metrics.counter("starreid_test_depth_items", "depth")
    for bad in ("hits_total", "starreid_Hits", "starreid_"):
        with pytest.raises(ValueError, match="starreid_<stage>"):
            metrics.counter(bad, "bad")


def test_json_lines_logging_carries_context():
    stream = io.StringIO()
    setup_logging("INFO", json_lines=True, stream=stream)
    logging.getLogger("starreid.test").warning("dropped %d frames", 3, extra={"camera": "cam-1"})
    logging.getLogger("starreid.test").debug("not shown")
    lines = stream.getvalue().strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["message"] == "dropped 3 frames" and entry["camera"] == "cam-1"
    assert entry["level"] == "WARNING" and entry["time"].endswith("Z")


def test_text_logging_is_human_readable():
    stream = io.StringIO()
    setup_logging("DEBUG", stream=stream)
    logging.getLogger("starreid.test").info("hello")
    line = stream.getvalue().strip()
    assert line.endswith("INFO    starreid.test: hello")
    setup_logging("WARNING")
