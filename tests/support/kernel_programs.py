"""Programs that run ex04's kernels in the exercise's worker (grader/judge.py, `run_program`).

A kernel writes into the storage it is given, and the worker holds its own copy of every array: each program
calls the kernel there and returns the out storage, which `strided_views.run_in_worker` copies back into the
judge's buffer. `ex` is the exercise's module as the worker serves it; a scalar function arrives as code.
"""

from __future__ import annotations

from typing import Any


def map_kernel(fn: Any, out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any, a_strides: Any) -> Any:
    """`tensor_map(fn)` on out <- a."""
    ex.tensor_map(fn)(out, out_shape, out_strides, a, a_shape, a_strides)  # type: ignore[name-defined]  # noqa: F821
    return out


def scaled_square_map(scale: float, out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any,
                      a_strides: Any) -> Any:
    """`tensor_map(lambda v: scale * v * v - v)`: a function that needs a number the judge draws."""
    ex.tensor_map(lambda v: scale * v * v - v)(  # type: ignore[name-defined]  # noqa: F821
        out, out_shape, out_strides, a, a_shape, a_strides)
    return out


def zip_kernel(fn: Any, out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any, a_strides: Any,
               b: Any, b_shape: Any, b_strides: Any) -> Any:
    """`tensor_zip(fn)` on out <- (a, b)."""
    ex.tensor_zip(fn)(out, out_shape, out_strides, a, a_shape, a_strides,  # type: ignore[name-defined]  # noqa: F821
                      b, b_shape, b_strides)
    return out


def reduce_kernel(fn: Any, start: float, out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any,
                  a_strides: Any, dim: int) -> Any:
    """`tensor_reduce(fn, start)` of a along `dim` into out."""
    ex.tensor_reduce(fn, start)(out, out_shape, out_strides,  # type: ignore[name-defined]  # noqa: F821
                                a, a_shape, a_strides, dim)
    return out


def matmul_kernel(out: Any, out_shape: Any, out_strides: Any, a: Any, a_shape: Any, a_strides: Any,
                  b: Any, b_shape: Any, b_strides: Any) -> Any:
    """`tensor_matmul` of a and b into out."""
    ex.tensor_matmul(out, out_shape, out_strides, a, a_shape, a_strides,  # type: ignore[name-defined]  # noqa: F821
                     b, b_shape, b_strides)
    return out
