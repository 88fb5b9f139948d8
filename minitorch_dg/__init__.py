"""minitorch-dg: a deep-learning micro-framework with a dynamic computation graph, built by students.

`import minitorch_dg as mt` gives PyTorch's names with PyTorch's meaning. The parts that students write
live in exercises/ (stubs) and solutions/ (reference); `minitorch_dg.course` decides which one serves each
exercise, from the environment variable MTDG_SOURCE.
"""

from __future__ import annotations

from . import autograd, course
from .autodiff import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backends import set_backend, use_backend

# The submodule minitorch_dg.tensor first, then the function mt.tensor (from creation) over its name: importing
# a submodule for the first time sets the package's attribute of that name, so the other order would leave
# `mt.tensor` the module.
from .tensor import Size, Tensor
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_rng_state,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import DType, get_default_dtype, set_default_dtype
from .dtypes import bool_ as bool
from .dtypes import float32, float64, int64
from .errors import CourseError, NotImplementedYet, ShapeError, install_excepthook
from .graph import to_dot, to_mermaid
from .ops import (
    abs,
    allclose,
    amax,
    argmax,
    cat,
    clamp,
    equal,
    exp,
    flatten,
    gather,
    index_select,
    isclose,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    numel,
    permute,
    relu,
    reshape,
    sigmoid,
    sqrt,
    squeeze,
    stack,
    sum,
    tanh,
    transpose,
    unsqueeze,
    where,
)

# issue #12: more of torch's functions (module level; tensor.py binds them as Tensor methods)
from .host_ops import (  # noqa: E402
    cos, cumsum, expm1, flip, floor, floor_divide, isfinite, isinf, isnan, log1p, movedim, nan_to_num, remainder,
    round, sign, sin, sort, topk,
)
from .ops import (  # noqa: E402
    add, all, amin, any, argmin, chunk, clip, div, log_softmax, logsumexp, masked_fill, mul, neg, pow, prod,
    softmax, split, square, std, sub, var,
)

# Layers, optimizers, data and checkpoints (after Tensor: they build on it).
from . import datasets, nn, optim, utils  # noqa: E402
from . import distributed  # noqa: E402  (torch.distributed for mt tensors; torch loads on first use)
from .random import Generator  # noqa: E402
from .serialization import load, save  # noqa: E402

__version__ = "0.1.0"

float = float32  # noqa: A001  (torch.float)
double = float64
long = int64
dtype = DType

# ex01's scalar operators, always from the source the course plan chooses.
operators = course.ExerciseProxy("ex01")

install_excepthook()
