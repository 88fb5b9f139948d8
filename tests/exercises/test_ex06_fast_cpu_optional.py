"""ex06 optional part: packed panels of A and B and the register-tiled micro-kernel, against numpy/torch.

These tests call pack_a, pack_b and micro_kernel directly; they score the optional part's own points
(grader/catalog.toml, `optional` of ex06), on top of the exercise's. The core tests never call them.

ex06 runs in a worker process (grader/judge.py): each call runs there on copies of the arrays, through a
program (tests/support/fast_kernel_programs.py) that returns the array the function wrote; the expected
values and the comparison stay here.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader import judge
from minitorch_dg.fast import tile_rows as framework_tile_rows
from tests.support import fast_kernel_programs as kernels
from tests.support.compare import assert_close
from tests.support.fast_kernel_programs import copy_back
from tests.support.strided_operands import KINDS, NP, operand

ops = judge.exercise("ex06")  # the functions run in a worker process (grader/judge.py, fast_kernel_programs.py)
rng = np.random.default_rng(66)


def draw(shape: tuple[int, ...], low: float = -3.0, high: float = 3.0) -> np.ndarray:
    return rng.uniform(low, high, size=shape)


def tile_rows(dtype: str) -> int:
    """MR on this machine: the framework's choice for the CPU (4 / 2 with AVX-512, 1 otherwise)."""
    return framework_tile_rows(NP[dtype])


@pytest.mark.hint("pack_a: panel[k * MR + i] = A[i, k] for i < rows, and 0 for the rows of a partial tile.")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pack_a(dtype: str) -> None:
    mr = tile_rows(dtype)
    for kind in KINDS:
        for rows in range(1, mr + 1):
            a = operand(draw((rows, 13)), dtype, kind)
            panel = np.full(13 * mr, np.nan, dtype=NP[dtype])
            copy_back(panel, ops.run_program(kernels.pack_a, panel, a.storage, 0, a.strides_arg[0], a.strides_arg[1],
                                             13, rows), "pack_a's panel")
            expected = np.zeros((13, mr))
            expected[:, :rows] = a.values().T
            assert_close(panel.reshape(13, mr), expected, what=f"pack_a of {a} ({rows} of {mr} rows)", dtype=dtype)


@pytest.mark.hint("pack_b: panel[k * NR + j] = B[k, j] for j < cols, and 0 for the columns of a partial tile.")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pack_b(dtype: str) -> None:
    nr = int(ops.run_program(kernels.register_tile_cols))
    for kind in KINDS:
        for cols in (1, nr // 2 + 1, nr):
            b = operand(draw((9, cols)), dtype, kind)
            panel = np.full(9 * nr, np.nan, dtype=NP[dtype])
            copy_back(panel, ops.run_program(kernels.pack_b, panel, b.storage, 0, b.strides_arg[0], b.strides_arg[1],
                                             9, cols), "pack_b's panel")
            expected = np.zeros((9, nr))
            expected[:, :cols] = b.values()
            assert_close(panel.reshape(9, nr), expected, what=f"pack_b of {b} ({cols} of {nr} columns)", dtype=dtype)


@pytest.mark.hint("micro_kernel: accumulate the MR x NR tile over k, then write only rows x cols of it into C; "
                  "add to C when `accumulate` is true, overwrite it otherwise.")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_micro_kernel(dtype: str) -> None:
    mr, nr = tile_rows(dtype), int(ops.run_program(kernels.register_tile_cols))
    depth = 37
    packed_a, packed_b = draw((depth, mr)).astype(NP[dtype]), draw((depth, nr)).astype(NP[dtype])
    full = packed_a.T.astype(np.float64) @ packed_b.astype(np.float64)
    for rows, cols in [(mr, nr), (1, nr), (mr, 5), (max(mr - 1, 1), nr - 1)]:
        for accumulate in (False, True):
            for kind in ("contiguous", "permuted"):
                start = draw((rows, cols))
                c = operand(start, dtype, kind)
                copy_back(c.storage, ops.run_program(kernels.micro_kernel, depth, packed_a.reshape(-1),
                                                     packed_b.reshape(-1), c.storage, 0, c.strides_arg[0],
                                                     c.strides_arg[1], rows, cols, accumulate), "micro_kernel's C")
                expected = full[:rows, :cols] + (start.astype(NP[dtype]) if accumulate else 0)
                assert_close(c.values(), expected, what=f"micro_kernel {rows}x{cols} tile, accumulate={accumulate}, "
                             f"C {kind}", dtype=dtype)
