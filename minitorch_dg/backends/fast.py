"""The fast CPU backend: ex06's Numba kernels, fed with simplified layouts.

For every call the backend

1. turns broadcasting into strides (an input is expanded to the output's shape with stride 0),
2. merges dims and drops size-1 dims (minitorch_dg.fast.layout), so that a contiguous tensor is one
   flat dim and a broadcast is two dims with a unit-stride inner one,
3. picks the thread count: below PARALLEL_MIN elements (or MATMUL_PARALLEL_MIN multiply-adds) a
   kernel runs on one thread, because waking the other threads costs more than the work (measured:
   about 10 us on an idle machine, 1.3 ms on average on the busy shared one; see fast/threads.py),
4. calls the student's kernel for the op: `tensor_map(op_id)` etc., built once per op and cached.

It produces the simple backend's results for every op and dtype (same element functions, see
minitorch_dg/fast/ops.py). `is_available()` says whether ex06 is implemented in the source in force;
the CPU backend is "fast" by default when it is (see backends/__init__.py).

MTDG_DEBUG=1: kernels run serially with bounds checks (see minitorch_dg/fast/debug.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .. import course
from ..fast import caching as _caching, debug as _debug, heap as _heap, layout as _layout, ops as _ops
from ..fast import threads as _threads
from ..fast.threads import MATMUL_PARALLEL_MIN, PARALLEL_MIN  # one thread below these
from ..tensor_data import TensorData, contiguous_strides


def _answers(module: ModuleType, op_id: Callable[..., int]) -> bool:
    """True when ex06's four entry points work: each kernel factory builds a kernel for a probe op, and
    tensor_matmul returns on an empty product. An untouched stub raises NotImplementedYet at the first of
    them, so this is how the fast backend becomes the default once a student has written ex06 (its optional
    Part 5 plays no role). Nothing is compiled here: Numba compiles at a kernel's first call, and an empty
    product returns before any kernel runs."""
    for factory, name, kind in (("tensor_map", "id", "unary"), ("tensor_zip", "add", "binary"),
                                ("tensor_reduce", "sum", "reduce")):
        if not callable(getattr(module, factory)(op_id(name, kind))):
            return False
    empty = np.zeros(0)
    zeros = np.zeros(2, dtype=np.int64)
    ones = np.ones(2, dtype=np.int64)
    module.tensor_matmul(empty, zeros, ones, empty, zeros, ones, empty, zeros, ones)
    return True


class FastBackend:
    """Runs map / zip / reduce / matmul of CPU tensors with ex06's Numba kernels."""

    name = "fast"
    device = "cpu"

    def __init__(self) -> None:
        import numba

        _heap.keep_freed_memory()  # large temporaries are reused, not faulted in again on every step
        self._numba = numba
        self._threads_of = _threads
        self._caching = _caching
        self._ops = _ops
        self._layout = _layout
        self._debug = _debug
        self.debug = _debug.enabled()
        self._index = _layout.IndexArrays()
        self._layouts: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._one = self._index((1,))
        self._zero = self._index((0,))  # the stride of a one-element operand in a flat loop: read in place
        self._kernels: dict[tuple[int, str, str], Callable[..., None]] = {}
        self._flat_plans: dict[tuple[str, str, int, int], tuple[Any, ...]] = {}
        if not self.debug:
            _caching.forget_stale_kernels(_ops.FRAMEWORK_STAMP)
        self._available: dict[int, tuple[ModuleType, bool]] = {}
        self._resolved: dict[str, ModuleType] = {}
        self._bound: tuple[int, ModuleType] | None = None  # (course generation, the ex06 module in force)
        self._contiguous = contiguous_strides

    # -- which ex06 -----------------------------------------------------------------------------------

    def _load(self) -> ModuleType:
        """The ex06 module in force (remembered per source, so that an op costs a dictionary lookup)."""
        bound = self._bound
        if bound is not None and bound[0] == course._generation:
            return bound[1]
        module = self._find()
        self._bound = (course.generation(), module)
        return module

    def _find(self) -> ModuleType:
        source = course.source_of("ex06")
        if source not in course.SOURCES:  # a module installed by the grader (a mutant): already imported
            return course.load("ex06")
        found = self._resolved.get(source)
        if found is not None:
            return found
        with self._caching.kernel_cache():
            module = course.load("ex06")
        self._resolved[source] = module
        return module

    def _module(self) -> ModuleType:
        module = self._load()
        if self.debug:
            self._debug.serialize_module(module)
        return module

    def is_available(self) -> bool:
        """True when ex06 in the source in force is implemented (checked once per module; never raises)."""
        try:
            module = self._load()
        except Exception:  # noqa: BLE001 - no ex06 here, or it does not even import: not available
            return False
        found = self._available.get(id(module))
        if found is not None and found[0] is module:
            return found[1]
        try:
            with self._caching.kernel_cache():
                ok = _answers(module, self._ops.op_id)
        except Exception:  # noqa: BLE001 - a stub or a broken module: the simple backend stays the default
            ok = False
        self._available[id(module)] = (module, ok)
        return ok

    def _kernel(self, kind: str, op: str) -> Callable[..., None]:
        bound = self._bound
        if bound is not None and bound[0] == course._generation and not self.debug:
            kernel = self._kernels.get((id(bound[1]), kind, op))
            if kernel is not None:
                return kernel
        module = self._load() if not self.debug else self._module()
        key = (id(module), kind, op)
        kernel = self._kernels.get(key)
        if kernel is None:
            factory = {"map": module.tensor_map, "zip": module.tensor_zip, "reduce": module.tensor_reduce}[kind]
            with self._caching.kernel_cache():  # the kernels of the factory are decorated now
                kernel = factory(self._ops.op_id(op, {"map": "unary", "zip": "binary", "reduce": "reduce"}[kind]))
            if self.debug:
                kernel = self._debug.serial_function(kernel)
            self._kernels[key] = kernel
        return kernel

    # -- running a kernel -----------------------------------------------------------------------------

    def _threads(self, work: int, limit: int) -> int:
        """Set Numba up for `work` (one thread below `limit`, see minitorch_dg/fast/threads.py); the count."""
        return self._threads_of.for_work(work, limit)

    def _call(self, name: tuple[str, str], threads: int, kernel: Callable[..., None], *args: Any) -> None:
        """Run `kernel(*args)`; `name` = (factory, op) names it in MTDG_DEBUG's messages."""
        if self.debug:
            self._debug.call(f"{name[0]}({name[1]!r})" if name[1] else name[0], kernel, *args)
            return
        kernel(*args)

    # -- kernels --------------------------------------------------------------------------------------

    def _flat(self, out: TensorData, a: TensorData, b: TensorData | None = None) -> int:
        """The element count when out and the inputs share one row-major layout (a flat loop), else -1."""
        shape, strides = out.shape, out.strides
        if a.shape != shape or a.strides != strides or (b is not None and (b.shape != shape or b.strides != strides)):
            return -1
        size = 1
        for n in shape:
            size *= n
        return size if strides == self._contiguous(shape) or self._layout._row_major(shape, strides) else -1

    def flat(self, kind: str, op: str, size: int, out: Any, *inputs: Any, single: int = -1) -> None:
        """out[i] = op(inputs[0][i], ...) for i < size, on storages that the caller knows to be laid out
        identically and contiguously (K.zip and K.map check that while they allocate `out`): the per-op path
        of small tensors, with no layout work left to do here. `single` names an input (0 or 1) that holds
        one element, read at every i (stride 0): a tensor and a Python number, as in `x * 0.9`.

        What a call needs besides the storages (the kernel, its size and stride arrays, serial or parallel)
        is worked out once per (kind, op, size, single) and course generation: the plan (see _flat_plan)."""
        plan = self._flat_plans.get((kind, op, size, single))
        if plan is None or plan[0] != course._generation or self.debug:
            plan = self._flat_plan(kind, op, size, single)
        if plan[1]:
            self._threads_of.serial()
        else:
            self._threads_of.parallel()
        if len(inputs) == 2:
            plan[2](out, plan[3], plan[4], inputs[0], plan[5], inputs[1], plan[6])
        else:
            plan[2](out, plan[3], plan[4], inputs[0], plan[5])

    def _flat_plan(self, kind: str, op: str, size: int, single: int) -> tuple[Any, ...]:
        """(course generation, serial?, kernel, size array, out stride, a stride, b stride) for `flat`, kept
        for the generation (MTDG_DEBUG wraps the kernel in its checks and keeps nothing)."""
        kernel = self._kernel(kind, op)
        if self.debug:
            checked = kernel

            def kernel(*args: Any) -> None:
                self._call((f"tensor_{kind}", op), 1, checked, *args)

        one = self._one
        strides = [self._zero if i == single else one for i in range(2)]
        plan = (course._generation, size < PARALLEL_MIN, kernel, self._index((size,)), one, *strides)
        if not self.debug:
            if len(self._flat_plans) >= 4096:
                self._flat_plans.clear()
            self._flat_plans[(kind, op, size, single)] = plan
        return plan

    def map(self, op: str, a: TensorData, out: TensorData) -> None:
        ix = self._index
        size = self._flat(out, a)
        if size > 1:  # the common case, kept short: one flat loop over contiguous operands
            one = ix((1,))
            kernel = self._kernel("map", op)
            threads = self._threads(size, PARALLEL_MIN)
            if self.debug:
                self._call(("tensor_map", op), threads, kernel, out.storage, ix((size,)), one, a.storage, one)
            else:
                kernel(out.storage, ix((size,)), one, a.storage, one)
            return
        layout = self._layout_of(("map", out.shape, out.strides, a.shape, a.strides))
        kernel = self._kernel("map", op)
        self._call(("tensor_map", op), self._threads(layout[0], PARALLEL_MIN), kernel,
                   out.storage, layout[1], layout[2], a.storage, layout[3])

    def zip(self, op: str, a: TensorData, b: TensorData, out: TensorData) -> None:
        ix = self._index
        size = self._flat(out, a, b)
        if size > 1:  # the common case, kept short: one flat loop over contiguous operands
            one = ix((1,))
            kernel = self._kernel("zip", op)
            threads = self._threads(size, PARALLEL_MIN)
            if self.debug:
                self._call(("tensor_zip", op), threads, kernel, out.storage, ix((size,)), one, a.storage, one,
                           b.storage, one)
            else:
                kernel(out.storage, ix((size,)), one, a.storage, one, b.storage, one)
            return
        layout = self._layout_of(("zip", out.shape, out.strides, a.shape, a.strides, b.shape, b.strides))
        kernel = self._kernel("zip", op)
        self._call(("tensor_zip", op), self._threads(layout[0], PARALLEL_MIN), kernel,
                   out.storage, layout[1], layout[2], a.storage, layout[3], b.storage, layout[4])

    def reduce(self, op: str, a: TensorData, dim: int, out: TensorData) -> None:
        layout = self._layout_of(("reduce", a.shape, a.strides, out.strides, dim))
        threads = self._threads(layout[0], PARALLEL_MIN)
        kernel = self._kernel("reduce", op)
        self._call(("tensor_reduce", op), threads, kernel, out.storage, layout[1], layout[2],
                   a.storage, layout[3], layout[4], layout[5], threads)

    # -- layouts: worked out once per combination of shapes and strides ------------------------------

    def _layout_of(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        """The kernel's index arguments for one call's shapes and strides (see _work_out_layout), remembered:
        a training loop repeats the same few combinations thousands of times, and working one out in Python
        costs about 10 us, several times the kernel's own time on a small tensor."""
        found = self._layouts.get(key)
        if found is None:
            found = self._work_out_layout(key)
            if len(self._layouts) >= 4096:
                self._layouts.clear()
            self._layouts[key] = found
        return found

    def _work_out_layout(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        """(work, index arrays...) for key = ('map', out shape, out strides, a shape, a strides),
        ('zip', ..., b shape, b strides) or ('reduce', a shape, a strides, out strides, dim)."""
        lay, ix = self._layout, self._index
        kind = key[0]
        if kind == "reduce":
            _, a_shape, a_strides, out_strides, dim = key
            shape, (a_strides, out_strides), dim = lay.coalesce_around(a_shape, [a_strides, out_strides], dim)
            out_shape = tuple(1 if d == dim else s for d, s in enumerate(shape))
            return (math.prod(a_shape), ix(out_shape), ix(out_strides), ix(shape), ix(a_strides), dim)
        out_shape, out_strides = key[1], key[2]
        inputs = [lay.expand_strides(key[i], key[i + 1], out_shape) for i in range(3, len(key), 2)]
        shape, strides = lay.coalesce(out_shape, [out_strides, *inputs])
        return (math.prod(out_shape), ix(shape), *(ix(s) for s in strides))

    def matmul(self, a: TensorData, b: TensorData, out: TensorData) -> None:
        lay, ix = self._layout, self._index
        batch = tuple(out.shape[:-2])
        a_shape = batch + tuple(a.shape[-2:])
        b_shape = batch + tuple(b.shape[-2:])
        a_strides = lay.expand_strides(tuple(a.shape[:-2]), tuple(a.strides[:-2]), batch) + tuple(a.strides[-2:])
        b_strides = lay.expand_strides(tuple(b.shape[:-2]), tuple(b.strides[:-2]), batch) + tuple(b.strides[-2:])
        work = math.prod(out.shape) * a.shape[-1]
        module = self._module()
        self._call(("tensor_matmul", ""), self._threads(work, MATMUL_PARALLEL_MIN), module.tensor_matmul,
                   out.storage, ix(tuple(out.shape)), ix(tuple(out.strides)), a.storage, ix(a_shape), ix(a_strides),
                   b.storage, ix(b_shape), ix(b_strides))

    # -- memory ---------------------------------------------------------------------------------------

    def empty(self, shape: tuple[int, ...], np_dtype: Any) -> Any:
        """A zero-filled 1-D array with room for `shape` (K.zeros relies on the zeros)."""
        return np.zeros(math.prod(shape), dtype=np_dtype)

    def uninitialized(self, shape: tuple[int, ...], np_dtype: Any) -> Any:
        """A 1-D array with room for `shape` that a kernel overwrites completely (not zero-filled)."""
        return np.empty(math.prod(shape), np_dtype)

    def to_host(self, storage: Any) -> Any:
        return storage

    def from_host(self, array: Any) -> Any:
        return np.array(array, copy=True)
