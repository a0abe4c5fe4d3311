"""The head-only ablation config (`kind: heads`): paired clean/corrupted datasets, the frozen backbone that
caches frame vectors, STAR's head sizes, the head training recipe and the sweep (docs/ablation.md)."""
from typing import Literal

from pydantic import Field, model_validator

from starreid.app.config.base import Section

ARMS = ("baseline", "fg", "sg", "full", "skeleton", "shuffled")


class HeadsData(Section):
    clean: str = Field(description="`starreid synth --crop detector --corrupt-rate 0` output")
    corrupted: str = Field(description="the same command and seed with --corrupt-rate > 0: its misdetected frames "
                                       "replace clean ones (every other frame is byte-identical)")
    min_len: int = Field(default=12, ge=1, description="drop tracklets shorter than this (the protocol: 12)")
    threads: int = Field(default=2, ge=1, le=64, description="frame-decoding threads while caching")


class HeadsFeatures(Section):
    backbone: Literal["resnet18", "resnet34", "resnet50", "mobilenetv2"] = Field(
        default="mobilenetv2", description="the frozen backbone whose per-frame vectors are cached")
    pretrained: str | None = Field(default="imagenet", description="its weights, as model.pretrained of "
                                   "training ('imagenet', a weight file); none = random")
    base_width: int = Field(default=64, ge=4, le=256)
    last_stride: Literal[1, 2] = 2
    height: int = Field(default=128, ge=32)
    width: int = Field(default=64, ge=16)
    batch: int = Field(default=64, ge=1, description="frames per backbone call")


class HeadsModel(Section):
    adapter: int = Field(default=256, ge=8, description="width of the trainable per-frame adapter (Dense, BN, "
                         "ReLU) every arm shares: the heads' channels")
    seq_len: int = Field(default=12, ge=2, le=64)
    lstm_hidden: int = Field(default=64, ge=8)
    attn_heads: int = Field(default=4, ge=1)
    ffn_hidden: int | None = Field(default=256, ge=8)
    gat_hidden: int = Field(default=16, ge=2)
    gat_heads: int = Field(default=2, ge=1)
    gat_out: int = Field(default=12, ge=2)
    guide_hidden: int = Field(default=64, ge=4)

    @model_validator(mode="after")
    def _heads_divide(self):
        if self.adapter % self.attn_heads:
            raise ValueError(f"attn_heads ({self.attn_heads}) must divide adapter ({self.adapter})")
        return self


class HeadsTrain(Section):
    steps: int = Field(default=300, ge=1, description="optimisation steps of one run")
    p: int = Field(default=16, ge=2, description="identities per batch")
    k: int = Field(default=1, ge=1, description="tracklets per identity and modality")
    optimizer: Literal["sgd", "adam"] = Field(default="sgd", description="sgd: momentum SGD (STAR's); adam: "
                                              "Adam, whose per-parameter step sizes train heads from scratch in "
                                              "fewer steps")
    lr: float = Field(default=0.01, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1, description="sgd only")
    weight_decay: float = Field(default=5e-4, ge=0)
    warmup_steps: int = Field(default=20, ge=0)
    decay_at: float = Field(default=0.8, gt=0, le=1, description="share of the steps after which lr is x0.1")
    max_corrupted: int = Field(default=6, ge=0, description="each training clip gets m ~ U{0..max_corrupted} "
                               "corrupted frames (fewer where its tracklet has fewer)")

    @model_validator(mode="after")
    def _momentum_is_sgd(self):
        if self.optimizer == "adam" and "momentum" in self.model_fields_set:
            raise ValueError("momentum is momentum SGD's: Adam takes none (remove it, or use optimizer: sgd)")
        return self


class HeadsLoss(Section):
    """Eq 15 without SAD (style disturbance needs the backbone's feature maps)."""
    w_id: float = Field(default=1.0, ge=0)
    w_tri: float = Field(default=1.0, ge=0)
    w_kl: float = Field(default=1.0, ge=0, description="full STAR only")
    margin: float = Field(default=0.3, ge=0)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)


class HeadsSweep(Section):
    seeds: int = Field(default=20, ge=1, description="paired seeds per arm: seed s gives every arm the same "
                       "batches, clips and adapter initialisation")
    m: list[int] = Field(default=[0, 2, 4, 6], min_length=1, description="corrupted frames per test clip")
    skeletons: list[Literal["gt", "estimated", "mediapipe"]] = Field(
        default=["gt", "estimated"], min_length=1, description="skeleton files (of both datasets) per cell")
    arms: list[Literal["baseline", "fg", "sg", "full", "skeleton", "shuffled"]] = Field(
        default=list(ARMS), min_length=1)
    bootstrap: int = Field(default=10000, ge=100, description="bootstrap resamples of the seeds for the 95% "
                           "intervals")
    eval_batch: int = Field(default=128, ge=1)

    @model_validator(mode="after")
    def _baseline_and_m(self):
        if "baseline" not in self.arms:
            raise ValueError("arms must include baseline: every difference is against it")
        if any(m < 0 for m in self.m):
            raise ValueError("m counts frames: it cannot be negative")
        return self


class HeadsConfig(Section):
    kind: Literal["heads"]
    out_dir: str = Field(description="results.jsonl, tables and plots go here")
    cache_dir: str | None = Field(default=None, description="the frame-vector cache (shared by configs that "
                                  "differ only in what they sweep); none = OUT_DIR/cache")
    seed: int = Field(default=0, description="which corrupted frames each test clip takes")
    device: Literal["CPU", "GPU", "Ascend"] = "CPU"
    data: HeadsData
    features: HeadsFeatures = HeadsFeatures()
    model: HeadsModel = HeadsModel()
    train: HeadsTrain = HeadsTrain()
    loss: HeadsLoss = HeadsLoss()
    sweep: HeadsSweep = HeadsSweep()

    @model_validator(mode="after")
    def _m_fits(self):
        if max(self.sweep.m) > self.model.seq_len:
            raise ValueError(f"sweep.m ({max(self.sweep.m)}) exceeds model.seq_len ({self.model.seq_len})")
        return self
