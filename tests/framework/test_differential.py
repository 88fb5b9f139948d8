"""Differential test (issue #12): random programs run on minitorch-dg and on torch must agree.

Each program (tests/support/random_programs.py) draws 1-2 leaves — float32/float64/int64/bool, 0-d, size-1
and empty dims, transposed views, values with inf, nan, huge, tiny, subnormal and tied numbers — and
applies 2-6 ops (element-wise, broadcasting binary ops, reductions, views, gathers, promotion by Python
numbers). Agreement (tests/support/agreement.py) covers every intermediate value, dtype and shape, the
gradients of the float leaves, and whether the program raises.

How many programs: the hypothesis profile decides (HYPOTHESIS_PROFILE): dev 100, ci 400, thorough 4000 on
the simple backend, and an eighth of that (at least 25) on the fast backend, whose kernels compile once per
op and dtype. A failure prints the program, shrunk, and both outcomes.
"""

from __future__ import annotations

from hypothesis import given, settings

import minitorch_dg as mt
from tests.support.agreement import disagreement
from tests.support.random_programs import Program, programs, run_program

PROGRAMS_PER_PROFILE = {"dev": 100, "ci": 400, "thorough": 4000}
EXAMPLES = PROGRAMS_PER_PROFILE.get(str(settings._current_profile), 100)


def check(program: Program) -> None:
    found = disagreement(lambda lib: run_program(program, lib), program.precision, allow_deliberate=True)
    assert found is None, f"the program\n{program!r}\ndisagrees with torch: {found}"


@settings(max_examples=EXAMPLES)
@given(programs())
def test_random_programs_agree_with_torch(program: Program) -> None:
    """The bulk of the programs, on the simple backend: no kernel to compile, so hundreds run in seconds."""
    with mt.use_backend("simple"):
        check(program)


@settings(max_examples=max(EXAMPLES // 8, 25))
@given(programs())
def test_random_programs_agree_on_the_fast_backend(program: Program) -> None:
    """Fewer programs on the fast (Numba) backend: each new op and dtype compiles a kernel once (cached after)."""
    with mt.use_backend("fast"):
        check(program)
