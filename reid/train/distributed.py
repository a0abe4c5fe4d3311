"""Data-parallel training under msrun: one process per worker, gradients averaged across workers."""
from __future__ import annotations

import os

import mindspore as ms
from mindspore import nn


def launched_by_msrun() -> bool:
    return "MS_WORKER_NUM" in os.environ and "MS_ROLE" in os.environ


def setup(device: str) -> tuple[int, int]:
    """Sets the device; under msrun joins the collective group. Returns (rank, world size)."""
    ms.set_device(device)
    if not launched_by_msrun():
        return 0, 1
    from mindspore.communication import get_group_size, get_rank, init

    init()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    return get_rank(), get_group_size()


def grad_reducer(optimizer: nn.Optimizer, world: int):
    """All-reduce mean of the gradients across workers (None when training alone)."""
    if world <= 1:
        return None
    return nn.DistributedGradReducer(optimizer.parameters, mean=True, degree=world)
