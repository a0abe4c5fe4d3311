"""Identity resolution, index, retention and durable-log settings for the gallery."""
from typing import Literal

from pydantic import Field, model_validator

from starreid.app.config.base import Section


class ThresholdsConfig(Section):
    """Cosine similarity a tracklet needs to match an identity's exemplar, per modality pair."""
    rgb_rgb: float = Field(default=0.6, ge=-1, le=1)
    ir_ir: float = Field(default=0.6, ge=-1, le=1)
    rgb_ir: float = Field(default=0.5, ge=-1, le=1)


class IndexConfig(Section):
    """The approximate index used once a model's exemplars reach `exact_below`."""
    pca_dim: int | None = Field(default=128, ge=8, description="reduce to this many dimensions; null = keep")
    nlist: int | None = Field(default=None, ge=1, description="IVF cells; null = about sqrt(exemplars)")
    nprobe: int = Field(default=16, ge=1, description="IVF cells visited per query")
    pq_bytes: int | None = Field(default=None, ge=1, le=256, description="keep each vector in the IVF as a "
                                 "product-quantized code of this many bytes (IVF-PQ; must divide pca_dim) instead "
                                 "of pca_dim floats; null = IVF-Flat. For galleries of millions of exemplars")
    rows_dir: str | None = Field(default=None, description="keep the full vectors (float16, for re-scoring) in "
                                 "memory-mapped files in this folder instead of in memory; null = in memory")
    search_threads: int = Field(default=2, ge=1, le=256, description="faiss threads that share the search of a "
                                "batch of tracklets (and its re-scoring); everything else runs on `threads`")

    @model_validator(mode="after")
    def _pq_divides(self):
        if self.pq_bytes and self.pca_dim and self.pca_dim % self.pq_bytes:
            raise ValueError(f"pq_bytes ({self.pq_bytes}) must divide pca_dim ({self.pca_dim})")
        return self


class GalleryConfig(Section):
    thresholds: ThresholdsConfig = ThresholdsConfig()
    exemplars_per_identity: int = Field(default=8, ge=1, description="exemplars kept per identity and modality")
    novelty: float = Field(default=0.9, ge=-1, le=1,
                           description="a matched embedding less similar than this to every exemplar of its "
                                       "modality becomes a new one while there is room; else it is merged")
    candidates: int = Field(default=32, ge=1, description="nearest exemplars examined per tracklet")
    exact_below: int = Field(default=4096, ge=1, description="exact search below this many exemplars per model; "
                             "approximate (PCA + IVF, re-scored exactly) above")
    index: IndexConfig = IndexConfig()
    min_transit_s: float | None = Field(
        default=None, ge=0, description="an identity cannot appear at two cameras closer in time than this")
    retention_s: float | None = Field(default=None, gt=0, description="erase identities idle this long")
    retention_sweep_s: float = Field(default=10.0, gt=0, description="how often idle identities are looked for")
    log_retention_s: float = Field(default=3600.0, gt=0, description="processed tracklets stay in the log this long")
    events_retention_s: float = Field(default=86400.0, gt=0, description="identity events stay this long")
    dedupe_ttl_s: float = Field(default=86400.0, gt=0, description="a processed tracklet id is remembered this long")
    threads: int = Field(default=1, ge=1, le=256, description="CPU threads for faiss (OpenMP) and BLAS, but for a "
                         "batch's search in the approximate index (index.search_threads)")
    batch_size: int = Field(default=256, ge=1, le=10_000, description="log entries resolved per round trip")
    drain_timeout_s: float = Field(default=30.0, ge=0, description="on SIGTERM, time allowed to empty the log")
    max_crop_scale: float = Field(default=2.0, ge=1, le=16,
                                  description="a crop whose header declares more than this multiple of the "
                                              "model's input height or width is rejected before decoding")
    recv_budget_mb: int = Field(default=256, ge=32, description="memory for received tracklets (the ZeroMQ "
                                "queue, an ingest batch, a read batch), in MiB")
    log_crops: Literal["none", "thumbnail", "all"] = Field(
        default="thumbnail", description="crops kept in the durable log for a tracklet that arrives embedded: "
        "none; one thumbnail (identity sheets show it; ~10 KB); or all of them (~190 KB: lets the log be "
        "re-embedded centrally by another model)")
    cache_budget_mb: int = Field(default=64, ge=0, description="memory for tracklets decoded at ingest and kept "
                                 "for resolution, in MiB (0 = decode again)")
