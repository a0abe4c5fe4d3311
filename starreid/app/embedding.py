"""wire.Tracklet -> wire.Embedding with the STAR Embedder: the one composition shared by the worker (embed at
the camera) and the gallery (embed centrally). The model is imported only here, only when configured."""
from __future__ import annotations

import numpy as np

from starreid.contracts.wire import Embedding, Tracklet, decode_crops


class TrackletEmbedder:
    """embed(tracklet) and batch(tracklets) with the Embedder of a deployment `model` section. lazy=True loads
    the model on the first tracklet; False loads it now (a worker must, before MediaPipe loads: MindSpore
    cannot be imported after it)."""

    def __init__(self, model, lazy: bool = False):
        self.model = model
        self._embedder = None
        if not lazy:
            self._load()

    def _load(self):
        if self._embedder is None:
            from starreid.reid.infer import Embedder

            self._embedder = Embedder.from_config(self.model)
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
        vectors = embedder.embed(clips, keypoints, [t.modality for t in tracklets])
        return [Embedding(np.asarray(v, np.float32), embedder.model_id) for v in vectors]


def tracklet_embedder(model, lazy: bool = False) -> TrackletEmbedder:
    return TrackletEmbedder(model, lazy)
