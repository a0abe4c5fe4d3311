"""One person per tracklet: a window whose look changes (the tracker slid to someone else) is cut there."""
import numpy as np
import pytest

from starreid.tracker.purity import appearance, distance, split_point
from support.crowd import crossing_scene, run


def person(shirt, trousers, rng, h=128, w=64):
    crop = rng.integers(70, 110, (h, w, 3)).astype(np.uint8)  # street behind them
    crop[10:h // 2, w // 5:w - w // 5] = shirt
    crop[h // 2:, w // 4:w - w // 4] = trousers
    noise = rng.integers(-12, 12, crop.shape)
    return np.clip(crop.astype(int) + noise, 0, 255).astype(np.uint8)


def test_a_change_of_person_is_found_where_it_happens():
    rng = np.random.default_rng(0)
    a = [appearance(person((200, 40, 40), (30, 30, 90), rng), "rgb") for _ in range(10)]
    b = [appearance(person((40, 160, 60), (150, 150, 150), rng), "rgb") for _ in range(14)]
    assert distance(a[0], a[1]) < 0.2 < distance(a[0], b[0])
    assert split_point(a + b, 4, 0.35) == 10
    assert split_point(a + a, 4, 0.35) is None  # one person throughout
    blip = a[:10] + b[:2] + a[:12]  # someone passes in front for two frames: an occlusion, not a new person
    assert split_point(blip, 4, 0.35) is None


def test_infrared_crops_use_grey_levels():
    rng = np.random.default_rng(1)
    light = [appearance(np.repeat(person((220,) * 3, (200,) * 3, rng)[..., :1], 3, axis=2), "ir") for _ in range(8)]
    dark = [appearance(np.repeat(person((40,) * 3, (60,) * 3, rng)[..., :1], 3, axis=2), "ir") for _ in range(8)]
    assert light[0].shape == (32,) and split_point(light + dark, 4, 0.35) == 8


@pytest.mark.timeout(300)
def test_crossing_crowds_give_fewer_impure_tracklets():
    """Eight people crossing on a street, four seeds: without the cut a dozen tracklets hold two people."""
    before = after = tracklets = 0
    for seed in range(4):
        truth, looks = crossing_scene(seed)
        without, with_cut = run(truth, looks, None, seed), run(truth, looks, 0.35, seed)
        before, after = before + without["impure"], after + with_cut["impure"]
        tracklets += with_cut["tracklets"]
    assert before >= 5 and after <= before // 3, (before, after)
    assert tracklets > 150
