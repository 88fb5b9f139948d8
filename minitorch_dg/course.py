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
import inspect
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import ContractError, SourceError

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


_plan_text: str | None = None
_plan: SourcePlan = SourcePlan()
_forced: SourcePlan | None = None
_installed: dict[str, tuple[ModuleType, str]] = {}


_ENVIRON_DATA: Any = getattr(os.environ, "_data", None) if os.name == "posix" else None


def environ(name: str) -> str | None:
    """os.environ.get(name), read the way os.environ itself stores it (bytes keys on POSIX).

    Every tensor op asks which code serves an exercise and which backend runs it, which reads the
    environment several times (so that a changed MTDG_SOURCE or MTDG_BACKEND takes effect at once);
    through the Mapping machinery each read cost 0.6 us, about a tenth of a small op's time."""
    if _ENVIRON_DATA is None:
        return os.environ.get(name)
    raw = _ENVIRON_DATA.get(name.encode())
    return None if raw is None else raw.decode(errors="surrogateescape")


def plan() -> SourcePlan:
    """The plan in force: the one set by `using`, else the one in `MTDG_SOURCE` (re-read when it changes)."""
    global _plan_text, _plan
    if _forced is not None:
        return _forced
    text = environ(ENV_VAR)
    if text != _plan_text:
        _plan = parse_source(text)
        _plan_text = text
    return _plan


@contextlib.contextmanager
def using(spec: str | SourcePlan) -> Iterator[SourcePlan]:
    """Temporarily serve exercises by another plan: `with course.using('solutions'): ...`."""
    global _forced
    previous = _forced
    _forced = parse_source(spec) if isinstance(spec, str) else spec
    try:
        yield _forced
    finally:
        _forced = previous


def install(exercise: str, module: ModuleType, label: str) -> None:
    """Serve `module` for `exercise` whatever the plan says (a mutant, a submission); `label` names it in messages."""
    global _install_generation
    _installed[normalize_id(exercise)] = (module, label)
    _install_generation += 1


def uninstall(exercise: str | None = None) -> None:
    """Remove installed modules (all of them when `exercise` is None)."""
    global _install_generation
    _install_generation += 1
    if exercise is None:
        _installed.clear()
    else:
        _installed.pop(normalize_id(exercise), None)


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
_resolved_plan: SourcePlan | None = None
_resolved_generation = -1
_install_generation = 0


def load(exercise: str) -> ModuleType:
    """The module that serves `exercise` under the plan in force (cached until the plan changes)."""
    global _resolved_plan, _resolved_generation
    current = plan()
    if current is not _resolved_plan or _install_generation != _resolved_generation:
        _resolved.clear()
        _failed.clear()
        _resolved_plan, _resolved_generation = current, _install_generation
    module = _resolved.get(exercise)
    if module is None:
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
    """A stand-in for an exercise module that looks the module up on every attribute access.

    `operators = ExerciseProxy('ex01')` lets framework code write `operators.mul(a, b)` and always reach the
    module that the plan in force chooses, even when the plan changes after import.
    """

    def __init__(self, exercise: str) -> None:
        object.__setattr__(self, "_exercise", exercise)

    def __getattr__(self, name: str) -> Any:
        # Tools that inspect objects (pytest's collector, debuggers, mocks) probe private and special
        # names; answering those must not import the exercise, whose code may not even load yet.
        if name.startswith("_") or name in _INTROSPECTION_NAMES:
            raise AttributeError(name)
        return getattr(load(self._exercise), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._exercise} is served by the course; change the exercise module instead.")

    def __repr__(self) -> str:
        return f"<exercise {self._exercise} served from {source_of(self._exercise)}>"
