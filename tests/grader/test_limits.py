"""The limits leave room for honest work: a grading child that imports torch and numba and runs a parallel
Numba kernel stays well inside the catalog's address-space limit."""

from __future__ import annotations

from pathlib import Path

from grader.catalog import load
from grader.runner import Limits, run_tests

HEAVY_TEST = '''
import numba
import numpy as np
import torch


@numba.njit(parallel=True, cache=False)
def _total(values):
    acc = 0.0
    for i in numba.prange(values.shape[0]):
        acc += values[i]
    return acc


def test_torch_and_a_parallel_numba_kernel_fit():
    t = torch.randn(256, 256, dtype=torch.float64, requires_grad=True)
    (t @ t).sum().backward()
    assert abs(_total(np.ones(100_000)) - 100_000.0) < 1e-9
'''


def test_torch_and_numba_fit_in_half_the_memory_limit(tmp_path: Path) -> None:
    catalog = load()
    test_file = tmp_path / "test_heavy.py"
    test_file.write_text(HEAVY_TEST)
    limits = Limits(wall_seconds=300, test_seconds=240, memory_mb=catalog.memory_limit_mb)
    run = run_tests("ex01", [str(test_file)], "solutions", limits, contract=False)
    assert run.all_passed(), f"{run.reason} {[t.message for t in run.tests]} {run.log_tail[-800:]}"
    print(f"peak address space of a grading child with torch + numba: {run.peak_memory_mb} MB "
          f"(limit {catalog.memory_limit_mb} MB)")
    assert 0 < run.peak_memory_mb < catalog.memory_limit_mb / 2, (
        f"a child needs {run.peak_memory_mb} MB of address space; raise course.memory_limit_mb in the catalog")
