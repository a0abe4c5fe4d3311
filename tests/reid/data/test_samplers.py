import numpy as np
import pytest

from starreid.reid.data import PKSampler, sample_test_clip, sample_train_clip
from starreid.reid.data.samplers import _chunks


@pytest.mark.parametrize("n,s,expected", [
    (5, 8, [0, 1, 2, 3, 4, 4, 4, 4]),  # n < S: every frame, then the last repeated
    (8, 8, [0, 1, 2, 3, 4, 5, 6, 7]),  # n = S
    (20, 8, [0, 3, 6, 9, 12, 15, 18, 19]),  # n > S: k = 3, padded to 24, every 3rd
    (17, 8, [0, 3, 6, 9, 12, 15, 16, 16]),
    (24, 6, [0, 4, 8, 12, 16, 20]),
    (1, 4, [0, 0, 0, 0]),
])
def test_test_clip_indices(n, s, expected):
    assert sample_test_clip(n, s).tolist() == expected


@pytest.mark.parametrize("n,s", [(5, 8), (8, 8), (20, 8), (100, 6)])
def test_train_clip_takes_one_frame_per_chunk(n, s):
    rng = np.random.default_rng(0)
    chunks = _chunks(n, s)
    draws = np.stack([sample_train_clip(n, s, rng) for _ in range(200)])
    assert draws.shape == (200, s)
    for c in range(s):
        assert set(draws[:, c]) <= set(chunks[c].tolist())
    if n >= 2 * s:  # with several frames per chunk, every frame of a chunk is eventually drawn
        assert set(draws[:, 0]) == set(chunks[0].tolist())
    if n <= s:
        assert (draws == sample_test_clip(n, s)).all()
    again = np.stack([sample_train_clip(n, s, np.random.default_rng(0)) for _ in range(1)])
    assert (again[0] == draws[0]).all()


def test_clip_rejects_empty():
    with pytest.raises(ValueError):
        sample_test_clip(0, 8)


def test_pk_sampler_batches():
    pids = np.array([1, 1, 1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 6])
    mods = np.array(["ir", "rgb", "rgb", "ir", "rgb", "ir", "ir", "rgb", "ir", "ir", "rgb", "ir", "rgb"])
    sampler = PKSampler(pids, mods, p=2, k=2, seed=3, epoch="identities")
    assert len(sampler) == 2  # 5 eligible identities (4 has no RGB) -> 2 full batches
    seen = set()
    for ir, rgb in sampler:
        assert ir.shape == rgb.shape == (4,)
        assert (mods[ir] == "ir").all() and (mods[rgb] == "rgb").all()
        ir_p, rgb_p = pids[ir].reshape(2, 2), pids[rgb].reshape(2, 2)
        assert (ir_p == ir_p[:, :1]).all() and (rgb_p[:, 0] == ir_p[:, 0]).all()
        seen.update(ir_p[:, 0].tolist())
    assert 4 not in seen and len(seen) == 4
    with pytest.raises(ValueError, match="both modalities"):
        PKSampler(pids, mods, p=6, k=2)
