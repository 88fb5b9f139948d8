"""`mt.distributed`: torch.distributed's calls for minitorch-dg tensors, and a local launcher.

minitorch-dg trains on several processes (or machines) through torch.distributed with the gloo backend;
the tensors it communicates share memory with minitorch-dg's buffers (see comm.py). ex14 builds a ring
all-reduce and the core of DistributedDataParallel on these calls.

    mt.distributed.init_process_group()      # in a program started by torchrun
    mt.distributed.spawn(fn, world_size=2)   # or: run fn(rank, world_size) on local forked processes
"""

from __future__ import annotations

from .comm import (
    DEFAULT_TIMEOUT_S,
    all_reduce,
    as_torch,
    barrier,
    broadcast,
    destroy_process_group,
    get_rank,
    get_world_size,
    init_process_group,
    irecv,
    is_initialized,
    isend,
    recv,
    send,
)
from .launch import JobFailed, spawn

__all__ = [
    "DEFAULT_TIMEOUT_S", "JobFailed", "all_reduce", "as_torch", "barrier", "broadcast", "destroy_process_group",
    "get_rank", "get_world_size", "init_process_group", "irecv", "is_initialized", "isend", "recv", "send", "spawn",
]
