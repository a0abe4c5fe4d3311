"""Tracklet windows: length, stride, padding on track end, keypoints in crop coordinates, wire round trip."""
import numpy as np
import pytest

from starreid.app.config.tracker import TrackerConfig
from starreid.contracts import wire
from starreid.streams.frame import Frame
from starreid.tracker.crops import crop_person, crop_rect, keypoints_to_crop, keypoints_to_frame
from starreid.tracker.tracklets import TrackletBuilder

H, W = 64, 32
SESSION = "s1"


def builder_of(camera: str, modality: str, length: int = 24, stride: int = 24, min_frames: int = 8,
               **settings) -> TrackletBuilder:
    settings = {"purity_split": None, **settings}  # these crops change grey level every frame on purpose
    section = TrackerConfig(tracklet_len=length, tracklet_stride=stride, min_frames=min_frames, **settings)
    return TrackletBuilder.from_config(section, camera, modality)


def frame(i: int, t: float) -> Frame:
    return Frame("c", "rgb", i, t, np.zeros((4, 4, 3), np.uint8), SESSION)


def feed(builder, track_id, frames, start=0):
    out = []
    for i in range(start, start + frames):
        crop = np.full((H, W, 3), i % 250, np.uint8)
        kps = np.zeros((17, 3), np.float32)
        kps[:, :2], kps[:, 2] = 0.5, 0.9
        t = builder.add(track_id, frame(i, 100.0 + i / 10), crop, kps)
        if t is not None:
            out.append(t)
    return out


def test_windows_of_24_with_ids_and_times():
    builder = builder_of("camA", "ir", length=24, stride=24)
    out = feed(builder, 7, 50)
    assert [t.id for t in out] == ["camA:s1:7:0", "camA:s1:7:24"]
    t = out[0]
    assert t.length == 24 and len(t.crops) == 24 and t.keypoints.shape == (24, 17, 3)
    assert t.valid.all() and t.modality == "ir" and t.track_id == 7
    assert t.start_ts == pytest.approx(100.0) and t.end_ts == pytest.approx(102.3)
    assert builder.buffered_frames == 2


def test_overlapping_and_skipping_strides():
    assert [t.id for t in feed(builder_of("c", "rgb", length=24, stride=12), 1, 60)] == \
        ["c:s1:1:0", "c:s1:1:12", "c:s1:1:24", "c:s1:1:36"]
    skipping = builder_of("c", "rgb", length=24, stride=40)
    assert [t.id for t in feed(skipping, 2, 100)] == ["c:s1:2:0", "c:s1:2:40"]


def test_skipped_frames_are_not_wanted():
    builder = builder_of("c", "rgb", length=4, stride=10, min_frames=2)
    wanted = []
    for i in range(20):
        wanted.append(builder.wants(3))
        builder.add(3, frame(i, float(i)), np.zeros((H, W, 3), np.uint8), np.zeros((17, 3), np.float32))
    assert wanted == [True] * 4 + [False] * 6 + [True] * 4 + [False] * 6


def test_track_end_pads_with_invalid_frames_or_drops_short_ones():
    builder = builder_of("c", "rgb", length=24, min_frames=8)
    feed(builder, 1, 10)
    feed(builder, 2, 5)
    (t,) = builder.end(1)
    assert t.length == 24 and t.valid.sum() == 10 and not t.valid[10:].any()
    assert np.all(t.keypoints[10:] == 0) and len(t.crops) == 24
    assert builder.end(2) == []  # too short to be worth embedding
    assert builder.tracks == 0 and builder.buffered_frames == 0


def test_tracklet_survives_the_wire():
    (t,) = feed(builder_of("cam-1", "rgb", length=24), 5, 24)
    back = wire.decode(wire.encode(t))
    assert back.id == t.id and np.array_equal(back.keypoints, t.keypoints)
    crops = wire.decode_crops(back.crops)
    assert crops.shape == (24, H, W, 3)
    assert abs(int(crops[3].mean()) - 3) <= 2  # JPEG keeps the content


def test_crop_geometry_and_keypoints():
    image = np.zeros((200, 300, 3), np.uint8)
    image[50:150, 100:150] = 255  # the "person"
    box = np.array([100, 50, 150, 150], np.float32)
    rect = crop_rect(box, 128, 64, pad=0.5)  # 75 x 150 around the box centre
    assert rect[2] / rect[3] == pytest.approx(0.5)
    crop = crop_person(image, rect, 128, 64)
    assert crop.shape == (128, 64, 3) and crop[64, 32].min() == 255 and crop[64, 2].max() == 0
    kps = np.zeros((17, 3), np.float32)
    kps[0] = (125, 50, 0.9)  # head top centre
    kps[1] = (400, 50, 0.9)  # outside the crop
    norm = keypoints_to_crop(kps, rect)
    assert norm[0] == pytest.approx([0.5, 25 / 150, 0.9], abs=1e-5)
    assert np.all(norm[1] == 0) and np.all(norm[2:] == 0)
    assert keypoints_to_frame(norm, rect)[0, :2] == pytest.approx([125, 50], abs=1e-3)


def test_pose_every_second_frame_is_interpolated_between():
    builder = builder_of("c", "rgb", length=6, stride=6, pose_every=2, min_frames=4)
    builder.min_joints = 1
    asked, out = [], None
    for i in range(6):
        asked.append(builder.wants_pose(1))
        kps = None
        if asked[-1]:
            kps = np.zeros((17, 3), np.float32)
            kps[0] = (0.1 * i, 0.5, 0.8 if i < 4 else 0.6)
            kps[3] = (0.2, 0.2, 0.9 if i != 2 else 0.0)  # missing at frame 2
        out = builder.add(1, frame(i, float(i)), np.zeros((H, W, 3), np.uint8), kps)
    assert asked == [True, False, True, False, True, True]  # the last frame is always estimated
    k = out.keypoints
    assert k[1, 0] == pytest.approx([0.1, 0.5, 0.8])  # halfway between frames 0 and 2
    assert k[3, 0] == pytest.approx([0.3, 0.5, 0.6])  # score: the smaller neighbour
    assert np.all(k[1, 3] == 0) and np.all(k[3, 3] == 0)  # missing on one side stays missing
    assert out.valid.all()


def test_interpolation_ends_copy_the_nearest_estimate():
    from starreid.tracker.tracklets import interpolate

    a = np.full((17, 3), 0.5, np.float32)
    got = interpolate([None, a, None, None])
    assert np.all(got == 0.5)
    assert np.all(interpolate([None, None]) == 0)
