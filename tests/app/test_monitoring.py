"""Watching a deployment: the Prometheus rules and their unit tests (promtool), the Grafana dashboard's queries,
the health endpoints and build info of every metrics port, the supervisor's restart counts, `--version`, quiet
library logs, and a real Prometheus scraping `starreid run`."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

import starreid
from starreid.contracts import metrics
from support.deployment import write_deployment
from support.footage import VTEST
from support.net import free_port, free_tcp
from support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
DASHBOARD = DEPLOY / "grafana" / "starreid.json"
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: Debian's prometheus package "
                                                             "(bash deploy/setup.sh --dev installs it)")
# Standard series besides the project's starreid_*: Prometheus's own `up`, prometheus_client's process and
# platform collectors.
STANDARD = re.compile(r"^(up|process_[a-z_]+|python_info)$")
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$camera": ".*"}


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------ what the project exports
_INVENTORY = """
import json
from starreid.contracts import metrics
import starreid.app.supervise
import starreid.storage.metrics
from starreid.streams.stats import SourceStats
from starreid.tracker.worker import WorkerMetrics

WorkerMetrics("cam", "rgb")
SourceStats("cam", "rgb")
metrics.set_build_info("x")
suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("", "_sum", "_count", "_created")}
names = set()
for family in metrics.REGISTRY.collect():
    names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    names |= {sample.name for sample in family.samples}
print(json.dumps(sorted(names)))
"""


@pytest.fixture(scope="module")
def exported() -> set[str]:
    """Every series name the daemons' registries can carry (in a child process: the worker's metrics module
    loads OpenCV)."""
    out = subprocess.run([sys.executable, "-c", _INVENTORY], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return set(json.loads(out.stdout))


def declared_metric_names() -> set[str]:
    """starreid_* names passed literally to metrics.counter/gauge/histogram anywhere in the stages and the app."""
    found = set()
    for folder in ("starreid", "streams", "tracker", "reid", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"\b(?:counter|gauge|histogram)\(\s*\"(starreid_[a-z0-9_]+)\"", path.read_text()))
    return found


def test_the_inventory_holds_every_declared_metric(exported):
    declared = declared_metric_names()
    assert len(declared) > 30
    missing = {name for name in declared if name not in exported and f"{name}_bucket" not in exported}
    assert not missing, f"metrics declared in a module the inventory does not load: {missing}"
    for name in ("starreid_build_info", "starreid_daemon_ready", "process_cpu_seconds_total",
                 "process_resident_memory_bytes", "starreid_supervisor_restarts_total",
                 "starreid_gallery_redis_memory_limit_bytes", "starreid_worker_tracklets_unconfirmed"):
        assert name in exported


# ------------------------------------------------------------------ PromQL names
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Series names an expression selects (functions, aggregations, keywords and label names left out)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for match in re.finditer(r"(?<![\w.:$])[A-Za-z_:][\w:]*", s):
        if s[match.end():].lstrip().startswith("(") or match.group(0).lower() in _KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def test_metric_names_are_read_from_promql():
    expr = ('sum by (job, camera) (rate(a_total{camera=~"$camera", x="b_c"}[5m])) / on (job) group_left (x) '
            'b_ratio > 0.5 and histogram_quantile(0.95, sum by (le) (rate(c_bucket[1m]))) offset 5m or '
            'level:rec:rate1m * 1e3')
    assert metric_names(expr) == {"a_total", "b_ratio", "c_bucket", "level:rec:rate1m"}


def rule_exprs() -> dict[str, str]:
    out = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                out[rule.get("alert") or rule["record"]] = rule["expr"]
    return out


def recorded_names() -> set[str]:
    return {name for name in rule_exprs() if ":" in name}


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL with Grafana's variables replaced) for every panel target and query variable."""
    dash = json.loads(DASHBOARD.read_text())
    out = []

    def fill(expr: str) -> str:
        for var, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
        return expr

    for panel in dash["panels"]:
        for sub in [panel, *panel.get("panels", [])]:
            for target in sub.get("targets", []):
                out.append((f"panel {sub['title']!r}", fill(target["expr"])))
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            query = re.sub(r"^label_values\(\s*([^,]+),\s*\w+\s*\)$", r"\1", query.strip())  # Grafana's, not PromQL
            out.append((f"variable {var['name']!r}", fill(query)))
    return out


def check_parses(queries: list[tuple[str, str]], tmp_path: Path) -> None:
    """promtool parses each query (as the expression of a recording rule)."""
    rules = {"groups": [{"name": "parse", "rules": [{"record": f"check:query_{i}", "expr": expr}
                                                    for i, (_, expr) in enumerate(queries)]}]}
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump(rules))
    out = promtool("check", "rules", str(path))
    assert out.returncode == 0, out.stdout + out.stderr


# ------------------------------------------------------------------ rules
@needs_promtool
def test_promtool_checks_the_rules_and_the_scrape_config():
    out = promtool("check", "rules", *map(str, RULES))
    assert out.returncode == 0, out.stdout + out.stderr
    out = promtool("check", "config", str(DEPLOY / "prometheus.yml"))  # also loads the rule files it names
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("SUCCESS") >= 3


@needs_promtool
def test_promtool_rule_unit_tests_pass():
    out = promtool("test", "rules", *map(str, RULE_TESTS))
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_fires_and_resolves_in_the_unit_tests():
    alerts = {name for name in rule_exprs() if ":" not in name}
    fired, resolved = {}, {}
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                name, at = check["alertname"], check["eval_time"]
                seconds = sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in re.findall(r"(\d+)([hms])", at))
                if check.get("exp_alerts"):
                    fired[name] = min(fired.get(name, seconds), seconds)
                else:
                    resolved.setdefault(name, []).append(seconds)
    assert len(alerts) >= 15
    assert alerts <= set(fired), f"alerts no unit test fires: {alerts - set(fired)}"
    late = {a for a in alerts if not any(t > fired[a] for t in resolved.get(a, []))}
    assert not late, f"alerts no unit test sees resolved after firing: {late}"
    early = {a for a in alerts if not any(t < fired[a] for t in resolved.get(a, []))}
    assert not early, f"alerts no unit test sees quiet before firing: {early}"


def test_rules_name_only_metrics_the_project_exports(exported):
    known = exported | recorded_names()
    for name, expr in rule_exprs().items():
        unknown = {m for m in metric_names(expr) if m not in known and not STANDARD.match(m)}
        assert not unknown, f"{name} reads {unknown}, which no starreid process exports"


def test_the_scrape_config_names_the_rules_and_every_daemon():
    cfg = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert cfg["rule_files"] == ["prometheus/rules/*.yml"]
    jobs = {job["job_name"] for job in cfg["scrape_configs"]}
    assert jobs == {"starreid-supervisor", "starreid-gallery", "starreid-worker"}  # the alerts match starreid-.*


# ------------------------------------------------------------------ dashboard
@needs_promtool
def test_dashboard_queries_parse_and_name_only_exported_metrics(exported, tmp_path):
    queries = dashboard_queries()
    assert len(queries) >= 30
    check_parses(queries, tmp_path)
    known = exported | recorded_names()
    for where, expr in queries:
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        unknown = {m for m in names if m not in known and not STANDARD.match(m)}
        assert not unknown, f"{where} reads {unknown}, which no starreid process exports"


def test_dashboard_shows_what_the_issue_asks_for():
    dash = json.loads(DASHBOARD.read_text())
    exprs = " ".join(e for _, e in dashboard_queries())
    for wanted in ("frames_processed", "frames_dropped", "tracklets_emitted", "tracklets_unconfirmed",
                   "gallery_identities", "match_score_bucket", "resolution_latency_seconds_bucket",
                   "message_errors", "tracklets_rejected", "redis_memory_used_bytes", "process_cpu_seconds_total",
                   "process_resident_memory_bytes", "supervisor_restarts_total"):
        assert wanted in exprs, wanted
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


# ------------------------------------------------------------------ health endpoints, build info
def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_port_serves_health_readiness_build_info_and_process_metrics(monkeypatch):
    monkeypatch.setattr(metrics, "_ready", {})  # this process's checks only
    monkeypatch.setattr(metrics, "_build", {})
    server = metrics.serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert server.url == f"{base}/metrics"
        assert get(f"{base}/healthz") == (200, "ok\n")
        assert get(f"{base}/readyz") == (503, "not ready: starting\n")  # nothing declared ready yet
        metrics.set_ready("source", False)
        metrics.set_ready("redis", lambda: True)
        assert get(f"{base}/readyz") == (503, "not ready: source\n")
        assert "starreid_daemon_ready 0.0" in get(f"{base}/metrics")[1]
        metrics.set_ready("source", True)
        assert get(f"{base}/readyz") == (200, "ready\n")
        metrics.set_ready("redis", lambda: 1 / 0)  # a check that cannot answer says no
        assert get(f"{base}/readyz") == (503, "not ready: redis\n")
        metrics.set_ready("redis", None)
        metrics.set_build_info(starreid.__version__)
        status, body = get(f"{base}/metrics")
        assert status == 200
        assert f'starreid_build_info{{version="{starreid.__version__}"}} 1.0' in body
        assert "starreid_daemon_ready 1.0" in body
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds",
                     "python_info"):
            assert re.search(rf"^{name}(\{{.*\}})? \S+$", body, re.M), name
        assert get(f"{base}/nothing-here")[0] == 404
    finally:
        server.close()


def test_version_flag():
    out = subprocess.run([sys.executable, "-m", "starreid", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"starreid {starreid.__version__}"


# ------------------------------------------------------------------ the supervisor's counts
def sample(name: str, **labels) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, labels)


def test_supervisor_counts_restarts_exits_and_up_ness(monkeypatch):
    from starreid.app.supervise import EXIT_UNCONFIRMED, Child, Supervisor, exit_reason

    worker_src = (ROOT / "tracker" / "worker.py").read_text()
    assert f"EXIT_UNCONFIRMED = {EXIT_UNCONFIRMED}" in worker_src  # the supervisor's copy of the worker's code
    assert [exit_reason(c) for c in (0, 2, 3, 1, -9)] == ["done", "config", "unconfirmed", "error", "signal"]
    monkeypatch.setattr(metrics, "_ready", {})
    py = sys.executable
    failing = Child("worker:mon-test", [py, "-c", "import sys; sys.exit(3)"])
    steady = Child("gallery-mon-test", [py, "-c", "import time; time.sleep(60)"])
    done = Child("done-mon-test", [py, "-c", "pass"])
    sup = Supervisor([failing, steady, done], grace_s=5, backoff_s=(0.05, 0.1))
    assert sample("starreid_supervisor_restarts_total", child="worker:mon-test") == 0  # present before any event
    assert sample("starreid_supervisor_child_exits_total", child="worker:mon-test", reason="unconfirmed") == 0
    sup.start()
    metrics.set_ready("children", sup.ready)
    try:
        def restarted_twice():
            sup.poll()
            return sup.children[0].restarts >= 2 and done.finished

        wait_for(restarted_twice, timeout_s=30, step_s=0.02)
        restarts = sample("starreid_supervisor_restarts_total", child="worker:mon-test")
        assert restarts == failing.restarts >= 2
        assert sample("starreid_supervisor_child_exits_total", child="worker:mon-test", reason="unconfirmed") >= 2
        assert sample("starreid_supervisor_child_up", child="gallery-mon-test") == 1
        assert sample("starreid_supervisor_child_finished", child="done-mon-test") == 1
        assert sample("starreid_supervisor_child_exits_total", child="done-mon-test", reason="done") == 1
        assert sample("starreid_supervisor_child_finished", child="worker:mon-test") == 0
        wait_for(lambda: (sup.poll(), failing.proc is None)[1], timeout_s=10, step_s=0.005)  # between restarts
        assert not sup.ready() and metrics.readiness() == (False, ["children"])
    finally:
        sup.stop()
    assert sample("starreid_supervisor_child_up", child="gallery-mon-test") == 0
    assert sample("starreid_supervisor_child_finished", child="gallery-mon-test") == 1
    assert sample("starreid_supervisor_child_exits_total", child="gallery-mon-test", reason="signal") == 1
    assert not sup.ready()


# ------------------------------------------------------------------ quiet library logs
NOISE = re.compile(r"^[IW]\d{4} |XNNPACK|absl::InitializeLog|faiss\.loader|Loading faiss", re.M)


def short_clip(path: Path, frames: int) -> str:
    import cv2

    reader = cv2.VideoCapture(str(VTEST))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (768, 576))
    for _ in range(frames):
        writer.write(reader.read()[1])
    writer.release()
    return str(path)


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "starreid", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


@pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi missing: opencv-doc")
@pytest.mark.timeout(180)
def test_library_chatter_is_left_out_below_debug(tmp_path):
    """MediaPipe / TF Lite (annotate runs the pose model) and faiss's loader (query loads the gallery's index)
    print below-WARNING lines only with --log-level DEBUG."""
    clip = short_clip(tmp_path / "clip.avi", 10)
    config = write_deployment(tmp_path / "d.yaml", redis={"data_dir": str(tmp_path / "redis"), "port": free_port()})
    loud = cli("--log-level", "DEBUG", "annotate", clip, "--out", str(tmp_path / "a.png"), "--frame", "8")
    assert loud.returncode == 0, loud.stderr[-2000:]
    assert re.search(r"^W\d{4} .*\] ", loud.stderr, re.M) and "XNNPACK" in loud.stderr  # the noise exists
    quiet = cli("annotate", clip, "--out", str(tmp_path / "b.png"), "--frame", "8")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "wrote" in quiet.stdout
    assert not NOISE.search(quiet.stderr), quiet.stderr[-2000:]
    loud = cli("--log-level", "DEBUG", "query", "--config", config)
    assert loud.returncode == 0 and "faiss.loader" in loud.stderr, loud.stderr[-2000:]
    quiet = cli("--log-json", "query", "--config", config)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert not NOISE.search(quiet.stderr), quiet.stderr[-2000:]
    assert all(json.loads(line) for line in quiet.stderr.splitlines())  # JSON lines only, nothing native between


def test_quiet_libraries_keeps_debug_loud(monkeypatch):
    import logging

    from starreid.contracts.logs import NATIVE_NOISE, NOISY_LOGGERS, quiet_libraries

    for name in NOISY_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    quiet_libraries("DEBUG")
    assert logging.getLogger("faiss").level == logging.NOTSET
    quiet_libraries("INFO")
    assert not logging.getLogger("faiss.loader").isEnabledFor(logging.INFO)
    assert logging.getLogger("faiss.loader").isEnabledFor(logging.WARNING)
    noise = re.compile(NATIVE_NOISE)
    for line in ("W0000 00:00:1795978485.819201   20845 inference_feedback_manager.cc:114] Feedback manager",
                 "I0000 00:00:17.8   1 gl_context.cc:357] GL version",
                 "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
                 "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
                 "2024-05-01 10:00:00.123 [W:onnxruntime:, graph.cc:3593 CleanUnusedInitializersAndNodeArgs] x"):
        assert noise.search(line), line
    for line in ("E0000 00:00:1795978485.819201   20845 calculator_graph.cc:887] a real error",
                 "F0000 00:00:17.8   1 check.cc:1] Check failed",
                 "2024-05-01 10:00:00.123 [E:onnxruntime:, x.cc:1 f] a real error",
                 "2026-11-29 18:56:52,238 INFO    starreid.storage.service: gallery",
                 "Traceback (most recent call last):",
                 "[WARNING] ME(1:2,MainProcess):2024 x"):
        assert not noise.search(line), line


# ------------------------------------------------------------------ a real Prometheus on `starreid run`
class Prometheus:
    def __init__(self, tmp_path: Path, targets: dict[str, list[int]]):
        self.port = free_port()
        cfg = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
               "rule_files": [str(p) for p in RULES],
               "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{p}" for p in ports]}]}
                                  for job, ports in targets.items()]}
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        self.log = tmp_path / "prometheus.log"
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def api(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus missing: Debian's prometheus package "
                                               "(bash deploy/setup.sh --dev installs it)")
@pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi missing: opencv-doc")
@pytest.mark.timeout(300)
def test_prometheus_scrapes_every_daemon_of_starreid_run_and_loads_the_rules(tmp_path):
    ports = {"gallery_port": free_port(), "worker_port_base": free_port(), "supervisor_port": free_port()}
    config = write_deployment(
        tmp_path / "deploy.yaml", metrics=ports,
        cameras=[{"id": "cam0", "source": str(VTEST), "modality": "rgb"}],  # ~800 frames: runs through the test
        tracker={"detect_scale": 1.3, "tracklet_len": 12, "tracklet_stride": 12, "min_frames": 4,
                 "flush_timeout_s": 1.0, "spool_dir": str(tmp_path / "spool")},
        redis={"data_dir": str(tmp_path / "redis"), "port": free_port(), "key_prefix": "mon"},
        zmq={"tracklets": free_tcp(), "events": free_tcp()})  # no model: the gallery rejects crops (no_embedding)
    jobs = {"starreid-supervisor": ports["supervisor_port"], "starreid-gallery": ports["gallery_port"],
            "starreid-worker": ports["worker_port_base"]}
    log = tmp_path / "run.log"
    started = time.monotonic()
    run = subprocess.Popen([sys.executable, "-m", "starreid", "run", "--config", config], stdout=open(log, "ab"),
                           stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                           start_new_session=True)
    prom = Prometheus(tmp_path, {job: [port] for job, port in jobs.items()})
    try:
        def per_job(expr: str) -> dict[str, float]:
            return {r["metric"].get("job"): float(r["value"][1]) for r in prom.query(expr)}

        def all_up() -> bool:
            assert run.poll() is None, log.read_text()[-3000:]
            return per_job('up{job=~"starreid-.*"}') == {job: 1.0 for job in jobs}

        wait_for(all_up, timeout_s=120, step_s=0.5)
        for job, port in jobs.items():  # each daemon's own health endpoints
            assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
            wait_for(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200, timeout_s=120, step_s=0.5)
        # a series of each daemon's own, its build info, readiness and process metrics, through Prometheus
        own = {"starreid-supervisor": 'starreid_supervisor_child_up{child="worker:cam0"} == 1',
               "starreid-gallery": "starreid_gallery_redis_memory_limit_bytes > 0",
               "starreid-worker": 'starreid_worker_frames_processed_total{camera="cam0"} > 0'}
        wait_for(lambda: all(per_job(expr).get(job) for job, expr in own.items()), timeout_s=120, step_s=0.5)
        wait_for(lambda: per_job("starreid_daemon_ready") == {job: 1.0 for job in jobs}, timeout_s=60, step_s=0.5)
        for expr in (f'starreid_build_info{{version="{starreid.__version__}"}}', "process_resident_memory_bytes",
                     "rate(process_cpu_seconds_total[5s]) >= 0"):
            wait_for(lambda: set(per_job(expr)) >= set(jobs), timeout_s=30, step_s=0.5)
        assert {r["metric"]["child"] for r in prom.query("starreid_supervisor_child_up == 1")} >= {
            "redis", "gallery", "worker:cam0"}
        # the rules: loaded, and every one evaluated without an error
        def rules_ok():
            groups = prom.api("rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return len(rules) == len(rule_exprs()) and all(r["health"] == "ok" for r in rules) and groups

        groups = wait_for(rules_ok, timeout_s=60, step_s=0.5)
        assert {g["name"] for g in groups} == {g["name"] for path in RULES
                                               for g in yaml.safe_load(path.read_text())["groups"]}
        assert {r.get("name") for g in groups for r in g["rules"]} == set(rule_exprs())
        for where, expr in dashboard_queries():  # every dashboard query runs on the live data
            prom.query(expr)
        # and an alert on them: the gallery has no model, so it rejects the worker's crops (no_embedding)
        wait_for(lambda: prom.query('ALERTS{alertname="StarreidIngestRejected", alertstate="pending"}'),
                 timeout_s=120, step_s=1)
        elapsed = time.monotonic() - started
    finally:
        prom.stop()
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)
            try:
                run.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait(10)
    text = log.read_text()
    assert not NOISE.search(text), [line for line in text.splitlines() if NOISE.search(line)][:5]
    print(f"prometheus saw every daemon, the rules and a pending alert {elapsed:.1f} s after `starreid run` started")
