"""ex07's worker: its kernels run under the strict cuda schedule there, and the launch log comes back as data.

The judge starts ex07's worker with `--cuda-schedule` (judge.CUDA_SCHEDULED); the worker imports
grader/cuda_schedule.py, the one part of the grader besides itself that it may import, and enters
serial_schedule() for its whole life (grader/worker.py, `enter_cuda_schedule`). These tests run the
reference's kernels there (the project's own runs serve the solutions).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader import judge
from minitorch_dg.backends import cuda as cuda_env
from tests.support.cuda_programs import Cuda, LaunchLog

pytestmark = pytest.mark.skipif(cuda_env.mode() == "none",
                                reason=cuda_env.skip_reason("tests/grader/test_judge_cuda.py"))

ops = judge.exercise("ex07")
cuda = Cuda(ops)


def test_the_launch_log_numbers_each_compiled_kernel_function() -> None:
    schedule = LaunchLog(ops)
    x = np.linspace(0.5, 2.0, 6).reshape(2, 3)
    cuda.map("exp", x)
    cuda.map("log", x)
    cuda.zip("add", x, x)
    launches = schedule.launches
    assert [launch.kernel for launch in launches] == ["map_contiguous_kernel"] * 2 + ["zip_contiguous_kernel"]
    assert all(isinstance(launch.function, int) for launch in launches)
    assert launches[0].function == launches[1].function != launches[2].function
    assert launches[0].block == (256, 1, 1) and launches[0].grid == (1, 1, 1)
    assert LaunchLog(ops).launches == [], "a new log starts empty"


def _imports(names: list[str]) -> list[str]:
    outcome = []
    for name in names:
        try:
            __import__(name)
            outcome.append("imported")
        except ImportError as error:
            outcome.append(f"refused: {error}")
    return outcome


def test_the_worker_may_import_the_schedule_and_nothing_else_of_the_grader() -> None:
    schedule, judge_module, tests = ops.run_program(_imports, ["grader.cuda_schedule", "grader.judge",
                                                               "tests.support.compare"])
    assert schedule == "imported"
    assert judge_module.startswith("refused") and "belongs to the judge" in judge_module
    assert tests.startswith("refused")


DIVERGENT_KERNEL = """
def divergent(out):  # threads 0-15 return; 16-31 wait at the barrier for them
    i = cuda.threadIdx.x
    if i < 16:
        return
    cuda.syncthreads()
    out[i] = 1.0
"""


def _launch(source: str) -> None:
    """Compile a kernel from its source (its global `cuda`: numba.cuda, which the simulator swaps) and launch it
    on one block of 32 threads."""
    numba = __import__("numba", fromlist=["cuda"])
    scope = {"cuda": numba.cuda}
    exec(source, scope)
    out = numba.cuda.to_device(__import__("numpy").zeros(32))
    numba.cuda.jit(scope["divergent"])[1, 32](out)


@pytest.mark.skipif(not cuda_env.simulator_enabled(), reason="the strict schedule's barrier check is the simulator's")
def test_a_barrier_some_threads_never_reach_comes_back_as_a_barrier_error() -> None:
    with pytest.raises(judge.WorkerException, match="have already returned") as raised:
        ops.run_program(_launch, DIVERGENT_KERNEL)
    assert type(raised.value).__name__ == "BarrierError"
