"""ex14 — data-parallel training on torch.distributed (reference solution).

Every process (a *rank*, 0 ... world_size − 1) holds a full copy of the model and trains on its own
shard of each batch. After backward, the ranks average their gradients, so every copy takes the same
optimizer step and the copies stay identical: one model trained on the union of the shards.

Communication goes through `minitorch_dg.distributed` (imported here as `dist`), whose calls take
minitorch-dg tensors and pass them to torch.distributed without copying:

    dist.get_rank(), dist.get_world_size()
    dist.send(t, dst), dist.recv(t, src)           blocking point to point
    dist.isend(t, dst), dist.irecv(t, src)         non-blocking: return a request, call .wait() on it
    dist.broadcast(t, src)                         every rank's t becomes rank src's t
    dist.all_reduce(t)                             every rank's t becomes the sum over ranks

The tensors given to them must be contiguous CPU tensors; `buffer.view(-1)[a:b]` of a contiguous
buffer is one (it shares the buffer's memory, so what is received lands in the buffer).

The framework builds on this: `mt.nn.parallel.DistributedDataParallel` calls broadcast_module_state
and a GradientBucketer, `mt.utils.data.DistributedSampler` calls shard_indices.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import minitorch_dg as mt
import minitorch_dg.distributed as dist
from minitorch_dg import Tensor, nn

# ---------------------------------------------------------------------------------------------
# Part 1: ring all-reduce from point-to-point messages
# ---------------------------------------------------------------------------------------------


def chunk_bounds(numel: int, world_size: int) -> list[tuple[int, int]]:
    """Split [0, numel) into world_size consecutive chunks, as torch.tensor_split does.

    Chunk i is [start_i, end_i). With q, r = divmod(numel, world_size) the first r chunks hold q + 1
    elements and the others q (some chunks are empty when numel < world_size).
    """
    q, r = divmod(numel, world_size)
    bounds, start = [], 0
    for i in range(world_size):
        end = start + q + (1 if i < r else 0)
        bounds.append((start, end))
        start = end
    return bounds


def _exchange(outgoing: Tensor, incoming: Tensor, rank: int, world_size: int) -> None:
    """Send `outgoing` to the next rank while receiving the previous rank's chunk into `incoming`."""
    right, left = (rank + 1) % world_size, (rank - 1) % world_size
    request = dist.isend(outgoing, right) if outgoing.numel() else None
    if incoming.numel():
        dist.recv(incoming, left)
    if request is not None:
        request.wait()


def ring_all_reduce(buffer: Tensor) -> None:
    """Replace `buffer` (a contiguous CPU tensor, any shape) on every rank by its sum over all ranks.

    With p ranks, the flat buffer is cut into p chunks (chunk_bounds). Rank r only talks to its
    neighbours: it sends to (r + 1) mod p and receives from (r − 1) mod p.

        reduce-scatter, steps s = 0 ... p − 2:
            send chunk (r − s) mod p; receive chunk (r − s − 1) mod p and add it into the local chunk
            -> afterwards rank r holds the complete sum of chunk (r + 1) mod p
        all-gather, steps s = 0 ... p − 2:
            send chunk (r + 1 − s) mod p; receive chunk (r − s) mod p and overwrite the local chunk

    Each rank sends 2 (p − 1) / p of the buffer in total, whatever p is. Use a non-blocking send with a
    blocking receive (every rank sends first, so blocking sends would wait for each other forever).
    """
    world_size, rank = dist.get_world_size(), dist.get_rank()
    if world_size == 1:
        return
    flat = buffer.view(-1)
    bounds = chunk_bounds(flat.numel(), world_size)
    scratch = mt.empty(bounds[0][1] - bounds[0][0], dtype=buffer.dtype)
    with mt.no_grad():
        for step in range(world_size - 1):
            out, into = bounds[(rank - step) % world_size], bounds[(rank - step - 1) % world_size]
            incoming = scratch[: into[1] - into[0]]
            _exchange(flat[out[0]:out[1]], incoming, rank, world_size)
            if into[1] > into[0]:
                flat[into[0]:into[1]].add_(incoming)
        for step in range(world_size - 1):
            out, into = bounds[(rank + 1 - step) % world_size], bounds[(rank - step) % world_size]
            _exchange(flat[out[0]:out[1]], flat[into[0]:into[1]], rank, world_size)  # lands in place: no copy


# ---------------------------------------------------------------------------------------------
# Part 2: the core of DistributedDataParallel
# ---------------------------------------------------------------------------------------------


def broadcast_module_state(module: nn.Module, src: int = 0) -> None:
    """Give every rank rank src's model: broadcast each parameter, then each buffer (BatchNorm's running
    statistics and the like), in the order module.parameters() and module.buffers() list them."""
    with mt.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor, src)


class GradientBucketer:
    """Averages gradients over the ranks in buckets, starting while backward is still running.

    The framework calls `grad_ready(param)` from a hook the moment backward has finished `param.grad`
    (Tensor.register_post_accumulate_grad_hook). Parameters join the current bucket in that order. As
    soon as the bucket holds at least `bucket_cap_bytes` bytes of gradients, it is reduced at once:

        flat = the bucket's gradients flattened and concatenated, in the order they became ready
        all_reduce(flat)                      (sum over ranks, in place)
        flat = flat / world_size
        each param.grad = its slice of flat, in its shape

    When the last of `params` is ready, the bucket so far is reduced even if it is smaller, and the
    next backward starts over with an empty bucket. Every rank runs the same backward, so every rank
    builds the same buckets in the same order: the all_reduce calls of the ranks match one to one.

    Assign the averaged gradients as new tensors (param.grad = ...), never in place: autograd may hand
    the same gradient tensor to two parameters.
    """

    def __init__(self, params: Sequence[nn.Parameter], bucket_cap_bytes: int, world_size: int,
                 all_reduce: Callable[[Tensor], None]) -> None:
        self.params = list(params)
        self.bucket_cap_bytes = bucket_cap_bytes
        self.world_size = world_size
        self.all_reduce = all_reduce
        self.bucket: list[nn.Parameter] = []
        self.bucket_bytes = 0
        self.ready: set[int] = set()
        self.sync = True

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside the block, grad_ready does nothing: gradients accumulate locally in .grad over several
        backwards. The first backward after the block averages what has accumulated."""
        previous = self.sync
        self.sync = False
        try:
            yield
        finally:
            self.sync = previous

    def grad_ready(self, param: nn.Parameter) -> None:
        """`param.grad` is final for this backward: add it to the bucket; reduce the bucket when full or
        when every parameter is ready."""
        if not self.sync:
            return
        if id(param) in self.ready:
            raise RuntimeError("a parameter was marked ready twice in one backward")
        self.ready.add(id(param))
        self.bucket.append(param)
        self.bucket_bytes += param.numel() * param.dtype.itemsize
        if self.bucket_bytes >= self.bucket_cap_bytes or len(self.ready) == len(self.params):
            self._reduce_bucket()
        if len(self.ready) == len(self.params):
            self.ready = set()

    def _reduce_bucket(self) -> None:
        grads = [p.grad for p in self.bucket]
        flat = mt.cat([g.reshape(-1) for g in grads]).contiguous()
        self.all_reduce(flat)
        flat = flat / self.world_size
        start = 0
        for param in self.bucket:
            end = start + param.numel()
            param.grad = flat[start:end].view(param.shape)
            start = end
        self.bucket, self.bucket_bytes = [], 0


# ---------------------------------------------------------------------------------------------
# Part 3: the distributed sampler
# ---------------------------------------------------------------------------------------------


def shard_indices(order: Sequence[int], num_replicas: int, rank: int, drop_last: bool) -> list[int]:
    """The sample indices of rank `rank` for one epoch, given the epoch's order of the whole dataset.

    Every rank gets the same number of samples, num_samples:
        drop_last:      ⌊n / num_replicas⌋  and the tail of `order` beyond num_samples · num_replicas is dropped
        otherwise:      ⌈n / num_replicas⌉  and `order` is padded to num_samples · num_replicas by repeating
                        it from its start (as many times as needed)
    Rank r takes every num_replicas-th index of the padded (or cut) order, starting at position r.
    """
    n = len(order)
    indices = list(order)
    if drop_last:
        num_samples = n // num_replicas
    else:
        num_samples = -(-n // num_replicas)
    total = num_samples * num_replicas
    while len(indices) < total:
        indices += list(order)[: total - len(indices)]
    indices = indices[:total]
    return indices[rank:total:num_replicas]
