"""wire.Tracklet -> wire.Embedding with the STAR Embedder: the one composition shared by the worker (embed at
the camera) and the gallery (embed centrally). The model is imported only here, only when configured."""
from __future__ import annotations

import numpy as np

from starreid.contracts.wire import Embedding, Tracklet, decode_crops


class TrackletEmbedder:
    """embed(tracklet) and batch(tracklets) with the Embedder of a deployment `model` section, centred by the
    model's calibration when one is stored beside its weights (calibrated=False: raw, for calibrating).
    lazy=True loads the model on the first tracklet; False loads it now (a worker must, before MediaPipe
    loads: MindSpore cannot be imported after it)."""

    def __init__(self, model, lazy: bool = False, calibrated: bool = True):
        self.model, self.calibrated = model, calibrated
        self._embedder = None
        self.calibration = None
        self.model_id = None
        if not lazy:
            self._load()

    def _load(self):
        if self._embedder is None:
            from starreid.reid.infer import Embedder

            self._embedder = Embedder.from_config(self.model)
            if self.calibrated:  # CalibrationError if the stored one was made for another model
                self.calibration = stored_calibration(self.model, self._embedder.model_id)
            self.model_id = self.calibration.calibrated_id() if self.calibration else self._embedder.model_id
        return self._embedder

    def __call__(self, tracklet: Tracklet) -> Embedding:
        return self.batch([tracklet])[0]

    def batch(self, tracklets: list[Tracklet]) -> list[Embedding]:
        """One model call for all of them (the backend batches by its own batch size)."""
        from starreid.reid.infer import frame_indices

        clips, keypoints = [], []
        for t in tracklets:
            if t.crops is None:
                raise ValueError(f"tracklet {t.id} has no crops to embed")
            # Only the frames the model samples are decoded (12 of 24 JPEGs with the defaults).
            idx = frame_indices(len(t.crops), self.model.seq_len)
            clips.append(decode_crops([t.crops[i] for i in idx]))
            keypoints.append(t.keypoints[idx])
        embedder = self._load()
        modalities = [t.modality for t in tracklets]
        vectors = embedder.embed(clips, keypoints, modalities)
        if self.calibration is not None:
            vectors = self.calibration.centre(vectors, modalities)
        return [Embedding(np.asarray(v, np.float32), self.model_id) for v in vectors]


def stored_calibration(model, model_id: str | None = None):
    """The Calibration stored beside a deployment model section's weights, checked against the model's id
    (given, or computed from the weight file); None without one. CalibrationError when it was made for
    another model or does not load."""
    from starreid.contracts import calibration

    if model_id is None:
        from starreid.reid.infer import model_id as compute_id

        model_id = compute_id(model)
    return calibration.find(model.weights, model_id)


def calibrated_thresholds(model) -> dict[str, dict[str, float]]:
    """{calibrated model id: thresholds} of the calibration stored beside the weights ({} without one): what
    the gallery's resolver needs to match this model's embeddings."""
    cal = stored_calibration(model) if model.weights else None
    return {cal.calibrated_id(): cal.thresholds} if cal else {}


def tracklet_embedder(model, lazy: bool = False) -> TrackletEmbedder:
    return TrackletEmbedder(model, lazy)
