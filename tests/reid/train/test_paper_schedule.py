"""configs/train/hitsz-vcm.yaml gives the paper's schedule in steps, and evaluation follows the authors' epochs."""
from pathlib import Path

import numpy as np

from starreid.app.config.loader import load_config
from starreid.reid.data import PKSampler
from starreid.reid.train.loop import evaluates_after
from starreid.reid.train.schedule import lr_per_step

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "train" / "hitsz-vcm.yaml"


def test_the_hitsz_vcm_config_gives_the_papers_schedule_in_steps():
    cfg = load_config(CONFIG, "train")
    pids = np.concatenate([np.arange(500), np.arange(3791) % 500, np.arange(500), np.arange(4960) % 500])
    mods = np.array(["ir"] * 4291 + ["rgb"] * 5460)  # HITSZ-VCM's training tracklets of >= 12 frames
    steps = len(PKSampler(pids, mods, cfg.sampler.p, cfg.sampler.k, epoch=cfg.sampler.epoch))
    assert steps == 268
    lr = np.array(lr_per_step(cfg.optim, steps))
    assert len(lr) == 34_840
    assert np.isclose(lr[2_679], 0.1) and lr[2_678] < 0.1  # warm-up ends with epoch 9
    assert np.isclose(lr[16_079], 0.1) and np.isclose(lr[16_080], 0.01)  # epoch 60
    assert np.isclose(lr[26_799], 0.01) and np.isclose(lr[26_800], 0.001)  # epoch 100
    assert cfg.optim.nesterov and cfg.augment.style_p == 1.0


def test_evaluation_after_the_authors_epochs_and_the_last():
    """The authors test when epoch % 10 == 0 (0-based); before, we tested when (epoch + 1) % 10 == 0."""
    assert [e for e in range(130) if evaluates_after(e, 10, 130)] == [*range(0, 130, 10), 129]
