"""What the ex14 tests run in the exercise's worker, and the torch runs and checks they are compared with here.

ex14 runs in a worker process (grader/judge.py) that may import torch.distributed, its engine, and fork its
ranks (judge.TORCH_ENGINE). A test sends a *job*: `spawn_job` runs `mt.distributed.spawn` in the worker with
a rank program (forked processes in one gloo group on loopback) and the inputs the test drew here; what comes
back is data (arrays, lists of sends). Every expected value is computed here, from those same inputs: the sum
of the ranks' buffers, single-process torch training from the initial weights this side chose, the calls a
gradient bucketer must make.

Programs name only their arguments, builtins, `mt` and `ex`; numpy and torch.distributed come by
`__import__` inside them. Each rank program runs on the simple CPU backend: the shapes are tiny, and each
forked rank would otherwise compile (or load) the fast backend's Numba kernels for itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from grader import judge
from tests.support import nn_programs
from tests.support.compare import assert_close

JOB_TIMEOUT_S = 40.0  # a whole job: start, rendezvous, the work; a hang fails the test after this
Case = tuple[tuple[int, ...], str]  # (shape, dtype) of one buffer
Layers = list[tuple[Any, ...]]
mt: Any  # a program's global: the framework as the worker serves it (never bound here)
ex: Any  # a program's global: ex14's module as the worker serves it (never bound here)


def spawn_job(rank_program: Any, world_size: int, args: Sequence[Any], timeout: float) -> Any:
    """Program: `rank_program(rank, world_size, *args)` on `world_size` forked ranks; their results by rank."""
    return mt.distributed.spawn(rank_program, world_size, args=tuple(args), timeout=timeout)


def run_job(worker: Any, rank_program: Any, world_size: int, *args: Any) -> list[Any]:
    """Run one job of `rank_program` (a program of this module) in the exercise's worker."""
    return worker.run_program(spawn_job, judge.Program(rank_program), world_size, list(args), JOB_TIMEOUT_S)


# ---------------------------------------------------------------------------------------------
# ring all-reduce
# ---------------------------------------------------------------------------------------------


def rank_buffers(world_size: int, cases: Sequence[Case], seed: int = 0) -> list[list[np.ndarray]]:
    """buffers[rank][case]: every rank's buffer in every case, all different, drawn from `seed`."""
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=shape).astype(dtype) for shape, dtype in cases] for _ in range(world_size)]


def ring_sums(buffers: list[list[np.ndarray]]) -> list[np.ndarray]:
    """What all_reduce gives every rank in each case: the sum over ranks, in the buffers' dtype (torch)."""
    return [torch.stack([torch.from_numpy(b[case]) for b in buffers]).sum(0).numpy()
            for case in range(len(buffers[0]))]


def ring_rank(rank: int, world_size: int, buffers: list[list[Any]]) -> dict[str, Any]:
    """Rank program: the student's ring_all_reduce on this rank's buffers; what each call sent, and to whom.

    While the ring runs, torch.distributed's collectives refuse to work and every send is logged, so the
    result must come from point-to-point messages between neighbours.
    """
    tdist = __import__("torch.distributed", fromlist=["send"])
    collectives = ("all_reduce", "broadcast", "reduce", "all_gather", "reduce_scatter", "reduce_scatter_tensor",
                   "all_gather_into_tensor", "all_to_all", "all_to_all_single", "gather", "scatter")
    originals = {name: getattr(tdist, name) for name in collectives}
    sends: list[tuple[int, int]] = []
    real_send, real_isend = tdist.send, tdist.isend

    def refuse(name: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError(f"ring_all_reduce called the collective {name}: build it from send/recv "
                               "(isend/irecv) only")
        return refused

    def logged_send(tensor: Any, dst: int, *args: Any, **kwargs: Any) -> Any:
        sends.append((dst, tensor.numel()))
        return real_send(tensor, dst, *args, **kwargs)

    def logged_isend(tensor: Any, dst: int, *args: Any, **kwargs: Any) -> Any:
        sends.append((dst, tensor.numel()))
        return real_isend(tensor, dst, *args, **kwargs)

    out: dict[str, Any] = {"ring": [], "sends": []}
    with mt.use_backend("simple"):
        for values in buffers[rank]:
            buffer = mt.tensor(values, dtype=str(values.dtype))
            sends.clear()
            for name in collectives:
                setattr(tdist, name, refuse(name))
            tdist.send, tdist.isend = logged_send, logged_isend
            try:
                ex.ring_all_reduce(buffer)
            finally:
                for name, fn in originals.items():
                    setattr(tdist, name, fn)
                tdist.send, tdist.isend = real_send, real_isend
            out["ring"].append(buffer.to_numpy())
            out["sends"].append(list(sends))
    return out


def check_ring(worker: Any, world_size: int, cases: Sequence[Case], seed: int = 0) -> list[dict[str, Any]]:
    """Run the ring on `world_size` ranks and compare every rank's result with the sum of the buffers."""
    buffers = rank_buffers(world_size, cases, seed)
    results = run_job(worker, ring_rank, world_size, buffers)
    for rank, result in enumerate(results):
        for (shape, dtype), got, expected in zip(cases, result["ring"], ring_sums(buffers)):
            inputs = {"world_size": world_size, "rank": rank, "shape": shape, "dtype": dtype}
            assert_close(got, expected, what="ring_all_reduce(buffer)", inputs=inputs, dtype=dtype)
    return results


# ---------------------------------------------------------------------------------------------
# gradient buckets, in one process
# ---------------------------------------------------------------------------------------------


def bucketer_rounds(params: list[Any], rounds: list[list[Any]], order: list[int], cap_bytes: int,
                    world_size: int, no_sync_first: bool) -> list[dict[str, Any]]:
    """Program: a GradientBucketer over `params` whose all_reduce stands in for world_size ranks with the same
    gradients (it multiplies the buffer by world_size) and records each buffer it gets, after how many
    ready gradients. Each round sets the gradients and calls grad_ready in `order` (the first round inside
    no_sync() with `no_sync_first`); returns per round the calls and the gradients left."""
    parameters = [mt.nn.Parameter(mt.tensor(value, dtype=mt.float64)) for value in params]
    calls: list[Any] = []
    ready = [0]

    def all_reduce(flat: Any) -> None:
        calls.append([ready[0], flat.to_numpy().copy()])
        flat.mul_(world_size)

    bucketer = ex.GradientBucketer(parameters, cap_bytes, world_size, all_reduce)
    out = []
    for number, grads in enumerate(rounds):
        calls = []
        for p, g in zip(parameters, grads):
            p.grad = mt.tensor(g, dtype=mt.float64)
        quiet = no_sync_first and number == 0
        with bucketer.no_sync() if quiet else __import__("contextlib").nullcontext():
            for k, i in enumerate(order, start=1):
                ready[0] = k
                bucketer.grad_ready(parameters[i])
        out.append({"calls": calls, "grads": [None if p.grad is None else p.grad.to_numpy() for p in parameters]})
    return out


def run_bucketer(worker: Any, shapes: list[tuple[int, ...]], order: list[int], cap_bytes: int, world_size: int,
                 rounds: int = 2, seed: int = 0) -> None:
    """Feed a GradientBucketer one backward per round (grads in `order`); check every all_reduce call."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(rounds)]
    label = f"GradientBucketer(shapes={shapes}, bucket_cap_bytes={cap_bytes}, world_size={world_size})"
    expected_calls, bucket, size = [], [], 0
    for k, i in enumerate(order, start=1):
        bucket.append(i)
        size += 8 * int(np.prod(shapes[i]))
        if size >= cap_bytes or k == len(order):
            expected_calls.append((k, bucket))
            bucket, size = [], 0
    want = [(k, sum(int(np.prod(shapes[i])) for i in b)) for k, b in expected_calls]
    results = worker.run_program(bucketer_rounds, params, grads, order, cap_bytes, world_size, False)
    for round_, (result, round_grads) in enumerate(zip(results, grads)):
        got = [(int(k), int(np.asarray(flat).size)) for k, flat in result["calls"]]
        assert got == want, (
            f"{label}, gradients ready in the order {order} (backward {round_ + 1}): all_reduce was called "
            f"(after how many ready gradients, on how many elements) {got}; expected {want} (a bucket is reduced "
            "as soon as it holds bucket_cap_bytes, and the rest when the last gradient is ready)"
        )
        for (_, flat), (_, members) in zip(result["calls"], expected_calls):
            assert_close(flat, np.concatenate([round_grads[i].ravel() for i in members]),
                         what=f"{label}: the buffer given to all_reduce (gradients {members} in the order they became ready)")
        for i, (g, expected) in enumerate(zip(result["grads"], round_grads)):
            assert g is not None and tuple(np.shape(g)) == shapes[i], f"{label}: param {i}'s grad lost its shape"
            assert_close(g, expected, what=f"{label}: param {i}'s averaged gradient (sum over {world_size} ranks / "
                                           f"{world_size})")


# ---------------------------------------------------------------------------------------------
# DDP
# ---------------------------------------------------------------------------------------------


def mlp_layers(sizes: Sequence[int]) -> Layers:
    """Linear-Tanh-...-Linear as layer descriptions (tests/support/nn_programs.py's `build`)."""
    layers: Layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(("Linear", a, b))
        if i < len(sizes) - 2:
            layers.append(("Tanh",))
    return layers


def torch_mlp(sizes: Sequence[int]) -> torch.nn.Module:
    """The torch MLP of `mlp_layers(sizes)` in float64, built as the worker builds it (one Linear alone)."""
    return nn_programs.build(torch.nn, mlp_layers(sizes), "float64")


def initial_states(sizes: Sequence[int], world_size: int, seed: int) -> list[dict[str, np.ndarray]]:
    """A different state for every rank (torch's initialisation, seeded): parameters and the buffer
    `scale` = rank + 1, so that DDP's broadcast has something to do."""
    states = []
    for rank in range(world_size):
        torch.manual_seed(seed + 1 + rank)
        state = {name: value.detach().numpy().copy() for name, value in torch_mlp(sizes).state_dict().items()}
        state["scale"] = np.full((2,), float(rank + 1))
        states.append(state)
    return states


def batches(sizes: Sequence[int], steps: int, micro: int, rows: int, world_size: int,
            seed: int) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """batches[step][micro-batch] = (x, y) of the *global* micro-batch; rank r takes rows [r·rows, (r+1)·rows)."""
    rng = np.random.default_rng(seed)
    n = rows * world_size
    return [[(rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1]))) for _ in range(micro)]
            for _ in range(steps)]


def ddp_rank(rank: int, world_size: int, builder: Any, layers: Layers, states: list[dict[str, Any]],
             data: list[list[Any]], rows: int, bucket_cap_mb: float, lr: float, momentum: float) -> dict[str, Any]:
    """Rank program: this rank's MLP (`builder`, tests/support/nn_programs.py's `build`, from its own state),
    wrapped in DistributedDataParallel, trained by SGD for one step per entry of `data` on this rank's rows
    of each global batch; the first micro − 1 backwards of a step run inside no_sync()."""
    def state_of(module: Any) -> dict[str, Any]:
        return {name: t.to_numpy() for name, t in module.state_dict().items()}

    with mt.use_backend("simple"):
        model = builder(mt.nn, layers, "float64")
        state = states[rank]
        model.load_state_dict({k: mt.tensor(v, dtype=mt.float64) for k, v in state.items() if k != "scale"})
        model.register_buffer("scale", mt.tensor(state["scale"], dtype=mt.float64))
        ddp = mt.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)
        after_broadcast = state_of(model)
        optimizer = mt.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        for step_batches in data:
            optimizer.zero_grad()
            for j, (x, y) in enumerate(step_batches):
                xs = mt.tensor(x[rank * rows:(rank + 1) * rows], dtype=mt.float64)
                ys = mt.tensor(y[rank * rows:(rank + 1) * rows], dtype=mt.float64)
                if j < len(step_batches) - 1:
                    with ddp.no_sync():
                        mt.nn.functional.mse_loss(ddp(xs), ys).backward()
                else:
                    mt.nn.functional.mse_loss(ddp(xs), ys).backward()
            optimizer.step()
        return {"after_broadcast": after_broadcast, "final": state_of(model)}


def torch_reference(initial: dict[str, np.ndarray], sizes: Sequence[int], data: list[list[Any]], rows: int,
                    world_size: int, lr: float, momentum: float) -> dict[str, np.ndarray]:
    """One process, torch: the same MLP from rank 0's weights, each step's gradient the mean over ranks of
    the sum over micro-batches of each rank's mean squared error (what DDP with no_sync computes)."""
    model = torch_mlp(sizes)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(initial[name]))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for step_batches in data:
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


def check_ddp(worker: Any, sizes: Sequence[int], world_size: int, steps: int, micro: int, rows: int,
              bucket_cap_mb: float, lr: float, momentum: float, seed: int, what: str) -> None:
    """Train with DDP on `world_size` ranks in the worker and with torch in one process here; every rank's
    final parameters must equal torch's, and every rank must start from rank 0's buffers."""
    states = initial_states(sizes, world_size, seed)
    data = batches(sizes, steps, micro, rows, world_size, seed)
    results = run_job(worker, ddp_rank, world_size, nn_programs.build, mlp_layers(sizes), states, data, rows,
                      bucket_cap_mb, lr, momentum)
    expected = torch_reference(states[0], sizes, data, rows, world_size, lr, momentum)
    inputs = {"world_size": world_size, "layer sizes": tuple(sizes), "steps": steps, "micro-batches": micro,
              "bucket_cap_mb": bucket_cap_mb}
    for rank, result in enumerate(results):
        for name, value in expected.items():
            assert_close(result["final"][name], value, inputs={**inputs, "rank": rank},
                         what=f"{name} after {steps} DDP steps {what}")
        assert np.array_equal(result["after_broadcast"]["scale"], states[0]["scale"]), (
            f"rank {rank}: after DistributedDataParallel(model) its buffer 'scale' is "
            f"{result['after_broadcast']['scale']}, rank 0's is {states[0]['scale']}: DDP must start every rank "
            "from rank 0's buffers too (broadcast_module_state)"
        )


# ---------------------------------------------------------------------------------------------
# broadcast of a module's state
# ---------------------------------------------------------------------------------------------


def broadcast_rank(rank: int, world_size: int, builder: Any, layers: Layers,
                   states: list[dict[str, Any]]) -> dict[str, Any]:
    """Rank program: this rank's model and buffers (different on every rank), then the student's
    broadcast_module_state from rank 0."""
    def state_of(module: Any) -> dict[str, Any]:
        return {name: t.to_numpy() for name, t in module.state_dict().items()}

    with mt.use_backend("simple"):
        model = builder(mt.nn, layers, "float64")
        state = states[rank]
        model.load_state_dict({k: mt.tensor(v, dtype=mt.float64) for k, v in state.items()
                               if k not in ("running", "0.count")})
        model.register_buffer("running", mt.tensor(state["running"], dtype=mt.float64))
        model[0].register_buffer("count", mt.tensor(state["0.count"], dtype=mt.int64))
        ex.broadcast_module_state(model, 0)
        return state_of(model)


def broadcast_states(sizes: Sequence[int], world_size: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Every rank's state for `broadcast_rank`: parameters, a float64 buffer and an int64 one."""
    states = initial_states(sizes, world_size, seed)
    for rank, state in enumerate(states):
        del state["scale"]
        state["running"] = np.full((3,), float(rank + 1))
        state["0.count"] = np.array([rank * 10 + 1], dtype=np.int64)
    return states
