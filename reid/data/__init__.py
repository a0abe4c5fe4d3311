"""Dataset readers (HITSZ-VCM layout), the protocol's clip samplers, and per-frame skeleton files."""
from starreid.reid.data.coco import COCO17_NAMES, NUM_JOINTS
from starreid.reid.data.errors import DatasetError
from starreid.reid.data.samplers import PKSampler, sample_test_clip, sample_train_clip
from starreid.reid.data.vcm import MIN_LEN, TrackletRecord, VCMDataset, load_vcm

__all__ = ["COCO17_NAMES", "NUM_JOINTS", "DatasetError", "PKSampler", "sample_test_clip",
           "sample_train_clip", "MIN_LEN", "TrackletRecord", "VCMDataset", "load_vcm"]
