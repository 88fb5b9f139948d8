"""`mt.nn`: modules, layers, losses, `functional`, `init` and `utils`, with torch's names and meaning.

The maths of the layers, activations, losses, dropout and initialisation is ex08's; gradient clipping is
ex09's. Both are served by the course (see minitorch_dg.course). The normalization modules and Dropout2d
are ex12's classes, served the same way (see normalization.py).
"""

from __future__ import annotations

from . import functional, init, utils
from . import parallel  # noqa: E402  (DistributedDataParallel)
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d
from .layers import Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, Dropout2d, GroupNorm, LayerNorm
from .parameter import Parameter
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding
from .activations import ELU, GELU, LeakyReLU, SiLU, Softplus
from .pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

__all__ = [
    "CrossEntropyLoss", "Dropout", "Flatten", "Identity", "Linear", "LogSoftmax", "MSELoss", "Module",
    "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "functional", "init", "utils", "parallel",
    "Embedding", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase",
    "BatchNorm1d", "BatchNorm2d", "Dropout2d", "GroupNorm", "LayerNorm",
    "ELU", "GELU", "LeakyReLU", "SiLU", "Softplus",
]
__all__ += [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d",
]
