"""`mt.nn`: modules, layers, losses, `functional`, `init` and `utils`, with torch's names and meaning.

The maths of the layers, activations, losses, dropout and initialisation is ex08's; gradient clipping is
ex09's. Both are served by the course (see minitorch_dg.course).
"""

from __future__ import annotations

from . import functional, init, utils
from .containers import ModuleDict, ModuleList, Sequential
from .layers import Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module
from .parameter import Parameter
from .activations import ELU, GELU, LeakyReLU, SiLU, Softplus  # noqa: E402  (issue #12)

__all__ = [
    "CrossEntropyLoss", "Dropout", "Flatten", "Identity", "Linear", "LogSoftmax", "MSELoss", "Module",
    "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "functional", "init", "utils",
]
__all__ += ["ELU", "GELU", "LeakyReLU", "SiLU", "Softplus"]
