"""Each kind of bad configuration is one clear message and exit code 2, never a traceback or a restart loop:
duplicate keys, unset variables (all of them at once), files that do not exist or load, two listeners on one
port, a port another process holds, a camera a verb names that the config lacks."""
import socket
import subprocess
import sys

import pytest

from starreid.app.cli import main
from support.deployment import write_deployment
from support.net import free_port, free_tcp


def check(capsys, args) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return err


def test_a_key_written_twice(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("cameras: [{id: a, source: /dev/video0, modality: rgb}]\ntracker:\n  detect_scale: 1.2\n"
                    "  detect_scale: 1.3\n")
    err = check(capsys, ["config", "check", str(path)])
    assert "duplicate key 'detect_scale'" in err and "line 4" in err


def test_every_unset_variable_is_named_at_once(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("STARREID_T1", raising=False)
    monkeypatch.delenv("STARREID_T2", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text("cameras: [{id: a, source: '${STARREID_T1}', modality: rgb}]\nredis: {password: '${STARREID_T2}'}\n")
    err = check(capsys, ["config", "check", str(path)])
    assert "2 problems" in err and "STARREID_T1" in err and "STARREID_T2" in err


def test_files_that_do_not_exist_or_load(tmp_path, capsys):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    path = write_deployment(tmp_path / "c.yaml", model={"weights": str(junk)},
                            cameras=[{"id": "a", "source": str(tmp_path / "gone.avi"), "modality": "rgb"},
                                     {"id": "b", "source": str(tmp_path), "modality": "ir"}])
    err = check(capsys, ["config", "check", path])
    assert "model.weights" in err and "not an ONNX model" in err
    assert "cameras[0].source" in err and "gone.avi" in err
    assert "cameras[1].source" in err and "holds no images" in err
    assert check(capsys, ["run", "--config", path])  # checked at start too, before any child starts


def test_paths_the_os_cannot_look_up(tmp_path, capsys):
    # found by the config fuzzer: a 5,000-character source made Path.is_dir() raise "File name too long"
    path = write_deployment(tmp_path / "c.yaml", model={"weights": "w" * 5000 + ".onnx"},
                            cameras=[{"id": "a", "source": "x" * 5000, "modality": "rgb"}])
    err = check(capsys, ["config", "check", path])
    assert "cameras[0].source" in err and "model.weights" in err and "cannot be used as a path" in err
    assert "File name too long" in err


def test_two_listeners_on_one_port(tmp_path, capsys):
    port = free_port()
    path = write_deployment(tmp_path / "c.yaml", metrics={"gallery_port": port},
                            zmq={"tracklets": f"tcp://127.0.0.1:{port}", "events": free_tcp()})
    err = check(capsys, ["config", "check", path])
    assert "zmq.tracklets and metrics.gallery_port both use port" in err


@pytest.mark.timeout(60)
def test_a_port_another_process_holds(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        path = write_deployment(tmp_path / "c.yaml", metrics={"gallery_port": port},
                                redis={"url": "redis://127.0.0.1:1/0"})
        out = subprocess.run([sys.executable, "-m", "starreid", "gallery", "--config", path], capture_output=True,
                             text=True, timeout=60)
    assert out.returncode == 2 and f"127.0.0.1:{port} cannot be bound" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_camera_the_config_lacks(tmp_path, capsys):
    path = write_deployment(tmp_path / "c.yaml")
    err = check(capsys, ["worker", "--config", path, "--camera", "nope"])
    assert "no camera 'nope'" in err


DEPLOYMENT_VERBS = [["run"], ["gallery"], ["worker", "--camera", "a"], ["calibrate"], ["query", "x"]]
EXPORT = ["export", "--random-init", "--out", "m.onnx"]  # takes a training config's architecture too


@pytest.mark.parametrize("verb, example",
                         [(v, "configs/train/synthetic-cpu.yaml") for v in DEPLOYMENT_VERBS]
                         + [(v, "configs/train/heads-synthetic.yaml") for v in DEPLOYMENT_VERBS + [EXPORT]],
                         ids=lambda x: x[0] if isinstance(x, list) else x.split("/")[-1])
def test_a_config_of_another_kind(verb, example, capsys, tmp_path, monkeypatch):
    # a training or head-only config given to a deployment verb (found by the config fuzzer: a traceback)
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    path = Path(__file__).resolve().parents[2] / example
    err = check(capsys, [verb[0], "--config", str(path), *verb[1:]])
    assert "kind" in err and "expected a" in err, err
