"""Every source honours the Source contract: Frames of its camera and modality, indices counting from 0 within
one session, RGB uint8 images, and a session that is stable for the same file and new at every live start."""
import itertools
import shutil
import threading

import cv2
import numpy as np
import pytest

from starreid.streams import Frame, Source, open_source
from starreid.streams.mjpeg_server import MjpegServer
from stream_frames import jpeg, pattern
from support.sections import camera


@pytest.fixture
def video(tmp_path):
    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(12):
        writer.write(pattern(i * 8))
    writer.release()
    return path


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "images"
    path.mkdir()
    for i in range(12):
        cv2.imwrite(str(path / f"{i:04d}.png"), pattern(i))
    return str(path)


@pytest.fixture
def live():
    server = MjpegServer(lambda: (jpeg(pattern(i)) for i in itertools.count()), port=0, fps=50).start()
    yield server.url
    server.stop()


def check_contract(source, camera_id: str, modality: str, live: bool, n: int = 8) -> list[Frame]:
    assert isinstance(source, Source) and source.live is live
    assert (source.camera, source.modality) == (camera_id, modality)
    stop = threading.Event()
    frames = []
    for frame in source.frames(stop):
        frames.append(frame)
        if len(frames) == n:
            stop.set()
    source.close()
    source.close()  # idempotent
    assert len(frames) == n
    assert [f.index for f in frames] == list(range(n))
    assert all(isinstance(f, Frame) and (f.camera, f.modality) == (camera_id, modality) for f in frames)
    assert {f.session for f in frames} == {source.session} and source.session
    for f in frames:
        assert f.image.ndim == 3 and f.image.shape[2] == 3 and f.image.dtype == np.uint8
    if modality == "ir":
        assert all(np.array_equal(f.image[..., 0], f.image[..., 2]) for f in frames)
    return frames


@pytest.mark.parametrize("modality", ["rgb", "ir"])
def test_video_file(video, modality):
    check_contract(open_source(camera(video, "v", modality)), "v", modality, live=False)


def test_image_folder(folder):
    check_contract(open_source(camera(folder, "f", "rgb")), "f", "rgb", live=False)


@pytest.mark.timeout(30)
def test_live_stream(live):
    check_contract(open_source(camera(live, "l", "rgb")), "l", "rgb", live=True)


def test_sessions_are_stable_for_content_and_new_for_live_starts(video, folder, tmp_path, live):
    again = str(tmp_path / "same.avi")
    shutil.copy(video, again)  # another path, same bytes: the same footage
    assert open_source(camera(video, "v", "rgb")).session == open_source(camera(again, "v", "rgb")).session
    other = str(tmp_path / "other.avi")
    writer = cv2.VideoWriter(other, cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    writer.write(pattern(99))
    writer.release()
    assert open_source(camera(other, "v", "rgb")).session != open_source(camera(video, "v", "rgb")).session
    assert open_source(camera(folder, "f", "rgb")).session == open_source(camera(folder, "f", "rgb")).session
    assert open_source(camera(live, "l", "rgb")).session != open_source(camera(live, "l", "rgb")).session
