"""A worker configured with model weights publishes tracklets with embeddings (STAR, random init, ONNX)."""
import subprocess
import sys

import numpy as np
import pytest

from starreid.contracts import wire
from starreid.tracker.tracklets import TrackletBuilder

H, W = 64, 32


EXPORT = """
import sys
import mindspore as ms
from starreid.reid.export import build_inference_net, export_model
ms.set_context(device_target="CPU")
ms.set_seed(0)
print(export_model(build_inference_net(18, "full", 12), sys.argv[1], "onnx", 1, 12, {h}, {w},
                   {{"depth": 18, "variant": "full"}}))
"""


@pytest.fixture(scope="module")
def onnx_weights(tmp_path_factory):
    # Exported in a child process: MindSpore cannot be imported into a process that already loaded MediaPipe
    # (their protobuf descriptors clash), and other tests here load MediaPipe. ONNX Runtime needs neither.
    prefix = str(tmp_path_factory.mktemp("model") / "star")
    result = subprocess.run([sys.executable, "-c", EXPORT.format(h=H, w=W), prefix], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_embedder_adapter_fills_tracklet_embeddings(onnx_weights):
    from starreid.reid.infer import Embedder
    from starreid.app.embedding import tracklet_embedder

    embed = tracklet_embedder(onnx_weights, "onnx", "CPU", 18, "full", 12, H, W, 1)
    builder = TrackletBuilder("cam0", "ir", length=24)
    rng = np.random.default_rng(0)
    tracklet = None
    for i in range(24):
        kps = rng.random((17, 3)).astype(np.float32)
        tracklet = builder.add(1, i, float(i), rng.integers(0, 255, (H, W, 3), dtype=np.uint8), kps) or tracklet
    tracklet.embedding = embed(tracklet)
    assert tracklet.embedding.model_id.startswith("star-r18-full:")
    vector = tracklet.embedding.vector
    assert vector.dtype == np.float32 and vector.ndim == 1
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    back = wire.decode(wire.encode(tracklet))
    assert np.allclose(back.embedding.vector, vector)
    # decoding only the sampled crops gives what the Embedder computes from the whole decoded tracklet
    whole = Embedder(onnx_weights, "onnx", depth=18, variant="full", seq_len=12, height=H, width=W, batch_size=1)
    reference = whole.embed(wire.decode_crops(tracklet.crops)[None], tracklet.keypoints[None], ["ir"])[0]
    np.testing.assert_allclose(vector, reference, atol=1e-6)
