"""Run one exercise's tests in a child process with limits, and turn what it reports into results.

Whatever the child does — loops forever, segfaults, calls os._exit(0), floods its output — the parent
returns a `RunResult`: every test that was collected has an outcome, and a test that never reported is
`missing` (0 points) with the reason the process gave.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from minitorch_dg.backends import cuda as cuda_env

from . import memory as memory_limits
from .contract import IMPORT_FAILED
from .catalog import Catalog, Exercise
from .crashes import EXIT_ADVICE, signal_reason
from .paths import project_root
from .sandbox import end_worker_user



@dataclass
class TestOutcome:
    """The result of one test: `outcome` is passed | failed | skipped | missing."""

    id: str
    outcome: str = "missing"
    kind: str = "missing"
    message: str = ""
    hint: str = ""  # the test's hint, kept only when the failure matches `hint_when` (see hint_applies)
    weight: float = 1.0
    duration: float = 0.0

    @property
    def name(self) -> str:
        return self.id.split("::", 1)[-1]

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


def hint_applies(when: str, message: str) -> bool:
    """A test's hint speaks of one kind of failure when its marker says so (`@pytest.mark.hint(text,
    when="RecursionError")`): it is shown only when the failure message contains that text (any case).
    Without `when`, the hint concerns every failure of the test."""
    return not when or when.lower() in message.lower()


@dataclass
class RunResult:
    """Everything one child run produced."""

    tests: list[TestOutcome] = field(default_factory=list)
    reason: str = ""  # why the run ended abnormally, or "" when it finished normally
    contract: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log_tail: str = ""
    violations: list[str] = field(default_factory=list)  # exercise code found in the judging process
    notes: list[str] = field(default_factory=list)  # facts about the run the student should know
    peak_memory_mb: int = 0  # the child's largest address space (resident memory under RESIDENT), when known
    memory_rule: str = memory_limits.ADDRESS_SPACE  # how memory was limited (grader/memory.py)

    @property
    def passed(self) -> int:
        return sum(t.passed for t in self.tests)

    @property
    def total(self) -> int:
        return len(self.tests)

    def all_passed(self) -> bool:
        return not self.reason and self.total > 0 and self.passed == self.total

    @property
    def import_failure(self) -> str:
        """Why the exercise's module did not import ('NameError: ... (at ex02_autodiff.py:234 in <module>)'),
        or "" when it imported (or the run never tried)."""
        for problem in self.contract:
            if problem.startswith(IMPORT_FAILED):
                return problem[len(IMPORT_FAILED):].lstrip(": ")
        return ""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float
    test_seconds: float = 60.0
    memory_mb: int = 6144
    cpu_seconds: float = 0.0  # 0: 3 x wall
    load_seconds: float = 30.0  # for the exercise's worker to start and import the module (or test_seconds if larger)

    def cpu_limit(self) -> float:
        """CPU seconds of the run: cpu_seconds, or 3 x wall_seconds when that is 0."""
        return self.cpu_seconds or 3 * self.wall_seconds

    def memory_rule(self) -> str:
        """How memory_mb is enforced here: address space, or resident memory where a GPU exists (grader/memory.py)."""
        return memory_limits.memory_rule(self.memory_mb, cuda_env.gpu_present())

    def preexec(self, rule: str | None = None) -> Callable[[], None]:
        cpu = int(self.cpu_limit()) + 1
        limit_address_space = (self.memory_rule() if rule is None else rule) == memory_limits.ADDRESS_SPACE
        memory_mb = self.memory_mb

        def apply() -> None:
            os.setsid()
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
            if limit_address_space:
                memory_limits.limit_address_space(memory_mb)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        return apply


def limits_for(exercise: Exercise, catalog: Catalog) -> Limits:
    """The limits of one run of `exercise`'s tests, from the catalog (and what the command line changed there)."""
    return Limits(wall_seconds=exercise.timeout, test_seconds=catalog.test_timeout, memory_mb=catalog.memory_limit_mb,
                  cpu_seconds=catalog.cpu_limit_factor * exercise.timeout, load_seconds=catalog.load_timeout)


def _read_events(fd: int, nonce: str, sink: list[dict[str, object]]) -> None:
    with os.fdopen(fd, "rb") as stream:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("nonce") == nonce:
                sink.append(event)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _worker_sessions(events: list[dict[str, object]]) -> list[int]:
    """The session of each worker the child reported (a worker leads its own session and process group), so
    that the resident-memory watch counts the workers' memory with the child's."""
    return [e["pgid"] for e in list(events) if e.get("event") == "worker" and type(e.get("pgid")) is int]


def _kill_workers(events: list[dict[str, object]]) -> None:
    """Kill the process group of every exercise worker the child reported starting (grader/judge.py): a
    worker has its own group, which the child's does not include; the judge kills it too, unless it died."""
    for event in list(events):
        if event.get("event") != "worker":
            continue
        pgid, uid = event.get("pgid"), event.get("uid")
        if type(pgid) is int and pgid > 1:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if type(uid) is int:  # a sandboxed worker's user: its every process, setsid escapes included
            end_worker_user(uid)


def run_tests(
    exercise: str,
    files: list[str],
    source: str,
    limits: Limits,
    *,
    seed: int | None = None,
    mutant: str | None = None,
    submission: str | None = None,
    exitfirst: bool = False,
    contract: bool = True,
    env: dict[str, str] | None = None,
    refuse: str = "",
) -> RunResult:
    """Run `files` for `exercise` with MTDG_SOURCE=`source` in a fresh, limited child process.

    With `refuse`, the child only collects the tests and reports each as failed with that reason."""
    options = ["--mutant", mutant] if mutant else []
    if submission:
        options += ["--submission", submission]
    if exitfirst:
        options.append("--exitfirst")
    if not contract:
        options.append("--no-contract")
    if refuse:
        options += ["--refuse", refuse]
    run = _run_child(exercise, options + files, source, limits, seed, env)
    result = _assemble(run.events, run.returncode, run.timed_out, limits, run.rule, run.over_memory)
    return _finish(result, run, files)


def run_mutant_plan(exercise: str, plan: list[tuple[str, list[str]]], source: str, limits: Limits, *,
                    seed: int | None = None, env: dict[str, str] | None = None) -> list[RunResult | None]:
    """Run each (mutant file, tests) of `plan` with --exitfirst in ONE grading child, which loads pytest, torch
    and the tests once and starts a fresh worker, with that mutant installed, for each run (`mtdg verify`).

    Each entry's result is as `run_tests` would give it, or None when the child ended before that run finished
    (a crash, the time limit): run that mutant by itself. The limits are `limits` once per entry."""
    if not plan:
        return []
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump([{"mutant": mutant, "files": files} for mutant, files in plan], handle)
    whole = dataclasses.replace(limits, wall_seconds=limits.wall_seconds * len(plan),
                                cpu_seconds=limits.cpu_limit() * len(plan))
    try:
        run = _run_child(exercise, ["--exitfirst", "--no-contract", "--plan", handle.name], source, whole, seed, env)
    finally:
        os.unlink(handle.name)
    segments: list[list[dict[str, object]]] = []
    for event in run.events:
        if event.get("event") == "run":
            segments.append([])
        elif segments:
            segments[-1].append(event)
    results: list[RunResult | None] = []
    for index in range(len(plan)):
        events = segments[index] if index < len(segments) else []
        if not any(e.get("event") == "exit" for e in events):
            results.append(None)
            continue
        result = _assemble(events, 0, False, limits, run.rule, False)
        result.seconds = next(float(e.get("seconds", 0.0)) for e in events if e.get("event") == "exit")  # type: ignore[arg-type]
        results.append(result)
    return results


@dataclass
class _ChildRun:
    """What one grading child left: its events in order, how it ended, the tail of its log."""

    events: list[dict[str, object]]
    returncode: int
    timed_out: bool
    over_memory: bool
    peak_memory_mb: int
    rule: str
    seconds: float
    log_tail: str
    simulator_note: str  # how CUDA runs in the child when it is numba's simulator, else ""


def _finish(result: RunResult, run: _ChildRun, files: list[str]) -> RunResult:
    if run.peak_memory_mb:
        result.peak_memory_mb = run.peak_memory_mb
    result.seconds = run.seconds
    result.log_tail = run.log_tail
    if run.simulator_note and any("cuda" in name for name in files):
        result.notes.append(run.simulator_note)
    return result


def _run_child(exercise: str, arguments: list[str], source: str, limits: Limits, seed: int | None,
               env: dict[str, str] | None) -> _ChildRun:
    """Start `python -m grader.child ... arguments` for `exercise` with MTDG_SOURCE=`source` under `limits`,
    collect its nonce-stamped events until it ends, and kill whatever it left behind."""
    nonce = secrets.token_hex(16)
    read_fd, write_fd = os.pipe()
    cmd = [sys.executable, "-m", "grader.child", "--result-fd", str(write_fd), "--exercise", exercise,
           "--source", source, "--test-timeout", str(limits.test_seconds), "--load-timeout", str(limits.load_seconds),
           *arguments]
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env["MTDG_SOURCE"] = source
    child_env.pop("MTDG_SEED", None)
    if seed is not None:  # in the environment, which other users cannot read, not on the command line
        child_env["MTDG_SEED"] = str(seed)
    cuda_mode = cuda_env.use_simulator_without_gpu(child_env)  # CUDA tests run in numba's simulator without a GPU
    child_env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    child_env.setdefault("MALLOC_ARENA_MAX", "2")  # glibc reserves 64 MiB of address space per thread arena
    events: list[dict[str, object]] = []
    rule = limits.memory_rule()
    started = time.time()
    with tempfile.TemporaryFile() as log, contextlib.ExitStack() as watches:
        proc = subprocess.Popen(
            cmd, cwd=project_root(), env=child_env, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
            pass_fds=(write_fd,), preexec_fn=limits.preexec(rule),
        )
        watch = (watches.enter_context(memory_limits.ResidentWatch(
            proc.pid, limits.memory_mb, lambda session: memory_limits.sessions_resident_mb(
                {session, *_worker_sessions(events)}))) if rule == memory_limits.RESIDENT else None)
        os.close(write_fd)
        reader = threading.Thread(target=_read_events, args=(read_fd, nonce, events), daemon=True)
        reader.start()
        assert proc.stdin is not None
        try:
            proc.stdin.write((nonce + "\n").encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        timed_out = False
        try:
            proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        _kill_group(proc)  # grandchildren left behind (a fork bomb, a stray worker)
        _kill_workers(events)
        reader.join(timeout=5)
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - 4000))
        tail = log.read().decode("utf-8", "replace")
    return _ChildRun(events, proc.returncode, timed_out, watch is not None and watch.exceeded,
                     watch.peak_mb if watch is not None else 0, rule, time.time() - started, tail,
                     cuda_env.describe_mode(child_env) if cuda_mode == "simulator" else "")


def _assemble(events: list[dict[str, object]], returncode: int, timed_out: bool, limits: Limits,
              rule: str = memory_limits.ADDRESS_SPACE, over_memory: bool = False) -> RunResult:
    result = RunResult(memory_rule=rule)
    tests: dict[str, TestOutcome] = {}
    hint_when: dict[str, str] = {}
    last_started = ""
    environment = ""  # the child cannot run these tests here (numba.cuda does not import): the one-line reason
    broken = ""  # the exercise's worker crashed, exited or hung while loading the module: every test failed on it
    done = False
    for event in events:
        kind = event.get("event")
        if kind == "collected" and not tests:
            for item in event.get("tests", []):  # type: ignore[union-attr]
                tests[item["id"]] = TestOutcome(item["id"], hint=item.get("hint", ""), weight=item.get("weight", 1.0))
                hint_when[item["id"]] = str(item.get("hint_when", "") or "")
        elif kind == "environment":
            environment = str(event.get("message", ""))
        elif kind == "broken":  # a judged exercise's worker could not load its module (grader/judge.py)
            broken = str(event.get("reason", ""))
        elif kind == "contract":
            result.contract = list(event.get("problems", []))  # type: ignore[arg-type]
        elif kind == "start":
            last_started = str(event.get("id"))
        elif kind == "result":
            test_id = str(event.get("id"))
            if test_id not in tests:
                continue  # only collected tests count
            test = tests[test_id]
            if test.outcome == "failed":
                continue  # a teardown report never turns a failure into a pass
            test.outcome = str(event.get("outcome"))
            test.kind = str(event.get("kind"))
            test.message = str(event.get("message", ""))
            test.duration = float(event.get("duration", 0.0))  # type: ignore[arg-type]
            if not hint_applies(hint_when.get(test_id, ""), test.message):
                test.hint = ""
        elif kind == "violation":
            reason = str(event.get("reason", ""))
            if reason and reason not in result.violations:
                result.violations.append(reason)
        elif kind == "done":
            done = True
            result.peak_memory_mb = int(event.get("peak_memory_mb", 0) or 0)  # type: ignore[arg-type]
    where = f" while running {last_started.split('::', 1)[-1]}" if last_started else ""
    if over_memory:
        result.reason = memory_limits.out_of_memory_reason(rule, limits.memory_mb, stopped=True) + where
    elif timed_out:
        result.reason = f"timed out after {limits.wall_seconds:g} s{where} (an infinite loop, or far too slow)"
    elif returncode < 0:
        result.reason = f"the test process {signal_reason(-returncode)}{where}"
    elif not done:
        result.reason = (
            f"the test process exited (code {returncode}){where} before all tests reported: {EXIT_ADVICE}"
        )
    if broken and not result.reason:
        result.reason = broken
    if environment and not result.reason:
        result.reason = environment
    if not tests and not result.reason:
        result.reason = f"no tests were collected (exit code {returncode}); is the test file importable?"
    if not result.reason and any(t.kind == "memory" for t in tests.values()):
        result.reason = memory_limits.out_of_memory_reason(rule, limits.memory_mb)
    if result.violations:
        refused = "; ".join(result.violations[:3])
        result.reason = f"refused by the grader: {refused}" + (f" (then {result.reason})" if result.reason else "")
        for test in tests.values():
            if test.outcome == "passed":
                test.outcome, test.kind = "failed", "violation"
                test.message = "not counted: exercise code broke the grading rules during this run"
    for test_id, test in tests.items():
        if test.outcome == "missing":
            test.message = result.reason or "this test never reported a result"
        if result.import_failure and not hint_when.get(test_id):
            test.hint = ""  # the test's advice is about the maths; the module did not even import
    result.tests = list(tests.values())
    return result


