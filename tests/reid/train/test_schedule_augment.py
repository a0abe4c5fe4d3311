"""The learning-rate schedule and the clip augmentation (keypoints follow the pixels)."""
import numpy as np
import pytest

from starreid.reid.train.augment import FLIP_ORDER, augment_clip, channel_erase, channel_exchange, flip, pad_crop, style
from starreid.app.config.train import AugmentConfig, OptimConfig
from starreid.reid.train.schedule import lr_per_step


def test_warmup_then_step_decay():
    lr = lr_per_step(OptimConfig(lr=0.1, epochs=6, warmup_epochs=2, milestones=[3, 5], gamma=0.1), 2)
    assert len(lr) == 12
    np.testing.assert_allclose(lr, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001],
                               rtol=1e-6)
    assert lr_per_step(OptimConfig(lr=0.1, epochs=2, warmup_epochs=0, milestones=[]), 3)[0] == pytest.approx(0.1)


def marked_clip(h=32, w=16, joint=9, x=3, y=20):
    """A black clip with one white pixel at joint `joint` (left wrist), visible in every frame."""
    frames = np.zeros((2, h, w, 3), np.uint8)
    frames[:, y, x] = 255
    keypoints = np.zeros((2, 17, 3), np.float32)
    keypoints[:, joint] = ((x + 0.5) / w, (y + 0.5) / h, 0.9)
    return frames, keypoints


def pixel_of(frames, keypoints, joint):
    h, w = frames.shape[1:3]
    x, y = keypoints[0, joint, 0] * w - 0.5, keypoints[0, joint, 1] * h - 0.5
    return int(round(y)), int(round(x))


def test_flip_mirrors_pixels_and_swaps_left_right():
    frames, keypoints = marked_clip(joint=9)
    out, kp = flip(frames, keypoints)
    assert kp[0, 9, 2] == 0 and kp[0, 10, 2] == pytest.approx(0.9)  # left wrist became the right wrist
    y, x = pixel_of(out, kp, 10)
    assert out[0, y, x, 0] == 255
    assert sorted(FLIP_ORDER) == list(range(17)) and all(FLIP_ORDER[FLIP_ORDER] == np.arange(17))


def test_pad_crop_moves_keypoints_with_pixels_and_drops_cropped_joints():
    frames, keypoints = marked_clip(joint=9)
    rng = np.random.default_rng(0)
    for _ in range(20):
        out, kp = pad_crop(frames, keypoints, pad=4, rng=rng)
        assert out.shape == frames.shape
        if kp[0, 9, 2] > 0:
            y, x = pixel_of(out, kp, 9)
            assert out[0, y, x, 0] == 255
        else:
            assert out[0].max() == 0  # the marked pixel left the crop, and the joint is missing
    edge_frames, edge_kp = marked_clip(joint=9, x=0, y=0)
    seen_missing = False
    for _ in range(30):
        _, kp = pad_crop(edge_frames, edge_kp, pad=4, rng=rng)
        seen_missing |= kp[0, 9, 2] == 0
    assert seen_missing


def test_style_and_erasing_keep_shapes_and_change_values():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 8, 4, 3), dtype=np.uint8)
    ir = style(frames, "ir", rng)
    ratio = ir.astype(float).sum() / frames.astype(float).sum()
    assert ir.shape == frames.shape and ratio != pytest.approx(1.0, abs=1e-3)
    clip = np.ones((3, 3, 32, 16), np.float32)
    erased = channel_erase(clip, rng)
    assert erased.shape == clip.shape and (erased == 0).any() and (erased == 1).any()


def test_channel_exchange_removes_colour_from_rgb_clips_only():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 8, 4, 3), dtype=np.uint8)
    for _ in range(8):
        out = channel_exchange(frames, rng)
        assert out.shape == frames.shape and out.dtype == np.uint8
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    kp = np.zeros((3, 17, 3), np.float32)
    only_exchange = AugmentConfig(pad=0, flip_p=0, erase_p=0, style_p=0, exchange_p=1.0)
    clips = [augment_clip(frames, kp, "rgb", np.random.default_rng(s), 8, 4, only_exchange)[0] for s in range(4)]
    assert all(np.allclose(c[:, 0] * 0.229 + 0.485, c[:, 1] * 0.224 + 0.456, atol=1e-5) for c in clips)
    ir = augment_clip(frames, kp, "ir", np.random.default_rng(0), 8, 4, only_exchange)[0]
    assert not np.allclose(ir[:, 0] * 0.229 + 0.485, ir[:, 1] * 0.224 + 0.456)  # infrared is left alone


def test_augment_clip_output_contract():
    frames, keypoints = marked_clip(h=40, w=20)
    clip, kp = augment_clip(frames, keypoints, "rgb", np.random.default_rng(2), 32, 16, AugmentConfig(pad=2))
    assert clip.shape == (2, 3, 32, 16) and clip.dtype == np.float32
    assert kp.shape == (2, 17, 3) and kp.dtype == np.float32
    assert (kp[..., :2] >= 0).all() and (kp[..., :2] <= 1).all()
