"""The installed stack really works: a broken install fails here rather than in production."""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import redis


def test_numpy_is_1x():
    assert np.__version__.startswith("1."), "mindspore 2.8 needs numpy<2"


def test_mindspore_runs_a_convolution_on_cpu():
    import mindspore as ms
    from mindspore import nn

    assert ms.__version__ == "2.8.0"
    ms.set_context(device_target="CPU")
    conv = nn.Conv2d(3, 4, 3, pad_mode="same", has_bias=False, weight_init="ones")
    out = conv(ms.Tensor(np.ones((1, 3, 5, 5), np.float32))).asnumpy()
    assert out.shape == (1, 4, 5, 5) and out[0, 0, 2, 2] == pytest.approx(27.0)


def test_mediapipe_pose_solution_is_bundled():
    import mediapipe as mp

    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        result = pose.process(np.zeros((128, 64, 3), np.uint8))
    assert result.pose_landmarks is None  # a blank image has no person, but the model loaded and ran


def test_opencv_has_the_hog_people_detector():
    import cv2

    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    boxes, _ = hog.detectMultiScale(np.zeros((256, 128, 3), np.uint8))
    assert len(boxes) == 0


def test_one_cv2_distribution_installed():
    from importlib.metadata import distributions

    names = {d.metadata["Name"].lower() for d in distributions()}
    cv2_dists = sorted(n for n in names if n.startswith("opencv"))
    assert cv2_dists == ["opencv-contrib-python"], cv2_dists


def test_real_redis_server_with_streams(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    assert redis_server.host == "127.0.0.1"
    assert client.ping()
    entry = client.xadd("starreid:test", {"k": "v"})
    assert client.xlen("starreid:test") == 1
    redis_server.stop()
    redis_server.start()  # the append-only file brings the entry back
    client = redis.Redis.from_url(redis_server.url)
    assert client.xrange("starreid:test")[0][0] == entry


def test_faiss_and_onnxruntime_import():
    import faiss
    import onnxruntime

    index = faiss.IndexFlatIP(4)
    index.add(np.eye(4, dtype=np.float32))
    _, ids = index.search(np.eye(4, dtype=np.float32)[2:3], 1)
    assert ids[0, 0] == 2
    assert "CPUExecutionProvider" in onnxruntime.get_available_providers()


def test_console_script_runs():
    exe = Path(sys.executable).with_name("starreid")
    assert exe.exists(), "the starreid console script is not installed"
    top = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert top.returncode == 0 and "config" in top.stdout


def _verb_paths(parser, prefix=()):
    """Every (sub)command path of the CLI, e.g. ('config', 'check')."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,)
                yield from _verb_paths(sub, prefix + (name,))


def test_every_verb_has_help(capsys):
    from starreid.app.cli import build_parser, main

    paths = list(_verb_paths(build_parser()))
    assert ("config", "check") in paths
    for path in paths:
        with pytest.raises(SystemExit) as exit_:
            main([*path, "--help"])
        assert exit_.value.code == 0, path
        assert "usage: starreid " + " ".join(path) in capsys.readouterr().out
