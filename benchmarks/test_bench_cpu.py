"""The CPU lines of the benchmark table with pytest-benchmark: ex06's fast backend, torch, numpy (and the
simple backend on tiny inputs), the same operation on the same inputs, the same number of threads.

    .venv/bin/pytest benchmarks/test_bench_cpu.py --benchmark-enable --benchmark-group-by=group
    .venv/bin/mtdg bench          # the same cases as one table with ratios, plus the JIT cost

Groups are cases (e.g. "matmul 512 float32"); within a group compare the rows. Without --benchmark-enable
(the project's default) every function runs once, as a smoke test. The cases live in bench_cases.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numba
import pytest
import torch

from bench_cases import IMPLEMENTATIONS, Case, cases

CASES = cases()
PAIRS = [(case, impl) for case in CASES for impl in IMPLEMENTATIONS
         if impl != "simple" or case.group == "small"]
LAST = {case.name: impl for case, impl in PAIRS}  # after its last implementation a case frees its inputs


@pytest.fixture(scope="module", autouse=True)
def same_threads() -> Iterator[None]:
    """Numba, torch and numpy's BLAS all get every core Numba sees."""
    threads = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(threads)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(threads):
            yield
    except ImportError:
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def prepared() -> Iterator[dict[str, Case]]:
    yield {case.name: case for case in CASES}
    for case in CASES:
        case.release()


@pytest.mark.parametrize(("case", "impl"), PAIRS, ids=[f"{c.name} | {i}" for c, i in PAIRS])
def test_cpu(benchmark: Any, case: Case, impl: str, prepared: dict[str, Case]) -> None:
    runners = case.prepare()
    run = runners[impl]
    run()  # warm up outside the timing: Numba compiles (or loads) the kernels on the first call
    benchmark.group = case.name
    benchmark.extra_info.update(implementation=impl, target=case.target, threads=numba.get_num_threads())
    result = benchmark(run)
    assert result is not None, f"{case.name} ({impl}) returned nothing"
    if LAST[case.name] == impl:
        case.release()
