"""`DistributedDataParallel`: one replica of the model per process, gradients averaged over the processes.

    mt.distributed.init_process_group()                 # every rank (torchrun sets the environment)
    model = DistributedDataParallel(build_model())      # rank 0's parameters and buffers everywhere
    loss_fn(model(x_shard), y_shard).backward()         # gradients averaged over the ranks, by buckets
    optimizer.step()                                    # the same step on every rank

The maths is ex14's: `broadcast_module_state` at construction, and a `GradientBucketer` that a
post-accumulate-grad hook on every parameter feeds while backward runs. This wrapper adds the checks,
`no_sync()` and torch's attribute names (`module`, state dict keys prefixed with "module.").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ... import course
from ... import distributed as dist
from ...autodiff import no_grad
from ...tensor import Tensor
from ..module import Module

_ex14 = course.ExerciseProxy("ex14")


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training on the default process group.

    bucket_cap_mb   gradients are averaged in buckets of at least this many MiB (torch's default 25), each
                    sent as soon as it is full, while backward goes on
    Every parameter that requires grad must get a gradient in every backward (torch's
    find_unused_parameters is not offered).
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0, broadcast_buffers: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        if not dist.is_initialized():
            raise RuntimeError(
                "DistributedDataParallel needs the default process group: call mt.distributed.init_process_group() "
                "first (in a program started by torchrun), or build the model inside mt.distributed.spawn(fn, n)"
            )
        if bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        self.world_size = dist.get_world_size()
        self.broadcast_buffers = broadcast_buffers
        _ex14.broadcast_module_state(module, 0)
        params = [p for p in module.parameters() if p.requires_grad]
        self._params = params
        self._bucketer = _ex14.GradientBucketer(params, int(bucket_cap_mb * 1024 * 1024), self.world_size,
                                                dist.all_reduce)
        self._sync = True
        self._ready = 0
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    def _grad_ready(self, param: Tensor) -> None:
        if self._sync:  # inside no_sync() the gradient only accumulates locally
            self._ready += 1
            if self._ready == len(self._params):
                self._ready = 0
        self._bucketer.grad_ready(param)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._ready:
            missing = len(self._params) - self._ready
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one: "
                f"{missing} of {len(self._params)} parameters got no gradient in the last backward. Every "
                "parameter that requires grad must take part in the loss (or set requires_grad=False on those "
                "that do not)."
            )
        if self.broadcast_buffers and self.world_size > 1:
            with no_grad():
                for buffer in self.module.buffers():
                    dist.broadcast(buffer, 0)  # torch's rule: rank 0's buffers (running statistics) win
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside the block, backward accumulates gradients locally without communicating; the first
        backward after it averages everything accumulated (gradient accumulation over micro-batches)."""
        previous = self._sync
        self._sync = False
        try:
            with self._bucketer.no_sync():
                yield
        finally:
            self._sync = previous

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}"
