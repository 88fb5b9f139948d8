"""Errors that a learner can cause, each with a message that says what happened and what to do.

`CourseError` and its subclasses are about the course itself (a stub not written yet, a bad
`MTDG_SOURCE`, a module that breaks its contract). They are shown as one line, not a traceback:
see `install_excepthook` and the grader's report.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType


class CourseError(Exception):
    """Base class of errors about the course set-up rather than about the maths."""


class NotImplementedYet(CourseError, NotImplementedError):
    """Raised by an exercise stub whose body the student has not written yet.

    The message names the exercise, the function and the command that checks it.
    """

    def __init__(self, exercise: str, name: str, what: str = "") -> None:
        self.exercise = exercise
        self.name = name
        self.what = what
        task = f" ({what})" if what else ""
        super().__init__(
            f"{exercise}: `{name}` is not implemented yet{task}. Read exercises/{_handout(exercise)}, "
            f"write it in exercises/{_module_file(exercise)}, then run `mtdg check {exercise}`."
        )


class SourceError(CourseError, ValueError):
    """`MTDG_SOURCE` (or `--source`) could not be understood, or names a source that is not installed."""


class ContractError(CourseError, TypeError):
    """An exercise module does not export the names and signatures its solution does."""


# The course (which imports this module) tells it how an exercise id maps to its module's name, so that
# messages can name files without errors.py importing the course.
_module_namer: Callable[[str], str] | None = None


def set_module_namer(namer: Callable[[str], str]) -> None:
    """Called once by minitorch_dg.course: `namer('ex01')` is 'ex01_operators'."""
    global _module_namer
    _module_namer = namer


def _module_file(exercise: str) -> str:
    try:
        if _module_namer is not None:
            return _module_namer(exercise) + ".py"
    except CourseError:
        pass
    return exercise + "_*.py"


def _handout(exercise: str) -> str:
    return _module_file(exercise)[:-3] + ".md"


def one_line(exc: BaseException) -> str:
    """The message a learner sees for a course error: its class name and text, on one line."""
    return f"{type(exc).__name__}: {exc}"


_previous_hook = sys.excepthook


def _course_excepthook(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if isinstance(exc, CourseError):
        print(one_line(exc), file=sys.stderr)
        return
    _previous_hook(kind, exc, tb)


def install_excepthook() -> None:
    """Show uncaught course errors as one clear line; every other error keeps its normal traceback."""
    if sys.excepthook is not _course_excepthook:
        sys.excepthook = _course_excepthook


class ShapeError(RuntimeError):
    """Shapes that do not fit together (broadcasting, matmul, view, cat, ...); the message names them all."""
