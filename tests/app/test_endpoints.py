"""One config for every host: each ZeroMQ endpoint has a connect address (workers) and a bind address (the
gallery), the bind address following the connect address unless set; the port checks use the bind
addresses; the several-host example of docs/deployment.md is a valid config."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from starreid.app.config import ConfigError, load_config
from starreid.app.config.zmq import ZmqConfig, bind_for
from support.deployment import write_deployment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("connect, bind", [
    ("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555"),  # one machine stays on loopback
    ("tcp://localhost:5555", "tcp://127.0.0.1:5555"),  # ZeroMQ binds addresses, not names
    ("tcp://gallery.site.lan:5555", "tcp://*:5555"),  # another host: every interface of the gallery's
    ("tcp://10.0.0.5:5556", "tcp://*:5556"),
    ("tcp://127.0.0.1:*", "tcp://127.0.0.1:*"),
    ("ipc:///run/starreid/tracklets", "ipc:///run/starreid/tracklets"),
])
def test_bind_follows_connect(connect, bind):
    assert bind_for(connect) == bind
    z = ZmqConfig(tracklets=connect)
    assert (z.tracklets, z.tracklets_bind) == (connect, bind)


def test_bind_addresses_can_be_set_and_are_checked_for_clashes(tmp_path):
    z = ZmqConfig(tracklets="tcp://gallery:5555", tracklets_bind="tcp://10.0.0.5:5555")
    assert z.tracklets_bind == "tcp://10.0.0.5:5555" and z.events_bind == "tcp://127.0.0.1:5556"
    path = write_deployment(tmp_path / "c.yaml", zmq={"tracklets": "tcp://gallery:7000", "events": "tcp://gallery:7001",
                                                      "events_bind": "tcp://*:7000"})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "zmq.events_bind and zmq.tracklets both use port 7000" in str(err.value)


def test_existing_single_address_configs_keep_their_meaning():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        cfg = load_config(path)
        if cfg.kind != "deployment":
            continue
        assert cfg.zmq.tracklets_bind == bind_for(cfg.zmq.tracklets)
        assert cfg.zmq.curve is None


def test_the_several_host_example_of_the_deployment_guide_is_valid(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "deployment.md").read_text()
    example = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("cameras:"))
    path = tmp_path / "site.yaml"
    path.write_text(example)
    monkeypatch.setenv("REDIS_PASSWORD", "x")
    cfg = load_config(path)
    assert cfg.zmq.tracklets_bind == "tcp://*:5555" and cfg.zmq.events_bind == "tcp://*:5556"
    assert cfg.redis.mode == "cluster" and not cfg.redis.embedded and cfg.zmq.curve is not None
    assert cfg.tracker_for("gate-ir").detect_scale == 2.6 and cfg.tracker_for("gate-rgb").detect_scale == 1.3
