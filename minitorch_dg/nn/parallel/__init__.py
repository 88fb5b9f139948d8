"""`mt.nn.parallel`: DistributedDataParallel (data parallelism over torch.distributed; the core is ex14's)."""

from __future__ import annotations

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
