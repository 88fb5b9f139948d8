"""The course mechanism: which module serves each exercise.

Every exercise `exNN_topic` exists twice, as a stub in `exercises/` and as the reference in `solutions/`,
with the same public names and signatures. The framework never imports either package directly: it asks
this module, `load("ex05")`, and gets the module that the source plan chooses.

The plan comes from the environment variable `MTDG_SOURCE`:

    exercises                       every exercise from exercises/ (the default when unset)
    solutions                       every exercise from solutions/
    solutions,ex05=exercises        a default, then overrides
    exercises,ex01-ex04=solutions   overrides may name an inclusive range

A module can also be *installed* for one exercise from Python (`install`), which is how the grader
serves a mutant or a submission from another folder.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from . import errors
from .errors import SourceError

SOURCES = ("exercises", "solutions")
ENV_VAR = "MTDG_SOURCE"
_MODULE_FILE = re.compile(r"^(ex\d\d)_[a-z0-9_]+\.py$")


# ----------------------------------------------------------------------------------------------------
# Which exercises exist
# ----------------------------------------------------------------------------------------------------


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _discover() -> dict[str, str]:
    """Map exercise id -> module name, from the files of the exercises package (always present)."""
    found: dict[str, str] = {}
    for package in SOURCES:
        folder = _package_dir(package)
        if folder is None:
            continue
        for path in sorted(folder.glob("ex*.py")):
            match = _MODULE_FILE.match(path.name)
            if match:
                found.setdefault(match.group(1), path.stem)
    return dict(sorted(found.items()))


_MODULES: dict[str, str] | None = None


def exercise_ids() -> list[str]:
    """The exercise ids that exist, in order: ['ex01', 'ex02', ...]."""
    global _MODULES
    if _MODULES is None:
        _MODULES = _discover()
    return list(_MODULES)


_NORMALIZED: dict[str, str] = {}  # every spelling seen -> its id (tensor ops ask several times per op)


def normalize_id(exercise: str) -> str:
    """Accept 'ex5', 'ex05', 'ex05_tensor_autograd' or '5' and return 'ex05'; raise SourceError otherwise."""
    found = _NORMALIZED.get(exercise)
    if found is not None:
        return found
    text = exercise.strip().lower()
    match = re.match(r"^(?:ex)?(\d{1,2})(?:_[a-z0-9_]*)?$", text)
    if not match:
        raise SourceError(f"{exercise!r} is not an exercise id; ids look like ex01 (see `mtdg list`).")
    ex_id = f"ex{int(match.group(1)):02d}"
    if ex_id not in exercise_ids():
        known = ", ".join(exercise_ids()) or "none"
        raise SourceError(f"there is no exercise {ex_id}; the exercises are {known}.")
    _NORMALIZED[exercise] = ex_id
    return ex_id


def module_name(exercise: str) -> str:
    """'ex01' -> 'ex01_operators'."""
    exercise_ids()
    assert _MODULES is not None
    return _MODULES[normalize_id(exercise)]


errors.set_module_namer(module_name)


def solutions_available() -> bool:
    """True in the instructors' repository; False in a student release, which ships no solutions."""
    return _package_dir("solutions") is not None


# ----------------------------------------------------------------------------------------------------
# The source plan
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcePlan:
    """A default source and per-exercise overrides, as parsed from `MTDG_SOURCE`."""

    default: str = "exercises"
    overrides: dict[str, str] = field(default_factory=dict)

    def source_of(self, exercise: str) -> str:
        return self.overrides.get(exercise, self.default)

    def describe(self) -> str:
        """The canonical spelling of this plan, e.g. 'solutions,ex05=exercises'."""
        parts = [self.default]
        parts += [f"{ex}={src}" for ex, src in sorted(self.overrides.items())]
        return ",".join(parts)


def _expand_range(text: str) -> list[str]:
    ends = [normalize_id(part) for part in text.split("-")]
    if len(ends) == 1:
        return ends
    if len(ends) != 2 or ends[0] > ends[1]:
        raise SourceError(f"{text!r} is not a range of exercises; write it like ex01-ex04.")
    return [ex for ex in exercise_ids() if ends[0] <= ex <= ends[1]]


def _check_source(name: str, spec: str) -> str:
    if name not in SOURCES:
        raise SourceError(
            f"MTDG_SOURCE={spec!r}: {name!r} is not a source; use 'exercises' or 'solutions', "
            "optionally with overrides such as 'solutions,ex05=exercises'."
        )
    return name


def parse_source(spec: str | None) -> SourcePlan:
    """Parse an `MTDG_SOURCE` value. None or '' means 'exercises' (a learner never runs the reference by accident)."""
    if spec is None or not spec.strip():
        return SourcePlan()
    default = "exercises"
    overrides: dict[str, str] = {}
    for position, item in enumerate(part.strip() for part in spec.split(",")):
        if not item:
            continue
        if "=" in item:
            left, right = (side.strip() for side in item.split("=", 1))
            source = _check_source(right, spec)
            for ex in _expand_range(left):
                overrides[ex] = source
        elif position == 0:
            default = _check_source(item, spec)
        else:
            raise SourceError(
                f"MTDG_SOURCE={spec!r}: {item!r} must be an override like ex05=exercises; "
                "only the first item may be a bare default."
            )
    return SourcePlan(default, overrides)


_forced: SourcePlan | None = None
_installed: dict[str, tuple[ModuleType, str]] = {}


_ENVIRON_DATA: Any = getattr(os.environ, "_data", None) if os.name == "posix" else None
_ENV_KEY: Any = ENV_VAR.encode() if _ENVIRON_DATA is not None else ENV_VAR


def environ(name: str) -> str | None:
    """os.environ.get(name), read the way os.environ itself stores it (bytes keys on POSIX): about 0.1 us
    instead of 0.6 us through the Mapping machinery."""
    if _ENVIRON_DATA is None:
        return os.environ.get(name)
    raw = _ENVIRON_DATA.get(name.encode())
    return None if raw is None else raw.decode(errors="surrogateescape")


def _raw_source() -> Any:
    """MTDG_SOURCE exactly as os.environ stores it (the same object while nobody sets it again)."""
    return (_ENVIRON_DATA if _ENVIRON_DATA is not None else os.environ).get(_ENV_KEY)


# ----------------------------------------------------------------------------------------------------
# Binding: the plan is read once per process
# ----------------------------------------------------------------------------------------------------
#
# The first question about an exercise reads MTDG_SOURCE and binds the plan for the rest of the process;
# each exercise's module is then resolved once, and every ExerciseProxy keeps the attributes it served
# (so that `ex03.strides_from_shape` costs what a module attribute costs). Only three things change what
# serves an exercise afterwards, and each moves `generation()` on and makes the proxies forget:
# `using(...)` (and leaving it), `install`/`uninstall` (the grader's mutants and submissions) and
# `rebind()` (tests that set MTDG_SOURCE on purpose). Setting MTDG_SOURCE in a running process is refused
# by `check_environment()`, which the tensor kernels call on every operation (an identity check).

_UNBOUND: Any = object()
_bound_raw: Any = _UNBOUND  # MTDG_SOURCE's raw value when the plan was bound
_bound_plan: SourcePlan = SourcePlan()
_generation = 0
_proxies: "weakref.WeakSet[ExerciseProxy]" = weakref.WeakSet()


def generation() -> int:
    """A counter that moves on whenever what serves an exercise may have changed (caches key on it)."""
    return _generation


def _changed() -> None:
    """Forget every resolved module and every attribute a proxy kept; move the generation on."""
    global _generation
    _generation += 1
    _resolved.clear()
    _failed.clear()
    for proxy in list(_proxies):
        proxy._forget()


def _bind() -> SourcePlan:
    """Read MTDG_SOURCE and bind the plan (an invalid value raises SourceError here, and stays unbound)."""
    global _bound_raw, _bound_plan
    raw = _raw_source()
    text = raw.decode(errors="surrogateescape") if isinstance(raw, bytes) else raw
    _bound_plan = parse_source(text)
    _bound_raw = raw
    return _bound_plan


def check_environment() -> None:
    """Raise SourceError when MTDG_SOURCE was set to another plan after the course bound its plan.

    Costs an identity comparison while the variable is untouched (tensor kernels call it on every op)."""
    raw = _raw_source()
    if raw is _bound_raw or _bound_raw is _UNBOUND:
        return
    _environment_changed(raw)


def _environment_changed(raw: Any) -> None:
    global _bound_raw
    text = raw.decode(errors="surrogateescape") if isinstance(raw, bytes) else raw
    before = _bound_raw.decode(errors="surrogateescape") if isinstance(_bound_raw, bytes) else _bound_raw
    if text == before or (text is not None and before is not None and
                          parse_source(text) == parse_source(before)):
        _bound_raw = raw  # set again to a value that means the same plan
        return
    raise SourceError(
        f"{ENV_VAR} changed from {before!r} to {text!r} after this process started serving exercises by "
        f"{before!r}. The course reads {ENV_VAR} once per process: set it before starting Python (or "
        f"before the first tensor operation), or switch inside a program with "
        f"`with minitorch_dg.course.using({text!r}):`."
    )


def plan() -> SourcePlan:
    """The plan in force: the one set by `using`, else the one bound from `MTDG_SOURCE` at first use."""
    if _forced is not None:
        return _forced
    if _bound_raw is _UNBOUND:
        return _bind()
    check_environment()
    return _bound_plan


def rebind() -> None:
    """Read MTDG_SOURCE again now (for tests and tools that set it on purpose inside one process)."""
    global _bound_raw
    _bound_raw = _UNBOUND
    _changed()


@contextlib.contextmanager
def environment_source(spec: str | None) -> Iterator[None]:
    """Inside the block, MTDG_SOURCE is `spec` (None: unset) and the course binds to it at its next question
    (an invalid spec raises there); on leaving, the variable is restored and the course binds afresh. The
    explicit way for a test to exercise the environment path."""
    previous = os.environ.get(ENV_VAR)
    _set_env(spec)
    rebind()
    try:
        yield
    finally:
        _set_env(previous)
        rebind()


def _set_env(value: str | None) -> None:
    if value is None:
        os.environ.pop(ENV_VAR, None)
    else:
        os.environ[ENV_VAR] = value


@contextlib.contextmanager
def using(spec: str | SourcePlan) -> Iterator[SourcePlan]:
    """Temporarily serve exercises by another plan: `with course.using('solutions'): ...`."""
    global _forced
    previous = _forced
    _forced = parse_source(spec) if isinstance(spec, str) else spec
    _changed()
    try:
        yield _forced
    finally:
        _forced = previous
        _changed()


def install(exercise: str, module: ModuleType, label: str) -> None:
    """Serve `module` for `exercise` whatever the plan says (a mutant, a submission); `label` names it in messages."""
    _installed[normalize_id(exercise)] = (module, label)
    _changed()


def uninstall(exercise: str | None = None) -> None:
    """Remove installed modules (all of them when `exercise` is None)."""
    if exercise is None:
        _installed.clear()
    else:
        _installed.pop(normalize_id(exercise), None)
    _changed()


def source_of(exercise: str) -> str:
    """'exercises', 'solutions' or the label of an installed module."""
    ex_id = normalize_id(exercise)
    if ex_id in _installed:
        return _installed[ex_id][1]
    return plan().source_of(ex_id)


def describe() -> str:
    """One line that says where each exercise comes from, for banners and error messages."""
    text = f"{ENV_VAR}={plan().describe()}"
    if _installed:
        text += " (installed: " + ", ".join(f"{ex}={lab}" for ex, (_, lab) in sorted(_installed.items())) + ")"
    return text


_resolved: dict[str, ModuleType] = {}


def load(exercise: str) -> ModuleType:
    """The module that serves `exercise` under the plan in force (resolved once per generation)."""
    module = _resolved.get(exercise)
    if module is None:
        plan()  # binds the plan, or refuses a changed MTDG_SOURCE
        module = _resolve_once(exercise)
        _resolved[exercise] = module
    return module


# exercise -> (the module file's stamp when it failed to import, the error it raised)
_failed: dict[str, tuple[tuple[int, int] | None, BaseException]] = {}


def _file_stamp(exercise: str) -> tuple[int, int] | None:
    """(mtime_ns, size) of the file that serves `exercise`, or None when it cannot be found."""
    try:
        ex_id = normalize_id(exercise)
        spec = importlib.util.find_spec(f"{plan().source_of(ex_id)}.{module_name(ex_id)}")
        if spec is None or spec.origin is None:
            return None
        info = os.stat(spec.origin)
    except (ImportError, OSError, ValueError, SourceError):
        return None
    return info.st_mtime_ns, info.st_size


def _fresh_copy(error: BaseException) -> BaseException:
    """A new exception like `error` (re-raising one instance would pile up the notes tools attach to it)."""
    try:
        copy = type(error)(*error.args)
    except Exception:  # noqa: BLE001  (an exception class with another constructor)
        return ImportError(str(error))
    return copy


def _resolve_once(exercise: str) -> ModuleType:
    """`_resolve`, remembering a module that failed to import until its file changes.

    Python forgets a module whose import raised, so every later access would run the broken file again
    (for a test suite, once per test and per hypothesis example); the same error is raised instead."""
    failure = _failed.get(exercise)
    if failure is not None and failure[0] is not None and failure[0] == _file_stamp(exercise):
        raise _fresh_copy(failure[1])
    try:
        module = _resolve(exercise)
    except Exception as error:
        _failed[exercise] = (_file_stamp(exercise), error)
        raise
    _failed.pop(exercise, None)
    return module


def _resolve(exercise: str) -> ModuleType:
    ex_id = normalize_id(exercise)
    if ex_id in _installed:
        return _installed[ex_id][0]
    source = plan().source_of(ex_id)
    if source == "solutions" and not solutions_available():
        raise SourceError(
            f"{describe()} asks for the reference solution of {ex_id}, but this copy of the course has no "
            "solutions package (a student release). Unset MTDG_SOURCE to use your own exercises."
        )
    return importlib.import_module(f"{source}.{module_name(ex_id)}")


_INTROSPECTION_NAMES = frozenset({"pytestmark", "pytest_plugins"})


class ExerciseProxy:
    """A stand-in for an exercise module: `operators = ExerciseProxy('ex01')` lets framework code write
    `operators.mul(a, b)` and reach the module that the plan in force chooses.

    An attribute is looked up in that module the first time it is asked for and then kept on the proxy
    (an ordinary attribute read afterwards); `using`, `install`, `uninstall` and `rebind` make every proxy
    forget what it kept, so a changed plan is followed at once.
    """

    def __init__(self, exercise: str) -> None:
        object.__setattr__(self, "_exercise", exercise)
        _proxies.add(self)

    def __getattr__(self, name: str) -> Any:
        # Tools that inspect objects (pytest's collector, debuggers, mocks) probe private and special
        # names; answering those must not import the exercise, whose code may not even load yet.
        if name.startswith("_") or name in _INTROSPECTION_NAMES:
            raise AttributeError(name)
        value = getattr(load(self._exercise), name)
        object.__setattr__(self, name, value)
        return value

    def _forget(self) -> None:
        kept = self.__dict__
        exercise = kept["_exercise"]
        kept.clear()
        kept["_exercise"] = exercise

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._exercise} is served by the course; change the exercise module instead.")

    def __repr__(self) -> str:
        return f"<exercise {self._exercise} served from {source_of(self._exercise)}>"
