"""What the ex14 tests run on every rank, and the single-process torch runs they are compared with.

The rank functions run under `mt.distributed.spawn` (forked processes in one gloo group on loopback);
they return plain numpy data. The torch references run in the test process on the concatenated batches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch._dynamo  # noqa: F401  (torch.optim's first step imports it; the grader's guard must see it first)
import torch.distributed as tdist

import minitorch_dg as mt
import minitorch_dg.distributed as dist
from minitorch_dg import course, nn
from tests.support.compare import assert_close

JOB_TIMEOUT_S = 40.0  # a whole job: start, rendezvous, the work; a hang fails the test after this


def on_simple_backend(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a rank function on the simple CPU backend: the shapes are tiny, and each forked rank would
    otherwise compile (or load) the fast backend's Numba kernels for itself, seconds per kernel."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with mt.use_backend("simple"):
            return fn(*args, **kwargs)
    return run
Case = tuple[tuple[int, ...], str]  # (shape, dtype) of one buffer


# ---------------------------------------------------------------------------------------------
# ring all-reduce
# ---------------------------------------------------------------------------------------------


def rank_values(rank: int, case: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """The buffer of `rank` in case number `case` (every rank different, reproducible in the parent)."""
    values = np.random.default_rng(1000 * case + rank).normal(size=shape)
    return values.astype(dtype)


class _Refused(RuntimeError):
    pass


def _refuse(name: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> None:
        raise _Refused(f"ring_all_reduce called the collective {name}: build it from send/recv (isend/irecv) only")
    return refused


@on_simple_backend
def ring_rank(rank: int, world_size: int, cases: Sequence[Case]) -> dict[str, Any]:
    """Run the student's ring_all_reduce and torch's all_reduce on the same buffers; count what the ring sent.

    While the ring runs, torch.distributed's collectives refuse to work and every send is logged, so the
    result must come from point-to-point messages between neighbours.
    """
    ex14 = course.load("ex14")
    collectives = ("all_reduce", "broadcast", "reduce", "all_gather", "reduce_scatter", "reduce_scatter_tensor",
                   "all_gather_into_tensor", "all_to_all", "all_to_all_single", "gather", "scatter")
    originals = {name: getattr(tdist, name) for name in collectives}
    sends: list[tuple[int, int]] = []
    real_send, real_isend = tdist.send, tdist.isend

    def logged_send(tensor: torch.Tensor, dst: int, *args: Any, **kwargs: Any) -> Any:
        sends.append((dst, tensor.numel()))
        return real_send(tensor, dst, *args, **kwargs)

    def logged_isend(tensor: torch.Tensor, dst: int, *args: Any, **kwargs: Any) -> Any:
        sends.append((dst, tensor.numel()))
        return real_isend(tensor, dst, *args, **kwargs)

    out: dict[str, Any] = {"ring": [], "expected": [], "sends": []}
    for number, (shape, dtype) in enumerate(cases):
        values = rank_values(rank, number, shape, dtype)
        buffer = mt.tensor(values, dtype=dtype)
        sends.clear()
        for name in collectives:
            setattr(tdist, name, _refuse(name))
        tdist.send, tdist.isend = logged_send, logged_isend
        try:
            ex14.ring_all_reduce(buffer)
        finally:
            for name, fn in originals.items():
                setattr(tdist, name, fn)
            tdist.send, tdist.isend = real_send, real_isend
        expected = torch.from_numpy(values.copy())
        tdist.all_reduce(expected)
        out["ring"].append(buffer.to_numpy())
        out["expected"].append(expected.numpy())
        out["sends"].append(list(sends))
    return out


# ---------------------------------------------------------------------------------------------
# gradient buckets, in one process
# ---------------------------------------------------------------------------------------------


class RecordingAllReduce:
    """Stands in for dist.all_reduce in one process: world_size ranks with the same gradients, so the sum
    is world_size times the buffer. Records every buffer it is given and when."""

    def __init__(self, world_size: int) -> None:
        self.world_size = world_size
        self.calls: list[tuple[int, np.ndarray]] = []
        self.ready_so_far = 0

    def __call__(self, flat: mt.Tensor) -> None:
        self.calls.append((self.ready_so_far, flat.to_numpy().copy()))
        flat.mul_(self.world_size)


def run_bucketer(shapes: list[tuple[int, ...]], order: list[int], cap_bytes: int, world_size: int,
                 rounds: int = 2, seed: int = 0) -> None:
    """Feed a GradientBucketer one backward per round (grads in `order`); check every all_reduce call."""
    rng = np.random.default_rng(seed)
    params = [mt.nn.Parameter(mt.tensor(rng.normal(size=s), dtype=mt.float64)) for s in shapes]
    recorder = RecordingAllReduce(world_size)
    bucketer = course.load("ex14").GradientBucketer(params, cap_bytes, world_size, recorder)
    label = f"GradientBucketer(shapes={shapes}, bucket_cap_bytes={cap_bytes}, world_size={world_size})"
    for round_ in range(rounds):
        recorder.calls.clear()
        grads = [rng.normal(size=s) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = mt.tensor(g, dtype=mt.float64)
        expected_calls, bucket, size = [], [], 0
        for k, i in enumerate(order, start=1):
            recorder.ready_so_far = k
            bucketer.grad_ready(params[i])
            bucket.append(i)
            size += 8 * int(np.prod(shapes[i]))
            if size >= cap_bytes or k == len(order):
                expected_calls.append((k, bucket))
                bucket, size = [], 0
        got = [(k, flat.size) for k, flat in recorder.calls]
        want = [(k, sum(int(np.prod(shapes[i])) for i in b)) for k, b in expected_calls]
        assert got == want, (
            f"{label}, gradients ready in the order {order} (backward {round_ + 1}): all_reduce was called "
            f"(after how many ready gradients, on how many elements) {got}; expected {want} (a bucket is reduced "
            "as soon as it holds bucket_cap_bytes, and the rest when the last gradient is ready)"
        )
        for (_, flat), (_, members) in zip(recorder.calls, expected_calls):
            assert_close(flat, np.concatenate([grads[i].ravel() for i in members]),
                         what=f"{label}: the buffer given to all_reduce (gradients {members} in the order they became ready)")
        for i, (p, g) in enumerate(zip(params, grads)):
            assert p.grad is not None and tuple(p.grad.shape) == shapes[i], f"{label}: param {i}'s grad lost its shape"
            assert_close(p.grad, g, what=f"{label}: param {i}'s averaged gradient (sum over {world_size} ranks / "
                                         f"{world_size})")


# ---------------------------------------------------------------------------------------------
# DDP
# ---------------------------------------------------------------------------------------------


def build_mlp(sizes: Sequence[int], seed: int) -> nn.Module:
    """Linear-Tanh-...-Linear in float64, initialised from `seed` (each rank passes its own)."""
    mt.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers).double()


def batches(sizes: Sequence[int], steps: int, micro: int, rows: int, world_size: int,
            seed: int) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """batches[step][micro-batch] = (x, y) of the *global* micro-batch; rank r takes rows [r·rows, (r+1)·rows)."""
    rng = np.random.default_rng(seed)
    n = rows * world_size
    return [[(rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1]))) for _ in range(micro)]
            for _ in range(steps)]


def state_of(module: nn.Module) -> dict[str, np.ndarray]:
    return {name: t.to_numpy() for name, t in module.state_dict().items()}


@on_simple_backend
def ddp_rank(rank: int, world_size: int, sizes: Sequence[int], steps: int, micro: int, rows: int,
             bucket_cap_mb: float, lr: float, momentum: float, seed: int) -> dict[str, Any]:
    """Train a DDP-wrapped MLP for `steps` SGD steps on this rank's rows of each global batch; with
    micro > 1, the first micro − 1 backwards of a step run inside no_sync()."""
    model = build_mlp(sizes, seed=seed + 1 + rank)  # every rank starts from different weights
    model.register_buffer("scale", mt.full((2,), float(rank + 1), dtype=mt.float64))
    initial = state_of(model)
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)
    after_broadcast = state_of(model)
    optimizer = mt.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    data = batches(sizes, steps, micro, rows, world_size, seed)
    for step_batches in data:
        optimizer.zero_grad()
        for j, (x, y) in enumerate(step_batches):
            xs = mt.tensor(x[rank * rows:(rank + 1) * rows], dtype=mt.float64)
            ys = mt.tensor(y[rank * rows:(rank + 1) * rows], dtype=mt.float64)
            if j < micro - 1:
                with ddp.no_sync():
                    mt.nn.functional.mse_loss(ddp(xs), ys).backward()
            else:
                mt.nn.functional.mse_loss(ddp(xs), ys).backward()
        optimizer.step()
    return {"initial": initial, "after_broadcast": after_broadcast, "final": state_of(model)}


def torch_reference(initial: dict[str, np.ndarray], sizes: Sequence[int], steps: int, micro: int, rows: int,
                    world_size: int, lr: float, momentum: float, seed: int) -> dict[str, np.ndarray]:
    """One process, torch: the same MLP from rank 0's weights, each step's gradient the mean over ranks of
    the sum over micro-batches of each rank's mean squared error (what DDP with no_sync computes)."""
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers).double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(initial[name]))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for step_batches in batches(sizes, steps, micro, rows, world_size, seed):
        optimizer.zero_grad()
        loss = torch.zeros((), dtype=torch.float64)
        for x, y in step_batches:
            for r in range(world_size):
                xs = torch.from_numpy(x[r * rows:(r + 1) * rows])
                ys = torch.from_numpy(y[r * rows:(r + 1) * rows])
                loss = loss + torch.nn.functional.mse_loss(model(xs), ys)
        (loss / world_size).backward()
        optimizer.step()
    return {name: p.detach().numpy() for name, p in model.named_parameters()}


@on_simple_backend
def broadcast_rank(rank: int, world_size: int, seed: int) -> dict[str, Any]:
    """Different weights and buffers on every rank, then the student's broadcast_module_state."""
    model = build_mlp((3, 4, 2), seed=seed + rank)
    model.register_buffer("running", mt.full((3,), float(rank + 1), dtype=mt.float64))
    model[0].register_buffer("count", mt.tensor([rank * 10 + 1], dtype=mt.int64))
    before = state_of(model)
    course.load("ex14").broadcast_module_state(model, 0)
    return {"before": before, "after": state_of(model)}
