"""The grading child process: runs one exercise's tests under pytest and reports each result.

    python -m grader.child --result-fd N --exercise ex01 --source SPEC [--mutant FILE]
                           [--test-timeout T] [--exitfirst] [--refuse REASON] FILE...

The hidden tests' seed comes in MTDG_SEED (the environment), never on the command line, which any user can read.

The parent writes a nonce on our stdin. Every event goes to the file descriptor the parent opened,
as one JSON line that carries the nonce; the parent ignores anything else. Order of events:
`collected` (before any exercise code is imported), `contract`, then `start`/`result` per test,
then `done`. A test whose `result` never arrives scores 0 in the parent.

The nonce is read before anything else happens and lives only in a closure of the channel, never in
the environment or an attribute. Exercise code never runs here: the tests call it through a worker process
(grader/judge.py), and this process refuses to import it; should it find that code loaded in itself anyway,
a `violation` event says so and the parent scores the exercise 0. With `--refuse REASON` (the static policy
refused the submission) the tests are only collected, and each is reported failed with REASON: no exercise
code is imported at all.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from types import FrameType
from typing import Any

MUTANTS_DIR = os.sep + "mutants" + os.sep  # a mutant module is exercise code too
MAX_MESSAGE = 2000
# Seconds a judged exercise's worker may take to start and import the module (numba and the framework; far
# more on a busy machine with a cold cache): not the per-test limit, which a test's own work gets in full.
LOAD_SECONDS = 30.0


class TestTimeout(BaseException):
    """Raised in the main thread when one test exceeds its time limit (a BaseException, so no test swallows it)."""


class Channel:
    """Write nonce-stamped JSON events to the parent's pipe (the nonce is kept in a closure only)."""

    def __init__(self, fd: int, nonce: str) -> None:
        def send(event: str, data: dict[str, Any]) -> None:
            payload = json.dumps({"nonce": nonce, "event": event, **data}) + "\n"
            raw = payload.encode("utf-8", "replace")
            while raw:
                written = os.write(fd, raw)
                raw = raw[written:]

        self._send = send

    def send(self, event: str, **data: Any) -> None:
        self._send(event, data)


def _code_dirs() -> tuple[list[str], str]:
    """(folders of exercise code in this run: exercises/ and a submission that shadows it, the tests folder)."""
    import importlib.util

    from grader.paths import project_root

    package = sys.modules.get("exercises")  # its __path__ has the submission first, once the run put it there
    found = list(getattr(package, "__path__", [])) if package is not None else []
    if not found:
        spec = importlib.util.find_spec("exercises")
        found = list(spec.submodule_search_locations or []) if spec else []
    exercise_dirs = [os.path.join(os.path.abspath(d), "") for d in found]
    return exercise_dirs, os.path.join(str(project_root() / "tests"), "")


def _shown(filename: str) -> str:
    """A file as the student finds it: relative to the project (tests/exercises/test_ex02_autodiff.py),
    or its full path outside it (a --submission folder)."""
    from grader.paths import project_root

    root = os.path.join(str(project_root()), "")
    return filename[len(root):] if filename.startswith(root) else filename


def _student_frame(tb: Any) -> str:
    """'exercises/ex01_operators.py:42 in sigmoid': the deepest frame in exercise code (the student's module
    or a mutant); without one, the deepest frame in a test file ('tests/exercises/test_ex01_operators.py:7
    in test_sigmoid'); '' when neither is on the stack."""
    exercise_dirs, tests_dir = _code_dirs()
    student = test = ""
    for entry in traceback.extract_tb(tb):
        filename = os.path.abspath(entry.filename)
        where = f"{_shown(filename)}:{entry.lineno} in {entry.name}"
        if any(filename.startswith(d) for d in exercise_dirs) or MUTANTS_DIR in filename:
            student = where
        elif filename.startswith(tests_dir):
            test = where
    return student or test


def describe_failure(excinfo: Any) -> tuple[str, str]:
    """(kind, one message) for a failed test: what went wrong, where in the student's code, the inputs."""
    from minitorch_dg.errors import CourseError, NotImplementedYet, one_line

    value = excinfo.value
    if isinstance(value, NotImplementedYet):
        return "not_implemented", one_line(value)
    if isinstance(value, CourseError):
        return "error", one_line(value)
    if isinstance(value, TestTimeout):
        return "timeout", str(value)
    if isinstance(value, MemoryError):
        where = _student_frame(excinfo.tb)
        return "memory", ("MemoryError: the test ran out of memory (the grader limits each exercise's address "
                          f"space){' at ' + where if where else ''}; is something allocating without bound?")
    from grader.judge import WorkerFailure

    if isinstance(value, WorkerFailure):
        return value.kind, str(value)
    if isinstance(value, AssertionError):
        text = str(value).split("\nassert ")[0].strip() or "assertion failed"
        kind = "failed"
    else:
        text = f"{type(value).__name__}: {value}"
        where = getattr(value, "remote_where", "") or _student_frame(excinfo.tb)  # a worker's exception says where
        if where:
            text += f" (at {where})"
        kind = "error"
    notes = [n for n in getattr(value, "__notes__", []) if not n.startswith("You can reproduce")]
    if notes:
        text += "\n" + "\n".join(notes)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 20] + " ... (truncated)"
    return kind, text


class Reporter:
    """pytest plugin: turns collection and test outcomes into channel events; enforces per-test time."""

    def __init__(self, channel: Channel, exercise: str, test_timeout: float, check_contract: bool,
                 refuse: str = "", refuse_kind: str = "policy") -> None:
        self.channel = channel
        self.refuse_kind = refuse_kind
        self.exercise = exercise
        self.test_timeout = test_timeout
        self.check_contract = check_contract
        self.refuse = refuse
        self.timed_out = False
        self.current = ""

    # -- collection ---------------------------------------------------------------------------

    def pytest_collection_finish(self, session: Any) -> None:
        tests = []
        for item in session.items:
            weight = item.get_closest_marker("weight")
            hint = item.get_closest_marker("hint")
            tests.append(
                {
                    "id": item.nodeid,
                    "weight": float(weight.args[0]) if weight else 1.0,
                    "hint": str(hint.args[0]) if hint else "",
                    "hint_when": str(hint.kwargs.get("when", "")) if hint else "",
                }
            )
        self.channel.send("collected", tests=tests)
        if self.refuse:
            for test in tests:
                self.channel.send("result", id=test["id"], outcome="failed", kind=self.refuse_kind, message=self.refuse,
                                  duration=0.0)
            return
        if self.check_contract:
            self.channel.send("contract", problems=judged_contract(self.exercise))

    def violation(self, reason: str) -> None:
        """The judging process found exercise code loaded in itself: tell the parent (the exercise scores 0)."""
        self.channel.send("violation", reason=reason, test=self.current)
    # -- per test -------------------------------------------------------------------------------

    def _alarm(self, signum: int, frame: FrameType | None) -> None:
        self.timed_out = True
        signal.setitimer(signal.ITIMER_REAL, 1.0)  # keep interrupting until the test gives up
        raise TestTimeout(f"the test took longer than {self.test_timeout:g} s (an infinite loop?)")

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.current = nodeid
        self.timed_out = False
        self.channel.send("start", id=nodeid)
        if self.test_timeout > 0:
            signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, self.test_timeout)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        import pytest

        if call.when != "call" and call.excinfo is None:
            return  # setup or teardown went fine
        send = lambda outcome, kind, message: self.channel.send(  # noqa: E731
            "result", id=item.nodeid, outcome=outcome, kind=kind, message=message, duration=call.duration
        )
        if call.excinfo is None:
            send("passed", "passed", "")
        elif call.excinfo.errisinstance(pytest.skip.Exception):
            send("skipped", "skipped", str(call.excinfo.value))
        else:
            kind, message = describe_failure(call.excinfo)
            if self.timed_out:
                kind = "timeout"
                message = f"the test took longer than {self.test_timeout:g} s (an infinite loop?)"
            if call.when != "call":
                message = f"[{call.when}] {message}"
            send("failed", kind, message)

    def pytest_sessionfinish(self, session: Any, exitstatus: int) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        from grader import judge

        broken = judge.broken_reason(self.exercise)
        if broken:
            self.channel.send("broken", reason=broken)
        try:
            judge.close_all()  # every worker's process group ends before the run reports it is done
        except judge.JudgeError as error:
            self.violation(str(error))
        self.channel.send("done", exitstatus=int(exitstatus), peak_memory_mb=peak_memory_mb())


def judged_contract(exercise: str) -> list[str]:
    """The contract problems of an exercise whose code runs in a worker: the worker imports the student's
    module and describes its API as data; the reference's comes from its file (grader/contract.py)."""
    from grader import judge
    from grader.contract import IMPORT_FAILED, api_problems, reference_api

    try:
        mine = judge.exercise(exercise).api()
    except judge.WorkerFailure as failure:
        return [f"{IMPORT_FAILED}: {failure}"]
    except Exception as error:  # noqa: BLE001 - the module's own error at import, raised again here
        where = getattr(error, "remote_where", "")
        return [f"{IMPORT_FAILED}: {type(error).__name__}: {error}" + (f" (at {where})" if where else "")]
    try:
        return api_problems(mine, reference_api(exercise))
    except Exception as error:  # noqa: BLE001 - said as a problem, not a crash of the run
        return [f"comparing it with its reference failed: {type(error).__name__}: {error}"]


def peak_memory_mb() -> int:
    """The largest address space this process has had (VmPeak), in MiB; 0 where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


class _BlockExercises:
    """A meta-path finder that refuses to import any exercise module (used when the policy refused them)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.startswith("exercises.") or name.startswith("mtdg_mutant_"):
            raise ImportError(f"{name} was refused by the grader's policy and is not imported")
        return None


def cuda_import_problem(files: list[str]) -> str:
    """For cuda test files: '' when numba.cuda imports here, else one line saying which versions to install
    (every test would otherwise fail with the same long import error). It imports numba.cuda and the
    framework, never exercise code; the kernels run in the worker, which creates its own CUDA context."""
    if not any("cuda" in os.path.basename(name) for name in files):
        return ""
    from minitorch_dg.backends.cuda_versions import import_problem

    return import_problem()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.child")
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--exercise", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--mutant")
    parser.add_argument("--submission", help="a folder whose exNN_*.py files replace those of exercises/")
    parser.add_argument("--test-timeout", type=float, default=60.0)
    parser.add_argument("--load-timeout", type=float, default=LOAD_SECONDS)
    parser.add_argument("--exitfirst", action="store_true")
    parser.add_argument("--no-contract", action="store_true")
    parser.add_argument("--refuse", default="", help="collect only; report every test failed with this reason")
    parser.add_argument("--plan", help="mtdg verify: a JSON file of [{mutant, files}], run one after another")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args(argv)
    if not args.files and not args.plan:
        parser.error("name the test files to run")

    channel = Channel(args.result_fd, sys.stdin.readline().strip())  # the nonce, before anything else
    sys.stdin.close()
    os.environ["MTDG_SOURCE"] = args.source
    started = time.time()

    from grader import judge

    plan = _read_plan(args.plan) if args.plan else []
    test_files = args.files + [f for run in plan for f in run["files"]]
    environment = "" if args.refuse else cuda_import_problem(test_files)
    if environment:
        channel.send("environment", message=environment)
        args.refuse = environment
    reporter = Reporter(channel, args.exercise, args.test_timeout, check_contract=not args.no_contract,
                        refuse=args.refuse, refuse_kind="environment" if environment else "policy")
    if args.refuse:
        sys.meta_path.insert(0, _BlockExercises())
    else:  # exercise code runs in a worker process; this process never imports it (grader/judge.py)
        sys.meta_path.insert(0, judge.ExerciseImportBlocker(args.exercise))
        judge.configure(submission=args.submission, mutant=args.mutant, call_timeout=args.test_timeout,
                        load_timeout=max(args.test_timeout, args.load_timeout), strict=True, prestart=True,
                        on_start=lambda pid, uid: channel.send("worker", pgid=pid, uid=uid))
        if not plan:  # (a plan starts a worker per run)
            judge.prestart(args.exercise)  # the worker boots while pytest, torch and the tests load

    import pytest

    pytest_args = ["-q", "-p", "no:cacheprovider", "--tb=no", "--no-header", "-rN",
                   "-W", "ignore::DeprecationWarning", *args.files]
    if args.exitfirst:
        pytest_args.insert(0, "-x")
    if args.refuse:
        pytest_args.insert(0, "--collect-only")
    if plan:
        if args.refuse:
            print(f"grader.child: --plan cannot run {args.exercise}: {args.refuse}", file=sys.stderr)
            return 2
        return run_plan(plan, pytest_args, channel, args)
    code = pytest.main(pytest_args, plugins=[reporter])
    channel.send("exit", code=int(code), seconds=time.time() - started)
    return 0


def _read_plan(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        plan = json.load(handle)
    return [{"mutant": str(run["mutant"]), "files": [str(f) for f in run["files"]]} for run in plan]


def run_plan(plan: list[dict[str, Any]], options: list[str], channel: Channel, args: argparse.Namespace) -> int:
    """`mtdg verify`'s mutants of a judged exercise, one after another in this process: pytest, torch and the
    framework load once, not once per mutant. Each run is a `run` event, then the events of a whole run
    (its own pytest session, a new worker with that mutant installed, the test modules imported afresh as in a
    new process), ending with `exit`."""
    import pytest

    from grader import judge

    for index, run in enumerate(plan):
        started = time.time()
        channel.send("run", index=index)
        _forget_tests()
        judge.reset()
        judge.configure(mutant=run["mutant"])
        judge.prestart(args.exercise)
        reporter = Reporter(channel, args.exercise, args.test_timeout, check_contract=False)
        code = pytest.main([*options, *run["files"]], plugins=[reporter])
        channel.send("exit", code=int(code), seconds=time.time() - started)
    return 0


def _forget_tests() -> None:
    """Drop the test modules a previous run imported (their module-level state too), so the next imports them anew."""
    for name in [n for n in sys.modules if n == "tests" or n.startswith("tests.")]:
        del sys.modules[name]


def finish(status: int) -> None:
    """End the process now that every event is sent: end the workers and their users, flush what was printed,
    and skip the interpreter's teardown (torch's and numba's take most of a second, once per grading run)."""
    from grader import judge

    judge.close_all()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


if __name__ == "__main__":
    finish(main())
