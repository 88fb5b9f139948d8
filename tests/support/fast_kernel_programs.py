"""Programs that run ex06's Numba kernels in the exercise's worker (grader/judge.py, `run_program`), and
`run_kernel`, which runs one on the test's operands (strided_operands.py) and copies what it wrote back.

A kernel writes into the storage it is given, and the worker holds its own copy of every array: each kernel
program calls the kernel there and returns the size of the out storage and a reader of its elements, which
`run_kernel` calls piece by piece to copy the storage back into the judge's buffer, so that `out.view`,
`out.values()` and `out.assert_untouched()` read as if the kernel had run here. (ex04's `run_in_worker`
takes the whole storage in one reply; ex06's hidden shapes reach 20 MB, over a reply's 4 MiB.)

`ex` is the exercise's module as the worker serves it. The op travels by name and the worker looks up its
id (`minitorch_dg.fast.op_id`). `check` is None or `parallel_races.without_jit`, sent as code: the kernel
then runs as Python with its prange loops race-checked, in the worker, where the exercise's kernels are.
The optional part's functions (pack_a, pack_b, micro_kernel) write into small arrays that their programs
return whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.support.strided_operands import Operand

PIECE_BYTES = 1 << 20  # storage read back per reply (a reply may hold 4 MiB of base64)


def run_kernel(client: Any, program: Callable[..., Any], out: Operand, *operands: Operand,
               before: Sequence[Any] = (), after: Sequence[Any] = ()) -> None:
    """Run a kernel program in the exercise's worker and copy the out storage it wrote into `out`'s buffer.

    The program receives `*before`, then (storage, shape, strides) of `out` and of each operand as the kernel
    takes them (1-D storage, int64 shape and strides), then `*after`; it returns (size, reader) with
    reader(start, stop) the storage's elements start:stop."""
    args: list[Any] = list(before)
    for operand in (out, *operands):
        args += [operand.storage, operand.shape_arg, operand.strides_arg]
    args += list(after)
    size, read = client.run_program(program, *args)
    storage = out.storage
    assert size == storage.size, f"the kernel's out storage came back with {size} elements, not {storage.size}"
    step = max(1, PIECE_BYTES // storage.itemsize)
    for start in range(0, storage.size, step):
        stop = min(start + step, storage.size)
        copy_back(storage[start:stop], read(start, stop), f"elements {start}:{stop} of the kernel's out storage")


def copy_back(target: np.ndarray, returned: Any, what: str) -> None:
    """Copy an array that a program returned into `target` (a buffer of the judge, or a view of one), which it
    must match exactly in shape and dtype."""
    assert isinstance(returned, np.ndarray) and returned.shape == target.shape and returned.dtype == target.dtype, (
        f"{what} came back as {type(returned).__name__} {getattr(returned, 'dtype', '')}"
        f"{list(getattr(returned, 'shape', ()))}, not {target.dtype}{list(target.shape)}")
    target[...] = returned


# -- kernel programs: they run in the worker ----------------------------------------------------------------


def map_kernel(check: Any, name: str, out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any,
               a_strides: Any) -> Any:
    """`tensor_map(op_id(name))` on out <- a (a has out's shape: broadcast dims have stride 0)."""
    from minitorch_dg.fast import op_id

    kernel = ex.tensor_map(op_id(name))  # type: ignore[name-defined]  # noqa: F821
    (kernel if check is None else check(kernel))(out, out_shape, out_strides, a, a_strides)
    return out.size, lambda start, stop: out[start:stop]


def zip_kernel(check: Any, name: str, out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any,
               a_strides: Any, b: Any, b_shape: Any, b_strides: Any) -> Any:
    """`tensor_zip(op_id(name))` on out <- (a, b) (both have out's shape)."""
    from minitorch_dg.fast import op_id

    kernel = ex.tensor_zip(op_id(name))  # type: ignore[name-defined]  # noqa: F821
    (kernel if check is None else check(kernel))(out, out_shape, out_strides, a, a_strides, b, b_strides)
    return out.size, lambda start, stop: out[start:stop]


def reduce_kernel(check: Any, name: str, out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any,
                  a_strides: Any, dim: int, threads: int) -> Any:
    """`tensor_reduce(op_id(name))` of a along `dim` into out, with `threads` as its n_threads."""
    from minitorch_dg.fast import op_id

    kernel = ex.tensor_reduce(op_id(name))  # type: ignore[name-defined]  # noqa: F821
    (kernel if check is None else check(kernel))(out, out_shape, out_strides, a, a_shape, a_strides, dim, threads)
    return out.size, lambda start, stop: out[start:stop]


def matmul_kernel(out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any, a_strides: Any, b: Any,
                  b_shape: Any, b_strides: Any) -> Any:
    """`tensor_matmul` of a and b into out (a and b have out's batch dims)."""
    ex.tensor_matmul(out, out_shape, out_strides, a, a_shape, a_strides,  # type: ignore[name-defined]  # noqa: F821
                     b, b_shape, b_strides)
    return out.size, lambda start, stop: out[start:stop]


def split_min() -> int:
    """The exercise's SPLIT_MIN (a reduction over a dim at least this long may be split), 32768 without one."""
    return getattr(ex, "SPLIT_MIN", 32768)  # type: ignore[name-defined]  # noqa: F821


def register_tile_cols() -> int:
    """The exercise's NR: the columns of its register tile."""
    return ex.NR  # type: ignore[name-defined]  # noqa: F821


def pack_a(panel: Any, a: Any, start: int, row_step: int, col_step: int, depth: int, rows: int) -> Any:
    """`pack_a` into panel; returns the panel."""
    ex.pack_a(panel, a, start, row_step, col_step, depth, rows)  # type: ignore[name-defined]  # noqa: F821
    return panel


def pack_b(panel: Any, b: Any, start: int, row_step: int, col_step: int, depth: int, cols: int) -> Any:
    """`pack_b` into panel; returns the panel."""
    ex.pack_b(panel, b, start, row_step, col_step, depth, cols)  # type: ignore[name-defined]  # noqa: F821
    return panel


def micro_kernel(depth: int, packed_a: Any, packed_b: Any, c: Any, start: int, row_step: int, col_step: int,
                 rows: int, cols: int, accumulate: bool) -> Any:
    """`micro_kernel` on the tile of c at start; returns c's storage."""
    ex.micro_kernel(depth, packed_a, packed_b, c, start, row_step,  # type: ignore[name-defined]  # noqa: F821
                    col_step, rows, cols, accumulate)
    return c
