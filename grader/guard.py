"""The runtime guard of a grading child: refuses what exercise code may not do while the tests run.

The static policy (grader/policy.py) reads the source; this guard watches the running process, for
what a static check cannot see (a name built at run time, an attribute reached indirectly). It has
three parts, all installed before any exercise code runs:

* an audit hook (`sys.addaudithook`, which cannot be removed) that refuses, when they come from
  exercise code: new processes (fork, exec, spawn, system, subprocess, kill), raw memory (ctypes),
  frame and object walking (sys._getframe, tb_frame, gi_frame, __code__, gc), tracing, and opening the
  files of the tests, the solutions, the grader and the results. "From exercise code" means: an
  exercise file is the direct caller (for the cheap per-call events) or anywhere on the stack (for
  processes and files). Framework and test code is unaffected.
* an import check (`builtins.__import__`) that refuses, in an import statement of an exercise file,
  the modules the policy forbids (torch, solutions, grader, tests, pytest, ...), even when already loaded.
* an integrity check: the functions and classes of the modules that judge results (numpy, numpy.testing,
  math, torch, pytest, the tests' support code, the grader) are remembered before the tests run;
  `tampered()` names any that was replaced since (e.g. numpy.testing.assert_allclose patched to pass).

Every refusal raises `GuardError` in the offending code and calls `on_violation` once per distinct
reason; the grading child reports it and the parent scores the exercise 0 with that reason.
"""

from __future__ import annotations

import builtins
import os
import sys
import sysconfig
from collections.abc import Callable, Iterable
from types import FrameType, ModuleType
from typing import Any

from .policy import FORBIDDEN_MODULES

# Events refused whenever an exercise file is anywhere on the calling stack.
_PROCESS_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "os.kill", "os.killpg",
    "subprocess.Popen", "os.startfile", "pty.spawn", "os.setsid", "os.putenv", "os.unsetenv",
    "socket.connect", "socket.bind",
})
# File-system events refused when their path is protected and an exercise file is on the stack.
_FILE_EVENTS = frozenset({"open", "os.remove", "os.rename", "os.rmdir", "os.symlink", "os.link", "os.chmod",
                          "os.truncate", "os.mkdir", "os.listdir", "os.scandir", "shutil.rmtree", "shutil.move"})
# Events refused when an exercise file is the direct caller (libraries use these internally).
_DIRECT_EVENTS_PREFIXES = ("ctypes.", "gc.", "sys._getframe", "sys._current_frames", "sys.settrace",
                           "sys.setprofile", "sys.addaudithook", "cpython.", "marshal.", "code.__new__",
                           "function.__new__", "object.__getattr__", "object.__setattr__", "object.__delattr__",
                           "builtins.input", "pickle.find_class", "exec", "compile")
# object.__getattr__ events that are fine from exercise code (none of these reach frames or code).
_HARMLESS_ATTRIBUTES = frozenset({"__name__", "__qualname__", "__doc__", "__module__"})
# Modules whose functions and classes decide whether a test passes.
JUDGES = ("builtins", "math", "operator", "functools", "numpy", "numpy.testing", "numpy.core.numeric",
          "torch", "torch.testing", "pytest", "_pytest", "hypothesis", "tests", "grader", "minitorch_dg.errors")


class GuardError(PermissionError):
    """Exercise code tried something the grader does not allow (a PermissionError, so `open` fails normally)."""


class Guard:
    """The runtime guard; see the module docstring. Create, then `install()` once per process."""

    def __init__(
        self,
        exercise_dirs: Iterable[str],
        protected: Iterable[str],
        sealed: Iterable[str],
        on_violation: Callable[[str], None],
        references: Iterable[str] = (),
    ) -> None:
        """`exercise_dirs`: folders whose .py files are exercise code; `protected`: files or folders that
        exercise code may not open, not even through a library; `references`: folders that exercise code
        may not open itself (directly or through the standard library) but libraries may (Numba reads and
        caches the reference prerequisites it compiles); `sealed`: files no code may open once sealed
        (the reference solutions of the exercises being graded)."""
        self.exercise_dirs = tuple(_as_dir(d) for d in exercise_dirs)
        self.protected = tuple(os.path.realpath(p) for p in protected)
        self.references = tuple(os.path.realpath(p) for p in references)
        self.sealed = tuple(os.path.realpath(p) for p in sealed)
        self.on_violation = on_violation
        self.reported: set[str] = set()
        self.snapshot: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self._busy = False
        self._original_import = builtins.__import__
        self._import_hook = self._import  # one bound method, so that identity checks work

    # -- where code comes from -------------------------------------------------------------------

    def is_exercise_file(self, filename: str) -> bool:
        return filename.endswith(".py") and filename.startswith(self.exercise_dirs)

    def exercise_caller(self, frame: FrameType | None, whole_stack: bool) -> str:
        """'file:line' of the exercise frame that caused an event: `frame` itself, or (with `whole_stack`)
        any frame that called it; '' when exercise code is not involved."""
        while frame is not None:
            name = frame.f_code.co_filename
            if self.is_exercise_file(name):
                return f"{_short(name)}:{frame.f_lineno}"
            if not whole_stack:
                return ""
            frame = frame.f_back
        return ""

    def refuse(self, where: str, what: str) -> None:
        reason = f"{where}: {what}" if where else what
        if reason not in self.reported:
            self.reported.add(reason)
            try:
                self.on_violation(reason)
            except Exception:  # noqa: BLE001  (the refusal below must happen whatever the channel does)
                pass
        raise GuardError(f"refused by the grader: {what}")

    # -- the audit hook --------------------------------------------------------------------------

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if self._busy:
            return
        if event in _FILE_EVENTS:
            self._busy = True
            try:
                self._check_paths(event, args)
            finally:
                self._busy = False
        elif event in _PROCESS_EVENTS:
            self._busy = True
            try:
                where = self.exercise_caller(sys._getframe(1), whole_stack=True)
            finally:
                self._busy = False
            if where:
                self.refuse(where, f"exercise code may not call {event} (processes, signals and files are off limits)")
        elif event.startswith(_DIRECT_EVENTS_PREFIXES):
            if event.startswith("object.") and len(args) > 1 and args[1] in _HARMLESS_ATTRIBUTES:
                return
            self._busy = True
            try:
                where = self.exercise_caller(sys._getframe(1), whole_stack=False)
            finally:
                self._busy = False
            if where:
                detail = f" ({args[1]})" if event.startswith("object.") and len(args) > 1 else ""
                self.refuse(where, f"exercise code may not use {event}{detail}: it reaches the interpreter's internals")

    def _check_paths(self, event: str, args: tuple[Any, ...]) -> None:
        paths = args[:2] if event in ("os.rename", "os.symlink", "os.link", "shutil.move") else args[:1]
        for path in paths:
            if not isinstance(path, (str, bytes, os.PathLike)):
                continue  # an already-open file descriptor
            target = os.path.realpath(os.fsdecode(path))
            if self.sealed and target.startswith(self.sealed):
                where = self.exercise_caller(sys._getframe(2), whole_stack=True)
                self.refuse(where, f"the reference solution {_short(target)} may not be read while it is graded")
            strict = target.startswith(self.protected)
            if strict or target.startswith(self.references):
                opener = sys._getframe(2)
                if event == "open" and opener.f_code.co_filename.startswith("<frozen importlib"):
                    continue  # the import system; which modules may be imported is the import check's job
                if strict:
                    where = self.exercise_caller(opener, whole_stack=True)
                else:
                    where = self.exercise_caller(_first_outside_stdlib(opener), whole_stack=False)
                if where:
                    verb = "open" if event == "open" else f"use {event} on"
                    self.refuse(where, f"exercise code may not {verb} {_short(target)}")

    # -- the import check ------------------------------------------------------------------------

    def _import(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> ModuleType:
        if level == 0 and name.split(".")[0] in FORBIDDEN_MODULES:
            filename = (globals or {}).get("__file__") or ""
            if not filename:
                frame = sys._getframe(1)
                filename = frame.f_code.co_filename
            if isinstance(filename, str) and self.is_exercise_file(filename):
                self.refuse(_short(filename), f"exercise code may not import {name} ({FORBIDDEN_MODULES[name.split('.')[0]]})")
        return self._original_import(name, globals, locals, fromlist, level)

    # -- integrity -------------------------------------------------------------------------------

    def remember(self) -> None:
        """Record the functions and classes of every loaded judging module (call right before exercise code
        can run: after the test runner has set itself up, which changes some of its own classes)."""
        self.snapshot = []
        for name, module in list(sys.modules.items()):
            if module is None or not _is_judge(name):
                continue
            attrs = {k: v for k, v in list(vars(module).items()) if _is_code(v)}
            members = {}
            for cls_name, cls in attrs.items():
                if isinstance(cls, type) and getattr(cls, "__module__", None) == name:
                    for member, value in list(vars(cls).items()):
                        if _is_code(value) or isinstance(value, (staticmethod, classmethod, property)):
                            members[f"{cls_name}.{member}"] = value
            self.snapshot.append((name, attrs, members))

    def tampered(self) -> str:
        """'numpy.testing.assert_allclose was replaced' for the first remembered object that changed, or ''."""
        for name, attrs, members in self.snapshot:
            module = sys.modules.get(name)
            if module is None:
                return f"the module {name} was removed from sys.modules"
            current = vars(module)
            for key, value in attrs.items():
                if current.get(key, _MISSING) is not value:
                    return f"{name}.{key} was replaced or deleted"
            for key, value in members.items():
                cls_name, member = key.split(".", 1)
                if vars(attrs[cls_name]).get(member, _MISSING) is not value:
                    return f"{name}.{key} was replaced or deleted"
        if builtins.__import__ is not self._import_hook:
            return "builtins.__import__ was replaced"
        return ""

    def seal(self, modules: Iterable[str], files: Iterable[str]) -> None:
        """Forget the already-imported `modules` (the reference of what is graded, loaded for the contract
        check) and refuse any later read of `files`, so that exercise code cannot reach them."""
        for name in modules:
            sys.modules.pop(name, None)
            parent, _, leaf = name.rpartition(".")
            if parent in sys.modules and hasattr(sys.modules[parent], leaf):
                delattr(sys.modules[parent], leaf)
        self.sealed = self.sealed + tuple(os.path.realpath(f) for f in files)

    def install(self) -> None:
        """Switch the guard on for the rest of this process."""
        builtins.__import__ = self._import_hook
        sys.addaudithook(self._audit)


_MISSING = object()
_STDLIB = tuple({os.path.join(os.path.realpath(sysconfig.get_paths()[key]), "") for key in ("stdlib", "platstdlib")})


def _first_outside_stdlib(frame: FrameType | None) -> FrameType | None:
    """The nearest frame, from `frame` outwards, that is not the standard library (pathlib, io, shutil...):
    the code that really asked. Third-party packages count as outside, even when installed under stdlib."""
    while frame is not None:
        name = frame.f_code.co_filename
        in_stdlib = name.startswith("<frozen") or (name.startswith(_STDLIB) and "-packages" not in name)
        if not in_stdlib:
            return frame
        frame = frame.f_back
    return None


def _is_code(value: Any) -> bool:
    return callable(value) or isinstance(value, ModuleType)


def _is_judge(name: str) -> bool:
    """A module whose objects decide results: a listed one, or any part of the test runner, tests or grader."""
    return name in JUDGES or name.startswith(("_pytest.", "pytest.", "tests.", "grader.", "hypothesis."))


def _as_dir(path: str) -> str:
    return os.path.join(os.path.realpath(path), "")


def _short(path: str) -> str:
    """The last three parts of a path, enough to name it: '.../tests/hidden/test_ex01_operators.py'."""
    parts = path.replace(os.sep, "/").split("/")
    return "/".join(parts[-3:]) if len(parts) >= 3 else path
