"""The untrusted side of grading: one process per exercise run that holds the framework and the student's module.

    python -m grader.worker --requests-fd R --replies-fd W --exercise ex01 --root DIR
                            [--submission DIR] [--mutant-file FILE --mutant-name NAME --mutant-label TEXT]
                            [--cuda-schedule]

The judge (grader/judge.py: pytest, torch, the expected values) writes requests on fd R and reads replies on
fd W. Every message is a frame: a 4-byte big-endian length, then that many bytes of UTF-8 JSON. Standard
output and standard error are not the channel: whatever the student prints goes to the judge's log.

Requests (from the trusted judge, so they may carry code):
    {"seq": n, "op": "load"}                       import the exercise's module; reply {"api": {...}}
    {"seq": n, "op": "call", "fn": V, "args": [V...], "kwargs": [[name, V]...], "drop": [ref ids]}
Replies (data only, checked strictly by the judge):
    {"seq": n, "ok": true, "value": V} / {"seq": n, "ok": true, "api": {...}}
    {"seq": n, "ok": false, "error": {"type": "ValueError", "message": "...", "where": "file:line in f"}}

A value V is a dict with one tag (see `encode_value` / `decode_argument`): {"n": null}, {"b": bool},
{"i": "digits"}, {"f": float.hex}, {"s": str}, {"l": [V...]}, {"t": [V...]}, {"d": [[str, V]...]},
{"a": base64 of .npy bytes}, {"r": id, "k": type name} (an object kept here, e.g. the function `map(fn)`
returns). Only the judge sends {"x": name} (an attribute of the exercise module), {"c": base64 of a marshalled
code object} (a small function of the test, such as `lambda v: v * v`), {"p": the same} (a program: a function
of the test that may also name `mt`, the framework, and `ex`, the exercise's module; `run_program` in the
judge), {"it": [V...]} (an iterator) and {"sl": [start V, stop V, step V]} (a slice, as in an index key).

This module imports the standard library, numpy (for arrays) and the framework's course module, and nothing
of torch, pytest, the tests or the rest of the grader: contract.py imports its `describe_api` from here.
With `--cuda-schedule` (ex07: judge.CUDA_SCHEDULED) it also imports grader/cuda_schedule.py and runs the
exercise's kernels under its strict simulator schedule for its whole life; a program reads the launch log
with `__import__("grader.cuda_schedule", fromlist=["active_log"]).active_log()`. That module is the one
other part of the grader a worker may import. With `--torch-engine` (ex14: judge.TORCH_ENGINE, built on
torch.distributed) the worker may also import torch and fork and signal its ranks (mt.distributed.spawn);
it imports torch.distributed as it starts, so that the ranks it forks have it already.
"""

from __future__ import annotations

import argparse
import base64
import builtins
import importlib.util
import inspect
import io
import json
import marshal
import math
import os
import struct
import sys
import traceback
import types
from types import ModuleType
from typing import Any

HEADER = struct.Struct(">I")
MAX_REQUEST_BYTES = 256 * 1024 * 1024  # the judge is trusted; this only stops a corrupted length
MAX_TEXT = 4000  # characters of an exception message sent back (the judge truncates again)
MAX_DEPTH = 32  # nesting of a value sent back


class ProtocolError(Exception):
    """A frame was truncated, too large or not JSON: the channel cannot be trusted any more."""


# -- frames (shared with the judge) ---------------------------------------------------------------------


def read_exactly(fd: int, size: int) -> bytes:
    """`size` bytes from `fd`; fewer only at end of file (the caller decides whether that is an error)."""
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, limit: int) -> bytes | None:
    """The next frame's payload; None at a clean end of file; ProtocolError when truncated or over `limit`."""
    header = read_exactly(fd, HEADER.size)
    if not header:
        return None
    if len(header) < HEADER.size:
        raise ProtocolError("the channel closed in the middle of a frame header")
    (size,) = HEADER.unpack(header)
    if size > limit:
        raise ProtocolError(f"a frame of {size} bytes is over the limit of {limit}")
    payload = read_exactly(fd, size)
    if len(payload) < size:
        raise ProtocolError("the channel closed in the middle of a frame")
    return payload


def write_frame(fd: int, payload: bytes) -> None:
    """Write one frame (length, then `payload`) to `fd`, all of it."""
    data = HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# -- the exercise module's public API as data (used by the contract check on both sides) ------------------


def signature_text(obj: Any) -> str:
    """A callable's parameters as one comparable line: names, `*args`, `**kwargs`, `kw:` for keyword-only
    parameters and `=default` for defaults; "(?)" when Python cannot tell (a builtin, say)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(?)"
    params = []
    for p in sig.parameters.values():
        text = p.name if p.kind is not p.VAR_POSITIONAL else "*" + p.name
        if p.kind is p.VAR_KEYWORD:
            text = "**" + p.name
        if p.kind is p.KEYWORD_ONLY:
            text = "kw:" + text
        if p.default is not p.empty:
            text += f"={p.default!r}"
        params.append(text)
    return "(" + ", ".join(params) + ")"


def class_members(cls: type) -> dict[str, str]:
    """The public methods of `cls` (and `__init__`), each with its signature_text; static and class
    methods count by their underlying function."""
    out: dict[str, str] = {}
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if inspect.isfunction(func):
            out[name] = signature_text(func)
    return out


def public_api(module: ModuleType) -> dict[str, Any]:
    """Functions and classes that `module` itself defines and does not hide with a leading underscore.

    Names a module imports (say, the element functions ex07 takes from the framework) are not its own
    API: an object counts only when its `__module__` is the module's name."""
    api: dict[str, Any] = {}
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__:
            api[name] = value
    return api


def describe_api(module: ModuleType) -> dict[str, dict[str, Any]]:
    """`public_api` as plain data: {name: {"kind": "function", "signature": "(x, y)"}} or
    {name: {"kind": "class", "members": {method: signature}}}."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in public_api(module).items():
        if inspect.isclass(value):
            out[name] = {"kind": "class", "members": class_members(value)}
        else:
            out[name] = {"kind": "function", "signature": signature_text(value)}
    return out


# -- values --------------------------------------------------------------------------------------------


class Handles:
    """Objects that are not data (functions, framework objects), kept here and named by an integer id."""

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        self.next_id = 1

    def keep(self, value: Any) -> int:
        handle = self.next_id
        self.next_id += 1
        self.objects[handle] = value
        return handle

    def get(self, handle: int) -> Any:
        try:
            return self.objects[handle]
        except KeyError:
            raise LookupError(f"the exercise process holds no object #{handle} (it was released)") from None

    def drop(self, handles: list[int]) -> None:
        for handle in handles:
            self.objects.pop(handle, None)


def encode_value(value: Any, handles: Handles, depth: int = 0) -> dict[str, Any]:
    """A tagged JSON value for `value`; objects that are not data are kept in `handles` and sent as refs."""
    if depth > MAX_DEPTH:
        raise ValueError(f"the result is nested more than {MAX_DEPTH} levels deep")
    if value is None:
        return {"n": None}
    if isinstance(value, bool):
        return {"b": bool(value)}
    if isinstance(value, int):
        return {"i": str(int.__index__(value))}
    if isinstance(value, float):
        return {"f": float.hex(float.__float__(value))}
    if isinstance(value, str):
        return {"s": str.__str__(value)}
    if isinstance(value, (list, tuple)):
        tag = "l" if isinstance(value, list) else "t"
        return {tag: [encode_value(v, handles, depth + 1) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"d": [[str(k), encode_value(v, handles, depth + 1)] for k, v in value.items()]}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.generic):
            return encode_value(value.item(), handles, depth)
        if isinstance(value, numpy.ndarray):
            buffer = io.BytesIO()
            numpy.save(buffer, value, allow_pickle=False)  # (ascontiguousarray would make a 0-d array 1-d)
            return {"a": base64.b64encode(buffer.getvalue()).decode("ascii")}
    return {"r": handles.keep(value), "k": type(value).__name__[:60]}


FUNCTION_GLOBALS = {"__builtins__": builtins, "math": math}  # what a function sent by a test may name


def decode_argument(value: Any, handles: Handles, module: ModuleType | None) -> Any:
    """The Python value of a tagged value from the judge (see the module docstring)."""
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise ProtocolError(f"malformed value from the judge: {value!r:.80}")
    tag, data = next(iter(value.items()))
    if tag == "n":
        return None
    if tag in ("b", "s"):
        return data
    if tag == "i":
        return int(data)
    if tag == "f":
        return float.fromhex(data)
    if tag in ("l", "t", "it"):
        items = [decode_argument(v, handles, module) for v in data]
        return items if tag == "l" else tuple(items) if tag == "t" else iter(items)
    if tag == "d":
        return {k: decode_argument(v, handles, module) for k, v in data}
    if tag == "sl":
        start, stop, step = (decode_argument(v, handles, module) for v in data)
        return slice(start, stop, step)
    if tag == "a":
        import numpy

        return numpy.load(io.BytesIO(base64.b64decode(data)), allow_pickle=False)
    if tag == "r":
        return handles.get(int(data))
    if tag == "x":
        if module is None:
            raise ProtocolError("an exercise attribute was asked for before the module was loaded")
        return getattr(module, str(data))
    if tag in ("c", "p"):
        scope = dict(FUNCTION_GLOBALS)
        if tag == "p":  # a program also sees the framework and the exercise's module
            if module is None:
                raise ProtocolError("a program was sent before the module was loaded")
            import minitorch_dg

            scope.update(mt=minitorch_dg, ex=module)
        code = marshal.loads(base64.b64decode(data))
        return types.FunctionType(code, scope, value.get("name", code.co_name))
    raise ProtocolError(f"unknown value tag {tag!r} from the judge")


# -- serving -------------------------------------------------------------------------------------------


class Worker:
    """The state of one worker: the exercise module once loaded, the objects kept for the judge."""

    def __init__(self, exercise: str, root: str, exercise_dirs: list[str],
                 unavailable: BaseException | None = None) -> None:
        self.exercise = exercise
        self.root = os.path.join(os.path.abspath(root), "")
        self.exercise_dirs = [os.path.join(os.path.abspath(d), "") for d in exercise_dirs]
        self.module: ModuleType | None = None
        self.handles = Handles()
        self.unavailable = unavailable  # why nothing can run here (the cuda schedule could not be entered)

    def where(self, tb: Any) -> str:
        """'exercises/ex01_operators.py:42 in sigmoid': the deepest frame in exercise code, or ''."""
        found = ""
        for entry in traceback.extract_tb(tb):
            filename = os.path.abspath(entry.filename)
            if any(filename.startswith(d) for d in self.exercise_dirs):
                shown = filename[len(self.root):] if filename.startswith(self.root) else filename
                found = f"{shown}:{entry.lineno} in {entry.name}"
        return found

    def error(self, error: BaseException) -> dict[str, Any]:
        try:
            message = str(error)
        except BaseException:  # noqa: BLE001 - a __str__ that raises still gets reported
            message = "(the exception's message could not be read)"
        return {"type": type(error).__name__[:60], "message": message[:MAX_TEXT], "where": self.where(error.__traceback__)}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Serve one request; any exception of the exercise code becomes an error reply."""
        from minitorch_dg import course

        op = request.get("op")
        try:
            if self.unavailable is not None and op in ("load", "call"):
                raise self.unavailable
            if op == "load":
                self.module = course.load(self.exercise)
                return {"ok": True, "api": describe_api(self.module)}
            if op == "call":
                self.handles.drop([int(h) for h in request.get("drop", [])])
                if self.module is None:
                    self.module = course.load(self.exercise)
                target = decode_argument(request["fn"], self.handles, self.module)
                args = [decode_argument(a, self.handles, self.module) for a in request.get("args", [])]
                kwargs = {str(k): decode_argument(v, self.handles, self.module) for k, v in request.get("kwargs", [])}
                result = target(*args, **kwargs)
                return {"ok": True, "value": encode_value(result, self.handles)}
            raise ProtocolError(f"unknown request {op!r}")
        except ProtocolError:
            raise
        except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are answers too
            return {"ok": False, "error": self.error(error)}


def serve(worker: Worker, requests_fd: int, replies_fd: int) -> int:
    """Answer requests until the judge closes the channel; 0 on a clean end, 2 on a protocol error."""
    while True:
        try:
            frame = read_frame(requests_fd, MAX_REQUEST_BYTES)
            if frame is None:
                return 0
            request = json.loads(frame)
            reply = worker.handle(request)
        except ProtocolError as error:
            print(f"grader.worker: {error}", file=sys.stderr)
            return 2
        reply["seq"] = request.get("seq")
        try:
            payload = json.dumps(reply).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as error:
            payload = json.dumps({"seq": request.get("seq"), "ok": False, "error": {
                "type": type(error).__name__, "message": f"the result could not be sent: {error}"[:MAX_TEXT],
                "where": ""}}).encode("utf-8")
        write_frame(replies_fd, payload)


def install_sources(exercise: str, submission: str | None, mutant: tuple[str, str, str] | None) -> list[str]:
    """Put the submission's folder before exercises/ and install a mutant module, as the grading child did
    in-process before; return the folders whose files count as exercise code."""
    from minitorch_dg import course

    import exercises

    if submission:
        exercises.__path__.insert(0, submission)
    folders = list(exercises.__path__)
    if mutant is not None:
        path, name, label = mutant
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the mutant module {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        course.install(exercise, module, label)
        folders.append(os.path.dirname(path))
    return folders


# The worker refuses for itself what its own user cannot do where the grader runs as root (grader/sandbox.py).
# Exercise code runs in this process and can undo it: where the grader is not root, a courtesy against
# accidents and casual attempts, not a security boundary (docs/design.md, "Grading"); as root, a first line
# before the operating system's.
_PROCESS_EVENTS = frozenset({"os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
                             "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg"})
_PATH_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "os.remove", "os.rename", "os.rmdir", "os.mkdir",
                          "os.symlink", "os.link", "os.chmod", "os.truncate", "shutil.rmtree", "shutil.move"})
_REFUSED_IMPORTS = ("torch", "pytest", "_pytest", "hypothesis", "tests", "grader.")
# The parts of the grader a worker runs: itself, and the strict cuda schedule it enters for ex07.
WORKER_MODULES = ("grader.worker", "grader.cuda_schedule")


# What an exercise built on torch.distributed (ex14, `--torch-engine`) may do besides: import torch, fork
# its ranks and signal them (mt.distributed.spawn stops them with SIGTERM and asks a hung one for its stack).
_TORCH_ENGINE_EVENTS = frozenset({"os.fork", "os.kill"})


class _RefusedImports:
    """Refuses the judge's modules (torch, pytest, the tests, the grader) and the graded exercise's reference;
    with `torch_engine`, torch is the exercise's own engine and is not refused."""

    def __init__(self, reference: str, torch_engine: bool = False) -> None:
        self.reference = reference
        self.torch_engine = torch_engine

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        refused = name.startswith(_REFUSED_IMPORTS) or name in ("torch", "pytest", "tests")
        if self.torch_engine and (name in ("torch", "torchgen") or name.startswith(("torch.", "torchgen."))):
            refused = False
        if (self.reference and name == self.reference) or (refused and name not in WORKER_MODULES):
            raise ImportError(f"{name} is not available to exercise code (it belongs to the judge)")
        return None


def refuse_for_itself(root: str, exercise_module: str, seal_reference: bool, torch_engine: bool = False) -> None:
    """Refuse new processes and signals, imports of the judge's modules and any use of the tests, the
    grader, .git and the judge's /proc entry; with `seal_reference` (student code is graded), also the
    graded exercise's reference, as a module and as a file. With `torch_engine` (ex14), torch may be
    imported and the process may fork and signal its ranks."""
    base = os.path.realpath(root)
    protected = tuple(os.path.join(base, name) for name in ("tests", "grader", ".git"))
    protected += (f"/proc/{os.getppid()}",)
    if seal_reference:
        protected += (os.path.join(base, "solutions", exercise_module + "."),
                      os.path.join(base, "solutions", "__pycache__", exercise_module + "."))
    sys.meta_path.insert(0, _RefusedImports(f"solutions.{exercise_module}" if seal_reference else "", torch_engine))
    refused_events = _PROCESS_EVENTS - _TORCH_ENGINE_EVENTS if torch_engine else _PROCESS_EVENTS

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event in refused_events:
            raise PermissionError(f"exercise code may not use {event} (processes and signals are off limits)")
        if event in _PATH_EVENTS and args and isinstance(args[0], (str, bytes, os.PathLike)):
            target = os.path.realpath(os.fsdecode(args[0]))
            if target.startswith(protected):
                raise PermissionError(f"exercise code may not open {target}")

    sys.addaudithook(audit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.worker")
    parser.add_argument("--requests-fd", type=int, required=True)
    parser.add_argument("--replies-fd", type=int, required=True)
    parser.add_argument("--exercise", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--submission")
    parser.add_argument("--mutant-file")
    parser.add_argument("--mutant-name", default="mtdg_mutant")
    parser.add_argument("--mutant-label", default="mutant")
    parser.add_argument("--cuda-schedule", action="store_true", help="run kernels under grader/cuda_schedule.py")
    parser.add_argument("--torch-engine", action="store_true", help="the exercise is built on torch.distributed")
    args = parser.parse_args(argv)
    mutant = (args.mutant_file, args.mutant_name, args.mutant_label) if args.mutant_file else None
    folders = install_sources(args.exercise, args.submission, mutant)
    from minitorch_dg import course

    # before the refusals below: the schedule's module is read from the grader's folder, numba.cuda is loaded
    unavailable = enter_cuda_schedule() if args.cuda_schedule else None
    if args.torch_engine:
        preload_torch_distributed()
    student = mutant is None and course.plan().source_of(args.exercise) == "exercises"
    refuse_for_itself(args.root, course.module_name(args.exercise), seal_reference=student,
                      torch_engine=args.torch_engine)
    worker = Worker(args.exercise, args.root, folders, unavailable)
    return serve(worker, args.requests_fd, args.replies_fd)


def preload_torch_distributed() -> None:
    """Import torch.distributed once, in the worker: every rank it forks then starts with it loaded instead
    of importing torch itself (1-2 s per rank, for each of the dozen jobs of ex14's tests). A failure is
    left for the first job to meet and report."""
    try:
        import torch.distributed  # noqa: F401
    except Exception:  # noqa: BLE001 - the job that needs it says what is wrong
        pass


_held_schedule: list[Any] = []  # the open schedule, kept until the process ends


def enter_cuda_schedule() -> BaseException | None:
    """Enter grader/cuda_schedule.py's serial_schedule() for the rest of this process's life (its log is
    `active_log()`); None, or the exception that stopped it (every request then answers it). Without a GPU
    and without the simulator nothing is entered: there is nothing to run cuda kernels on, and the judge
    skips the tests that need them."""
    try:
        from minitorch_dg.backends import cuda as cuda_env

        if cuda_env.mode() == "none":
            return None
        from grader import cuda_schedule

        context = cuda_schedule.serial_schedule()
        context.__enter__()
        _held_schedule.append(context)
    except Exception as error:  # noqa: BLE001 - reported to the judge as the answer to every request
        return RuntimeError(f"the strict cuda schedule could not be entered in the exercise process: "
                            f"{type(error).__name__}: {error}")
    return None


if __name__ == "__main__":
    raise SystemExit(main())
