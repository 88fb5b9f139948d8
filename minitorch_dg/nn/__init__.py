"""`mt.nn`: modules, layers, losses, `functional`, `init` and `utils`, with torch's names and meaning.

The maths of the layers, activations, losses, dropout and initialisation is ex08's; gradient clipping is
ex09's. Both are served by the course (see minitorch_dg.course).
"""

from __future__ import annotations

from . import functional, init, utils
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d
from .layers import Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module
from .parameter import Parameter
from .pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

__all__ = [
    "CrossEntropyLoss", "Dropout", "Flatten", "Identity", "Linear", "LogSoftmax", "MSELoss", "Module",
    "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "functional", "init", "utils",
]
__all__ += [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d",
]
