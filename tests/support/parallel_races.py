"""Check a Numba kernel's `prange` loops for data races, deterministically, by running its Python source.

A race needs two threads at the same moment: run on real threads, a kernel whose parallel iterations add
into one shared accumulator gives a wrong total only when the scheduler happens to overlap them (measured
here: 72 to 97 % of runs), so a test that only compares results is a coin toss. This module runs the
kernel's own Python code instead (the function under the @njit decorator) with every `prange` loop
replaced by a loop that records which elements of the kernel's array arguments each iteration changed.
When two different iterations of one prange loop change the same element, those iterations would race on
real threads, and a `RaceError` says which loop, which iterations and which element. Nothing depends on
timing: the same kernel and inputs always give the same verdict.

    checked = without_jit(run)    # a kernel, or a plain function whose closure holds kernels
    checked(out, ...)             # computes the result in Python, or raises RaceError

The kernels to check are the exercise's, so the check runs where they run: in ex06's worker process
(grader/judge.py). `without_jit` is therefore one self-contained function (it imports and defines what it
needs in its own body, and names no global of this module), which travels to the worker as code, as an
argument of a kernel program (tests/support/fast_kernel_programs.py). A RaceError raised there comes back
to the judge as an exception of the same name; `races_reported` turns it into an AssertionError that names
the case.

Limits: only the arrays passed to a kernel are watched (a scratch array that the kernel allocates itself
is not), and a write of the value that was already there is invisible. Nested prange loops run serially,
as Numba runs them. Python is slow: use small inputs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any


def without_jit(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` run as Python with its prange loops race-checked (the kernels of its module that it reaches
    directly, through its globals or its closure, too). The result computes what `function` computes, or raises
    a RaceError (an AssertionError) naming the loop's iterations and the element both changed."""
    import types

    import numba
    import numpy as np
    from numba.core.registry import CPUDispatcher

    class RaceError(AssertionError):
        """Two iterations of one prange loop changed the same element of an array that both can see."""

    tracked: list[list[np.ndarray]] = []  # the array arguments of the kernels being run, innermost last
    depth = [0]

    def changed(now: np.ndarray, before: np.ndarray) -> np.ndarray:
        if now.dtype.kind == "f":
            same = (now == before) | (np.isnan(now) & np.isnan(before))
        else:
            same = now == before
        return np.flatnonzero(~same)

    def checked_prange(*bounds: int) -> Iterator[int]:
        """range(*bounds), recording which iteration changed which element of the running kernel's arrays."""
        steps = range(*(int(b) for b in bounds))
        if depth[0] > 0 or not tracked:
            yield from steps
            return
        arrays = tracked[-1]
        owners: list[dict[int, int]] = [{} for _ in arrays]
        depth[0] += 1
        try:
            for i in steps:
                before = [a.copy() for a in arrays]
                yield i
                for k, (now, old) in enumerate(zip(arrays, before)):
                    for element in changed(now, old):
                        first = owners[k].setdefault(int(element), i)
                        if first != i:
                            raise RaceError(
                                f"iterations {first} and {i} of one prange loop both change element {int(element)} "
                                f"of argument {k} (an array of {now.size} {now.dtype}): on real threads they would "
                                "race, and the result would depend on timing. Give each iteration its own output "
                                "element or its own slot of a partial-results array, and combine after the loop."
                            )
        finally:
            depth[0] -= 1

    class NumbaProxy(types.ModuleType):
        """The numba module as the checked code sees it: `numba.prange` is the checked loop."""

        def __init__(self) -> None:
            super().__init__("numba")

        def __getattr__(self, name: str) -> Any:
            if name == "prange":
                return checked_prange
            return getattr(numba, name)

    def checked_globals(source: dict[str, Any], module: str, seen: dict[int, Any]) -> dict[str, Any]:
        namespace = dict(source)
        for name, value in source.items():
            if value is numba.prange:
                namespace[name] = checked_prange
            elif value is numba:
                namespace[name] = NumbaProxy()
            elif isinstance(value, CPUDispatcher) and getattr(value.py_func, "__module__", None) == module:
                namespace[name] = convert(value, seen)  # a kernel of the same module: checked as well
        return namespace

    def convert(function: Callable[..., Any], seen: dict[int, Any]) -> Callable[..., Any]:
        if id(function) in seen:
            return seen[id(function)]
        is_kernel = isinstance(function, CPUDispatcher)
        python = function.py_func if is_kernel else function
        if not isinstance(python, types.FunctionType):
            return function
        holder: list[Callable[..., Any]] = []

        def run(*args: Any) -> Any:
            if is_kernel:
                tracked.append([a for a in args if isinstance(a, np.ndarray)])
            try:
                return holder[0](*args)
            finally:
                if is_kernel:
                    tracked.pop()

        seen[id(function)] = run
        cells = []
        for cell in python.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                cells.append(cell)
                continue
            if isinstance(value, CPUDispatcher) or isinstance(value, types.FunctionType):
                value = convert(value, seen)
            cells.append(types.CellType(value))
        namespace = checked_globals(python.__globals__, python.__module__, seen)
        rebuilt = types.FunctionType(python.__code__, namespace, python.__name__, python.__defaults__, tuple(cells))
        holder.append(rebuilt)
        return run

    return convert(function, {})


def is_race(error: BaseException) -> bool:
    """Whether `error` is a RaceError: raised in this process, or by the exercise's worker (the judge then
    raises an exception of the same name, grader/judge.py `remote_exception`)."""
    return type(error).__name__ == "RaceError"


@contextlib.contextmanager
def races_reported(what: str = "") -> Iterator[None]:
    """Turn a RaceError raised in the block into an AssertionError reading '<what>: <the race>' (the race alone
    without `what`); any other exception passes unchanged."""
    try:
        yield
    except Exception as error:
        if not is_race(error):
            raise
        raise AssertionError(f"{what}: {error}" if what else str(error)) from None
