"""wire.Tracklet -> wire.Embedding with the STAR Embedder: the one composition shared by the worker (embed at
the camera) and the gallery (embed centrally). The model is imported only here, only when configured."""
from __future__ import annotations

from typing import Callable

import numpy as np

from starreid.contracts.wire import Embedding, Tracklet, decode_crops


def tracklet_embedder(weights: str, backend: str, device: str, depth: int, variant: str, seq_len: int,
                      height: int, width: int, batch_size: int, sizes: dict | None = None,
                      lazy: bool = False) -> Callable[[Tracklet], Embedding]:
    """sizes: the architecture's other sizes (base_width, lstm_hidden, ...), which a .ckpt needs to be built.
    lazy=True loads the model on the first tracklet; False loads it now (a worker must, before MediaPipe
    loads: MindSpore cannot be imported after it)."""
    state = {}

    def model():
        if "embedder" not in state:
            from starreid.reid.infer import Embedder

            state["embedder"] = Embedder(weights, backend=backend, device=device, depth=depth, variant=variant,
                                         seq_len=seq_len, height=height, width=width, batch_size=batch_size,
                                         **(sizes or {}))
        return state["embedder"]

    def embed(tracklet: Tracklet) -> Embedding:
        if tracklet.crops is None:
            raise ValueError(f"tracklet {tracklet.id} has no crops to embed")
        from starreid.reid.infer import frame_indices

        # Only the frames the model samples are decoded (12 of 24 JPEGs with the defaults).
        idx = frame_indices(len(tracklet.crops), seq_len)
        clips = decode_crops([tracklet.crops[i] for i in idx])[None]
        embedder = model()
        vector = embedder.embed(clips, tracklet.keypoints[idx][None], [tracklet.modality])[0]
        return Embedding(np.asarray(vector, np.float32), embedder.model_id)

    if not lazy:
        model()
    return embed
