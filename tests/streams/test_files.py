"""Video files and image folders: every frame, RGB order, IR as 3 equal channels, bad input counted."""

import cv2
import numpy as np
import pytest

from support.sections import camera
from starreid.streams import SourceError, open_source
from starreid.streams.files import ImageFolderSource, VideoFileSource
from stream_frames import pattern


@pytest.fixture
def video(tmp_path):
    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(30):
        writer.write(pattern(i * 8))
    writer.release()
    return path


def test_video_file_yields_every_frame_in_rgb(video):
    source = open_source(camera(video, "cam1", "rgb"))
    assert isinstance(source, VideoFileSource)
    frames = list(source.frames())
    assert [f.index for f in frames] == list(range(30))
    first = frames[0].image
    assert first.shape == (120, 160, 3) and first.dtype == np.uint8
    assert first[60, 20, 0] > 150 and first[60, 20, 2] < 50  # red stays red: BGR was converted to RGB
    stamps = [f.timestamp for f in frames]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert stamps[-1] - stamps[0] == pytest.approx(2.9, abs=0.05)  # the file's own 10 fps clock
    assert source.stats.frames_read == 30 and source.stats.decode_errors == 0


def test_ir_frames_become_three_equal_channels(video):
    frame = next(open_source(camera(video, "ir1", "ir")).frames())
    image = frame.image
    assert image.shape == (120, 160, 3)
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])
    assert frame.modality == "ir"


def test_image_folder_skips_and_counts_corrupt_files(tmp_path, caplog):
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), pattern(i * 40))
    (tmp_path / "002.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not an image")
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")
    source = open_source(camera(str(tmp_path), "cam2", "rgb", fps=5.0))
    assert isinstance(source, ImageFolderSource)
    frames = list(source.frames())
    assert len(frames) == 4
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert source.stats.decode_errors == 1
    assert "002.png" in caplog.text


def test_unreadable_file_is_a_clear_error_and_counted(tmp_path):
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"RIFF0000AVI garbage" * 10)
    source = open_source(camera(str(bad), "cam3", "rgb"))
    with pytest.raises(SourceError, match="cam3"):
        list(source.frames())
    assert source.stats.open_errors == 1


def test_unknown_modality_rejected(video):
    with pytest.raises(ValueError, match="modality"):  # by the schema, before any source opens
        camera(video, "cam4", "thermal")


def test_damaged_frame_in_a_video_is_counted_and_skipped(video, tmp_path, caplog):
    data = bytearray(open(video, "rb").read())
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]  # JPEG frames of the MJPG file
    assert len(starts) == 30
    data[starts[10]:starts[10] + 400] = bytes(400)  # wipe frame 10's headers
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    source = open_source(camera(str(damaged), "cam5", "rgb"))
    frames = list(source.frames())
    assert len(frames) in (28, 29)  # FFmpeg may also lose the frame after the damage
    assert [f.index for f in frames] == list(range(len(frames)))
    assert source.stats.decode_errors == 1
    assert "undecodable frame" in caplog.text and "damaged.avi" in caplog.text


def test_truncated_images_are_rejected_not_used_as_frames(tmp_path, caplog):
    """OpenCV decodes a JPEG cut short into a grey-filled picture without complaint: the end marker decides."""
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"{i:03d}.jpg"), pattern(i * 40))
    whole = (tmp_path / "001.jpg").read_bytes()
    (tmp_path / "001.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    assert cv2.imread(str(tmp_path / "001.jpg")) is not None  # what reading it as a file would have accepted
    cv2.imwrite(str(tmp_path / "004.png"), pattern(7))
    png = (tmp_path / "004.png").read_bytes()
    (tmp_path / "004.png").write_bytes(png[:-20])
    source = open_source(camera(str(tmp_path), "cam6", "rgb"))
    frames = list(source.frames())
    assert len(frames) == 3 and source.stats.decode_errors == 2
    assert "001.jpg" in caplog.text and "004.png" in caplog.text


def test_a_video_cut_short_is_an_error_with_its_missing_frames_counted(video, tmp_path, caplog):
    data = open(video, "rb").read()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 3])  # the header still declares 30 frames
    source = open_source(camera(str(cut), "cam7", "rgb"))
    frames = list(source.frames())
    assert len(frames) < 15
    assert source.stats.decode_errors == 30 - len(frames)
    assert any(r.levelname == "ERROR" and "declares" in r.getMessage() for r in caplog.records)
