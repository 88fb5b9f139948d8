"""ex07's tests run its CUDA kernels in the exercise's worker (grader/judge.py, `run_program`); these are the
programs, and `Cuda` and `LaunchLog`, which the tests call in the judge.

The worker runs the kernels under the strict simulator schedule (grader/cuda_schedule.py; the judge starts
it with `--cuda-schedule`): threads of a block one at a time, shared memory NaN before every block, a barrier
that only some threads reach an error, every launch logged. Torch and every expected value stay in the
judge; what comes back is data: an op's values, dtype, device and shape (`Got`), and the launch log as
lists of kernel name, grid, block and a number per compiled kernel function (`LaunchLog`).

    cuda = Cuda(judge.exercise("ex07"))
    got = cuda.map("exp", values)                          # K.map("exp", x) on a cuda tensor of values
    got = cuda.zip("add", a, b, layouts=[(1, 0), None])    # a made from its transposed copy: a strided view
    got = cuda.run(lambda K, x: x[1:, ::2].exp(), values)  # any expression, K being minitorch_dg.kernels
    got.values, got.dtype, got.device, got.shape

A function given to `run` travels as code: it may name only its arguments, builtins and math (what it needs
comes as `params`). Its tensors are cuda tensors made from the arrays (float64, float32, int64 or bool, as
the array's dtype), each optionally through a `layout`, a permutation, as in tensor_oracle.check_op: the
tensor is made from the permuted copy and permuted back, so it has the array's values and strides that are
not contiguous. The `*_kernel` methods launch one of the exercise's kernels directly with a grid and block
of the test's choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.cuda_schedule import Launch

Layout = Sequence[int] | None


@dataclass(frozen=True)
class Got:
    """What a cuda op gave in the worker: its values (as numpy), dtype name, device and shape."""

    values: np.ndarray
    dtype: str
    device: str
    shape: tuple[int, ...]


class Cuda:
    """Runs minitorch-dg's cuda ops and ex07's kernels in the exercise's worker; see the module docstring."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker

    def run(self, fn: Callable[..., Any], *arrays: np.ndarray, layouts: Sequence[Layout] | None = None,
            params: Sequence[Any] = (), what: str = "the cuda op") -> Got:
        """fn(K, *cuda tensors of `arrays`, *params) in the worker; it must return a Tensor."""
        layouts = list(layouts) if layouts is not None else [None] * len(arrays)
        assert len(layouts) == len(arrays), "one layout per array"
        result = self.worker.run_program(evaluate, fn, [np.asarray(a) for a in arrays],
                                         [None if lay is None else list(lay) for lay in layouts], list(params))
        assert result.get("type") == "Tensor", f"{what} returned a {result.get('type')}, not a Tensor"
        return Got(result["values"], result["dtype"], result["device"], tuple(result["shape"]))

    def map(self, op: str, x: np.ndarray, layout: Layout = None) -> Got:
        """K.map(op, x)."""
        return self.run(_map, x, layouts=[layout], params=[op], what=f"K.map({op!r})")

    def zip(self, op: str, a: np.ndarray, b: np.ndarray, layouts: Sequence[Layout] | None = None) -> Got:
        """K.zip(op, a, b)."""
        return self.run(_zip, a, b, layouts=layouts, params=[op], what=f"K.zip({op!r})")

    def reduce(self, op: str, x: np.ndarray, dim: int, layout: Layout = None) -> Got:
        """K.reduce(op, x, dim)."""
        return self.run(_reduce, x, layouts=[layout], params=[op, dim], what=f"K.reduce({op!r})")

    def matmul(self, a: np.ndarray, b: np.ndarray, layouts: Sequence[Layout] | None = None) -> Got:
        """K.matmul(a, b)."""
        return self.run(_matmul, a, b, layouts=layouts, what="K.matmul")

    def constants(self, *names: str) -> tuple[Any, ...]:
        """The exercise's module-level constants (TILE, WORK, ...), as numbers."""
        return tuple(self.worker.run_program(exercise_constants, list(names)))

    def map_kernel(self, grid: Any, block: Any, op: str, x: np.ndarray) -> np.ndarray:
        """ex.map_kernel[grid, block] with op's code, from a cuda tensor of x into a zero tensor of its shape."""
        return self.worker.run_program(launch_map_kernel, grid, block, op, np.asarray(x))

    def map_contiguous_kernel(self, grid: Any, block: Any, op: str, x: np.ndarray) -> np.ndarray:
        """ex.map_contiguous_kernel[grid, block] with op's code over all of x's elements."""
        return self.worker.run_program(launch_contiguous_kernel, grid, block, op, [np.asarray(x)])

    def zip_contiguous_kernel(self, grid: Any, block: Any, op: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """ex.zip_contiguous_kernel[grid, block] with op's code over all of x's and y's elements."""
        return self.worker.run_program(launch_contiguous_kernel, grid, block, op, [np.asarray(x), np.asarray(y)])

    def reduce_kernel(self, grid: Any, block: Any, op: str, x: np.ndarray, dim: int) -> np.ndarray:
        """ex.reduce_kernel[grid, block] with op's code over dim of x, into a zero tensor (dim of size 1)."""
        return self.worker.run_program(launch_reduce_kernel, grid, block, op, np.asarray(x), dim)

    def matmul_kernel(self, grid: Any, block: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """ex.matmul_kernel[grid, block] over the batches of a and b (3-D, the same batch size)."""
        return self.worker.run_program(launch_matmul_kernel, grid, block, np.asarray(a), np.asarray(b))


class LaunchLog:
    """The kernel launches the worker's schedule logged since this object was made (the `schedule` fixture
    makes one per test): `launches` asks the worker each time it is read, as the log of serial_schedule()
    was read in-process. A launch's `function` is the number of its compiled kernel function in the worker
    (the same number for the same function)."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.first = worker.run_program(launch_count)

    @property
    def launches(self) -> list[Launch]:
        records = self.worker.run_program(launches_since, self.first)
        return [Launch(str(name), tuple(grid), tuple(block), function) for name, grid, block, function in records]


# -- small functions sent to `evaluate` (builtins and their arguments only) ---------------------------------


def _map(K: Any, x: Any, op: str) -> Any:
    return K.map(op, x)


def _zip(K: Any, a: Any, b: Any, op: str) -> Any:
    return K.zip(op, a, b)


def _reduce(K: Any, x: Any, op: str, dim: int) -> Any:
    return K.reduce(op, x, dim)


def _matmul(K: Any, a: Any, b: Any) -> Any:
    return K.matmul(a, b)


# -- programs: they run in the worker (names: mt, ex, math, builtins) ---------------------------------------


def evaluate(fn: Any, arrays: list[Any], layouts: list[Any], params: list[Any]) -> Any:
    """fn(K, *tensors, *params) with cuda tensors made from `arrays` (through `layouts`); the result as data."""
    from minitorch_dg import kernels as K

    tensors = []
    for array, layout in zip(arrays, layouts):
        kind = array.dtype.kind
        dtype = "bool" if kind == "b" else "int64" if kind in "iu" else str(array.dtype)
        if layout is None or array.ndim < 2:
            tensors.append(mt.tensor(array, dtype=dtype, device="cuda"))  # type: ignore[name-defined]  # noqa: F821
            continue
        back = [0] * len(layout)
        for i, d in enumerate(layout):
            back[d] = i
        stored = mt.tensor(array.transpose(layout).copy(), dtype=dtype, device="cuda")  # type: ignore[name-defined]  # noqa: F821
        tensors.append(stored.permute(*back))
    result = fn(K, *tensors, *params)
    if not isinstance(result, mt.Tensor):  # type: ignore[name-defined]  # noqa: F821
        return {"type": type(result).__name__}
    return {"type": "Tensor", "values": result.to_numpy(), "dtype": result.dtype.name, "device": str(result.device),
            "shape": tuple(result.shape)}


def exercise_constants(names: list[str]) -> Any:
    """The values of the exercise module's `names`."""
    return [getattr(ex, name) for name in names]  # type: ignore[name-defined]  # noqa: F821


def launch_count() -> int:
    """How many launches the worker's schedule has logged so far."""
    schedule = __import__("grader.cuda_schedule", fromlist=["active_log"])
    log = schedule.active_log()
    if log is None:
        raise RuntimeError("the exercise process runs no cuda schedule (the judge starts ex07's with "
                           "--cuda-schedule)")
    return len(log.launches)


def launches_since(first: int) -> Any:
    """The launches logged from number `first` on, as data ([kernel, grid, block, function number] each)."""
    log = __import__("grader.cuda_schedule", fromlist=["active_log"]).active_log()
    return [] if log is None else log.records(first)


def launch_map_kernel(grid: Any, block: Any, op: str, values: Any) -> Any:
    """ex.map_kernel[grid, block](UNARY_CODES[op], out..., x...) with x a cuda tensor of values, out zeros."""
    from minitorch_dg import backends
    from minitorch_dg import kernels as K

    x = mt.tensor(values, dtype="float64", device="cuda")  # type: ignore[name-defined]  # noqa: F821
    out = K.zeros(tuple(x.shape), x.dtype, "cuda")
    view = backends.for_device("cuda").view
    vo, vx = view(out._data), view(x._data)
    ex.map_kernel[grid, block](ex.UNARY_CODES[op], vo.storage, vo.device_shape,  # type: ignore[name-defined]  # noqa: F821
                               vo.device_strides, vo.size, vx.storage, vx.device_shape, vx.device_strides)
    return out.to_numpy()


def launch_contiguous_kernel(grid: Any, block: Any, op: str, arrays: list[Any]) -> Any:
    """ex.map_contiguous_kernel (one array: UNARY_CODES) or ex.zip_contiguous_kernel (two: BINARY_CODES)
    [grid, block] over all the elements of cuda tensors of `arrays`, into zeros of their size."""
    from minitorch_dg import backends
    from minitorch_dg import kernels as K

    tensors = [mt.tensor(a, dtype="float64", device="cuda") for a in arrays]  # type: ignore[name-defined]  # noqa: F821
    out = K.zeros(tuple(tensors[0].shape), tensors[0].dtype, "cuda")
    view = backends.for_device("cuda").view
    storages = [view(t._data).storage for t in (out, *tensors)]
    size = view(out._data).size
    if len(arrays) == 1:
        ex.map_contiguous_kernel[grid, block](ex.UNARY_CODES[op], *storages, size)  # type: ignore[name-defined]  # noqa: F821
    else:
        ex.zip_contiguous_kernel[grid, block](ex.BINARY_CODES[op], *storages, size)  # type: ignore[name-defined]  # noqa: F821
    return out.to_numpy()


def launch_reduce_kernel(grid: Any, block: Any, op: str, values: Any, dim: int) -> Any:
    """ex.reduce_kernel[grid, block](REDUCE_CODES[op], out..., slices, x..., dim) with out zeros of x's shape
    but 1 along dim."""
    from minitorch_dg import backends
    from minitorch_dg import kernels as K

    x = mt.tensor(values, dtype="float64", device="cuda")  # type: ignore[name-defined]  # noqa: F821
    shape = list(x.shape)
    shape[dim] = 1
    out = K.zeros(tuple(shape), x.dtype, "cuda")
    view = backends.for_device("cuda").view
    vo, vx = view(out._data), view(x._data)
    ex.reduce_kernel[grid, block](ex.REDUCE_CODES[op], vo.storage, vo.device_shape,  # type: ignore[name-defined]  # noqa: F821
                                  vo.device_strides, vo.size, vx.storage, vx.device_shape, vx.device_strides, dim)
    return out.to_numpy()


def launch_matmul_kernel(grid: Any, block: Any, a: Any, b: Any) -> Any:
    """ex.matmul_kernel[grid, block](out..., batches, a..., b...) for 3-D a and b with the same batch size."""
    from minitorch_dg import backends
    from minitorch_dg import kernels as K

    x = mt.tensor(a, dtype="float64", device="cuda")  # type: ignore[name-defined]  # noqa: F821
    y = mt.tensor(b, dtype="float64", device="cuda")  # type: ignore[name-defined]  # noqa: F821
    batches, rows, cols = int(x.shape[0]), int(x.shape[1]), int(y.shape[2])
    out = K.zeros((batches, rows, cols), x.dtype, "cuda")
    view = backends.for_device("cuda").view
    vo, va, vb = view(out._data), view(x._data), view(y._data)
    ex.matmul_kernel[grid, block](vo.storage, vo.device_shape, vo.device_strides, batches,  # type: ignore[name-defined]  # noqa: F821
                                  va.storage, va.device_shape, va.device_strides,
                                  vb.storage, vb.device_shape, vb.device_strides)
    return out.to_numpy()
