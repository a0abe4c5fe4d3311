"""The reliability suite (`pytest -m reliability`, CI's third step): faults under `starreid run`, fuzzing, a
soak. Each scenario records a row (support.reliability.Row) through the `reliability` fixture; the table is
printed at the end of the run and, with STARREID_RELIABILITY_JSON=PATH, written there as JSON (render it into
docs/reliability.md with `cd tests && python -m support.reliability PATH --doc ../docs/reliability.md`)."""
from __future__ import annotations

import os
import platform
import time

import pytest

from support.reliability import Row, text_table, write_json

_ROWS = pytest.StashKey[list]()
_ITEM_ROWS = pytest.StashKey[list]()


@pytest.fixture
def reliability(request):
    """record(scenario=..., emitted=..., committed=..., lost=..., duplicated=..., recover_s=..., notes=...):
    adds this test's row (or rows) to the table; the row's result is the test's."""
    rows = request.node.stash.setdefault(_ITEM_ROWS, [])

    def record(scenario: str, **values) -> Row:
        row = Row(scenario=scenario, test=request.node.nodeid, **values)
        rows.append(row)
        request.config.stash.setdefault(_ROWS, []).append(row)
        return row

    return record


@pytest.fixture
def model(tiny_onnx):
    """The deployment's model section: the tiny random STAR (fast; the worker embeds each tracklet)."""
    return tiny_onnx.model_section


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    rows = item.stash.get(_ITEM_ROWS, [])
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        for row in rows:
            row.outcome = "skipped" if report.skipped else report.outcome


def pytest_terminal_summary(terminalreporter, config):
    rows = config.stash.get(_ROWS, [])
    if not rows:
        return
    terminalreporter.write_sep("=", "reliability")
    terminalreporter.write_line(text_table(rows))
    path = os.environ.get("STARREID_RELIABILITY_JSON")
    if path:
        load = os.getloadavg()
        meta = {"date": time.strftime("%Y-%m-%d"), "host": f"{os.cpu_count()} cores {platform.machine()}",
                "load avg": f"{load[0]:.1f}", "soak s": os.environ.get("STARREID_SOAK_S", "600")}
        write_json(rows, path, meta)
        terminalreporter.write_line(f"reliability table written to {path}")
