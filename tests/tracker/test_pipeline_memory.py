"""The whole per-camera pipeline on a long synthetic stream: tracklets keep coming, memory stays flat."""
import tracemalloc

import numpy as np
import pytest

from starreid.app.config.tracker import TrackerConfig
from starreid.streams.frame import Frame
from starreid.tracker.bytetrack import ByteTracker
from starreid.tracker.detection import Detection
from starreid.tracker.pipeline import CameraPipeline
from support.replay import ReplayDetector, stick_figure
from support.walkers import detections, walkers
from starreid.tracker.tracklets import TrackletBuilder


def scene(n_frames, seed=0):
    rng = np.random.default_rng(seed)
    n = n_frames // 40
    starts = [(float(rng.uniform(0, 40)), float(rng.uniform(150, 450))) for _ in range(n)]
    vel = [(float(rng.uniform(4, 8)), float(rng.uniform(-0.3, 0.3))) for _ in range(n)]
    truth = walkers(n_frames, starts, vel, first_frames=[40 * i for i in range(n)])
    return [[Detection(b, s, stick_figure(b)) for b, s in zip(*d)]
            for d in detections(truth, miss_rate=0.1, false_rate=0.1, seed=seed)]


@pytest.mark.timeout(120)
def test_long_stream_memory_is_bounded():
    frames = scene(4000)
    settings = TrackerConfig(detect_every=2)
    pipeline = CameraPipeline(ReplayDetector(frames), ByteTracker.from_config(settings),
                              TrackletBuilder.from_config(settings, "s", "rgb"), height=32, width=16, detect_every=2,
                              crop_pad=settings.crop_pad)
    image = np.zeros((576, 768, 3), np.uint8)
    emitted, peaks = 0, []
    tracemalloc.start()
    try:
        for i in range(len(frames)):
            out = pipeline.process(Frame("s", "rgb", i, i / 10, image, "s1"))
            emitted += len(out)
            for t in out:
                assert t.keypoints.shape == (24, 17, 3) and len(t.crops) == 24
                assert t.keypoints[:, :, :2].min() >= 0 and t.keypoints[:, :, :2].max() <= 1
            if i in (1000, 3999):
                peaks.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert emitted > 60  # ~100 people walked through
    assert pipeline.builder.tracks <= 20 and len(pipeline.tracker.tracks) <= 25
    assert peaks[1] - peaks[0] < 2_000_000, peaks  # 3,000 more frames, no growth beyond noise
