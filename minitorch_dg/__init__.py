"""minitorch-dg: a deep-learning micro-framework with a dynamic computation graph, built by students.

`import minitorch_dg as mt` gives PyTorch's names with PyTorch's meaning. The parts that students write
live in exercises/ (stubs) and solutions/ (reference); `minitorch_dg.course` decides which one serves each
exercise, from the environment variable MTDG_SOURCE.
"""

from __future__ import annotations

from . import course
from .autodiff import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .errors import CourseError, NotImplementedYet, install_excepthook

__version__ = "0.1.0"

# ex01's scalar operators, always from the source the course plan chooses.
operators = course.ExerciseProxy("ex01")

install_excepthook()

__all__ = [
    "CourseError",
    "NotImplementedYet",
    "course",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "operators",
    "set_grad_enabled",
]
