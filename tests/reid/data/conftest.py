import pytest

from starreid.reid.synth.generate import generate


@pytest.fixture(scope="session")
def tiny_vcm(tmp_path_factory):
    """A few identities in the HITSZ-VCM layout; many short tracklets so the length filter has work."""
    root = tmp_path_factory.mktemp("vcm") / "data"
    params = dict(identities=6, cameras=3, train_ids=3, min_frames=10, max_frames=30, short_fraction=0.3,
                  seed=11)
    generate(root, progress=False, **params)
    return root, params
