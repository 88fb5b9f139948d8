"""The grader's memory limit leaves a CUDA context working: address space (RLIMIT_AS) where no GPU exists,
resident memory watched from the parent where one does (a CUDA context reserves far more address space
than it uses). The GPU case is exercised here by faking the probe `cuda_env.gpu_present`."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import memory
from grader.runner import Limits, run_tests
from minitorch_dg.backends import cuda as cuda_env

PRINT_AS_LIMIT = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])"


def test_memory_rule_follows_the_gpu_probe() -> None:
    assert memory.memory_rule(6144, gpu=False) == memory.ADDRESS_SPACE
    assert memory.memory_rule(6144, gpu=True) == memory.RESIDENT
    assert memory.memory_rule(0, gpu=True) == memory.UNLIMITED
    assert memory.memory_rule(0, gpu=False) == memory.UNLIMITED


@pytest.mark.parametrize("gpu", [False, True])
def test_preexec_sets_an_address_space_limit_only_without_a_gpu(monkeypatch: pytest.MonkeyPatch, gpu: bool) -> None:
    monkeypatch.setattr(cuda_env, "gpu_present", lambda: gpu)
    limits = Limits(wall_seconds=30, memory_mb=2048)
    assert limits.memory_rule() == (memory.RESIDENT if gpu else memory.ADDRESS_SPACE)
    shown = subprocess.run([sys.executable, "-c", PRINT_AS_LIMIT], preexec_fn=limits.preexec(),
                           capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    expected = resource.RLIM_INFINITY if gpu else 2048 * 1024 * 1024
    assert int(shown) == expected, f"RLIMIT_AS in the child is {shown}, expected {expected} (gpu={gpu})"


def test_resident_watch_stops_a_session_that_outgrows_the_limit() -> None:
    hog = "import time; block = b'x' * (400 * 1024 * 1024); time.sleep(30)"
    limits = Limits(wall_seconds=30)
    proc = subprocess.Popen([sys.executable, "-c", hog], preexec_fn=limits.preexec(memory.RESIDENT))
    with memory.ResidentWatch(proc.pid, memory_mb=150) as watch:
        code = proc.wait(timeout=30)
    assert watch.exceeded and code == -9, f"the watch did not stop a 400 MB process (exit {code}, peak {watch.peak_mb} MB)"
    assert watch.peak_mb > 150


def test_a_workers_session_counts_with_the_childs() -> None:
    # A judged exercise's worker leads its own session (grader/judge.py); on a GPU machine the runner's watch
    # adds the sessions the child reported (runner._worker_sessions), so a worker cannot hold memory unseen.
    worker = subprocess.Popen([sys.executable, "-c", "import time; block = b'x' * (200 * 1024 * 1024); time.sleep(30)"],
                              start_new_session=True, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while memory.sessions_resident_mb({worker.pid}) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        own = memory.sessions_resident_mb({os.getsid(0)})
        both = memory.sessions_resident_mb({os.getsid(0), worker.pid})
        assert both >= own + 200, f"own session {own} MB, with the worker's {both} MB"
    finally:
        worker.kill()
        worker.wait()


def test_resident_watch_leaves_a_small_process_alone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.6)"],
                            preexec_fn=Limits(wall_seconds=30).preexec(memory.RESIDENT))
    with memory.ResidentWatch(proc.pid, memory_mb=500) as watch:
        code = proc.wait(timeout=30)
    assert code == 0 and not watch.exceeded
    assert 0 < watch.peak_mb < 500


CHILD_TEST = '''
import resource


def test_address_space_is_not_limited():
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY


def test_hog():
    block = b"x" * (HOG_MB * 1024 * 1024)
    assert len(block) > 0
'''


def test_a_grading_child_on_a_gpu_machine_keeps_its_address_space_and_is_stopped_by_resident_memory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cuda_env, "gpu_present", lambda: True)
    test_file = tmp_path / "test_gpu_memory.py"
    test_file.write_text(CHILD_TEST.replace("HOG_MB", "3000"))
    limits = Limits(wall_seconds=120, test_seconds=60, memory_mb=1500)
    run = run_tests("ex01", [str(test_file)], "solutions", limits, contract=False,
                    env={cuda_env.SIMULATOR_ENV: "1"})  # the fake GPU must not send the child looking for one
    outcomes = {t.name: t.outcome for t in run.tests}
    assert run.memory_rule == memory.RESIDENT
    assert outcomes["test_address_space_is_not_limited"] == "passed", run.log_tail[-800:]
    assert outcomes["test_hog"] == "missing", outcomes
    assert "resident memory" in run.reason and "1500 MB" in run.reason and "test_hog" in run.reason, run.reason


def test_out_of_memory_reasons_name_the_rule_and_the_limit() -> None:
    assert "6144 MB of address space" in memory.out_of_memory_reason(memory.ADDRESS_SPACE, 6144)
    stopped = memory.out_of_memory_reason(memory.RESIDENT, 6144, stopped=True)
    assert "more than 6144 MB of resident memory" in stopped and "stopped" in stopped
    refused = memory.out_of_memory_reason(memory.RESIDENT, 6144)
    assert "MemoryError" in refused and "6144 MB of resident memory" in refused
