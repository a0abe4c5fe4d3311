"""Calibration from unlabelled footage: free pairs from the tracker, a centre per modality and the threshold
that separates the pairs; stored beside the model, keyed by its id."""
import numpy as np
import pytest

from starreid.app.calibrate import best_threshold, fit, free_pairs, replay
from starreid.app.config.gallery import GalleryConfig
from starreid.contracts import calibration
from starreid.contracts.wire import Embedding, Tracklet
from support.embeddings import Population


def scene(people: int = 12, windows: int = 4, seed: int = 0, offset: float = 2.5):
    """One camera: each person one track seen in `windows` consecutive 24-frame windows, a new person every 12
    frames (so about 8 are in view at once). Embeddings share a large common component, as a real model's do
    (every pair has a high raw cosine), on top of the person's centre and noise."""
    rng = np.random.default_rng(seed)
    pop = Population(people, dim=128, rank=64, decay=0.0, seed=seed)  # distinct people, as the test needs
    common = rng.standard_normal(128).astype(np.float32)
    common *= offset / np.linalg.norm(common)
    tracklets, who = [], []
    for p in range(people):
        for w in range(windows):
            start = p * 12 + w * 24  # about 8 people in view at once
            x = pop.observe(pop.centres[p:p + 1], np.zeros(1, bool), 0.45, rng)[0] + common
            t = Tracklet(id=f"cam0:s1:{p + 1}:{start}", camera="cam0", modality="rgb", track_id=p + 1,
                         start_ts=start / 10, end_ts=(start + 23) / 10, keypoints=np.zeros((1, 17, 3), np.float32),
                         valid=np.ones(1, bool), embedding=Embedding((x / np.linalg.norm(x)).astype(np.float32), "m"))
            tracklets.append(t)
            who.append(p)
    return tracklets, np.array(who)


def test_free_pairs_come_from_tracks_and_time():
    tracklets, who = scene()
    pairs = free_pairs(tracklets, min_gap_frames=24)
    assert len(pairs.positive) and len(pairs.negative)
    assert (who[pairs.positive[:, 0]] == who[pairs.positive[:, 1]]).all()  # same track: same person
    assert (who[pairs.negative[:, 0]] != who[pairs.negative[:, 1]]).all()  # seen together: two people
    assert free_pairs(tracklets, min_gap_frames=100).positive.shape[0] < len(pairs.positive)


def test_calibration_recovers_a_threshold_that_separates_the_scene():
    tracklets, who = scene()
    vectors = np.stack([t.embedding.vector for t in tracklets])
    raw = vectors @ vectors.T
    assert raw[who[:, None] != who[None, :]].min() > 0.6  # a fixed threshold of 0.6 would merge everyone
    pairs = free_pairs(tracklets, min_gap_frames=24)
    cal = fit("model:abc", vectors, ["rgb"] * len(vectors), pairs, tracklets, GalleryConfig())
    t = cal.thresholds["rgb_rgb"]
    centred = cal.centre(vectors, ["rgb"] * len(vectors))
    sims = centred @ centred.T
    same, other = who[:, None] == who[None, :], who[:, None] != who[None, :]
    np.fill_diagonal(same, False)
    # the threshold learnt from free pairs separates the scene's pairs, not only the free ones
    assert (sims[same] >= t).mean() > 0.9 and (sims[other] < t).mean() > 0.95
    # and replaying the scene through the gallery at it finds its people
    found = replay(tracklets, centred, GalleryConfig(), t)
    purity = np.mean([len({who[k] for k in range(len(who)) if found[k] == iid}) == 1 for iid in set(found)])
    assert abs(len(set(found)) - 12) <= 2 and purity == 1.0
    stats = cal.stats["pairs"]["rgb_rgb"]
    assert stats["negative_apart"] >= 0.95 and stats["positive_together"] > 0.8
    assert "ir_ir" not in cal.thresholds and "rgb_ir" not in cal.thresholds  # no data: the config's stay


def test_best_threshold_on_known_values():
    threshold, pos, neg = best_threshold(np.array([0.5, 0.6, 0.7]), np.array([0.1, 0.2, 0.55]))
    assert 0.2 < threshold <= 0.5 or 0.55 < threshold <= 0.6
    assert pos + neg == pytest.approx(5 / 3)


def test_stored_beside_the_model_and_refused_for_another(tmp_path):
    tracklets, _ = scene()
    vectors = np.stack([t.embedding.vector for t in tracklets])
    cal = fit("star-mobilenetv2-baseline:aaaa", vectors, ["rgb"] * len(vectors), free_pairs(tracklets, 24),
              tracklets, GalleryConfig())
    weights = tmp_path / "model.onnx"
    weights.write_bytes(b"x")
    cal.save(calibration.calibration_path(weights))
    back = calibration.find(str(weights), "star-mobilenetv2-baseline:aaaa")
    assert back.thresholds == cal.thresholds and back.calibrated_id() == cal.calibrated_id()
    np.testing.assert_allclose(back.centres["rgb"], cal.centres["rgb"], atol=1e-6)
    with pytest.raises(calibration.CalibrationError, match="made for model star-mobilenetv2-baseline:aaaa"):
        calibration.find(str(weights), "star-resnet18-full:bbbb")
    assert calibration.find(str(tmp_path / "other.onnx"), "x") is None
