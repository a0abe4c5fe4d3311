"""The stored calibration reaches the daemons: the gallery matches a calibrated model's embeddings at the
thresholds learnt for it, and every verb refuses a calibration made for another model (exit 2, no start)."""
import shutil

import numpy as np
import pytest

from starreid.app.cli import main
from starreid.app.config.gallery import GalleryConfig
from starreid.app.config.model import ModelConfig
from starreid.app.embedding import calibrated_thresholds, stored_calibration
from starreid.contracts.calibration import Calibration, calibration_path
from starreid.reid.infer import model_id
from starreid.storage.resolver import Observation, Resolver
from support.deployment import write_deployment


@pytest.fixture
def model(tiny_onnx, tmp_path) -> ModelConfig:
    """The tiny model's section, its weights copied so a calibration can be stored beside them."""
    weights = tmp_path / "star.onnx"
    shutil.copy(tiny_onnx.path, weights)
    return ModelConfig(**{**tiny_onnx.model_section, "weights": str(weights)})


def pair(cosine: float, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros(dim, np.float32)
    b = np.zeros(dim, np.float32)
    a[0] = b[0] = 1.0
    b[0], b[1] = cosine, np.sqrt(1 - cosine ** 2)
    return a, b


def identities(resolver: Resolver, model: str, cosine: float) -> int:
    """How many identities two RGB sightings of the given cosine, on one camera 10 s apart, become."""
    for k, vector in enumerate(pair(cosine)):
        resolver.resolve([Observation(f"cam0:s:{k}:0", "cam0", "rgb", 10.0 * k, 10.0 * k + 2, vector, model)],
                         now=10.0 * k + 2)
    return len(resolver.identities)


def test_the_gallery_matches_at_the_thresholds_learnt_for_its_model(model):
    assert calibrated_thresholds(model) == {}  # no calibration stored: the configured thresholds
    cal = Calibration(model_id(model), {}, {"rgb_rgb": 0.3})
    cal.save(calibration_path(model.weights))
    assert stored_calibration(model).calibrated_id() == cal.calibrated_id()
    calibrated = calibrated_thresholds(model)
    assert calibrated == {cal.calibrated_id(): {"rgb_rgb": 0.3}}
    gallery = GalleryConfig(thresholds={"rgb_rgb": 0.6, "ir_ir": 0.6, "rgb_ir": 0.5})
    # cosine 0.45: apart at the configured 0.6, together at the learnt 0.3 - for the calibrated model only
    assert identities(Resolver.from_config(gallery, calibrated), cal.calibrated_id(), 0.45) == 1
    assert identities(Resolver.from_config(gallery, calibrated), model_id(model), 0.45) == 2
    assert identities(Resolver.from_config(gallery), cal.calibrated_id(), 0.45) == 2


def test_a_calibrated_embedding_crosses_the_wire(model):
    """The calibrated model id is a valid wire name: a worker's embedded tracklet reaches the gallery."""
    from starreid.contracts import wire

    cal = Calibration(model_id(model), {}, {"rgb_rgb": 0.3})
    sent = wire.Tracklet(id="cam0:s:1:0", camera="cam0", modality="rgb", track_id=1, start_ts=0.0, end_ts=1.0,
                         keypoints=np.zeros((24, 17, 3), np.float32), valid=np.ones(24, bool),
                         embedding=wire.Embedding(np.ones(16, np.float32) / 4, cal.calibrated_id()))
    got = wire.decode(wire.encode(sent))
    assert got.embedding.model_id == cal.calibrated_id()


@pytest.mark.parametrize("verb", [["gallery", "--config"], ["worker", "--camera", "cam0", "--config"],
                                  ["config", "check"]])
def test_a_calibration_made_for_another_model_is_refused(model, tmp_path, capsys, verb):
    Calibration("star-resnet50-full:0123456789ab", {}, {"rgb_rgb": 0.3}).save(calibration_path(model.weights))
    config = write_deployment(tmp_path / "c.yaml", model=model.model_dump(exclude_defaults=True),
                              cameras=[{"id": "cam0", "source": "rtsp://127.0.0.1:9/none", "modality": "rgb"}])
    code = main([*verb, config])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "model.weights" in err and "made for model star-resnet50-full:0123456789ab" in err
    assert "Traceback" not in err


def test_calibrating_again_replaces_a_calibration_made_for_other_weights(model, tmp_path):
    from starreid.app.config import load_config
    from starreid.app.config.resources import deployment_problems

    Calibration("star-resnet50-full:0123456789ab", {}, {"rgb_rgb": 0.3}).save(calibration_path(model.weights))
    config = write_deployment(tmp_path / "c.yaml", model=model.model_dump(exclude_defaults=True),
                              cameras=[{"id": "cam0", "source": "rtsp://127.0.0.1:9/none", "modality": "rgb"}])
    assert deployment_problems(load_config(config), calibration=False) == []  # what `starreid calibrate` checks
