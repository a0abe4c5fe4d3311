"""wire.Tracklet -> wire.Embedding with the STAR Embedder: the one composition shared by the worker (embed at
the camera) and the gallery (embed centrally). The model is imported only here, only when configured."""
from __future__ import annotations

from typing import Callable

import numpy as np

from starreid.contracts.wire import Embedding, Tracklet, decode_crops


def tracklet_embedder(model, lazy: bool = False) -> Callable[[Tracklet], Embedding]:
    """embed(tracklet) with the Embedder of a deployment `model` section. lazy=True loads the model on the
    first tracklet; False loads it now (a worker must, before MediaPipe loads: MindSpore cannot be imported
    after it)."""
    state = {}

    def embedder():
        if "embedder" not in state:
            from starreid.reid.infer import Embedder

            state["embedder"] = Embedder.from_config(model)
        return state["embedder"]

    def embed(tracklet: Tracklet) -> Embedding:
        if tracklet.crops is None:
            raise ValueError(f"tracklet {tracklet.id} has no crops to embed")
        from starreid.reid.infer import frame_indices

        # Only the frames the model samples are decoded (12 of 24 JPEGs with the defaults).
        idx = frame_indices(len(tracklet.crops), model.seq_len)
        clips = decode_crops([tracklet.crops[i] for i in idx])[None]
        e = embedder()
        vector = e.embed(clips, tracklet.keypoints[idx][None], [tracklet.modality])[0]
        return Embedding(np.asarray(vector, np.float32), e.model_id)

    if not lazy:
        embedder()
    return embed
