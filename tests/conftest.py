"""Test-suite configuration: the source plan, hypothesis profiles, hidden-test seeds, short course errors.

The project's own test run checks the reference: when this copy of the course has solutions and
MTDG_SOURCE is unset, the suite runs with MTDG_SOURCE=solutions. (In a student release there are no
solutions and the default stays `exercises`; students use `mtdg check`, which sets it explicitly.)
"""

from __future__ import annotations

import os
import random
import secrets
import zlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from minitorch_dg import course
from minitorch_dg.backends import cuda as cuda_env  # imports no numba
from minitorch_dg.errors import CourseError, one_line

# Without a GPU, CUDA tests run in numba's simulator, which must be chosen before numba is first imported.
cuda_env.use_simulator_without_gpu()

if "MTDG_SOURCE" not in os.environ and course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"

# Hypothesis's "explain" phase re-runs a failing test under a tracer to say which parts of the input did
# not matter. That made each failing property test cost about 0.6 s while the grader watched the test
# process with an audit hook (a submission failing everything took 23 s instead of 3 s for ex01), and its
# report adds nothing a student needs beyond the shrunk example. Every profile leaves it out.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=PHASES
)
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
    phases=PHASES,
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=PHASES
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
)

if "MTDG_SEED" not in os.environ:
    os.environ["MTDG_SEED"] = str(secrets.randbelow(10**9))


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"minitorch-dg: {course.describe()}; hypothesis profile {settings._current_profile}; "
        f"hidden-test seed MTDG_SEED={os.environ['MTDG_SEED']}",
        f"minitorch-dg cuda: {cuda_env.describe_mode()}",
    ]


MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`pytest -n auto`: one worker per core, at most MAX_WORKERS (each runs numba kernels and starts grader
    children that load torch; more workers than that only fight over memory bandwidth)."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow` (a minute or more: `mtdg verify` of an exercise, a release into a fresh venv)
    start first, so that with `-n auto` none of them is left running alone at the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def hidden_rng(request: pytest.FixtureRequest) -> random.Random:
    """A random generator for hidden tests: seeded by MTDG_SEED (chosen at grading time) and the test id."""
    seed = int(os.environ["MTDG_SEED"])
    return random.Random(seed * 1_000_003 + zlib.crc32(request.node.nodeid.encode()))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Show a call into an unimplemented stub (or any course error) as one line, not a traceback."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and isinstance(call.excinfo.value, CourseError):
        report.longrepr = one_line(call.excinfo.value)
