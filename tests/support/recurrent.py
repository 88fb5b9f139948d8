"""Run a minitorch-dg recurrent module and its torch twin (weights copied) on the same data; compare all.

`compare_layer` checks the output, h_n (and c_n), then back-propagates the same random upstream gradients
through both and checks the gradient of the input, of h0 (and c0) and of every parameter, by torch's name.
Used by the public and hidden ex11 tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import minitorch_dg as mt
from tests.support.compare import assert_close

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def copy_weights(model: mt.nn.Module, reference: torch.nn.Module) -> None:
    """Load the torch module's state dict into the minitorch-dg module (same names and shapes)."""
    model.load_state_dict({k: mt.tensor(v.detach().cpu().numpy()) for k, v in reference.state_dict().items()})


def twins(mode: str, *args: Any, dtype: str = "float64", fused: bool = True, seed: int = 0,
          **kwargs: Any) -> tuple[mt.nn.Module, torch.nn.Module]:
    """torch.nn.<mode>(*args, **kwargs) with seeded weights, and minitorch-dg's twin carrying the same weights."""
    torch.manual_seed(seed)
    reference = getattr(torch.nn, mode)(*args, **kwargs).to(TORCH_DTYPES[dtype])
    model = getattr(mt.nn, mode)(*args, dtype=getattr(mt, dtype), **kwargs)
    model.fused = fused
    copy_weights(model, reference)
    return model, reference


def _pair(array: np.ndarray, dtype: str) -> tuple[mt.Tensor, torch.Tensor]:
    t = torch.tensor(array, dtype=TORCH_DTYPES[dtype], requires_grad=True)
    m = mt.tensor(array, dtype=getattr(mt, dtype), requires_grad=True)
    return m, t


def _flatten(result: Any) -> list[Any]:
    """output, h_n / output, (h_n, c_n) / h / (h, c) -> a flat list of tensors."""
    if isinstance(result, (tuple, list)):
        return [leaf for item in result for leaf in _flatten(item)]
    return [result]


def compare_run(model: Any, reference: Any, x: np.ndarray, states: list[np.ndarray] | None, dtype: str,
                label: str, upstream_seed: int = 1, rtol: float | None = None, atol: float | None = None) -> None:
    """Call both modules on x (and the states, if any: one array, or two for LSTM), compare every output,
    then back-propagate the same upstream gradients and compare every gradient."""
    m_x, t_x = _pair(x, dtype)
    pairs = [_pair(s, dtype) for s in states] if states is not None else []
    if not pairs:
        m_out, t_out = model(m_x), reference(t_x)
    elif len(pairs) == 1:
        m_out, t_out = model(m_x, pairs[0][0]), reference(t_x, pairs[0][1])
    else:
        m_out, t_out = model(m_x, (pairs[0][0], pairs[1][0])), reference(t_x, (pairs[0][1], pairs[1][1]))
    m_leaves, t_leaves = _flatten(m_out), _flatten(t_out)
    names = ["output", "h_n", "c_n"] if len(t_leaves) > 1 and not isinstance(t_out, torch.Tensor) else ["h"]
    if isinstance(reference, (torch.nn.LSTMCell,)):
        names = ["h'", "c'"]
    elif isinstance(reference, (torch.nn.RNNCell, torch.nn.GRUCell)):
        names = ["h'"]
    tol = {"rtol": rtol, "atol": atol, "dtype": dtype}
    for name, m, t in zip(names, m_leaves, t_leaves):
        assert_close(m, t, what=f"{label}: {name}", **tol)
    rng = np.random.default_rng(upstream_seed)
    m_loss: Any = None
    t_loss: Any = None
    for m, t in zip(m_leaves, t_leaves):
        up = rng.normal(size=tuple(t.shape))
        m_term = (m * mt.tensor(up, dtype=getattr(mt, dtype))).sum()
        t_term = (t * torch.tensor(up, dtype=TORCH_DTYPES[dtype])).sum()
        m_loss = m_term if m_loss is None else m_loss + m_term
        t_loss = t_term if t_loss is None else t_loss + t_term
    m_loss.backward()
    t_loss.backward()
    assert_close(m_x.grad, t_x.grad, what=f"{label}: gradient of the input", **tol)
    for k, (m, t) in enumerate(pairs):
        assert_close(m.grad, t.grad, what=f"{label}: gradient of the initial state {k}", **tol)
    for name, p in reference.named_parameters():
        assert_close(getattr(model, name).grad, p.grad, what=f"{label}: gradient of {name}", **tol)
