"""The trusted side of grading: tests run here, the exercise's code runs in a worker process (grader/worker.py).

A test asks for an exercise and calls it as if it were the module:

    ops = judge.exercise("ex01")
    assert_close(ops.add(x, y), T(x) + T(y), ...)       # add runs in the worker; a float comes back
    ops.map(lambda v: v * v)(xs)                         # the lambda travels as code; map's result stays there

What comes back is data only: None, bool, int, float, str, lists/tuples/dicts of those, numpy arrays (loaded
with allow_pickle=False), or a reference to an object the worker keeps (calling it runs in the worker). An
exception raised in the worker is raised here with the same class name (the built-in class itself for
ValueError, OverflowError, ...; the framework's for NotImplementedYet and CourseError), its message cleaned of
control characters and truncated, and where it happened in `remote_where`. A worker that dies, hangs, floods
the channel or answers malformed data fails the test that was waiting, with a one-line reason, and is
replaced for the next test (a module that does not even load fails every test with the same reason).

When grading, the child (grader/child.py) calls `configure(strict=True, ...)`: from then on a call refuses to
run while the graded exercise's module (the student's, the reference or a mutant) is imported in this process,
and `close_all` ends every worker's process group when the run ends.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import ctypes.util
import dis
import functools
import io
import json
import marshal
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import types
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import sandbox
from .crashes import EXIT_ADVICE, signal_reason
from .worker import HEADER, ProtocolError, write_frame

# Exercises whose worker runs its CUDA kernels under the strict simulator schedule (grader/cuda_schedule.py,
# `python -m grader.worker --cuda-schedule`) and logs every launch, which programs send back as data.
CUDA_SCHEDULED = frozenset({"ex07"})
# Exercises built on torch.distributed: their worker may import torch (the engine, not the oracle: every
# expected value is still computed here) and fork its ranks (`python -m grader.worker --torch-engine`); as
# root its user gets the one group that may read torch (grader/sandbox.py, torch_group).
TORCH_ENGINE = frozenset({"ex14"})

MAX_REPLY_BYTES = 4 * 1024 * 1024  # one reply frame
MAX_NODES = 200_000  # values in one reply
MAX_DEPTH = 32
MAX_STRING = 100_000
MAX_MESSAGE = 1000  # characters of a worker's exception message shown in a report
MAX_OUTPUT = 1024 * 1024  # bytes of a worker's prints passed on to the log, per worker
MAX_RESTARTS = 10  # workers started for one exercise after the first, before every later call fails at once
# Reply tags the judge accepts; an exercise may narrow them (ex01: numbers, lists of numbers, functions).
ALL_TAGS = frozenset({"n", "b", "i", "f", "s", "l", "t", "d", "a", "r"})
NUMBERS = frozenset({"n", "b", "i", "f", "l", "t", "r"})
# Variables the worker must not inherit: the hidden-test seed, the name of the running test, tool state.
PRIVATE_ENV_PREFIXES = ("PYTEST_", "HYPOTHESIS", "MTDG_SEED", "MTDG_PROTECT", "COV_CORE")


class JudgeError(RuntimeError):
    """The judge itself is misused (exercise code imported into the judging process, say)."""


class WorkerFailure(Exception):
    """The worker could not answer: it died, hung, or sent something malformed. `kind` is 'error' or 'timeout'."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class WorkerException(Exception):
    """Base of the classes made for exceptions the worker raised whose name is not a known class here."""

    remote_where = ""


@dataclass(frozen=True)
class Settings:
    """How workers are started. The grading child sets these; a plain `pytest` run keeps the defaults."""

    submission: str | None = None  # a folder whose exNN_*.py files shadow exercises/
    mutant: str | None = None  # a mutant file (grader/mutants/...) installed for the graded exercise
    call_timeout: float = 60.0  # seconds one call may take (the grading child's per-test alarm also applies)
    load_timeout: float = 60.0  # seconds for the worker to start and import the exercise's module
    strict: bool = False  # refuse to run while the graded module is imported in this process
    prestart: bool = False  # start the worker, and have it import the module, as soon as the exercise is named
    on_start: Callable[[int, int | None], None] | None = None  # told each worker's process group and user id


_settings = Settings()
_clients: dict[str, ExerciseClient] = {}


def configure(**changes: Any) -> None:
    """Change the settings of workers started from now on (see `Settings`)."""
    global _settings
    _settings = replace(_settings, **changes)


def broken_reason(exercise_id: str) -> str:
    """Why every call of `exercise_id` fails at once because its worker crashed, exited or hung while loading
    the module ("" when it loaded, raised an ordinary exception at import, or never started): the run's
    one-line reason, as a crash of the grading child itself would be."""
    client = _clients.get(exercise_id)
    broken = client._state.broken if client is not None else None
    return str(broken) if isinstance(broken, WorkerFailure) else ""


def exercise(exercise_id: str, *, results: frozenset[str] = ALL_TAGS) -> ExerciseClient:
    """The stand-in for an exercise module in tests: one per exercise and process. `results` lists the reply
    tags its calls may return (a reply with another is a malformed answer and fails the test)."""
    client = _clients.get(exercise_id)
    if client is None:
        client = _clients[exercise_id] = ExerciseClient(exercise_id, results)
        if _settings.prestart:
            _boot(client)
    elif exercise_id in _prestarted:  # the test module names the exercise started ahead of it: its tags rule
        _prestarted.discard(exercise_id)
        client._state.results = results
    return client


_prestarted: set[str] = set()  # exercises whose client `prestart` made before any test module asked for it


def prestart(exercise_id: str) -> None:
    """Start `exercise_id`'s worker and its import of the module now, before pytest and torch load (the
    grading child calls this first): both then boot side by side, and the first call finds the module loaded.
    The test module that later asks for the exercise gets this client, with its own reply tags."""
    if exercise_id not in _clients:
        _clients[exercise_id] = client = ExerciseClient(exercise_id, ALL_TAGS)
        _prestarted.add(exercise_id)
        _boot(client)


def _boot(client: ExerciseClient) -> None:
    """Start the worker and send it the request to import the module, without waiting for either."""
    try:
        client._state.start().send_load()
    except Exception:  # noqa: BLE001 - the first call starts it again and reports what fails
        pass


def close_all() -> None:
    """End every worker of this process (and each one's whole process group)."""
    for client in list(_clients.values()):
        client.close()


atexit.register(close_all)


def reset() -> None:
    """End every worker and forget every client: the next `exercise` call starts as in a new process (the
    grading child between the runs of a plan of mutants)."""
    close_all()
    _clients.clear()
    _prestarted.clear()


# -- keeping exercise code out of the judging process -----------------------------------------------------


def module_name_of(exercise_id: str) -> str:
    """'ex01_operators' for 'ex01' (the course's own mapping)."""
    from minitorch_dg import course

    return course.module_name(exercise_id)


def exercise_code_loaded(exercise_id: str) -> str:
    """The name of a module of `exercise_id`'s code (student's, reference or mutant) imported in this
    process, or '' when there is none."""
    name = module_name_of(exercise_id)
    for loaded in (f"exercises.{name}", f"solutions.{name}"):
        if loaded in sys.modules:
            return loaded
    prefix = f"mtdg_mutant_{name}"
    return next((m for m in list(sys.modules) if m.startswith(prefix)), "")


def assert_no_exercise_code(exercise_id: str) -> None:
    """Raise JudgeError when the judging process holds `exercise_id`'s code (see `exercise_code_loaded`)."""
    loaded = exercise_code_loaded(exercise_id)
    if loaded:
        raise JudgeError(f"the judging process imported {loaded}; exercise code must run in the worker only")


class ExerciseImportBlocker:
    """A meta-path finder for the judging process: refuses to import the graded exercise's modules."""

    def __init__(self, exercise_id: str) -> None:
        name = module_name_of(exercise_id)
        self.refused = (f"exercises.{name}", f"solutions.{name}", f"mtdg_mutant_{name}")

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.startswith(self.refused):
            raise ImportError(f"{fullname} is exercise code: it runs in the worker, never in the judging process")
        return None


# -- untrusted text ---------------------------------------------------------------------------------------


def clean_text(text: Any, limit: int = MAX_MESSAGE) -> str:
    """`text` from the worker made safe to show: control and format characters become spaces, runs of
    spaces are kept, and it is cut to `limit` characters."""
    if not isinstance(text, str):
        return ""
    text = text[: limit * 2]
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c for c in text).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 16] + " ... (truncated)"


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
_BUILTIN_REFUSED = frozenset({"StopIteration", "StopAsyncIteration", "GeneratorExit"})
_made: dict[tuple[str, type], type] = {}


def _exception_class(name: str) -> type[BaseException]:
    """The class to raise for a worker exception named `name`: the built-in one, the framework's, or a
    subclass of WorkerException with that name."""
    builtin = getattr(__import__("builtins"), name, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception) and name not in _BUILTIN_REFUSED:
        return builtin
    from minitorch_dg import errors

    base = getattr(errors, name, None)  # the framework's own errors (NotImplementedYet, ShapeError, ...)
    if not (isinstance(base, type) and issubclass(base, Exception) and base.__module__ == errors.__name__):
        base = WorkerException
    key = (name, base)
    if key not in _made:
        _made[key] = type(name, (base,), {"__init__": lambda self, message: Exception.__init__(self, message),
                                          "__module__": "grader.judge.worker"})
    return _made[key]


def remote_exception(error: Any) -> BaseException:
    """The exception to raise for an error reply (a malformed one is a WorkerFailure)."""
    if not isinstance(error, dict):
        return WorkerFailure("the exercise process answered with a malformed error")
    name = error.get("type")
    name = name if isinstance(name, str) and _NAME.match(name) else "WorkerException"
    message = clean_text(error.get("message", ""))
    cls = _exception_class(name)
    try:
        exc = cls(message)
    except Exception:  # noqa: BLE001 - a built-in class with another constructor (UnicodeDecodeError)
        exc = _made.setdefault((name, WorkerException), type(name, (WorkerException,), {}))(message)
    exc.remote_where = clean_text(error.get("where", ""), 200)  # type: ignore[attr-defined]
    return exc


# -- values -----------------------------------------------------------------------------------------------


FUNCTION_NAMES = frozenset({"math"})  # globals a test's small function may name (besides builtins)
PROGRAM_NAMES = frozenset({"math", "mt", "ex"})  # a program's: also the framework and the exercise's module


def _code_of(function: types.FunctionType, names: frozenset[str] = FUNCTION_NAMES, tag: str = "c") -> dict[str, Any]:
    """A test's small function (or a program) as code the worker can rebuild; refused when it needs the test's
    variables: closures, defaults and globals other than builtins and `names`."""
    code = function.__code__
    outside = sorted(n for n in _global_names(code) if n not in names and not hasattr(__import__("builtins"), n))
    if function.__closure__ or function.__defaults__ or function.__kwdefaults__ or outside:
        allowed = "builtins and math" if names == FUNCTION_NAMES else f"builtins and {', '.join(sorted(names))}"
        raise TypeError(
            f"{function.__qualname__} cannot be sent to the exercise process: a function passed to exercise code "
            f"may use only its arguments, {allowed}" + (f" (it names {', '.join(outside)})" if outside else "")
            + ("; pass what it needs as arguments" if function.__closure__ or outside else "")
        )
    return {tag: base64.b64encode(marshal.dumps(code)).decode("ascii"), "name": function.__name__}


@dataclass(frozen=True)
class Program:
    """A program passed as an argument (to another program): it travels as code and, unlike a test's small
    function, may name `mt` and `ex` too. ex14's jobs pass the function each rank runs this way."""

    function: types.FunctionType


def _global_names(code: types.CodeType) -> set[str]:
    """The global names `code` and the functions and classes nested in it look up (a class body's own names,
    which it stores before it reads them, are not global)."""
    loaded, stored = set(), set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"):
            loaded.add(str(instruction.argval))
        elif instruction.opname == "STORE_NAME":
            stored.add(str(instruction.argval))
    found = loaded - stored
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found |= _global_names(constant)
    return found


def encode_argument(value: Any) -> dict[str, Any]:
    """A tagged value for the worker (trusted direction: it may carry code); see grader/worker.py."""
    if value is None:
        return {"n": None}
    if isinstance(value, bool):
        return {"b": value}
    if isinstance(value, int):
        return {"i": str(int(value))}
    if isinstance(value, float):
        return {"f": float.hex(float(value))}
    if isinstance(value, str):
        return {"s": value}
    if isinstance(value, (list, tuple)):
        return {"l" if isinstance(value, list) else "t": [encode_argument(v) for v in value]}
    if isinstance(value, dict):
        return {"d": [[str(k), encode_argument(v)] for k, v in value.items()]}
    if isinstance(value, slice):
        return {"sl": [encode_argument(value.start), encode_argument(value.stop), encode_argument(value.step)]}
    if isinstance(value, RemoteObject):
        return value._target
    if isinstance(value, types.FunctionType):
        return _code_of(value)
    if isinstance(value, Program):
        return _code_of(value.function, PROGRAM_NAMES, "p")
    import numpy

    if isinstance(value, numpy.generic):
        return encode_argument(value.item())
    if isinstance(value, numpy.ndarray):
        buffer = io.BytesIO()
        numpy.save(buffer, value, allow_pickle=False)  # (ascontiguousarray would make a 0-d array 1-d)
        return {"a": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, Iterator):
        return {"it": [encode_argument(v) for v in value]}
    raise TypeError(f"a {type(value).__name__} cannot be sent to the exercise process")


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0


def decode_reply(value: Any, client: ExerciseClient, allowed: frozenset[str], budget: _Budget | None = None,
                 depth: int = 0) -> Any:
    """The Python value of a tagged value from the worker: exact built-in types only, within the caps and
    the tags `allowed`; ProtocolError for anything else."""
    budget = budget or _Budget()
    budget.nodes += 1
    if budget.nodes > MAX_NODES or depth > MAX_DEPTH:
        raise ProtocolError(f"the answer holds more than {MAX_NODES} values or is nested too deeply")
    if not isinstance(value, dict) or not value:
        raise ProtocolError("an answer that is not a tagged value")
    tag = next(iter(value))
    if tag not in allowed:
        raise ProtocolError(f"an answer of a kind this exercise never returns ({_TAG_NAMES.get(tag, repr(tag)[:20])})")
    data = value[tag]
    if len(value) != (2 if tag == "r" else 1):
        raise ProtocolError("a tagged value with extra fields")
    if tag == "n" and data is None:
        return None
    if tag == "b" and type(data) is bool:
        return data
    if tag == "i" and type(data) is str and re.fullmatch(r"-?[0-9]{1,400}", data):
        return int(data)
    if tag == "f" and type(data) is str and len(data) <= 40:
        try:
            return float.fromhex(data)
        except ValueError:
            raise ProtocolError("a malformed float") from None
    if tag == "s" and type(data) is str and len(data) <= MAX_STRING:
        return data
    if tag in ("l", "t") and type(data) is list:
        items = [decode_reply(v, client, allowed, budget, depth + 1) for v in data]
        return items if tag == "l" else tuple(items)
    if tag == "d" and type(data) is list:
        out = {}
        for pair in data:
            if not (type(pair) is list and len(pair) == 2 and type(pair[0]) is str):
                raise ProtocolError("a malformed dict")
            out[pair[0][:200]] = decode_reply(pair[1], client, allowed, budget, depth + 1)
        return out
    if tag == "a" and type(data) is str:
        return _load_array(data)
    if tag == "r" and type(data) is int and 0 < data < 2**53 and type(value.get("k")) is str:
        return RemoteObject(client, {"r": data}, clean_text(value["k"], 60), owned=True)
    raise ProtocolError(f"a malformed {_TAG_NAMES.get(tag, 'value')}")


_TAG_NAMES = {"n": "None", "b": "bool", "i": "int", "f": "float", "s": "str", "l": "list", "t": "tuple",
              "d": "dict", "a": "array", "r": "object"}


def _load_array(text: str) -> Any:
    """A numpy array from base64 .npy bytes, never unpickling; only bool, integer and float arrays."""
    import numpy

    try:
        raw = base64.b64decode(text, validate=True)
        array = numpy.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - any failure to parse is a malformed answer
        raise ProtocolError(f"a malformed array ({type(error).__name__})") from None
    if not isinstance(array, numpy.ndarray) or array.dtype.kind not in "biuf":
        raise ProtocolError("an array of a kind this grader does not accept")
    return array


# -- remote objects ----------------------------------------------------------------------------------------


class RemoteObject:
    """Something in the worker: an attribute of the exercise module ({"x": name}) or an object it returned
    ({"r": id}). Calling it runs the call in the worker."""

    __slots__ = ("_client", "_target", "_label", "_generation", "__weakref__")

    def __init__(self, client: ExerciseClient, target: dict[str, Any], label: str, owned: bool = False) -> None:
        self._client = client
        self._target = target
        self._label = label
        self._generation = client.generation if owned else 0  # which worker holds it (0: any, by name)
        if owned:
            import weakref

            weakref.finalize(self, client.release, target["r"], self._generation)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._client.call(self._target, self._label, args, kwargs, self._generation)

    def __bool__(self) -> bool:
        raise TypeError(f"{self._label} is an object in the exercise process, not a number or a bool")

    def __repr__(self) -> str:
        return f"<{self._label} in the exercise process>"


def _describe_call(label: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) if not isinstance(a, types.FunctionType) else a.__name__ for a in args]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    text = f"{label}({', '.join(parts)})"
    return text if len(text) <= 120 else text[:117] + "..."


_prctl: Any = None


def _die_with_parent() -> None:
    """In the worker, before exec: get SIGKILL when the judge dies (Linux), so no worker outlives its judge."""
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _load_prctl() -> None:
    global _prctl
    if _prctl is None and sys.platform.startswith("linux"):
        try:
            _prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
        except (OSError, AttributeError):
            _prctl = None


def _limit_and_die_with_parent(max_processes: int = sandbox.MAX_PROCESSES) -> None:
    """In a sandboxed worker before exec (already its own user): its limits, then the parent-death signal
    (which a change of user would have cleared). A worker that runs CUDA kernels (CUDA_SCHEDULED) gets
    sandbox.MAX_PROCESSES_CUDA: the simulator runs every thread of a block as a thread of the worker's user."""
    sandbox.limit_worker(max_processes)
    _die_with_parent()


def _sandbox_for(root: Path, exercise_id: str, submission: str | None,
                 mutant_file: Path | None) -> sandbox.Sandbox | None:
    """A Sandbox for a new worker where the grader runs as root and can switch users, else None."""
    if sandbox.status(root):
        return None
    return sandbox.Sandbox(root, exercise_id, submission, mutant_file)


def worker_environment() -> dict[str, str]:
    """The judge's environment without what the worker must not see (PRIVATE_ENV_PREFIXES)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE_ENV_PREFIXES)}


class WorkerProcess:
    """One running worker: its channel, its output drain, its process group."""

    def __init__(self, exercise_id: str, settings: Settings) -> None:
        from .paths import project_root

        root = str(project_root())
        cmd = [sys.executable, "-m", "grader.worker", "--exercise", exercise_id, "--root", root]
        cuda, uses_torch = exercise_id in CUDA_SCHEDULED, exercise_id in TORCH_ENGINE
        if cuda:
            cmd.append("--cuda-schedule")
        if uses_torch:
            cmd.append("--torch-engine")
        submission = os.path.abspath(settings.submission) if settings.submission else None
        mutant_file: Path | None = None
        mutant_args: list[str] = []
        if settings.mutant:
            from .mutants import load_mutant

            mutant = load_mutant(settings.mutant)
            mutant_file = mutant.write()
            mutant_args = ["--mutant-name", mutant.unique_name, "--mutant-label", f"mutant {mutant.name}"]
        self.sandbox = _sandbox_for(Path(root), exercise_id, submission, mutant_file)
        cwd, env = root, worker_environment()
        preexec: Callable[[], None] = _die_with_parent
        self.renames: list[tuple[str, str]] = []  # (path in the stage, the path a report shows)
        if self.sandbox is not None:  # root: the worker is a user of its own and reads copies (grader/sandbox.py)
            stage = self.sandbox.stage
            if submission and stage.submission:
                self.renames.append((stage.submission, submission))
            if mutant_file and stage.mutant:
                self.renames.append((stage.mutant, str(mutant_file)))
            self.renames += [(os.path.join(str(stage.path), name, ""), os.path.join(root, name, ""))
                             for name in ("solutions", "grader")]
            submission = stage.submission
            mutant_file = Path(stage.mutant) if stage.mutant else None
            cwd = str(stage.scratch)
            preexec = functools.partial(_limit_and_die_with_parent,
                                        sandbox.MAX_PROCESSES_CUDA if cuda else sandbox.MAX_PROCESSES)
            env = stage.environment(env)
        if submission:
            cmd += ["--submission", submission]
        if mutant_file:
            cmd += ["--mutant-file", str(mutant_file), *mutant_args]
        requests_read, self.requests = os.pipe()
        self.replies, replies_write = os.pipe()
        output_read, output_write = os.pipe()
        cmd[3:3] = ["--requests-fd", str(requests_read), "--replies-fd", str(replies_write)]
        _load_prctl()
        try:
            identity = sandbox.identity(self.sandbox.uid, uses_torch) if self.sandbox is not None else {}
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output_write, stderr=output_write,
                pass_fds=(requests_read, replies_write), start_new_session=True, preexec_fn=preexec, **identity,
            )
        except BaseException:
            if self.sandbox is not None:
                self.sandbox.close()
            raise
        finally:
            for fd in (requests_read, replies_write, output_write):
                os.close(fd)
        self.seq = 0
        self.closed = False
        self.early_load = 0  # the seq of a load request sent ahead of its reply (`send_load`), else 0
        self.drain = threading.Thread(target=_drain, args=(output_read,), daemon=True)
        self.drain.start()
        if settings.on_start is not None:
            settings.on_start(self.proc.pid, self.sandbox.uid if self.sandbox is not None else None)

    def send_load(self) -> None:
        """Ask the worker to import the module now; `request({"op": "load"}, ...)` then waits for this reply
        instead of asking again (the import runs while the judge loads pytest, torch and the tests)."""
        if self.early_load or self.seq:
            return
        self.seq += 1
        try:
            write_frame(self.requests, json.dumps({"op": "load", "seq": self.seq}).encode("utf-8"))
        except OSError:
            self.seq -= 1  # not sent: the load asks again, and reports what fails
            return
        self.early_load = self.seq

    def request(self, payload: dict[str, Any], timeout: float, doing: str) -> dict[str, Any]:
        """Send one request and return the reply's JSON object (its `seq` checked). Any failure closes this
        worker and raises WorkerFailure naming `doing`; an exception from outside (the test's time limit)
        closes it and passes through. A load that `send_load` sent already is not sent again: its reply is
        awaited, with `timeout` counted from now."""
        early = payload.get("op") == "load" and self.early_load == self.seq and self.seq > 0
        if not early:
            self.seq += 1
        self.early_load = 0
        payload["seq"] = self.seq
        deadline = time.monotonic() + timeout
        try:
            if not early:
                write_frame(self.requests, json.dumps(payload).encode("utf-8"))
            raw = self._read_frame(deadline, doing, timeout)
            try:
                reply = json.loads(raw, parse_constant=_refuse_constant)
            except (ValueError, RecursionError):
                raise ProtocolError("an answer that is not JSON") from None
            if not isinstance(reply, dict) or reply.get("seq") != self.seq or type(reply.get("ok")) is not bool:
                raise ProtocolError("an answer that does not belong to the request")
            error = reply.get("error")
            if self.renames and isinstance(error, dict):  # name the student's file, not the stage's copy
                for key in ("message", "where"):
                    if isinstance(error.get(key), str):
                        for copied, shown in self.renames:
                            error[key] = error[key].replace(copied, shown)
            return reply
        except ProtocolError as error:
            self.close()
            raise WorkerFailure(f"the exercise process sent a malformed answer to {doing}: {error}") from None
        except BrokenPipeError:
            self.close()
            raise WorkerFailure(self._death(doing)) from None
        except BaseException:
            self.close()
            raise

    def _read_frame(self, deadline: float, doing: str, timeout: float) -> bytes:
        header = self._read(HEADER.size, deadline, doing, timeout)
        (size,) = HEADER.unpack(header)
        if size > MAX_REPLY_BYTES:
            raise ProtocolError(f"an answer of {size} bytes, over the limit of {MAX_REPLY_BYTES}")
        return self._read(size, deadline, doing, timeout)

    def _read(self, size: int, deadline: float, doing: str, timeout: float) -> bytes:
        chunks: list[bytes] = []
        while size:
            left = deadline - time.monotonic()
            ready = select.select([self.replies], [], [], max(0.0, left))[0] if left > 0 else []
            if not ready:
                self.close()
                raise WorkerFailure(f"timed out: {doing} did not answer within {timeout:g} s (an infinite loop, or "
                                    "far too slow)", "timeout")
            chunk = os.read(self.replies, min(size, 1 << 20))
            if not chunk:
                self.close()
                raise WorkerFailure(self._death(doing))
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _death(self, doing: str) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return (f"the exercise process closed its channel during {doing}: exercise code must not close the "
                    "grader's file descriptors")
        if code < 0:
            return f"the exercise process {signal_reason(-code)} during {doing}"
        return f"the exercise process exited (code {code}) during {doing}: {EXIT_ADVICE}"

    def close(self) -> None:
        """Kill the worker's whole process group and release the channel (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for fd in (self.requests, self.replies):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.sandbox is not None:  # every process of its user, however it left the process group
            self.sandbox.close()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _drain(fd: int) -> None:
    """Pass the worker's prints on to this process's standard error, up to MAX_OUTPUT bytes, then drop them."""
    passed = 0
    with os.fdopen(fd, "rb", buffering=0) as stream:
        while True:
            chunk = stream.read(65536)
            if not chunk:
                return
            if passed < MAX_OUTPUT:
                keep = chunk[: MAX_OUTPUT - passed]
                passed += len(keep)
                note = b"\n[grader: the exercise's further output is not shown]\n" if passed >= MAX_OUTPUT else b""
                try:
                    os.write(2, keep + note)
                except OSError:
                    pass


class ExerciseClient:
    """The test's stand-in for an exercise module; `client.name(...)` runs `name` in the worker."""

    def __init__(self, exercise_id: str, results: frozenset[str]) -> None:
        object.__setattr__(self, "_state", _ClientState(exercise_id, results))

    def __getattr__(self, name: str) -> RemoteObject:
        if name.startswith("_") or name in ("pytestmark", "pytest_plugins"):
            raise AttributeError(name)
        return RemoteObject(self, {"x": name}, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._state.exercise} runs in the exercise process; it cannot be changed here")

    def __repr__(self) -> str:
        return f"<exercise {self._state.exercise} served by a worker process>"

    # the methods below are the client's machinery; exercise names never start with these
    @property
    def generation(self) -> int:
        return self._state.generation

    def start(self) -> None:
        self._state.start()

    def close(self) -> None:
        self._state.close()

    def release(self, handle: int, generation: int) -> None:
        self._state.release(handle, generation)

    def call(self, target: dict[str, Any], label: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             generation: int = 0) -> Any:
        return self._state.call(self, target, label, args, kwargs, generation)

    def api(self) -> dict[str, Any]:
        return self._state.load()

    def run_program(self, program: types.FunctionType, *args: Any, **kwargs: Any) -> Any:
        """Run `program(*args, **kwargs)` in the worker and return its result (checked like any reply).

        A program is a function of the test that builds what the exercise works on inside the worker (framework
        objects such as Scalars or tensors never exist in the judge): besides its arguments and builtins it may
        name `math`, `mt` (minitorch_dg) and `ex` (the exercise's module as the worker serves it). Like the
        small functions passed to exercise code it travels as code: no closures, no defaults, no test globals.
        """
        return self.call(_code_of(program, PROGRAM_NAMES, "p"), program.__name__, args, kwargs)


class _ClientState:
    """The worker of one exercise in this process, started on demand and replaced after a failure."""

    def __init__(self, exercise_id: str, results: frozenset[str]) -> None:
        self.exercise = exercise_id
        self.results = results
        self.worker: WorkerProcess | None = None
        self.loaded: dict[str, Any] | None = None
        self.broken: BaseException | None = None  # why every call fails at once (the module did not load)
        self.starts = 0
        self.generation = 0
        self.dropped: list[int] = []
        self.last_failure = ""  # the last WorkerFailure of a call: named when the restarts run out

    def start(self) -> WorkerProcess:
        if _settings.strict:
            assert_no_exercise_code(self.exercise)
        if self.worker is None or self.worker.closed:
            if self.starts > MAX_RESTARTS:
                last = f" (the last time: {self.last_failure})" if self.last_failure else ""
                self.broken = WorkerFailure(f"the exercise process failed {self.starts} times{last}; the remaining "
                                            "calls are not run")
                raise self.broken
            self.starts += 1
            self.generation += 1
            self.dropped = []
            self.loaded = None
            self.worker = WorkerProcess(self.exercise, _settings)
        return self.worker

    def load(self) -> dict[str, Any]:
        """Start the worker if needed and import the exercise's module there; return its API (data). The
        module's own exception is raised (and every later call raises it again); a worker that cannot
        load it makes every later call fail with the same WorkerFailure."""
        if self.broken is not None:
            raise _fresh(self.broken)
        if self.loaded is not None and self.worker is not None and not self.worker.closed:
            return self.loaded
        with _test_alarm_paused():  # starting a worker and loading the module: the judge's work, own limit
            return self._start_and_load()

    def _start_and_load(self) -> dict[str, Any]:
        worker = self.start()
        if self.loaded is not None:
            return self.loaded
        file = f"exercises/{module_name_of(self.exercise)}.py"
        try:
            reply = worker.request({"op": "load"}, _settings.load_timeout, f"importing {file}")
        except BaseException as error:
            self.broken = error if isinstance(error, WorkerFailure) else WorkerFailure(
                f"importing {file} did not finish ({type(error).__name__})")
            raise
        if not reply["ok"]:
            self.broken = remote_exception(reply.get("error"))
            raise _fresh(self.broken)
        api = reply.get("api")
        self.loaded = api if isinstance(api, dict) else {}
        return self.loaded

    def release(self, handle: int, generation: int) -> None:
        if generation == self.generation and len(self.dropped) < 100_000:
            self.dropped.append(handle)

    def call(self, client: ExerciseClient, target: dict[str, Any], label: str, args: tuple[Any, ...],
             kwargs: dict[str, Any], generation: int = 0) -> Any:
        """Run `target(*args, **kwargs)` in the worker and return the decoded answer; `generation` is the worker
        that holds `target` when it is an object a call returned (0 for a name of the module)."""
        self.load()
        if generation and generation != self.generation:
            raise WorkerFailure(f"{label} lived in an exercise process that has been replaced since (after a failure)")
        worker = self.worker
        assert worker is not None
        payload = {"op": "call", "fn": target, "args": [encode_argument(a) for a in args],
                   "kwargs": [[k, encode_argument(v)] for k, v in kwargs.items()], "drop": self.dropped}
        self.dropped = []
        doing = _describe_call(label, args, kwargs)
        try:
            reply = worker.request(payload, _settings.call_timeout, doing)
        except WorkerFailure as failure:
            self.last_failure = str(failure)
            raise
        if not reply["ok"]:
            raise remote_exception(reply.get("error"))
        try:
            return decode_reply(reply.get("value"), client, self.results)
        except ProtocolError as error:
            self.last_failure = f"{doing} returned {error}"
            raise WorkerFailure(self.last_failure) from None

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
        if _settings.strict:
            assert_no_exercise_code(self.exercise)


@contextlib.contextmanager
def _test_alarm_paused() -> Iterator[None]:
    """Stop the grading child's per-test alarm (ITIMER_REAL) while a worker loads the exercise's module, and
    give the test its remaining time afterwards. Loading is what importing the module was in the grading
    child, at collection and outside every test's time; a worker replaced after a crash loads again inside
    the next test, and on a busy machine (CI: a cold Numba cache, two test processes) that took longer than
    the whole per-test limit. The load has its own limit, `Settings.load_timeout`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    if remaining:
        signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)


def _fresh(error: BaseException) -> BaseException:
    """A new exception like `error`, so that re-raising it does not pile up tracebacks and notes."""
    if isinstance(error, WorkerFailure):
        return WorkerFailure(str(error), error.kind)
    copy = remote_exception({"type": type(error).__name__, "message": str(error),
                             "where": getattr(error, "remote_where", "")})
    return copy
