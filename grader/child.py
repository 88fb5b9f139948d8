"""The grading child process: runs one exercise's tests under pytest and reports each result.

    python -m grader.child --result-fd N --exercise ex01 --source SPEC [--mutant FILE] [--seed S]
                           [--test-timeout T] [--exitfirst] FILE...

The parent writes a nonce on our stdin. Every event goes to the file descriptor the parent opened,
as one JSON line that carries the nonce; the parent ignores anything else. Order of events:
`collected` (before any exercise code is imported), `contract`, then `start`/`result` per test,
then `done`. A test whose `result` never arrives scores 0 in the parent.
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

EXERCISE_DIRS = (os.sep + "exercises" + os.sep, os.sep + "mutants" + os.sep)
MAX_MESSAGE = 2000


class TestTimeout(BaseException):
    """Raised in the main thread when one test exceeds its time limit (a BaseException, so no test swallows it)."""


class Channel:
    """Write nonce-stamped JSON events to the parent's pipe."""

    def __init__(self, fd: int, nonce: str) -> None:
        self.fd = fd
        self.nonce = nonce

    def send(self, event: str, **data: Any) -> None:
        payload = json.dumps({"nonce": self.nonce, "event": event, **data}) + "\n"
        raw = payload.encode("utf-8", "replace")
        while raw:
            written = os.write(self.fd, raw)
            raw = raw[written:]


def _student_frame(excinfo: Any) -> str:
    """'exercises/ex01_operators.py:42 in sigmoid' for the deepest frame in exercise code, if any."""
    where = ""
    for entry in traceback.extract_tb(excinfo.tb):
        if any(d in entry.filename for d in EXERCISE_DIRS):
            short = entry.filename.split(os.sep)
            where = f"{'/'.join(short[-2:])}:{entry.lineno} in {entry.name}"
    return where


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
    if isinstance(value, AssertionError):
        text = str(value).split("\nassert ")[0].strip() or "assertion failed"
        kind = "failed"
    else:
        text = f"{type(value).__name__}: {value}"
        where = _student_frame(excinfo)
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

    def __init__(self, channel: Channel, exercise: str, test_timeout: float, check_contract: bool) -> None:
        self.channel = channel
        self.exercise = exercise
        self.test_timeout = test_timeout
        self.check_contract = check_contract
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
                }
            )
        self.channel.send("collected", tests=tests)
        if self.check_contract:
            self._contract()

    def _contract(self) -> None:
        from minitorch_dg import course

        try:
            problems = course.check_contract(self.exercise)
        except BaseException as error:  # the student's module may not even import
            problems = [f"importing the module failed: {type(error).__name__}: {error}"]
        self.channel.send("contract", problems=problems)

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
        self.channel.send("done", exitstatus=int(exitstatus))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.child")
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--exercise", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--mutant")
    parser.add_argument("--submission", help="a folder whose exNN_*.py files replace those of exercises/")
    parser.add_argument("--seed")
    parser.add_argument("--test-timeout", type=float, default=60.0)
    parser.add_argument("--exitfirst", action="store_true")
    parser.add_argument("--no-contract", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)

    nonce = sys.stdin.readline().strip()
    sys.stdin.close()
    channel = Channel(args.result_fd, nonce)
    os.environ["MTDG_SOURCE"] = args.source
    if args.seed is not None:
        os.environ["MTDG_SEED"] = str(args.seed)
    started = time.time()

    import pytest

    from minitorch_dg import course

    if args.submission:
        import exercises

        exercises.__path__.insert(0, args.submission)  # the submission's files shadow exercises/

    if args.mutant:
        from grader.mutants import load_mutant

        mutant = load_mutant(args.mutant)
        course.install(args.exercise, mutant.module(), f"mutant {mutant.name}")

    reporter = Reporter(channel, args.exercise, args.test_timeout, check_contract=not args.no_contract)
    pytest_args = ["-q", "-p", "no:cacheprovider", "--tb=no", "--no-header", "-rN",
                   "-W", "ignore::DeprecationWarning", *args.files]
    if args.exitfirst:
        pytest_args.insert(0, "-x")
    code = pytest.main(pytest_args, plugins=[reporter])
    channel.send("exit", code=int(code), seconds=time.time() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
