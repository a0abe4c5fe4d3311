import pytest

from starreid.reid.synth.generate import generate


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """16 synthetic identities (8 for training) in the HITSZ-VCM layout, with ground-truth skeletons."""
    root = tmp_path_factory.mktemp("synth") / "data"
    generate(root, identities=16, cameras=3, train_ids=8, min_frames=12, max_frames=16, short_fraction=0.0,
             height=64, width=32, seed=5, progress=False)
    return root
