"""A worker configured with model weights publishes tracklets with embeddings (STAR, random init, ONNX)."""
import numpy as np
import pytest

from starreid.app.config.model import ModelConfig
from starreid.contracts import wire
from starreid.streams.frame import Frame
from starreid.tracker.tracklets import TrackletBuilder


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_embedder_adapter_fills_tracklet_embeddings(tiny_onnx):
    from starreid.app.embedding import tracklet_embedder
    from starreid.reid.infer import Embedder

    model = ModelConfig(**tiny_onnx.model_section)
    h, w = model.height, model.width
    embed = tracklet_embedder(model)
    builder = TrackletBuilder("cam0", "ir", length=24, stride=24, min_frames=8, jpeg_quality=90, pose_every=1,
                              purity_split=None)  # random crops: every frame would look like another person
    rng = np.random.default_rng(0)
    tracklet = None
    for i in range(24):
        kps = rng.random((17, 3)).astype(np.float32)
        frame = Frame("cam0", "ir", i, float(i), np.zeros((8, 8, 3), np.uint8), "s0")
        tracklet = builder.add(1, frame, rng.integers(0, 255, (h, w, 3), dtype=np.uint8), kps) or tracklet
    tracklet.embedding = embed(tracklet)
    assert tracklet.embedding.model_id.startswith("star-r18-full:")
    vector = tracklet.embedding.vector
    assert vector.dtype == np.float32 and vector.ndim == 1
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    back = wire.decode(wire.encode(tracklet))
    assert np.allclose(back.embedding.vector, vector)
    # decoding only the sampled crops gives what the Embedder computes from the whole decoded tracklet
    whole = Embedder.from_config(model)
    reference = whole.embed(wire.decode_crops(tracklet.crops)[None], tracklet.keypoints[None], ["ir"])[0]
    np.testing.assert_allclose(vector, reference, atol=1e-6)
