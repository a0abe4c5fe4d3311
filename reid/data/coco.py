"""COCO-17 keypoint order shared by the dataset readers, the skeleton files and the synthetic generator."""
from __future__ import annotations

from starreid.reid.skeleton import JOINTS as COCO17_NAMES
from starreid.reid.skeleton import NUM_JOINTS

JOINT = {name: i for i, name in enumerate(COCO17_NAMES)}
