"""Communication between processes: torch.distributed's calls, taking minitorch-dg tensors.

minitorch-dg does not implement a transport: it trains on torch.distributed (the gloo backend on the
CPU). Every call here hands torch a tensor that *shares memory* with the minitorch-dg tensor
(`torch.from_numpy` on the numpy view of its storage), so a `recv` or an `all_reduce` writes straight
into the minitorch-dg buffer and nothing is copied on either side.

The tensors given to these calls must be CPU tensors whose elements are contiguous in memory (a
parameter, a gradient, `buffer.view(-1)[a:b]` of a contiguous buffer...). torch is imported on the
first call, so that `import minitorch_dg` stays light for programs that never communicate.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from ..tensor import Tensor

if TYPE_CHECKING:
    import torch

DEFAULT_TIMEOUT_S = 60.0
_REDUCE_OPS = ("sum", "product", "min", "max")


def _dist() -> Any:
    import torch.distributed as dist

    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed; install a torch wheel for Linux/macOS/Windows "
                           "from pytorch.org, which all have it")
    return dist


def _require_group(what: str) -> Any:
    dist = _dist()
    if not dist.is_initialized():
        raise RuntimeError(
            f"{what}: the default process group has not been initialized. Call "
            "mt.distributed.init_process_group() first (in a program started by torchrun), or run the function "
            "under mt.distributed.spawn(fn, world_size)."
        )
    return dist


def as_torch(tensor: Tensor, what: str = "tensor") -> torch.Tensor:
    """A torch tensor sharing `tensor`'s memory (no copy): writes through either one are seen by both."""
    import torch

    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} must be a minitorch_dg Tensor, got {type(tensor).__name__}")
    if tensor.device != "cpu":
        raise RuntimeError(f"{what} is on {tensor.device}; the gloo backend communicates CPU tensors: use .cpu()")
    if not tensor.is_contiguous():
        raise RuntimeError(
            f"{what} is not contiguous (shape {tuple(tensor.shape)}, strides {tensor.stride()}); communication "
            "needs its elements next to each other in memory: pass tensor.contiguous() and copy the result back"
        )
    array = tensor.detach().numpy()
    if not array.flags.writeable:
        raise RuntimeError(f"{what} is read-only memory and cannot be communicated in place")
    return torch.from_numpy(array)


def _reduce_op(op: str) -> Any:
    dist = _dist()
    name = str(op).lower()
    if name not in _REDUCE_OPS:
        raise ValueError(f"unknown reduce op {op!r}; use one of {', '.join(_REDUCE_OPS)}")
    return getattr(dist.ReduceOp, name.upper())


# --------------------------------------------------------------------------------------------------
# The process group
# --------------------------------------------------------------------------------------------------


def init_process_group(backend: str = "gloo", *, init_method: str | None = None, rank: int | None = None,
                       world_size: int | None = None, timeout: float = DEFAULT_TIMEOUT_S, store: Any = None) -> None:
    """Join the default process group. Under torchrun everything comes from the environment
    (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): call it without arguments.

    `timeout` (seconds) bounds every collective: a rank that waits longer for the others fails with an
    error instead of hanging.
    """
    dist = _dist()
    if dist.is_initialized():
        raise RuntimeError("the default process group is already initialized; call init_process_group once per process")
    kwargs: dict[str, Any] = {"timeout": datetime.timedelta(seconds=timeout)}
    if store is not None:
        kwargs["store"] = store
    elif init_method is not None:
        kwargs["init_method"] = init_method
    if rank is not None:
        kwargs["rank"] = rank
    if world_size is not None:
        kwargs["world_size"] = world_size
    dist.init_process_group(backend, **kwargs)


def destroy_process_group() -> None:
    """Leave the default process group (at the end of a program)."""
    dist = _dist()
    if dist.is_initialized():
        dist.destroy_process_group()


def is_initialized() -> bool:
    """True once this process has joined a process group."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's rank, 0 ... world_size − 1."""
    return int(_require_group("get_rank").get_rank())


def get_world_size() -> int:
    """How many processes the group has."""
    return int(_require_group("get_world_size").get_world_size())


# --------------------------------------------------------------------------------------------------
# Point to point
# --------------------------------------------------------------------------------------------------


def send(tensor: Tensor, dst: int) -> None:
    """Send `tensor`'s values to rank `dst` (returns once they are handed to the transport)."""
    _require_group("send").send(as_torch(tensor), dst)


def recv(tensor: Tensor, src: int) -> None:
    """Receive values from rank `src` into `tensor` (its shape and dtype must match what is sent)."""
    _require_group("recv").recv(as_torch(tensor), src)


def isend(tensor: Tensor, dst: int) -> Any:
    """Start sending `tensor` to `dst`; returns a request whose `wait()` returns when it is sent.
    Do not change `tensor` before then."""
    return _require_group("isend").isend(as_torch(tensor), dst)


def irecv(tensor: Tensor, src: int) -> Any:
    """Start receiving from `src` into `tensor`; returns a request whose `wait()` returns once the values
    are in `tensor`. Do not read `tensor` before then."""
    return _require_group("irecv").irecv(as_torch(tensor), src)


# --------------------------------------------------------------------------------------------------
# Collectives
# --------------------------------------------------------------------------------------------------


def broadcast(tensor: Tensor, src: int = 0, async_op: bool = False) -> Any:
    """Every rank's `tensor` gets rank `src`'s values (in place)."""
    return _require_group("broadcast").broadcast(as_torch(tensor), src, async_op=async_op)


def all_reduce(tensor: Tensor, op: str = "sum", async_op: bool = False) -> Any:
    """Every rank's `tensor` becomes the reduction (`sum`, `product`, `min`, `max`) over all ranks, in place.
    With async_op=True it returns a request to `wait()` on."""
    return _require_group("all_reduce").all_reduce(as_torch(tensor), _reduce_op(op), async_op=async_op)


def barrier() -> None:
    """Wait until every rank has reached this call."""
    _require_group("barrier").barrier()
