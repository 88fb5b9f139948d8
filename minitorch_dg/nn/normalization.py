"""Normalization and channel-dropout modules, written by students in ex12 and served by the course.

`mt.nn.BatchNorm1d(4)` builds the class `BatchNorm1d` of the module that serves ex12 (exercises/ or
solutions/, as MTDG_SOURCE says), at the moment it is called; `isinstance(m, mt.nn.BatchNorm1d)` asks
the same class. So a model written with `mt.nn.BatchNorm2d` runs the student's own normalization once
ex12 is done, exactly as `mt.nn.functional` runs ex08's functions.

(`mt.nn.Dropout` stays the framework's module over ex08's `F.dropout`, so that ex08's tests do not need
ex12; ex12's own `Dropout` is the student's module of the same meaning.)
"""

from __future__ import annotations

from typing import Any

from .. import course

_ex12 = course.ExerciseProxy("ex12")


class _ServedByEx12(type):
    """Metaclass of a stand-in class: calling it builds ex12's class of the same name."""

    def implementation(cls) -> type:
        return getattr(_ex12, cls.__name__)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.implementation()(*args, **kwargs)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls.implementation())

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls.implementation())


class BatchNorm1d(metaclass=_ServedByEx12):
    """Batch normalization over (N, C) or (N, C, L) inputs (ex12's BatchNorm1d)."""


class BatchNorm2d(metaclass=_ServedByEx12):
    """Batch normalization over (N, C, H, W) inputs (ex12's BatchNorm2d)."""


class LayerNorm(metaclass=_ServedByEx12):
    """Layer normalization over the last dims, `normalized_shape` (ex12's LayerNorm)."""


class GroupNorm(metaclass=_ServedByEx12):
    """Group normalization of (N, C, *) inputs over groups of channels (ex12's GroupNorm)."""


class Dropout2d(metaclass=_ServedByEx12):
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs in training (ex12's Dropout2d)."""
