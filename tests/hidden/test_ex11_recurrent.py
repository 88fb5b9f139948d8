"""ex11 hidden tests: layer configurations, sizes, dtypes and indices drawn at grading time (MTDG_SEED),
compared with torch.nn (weights copied) on the same data: every output and every gradient."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from tests.support.compare import assert_close
from tests.support.recurrent import compare_run, copy_weights, twins


def _array(rng: random.Random, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(rng.randrange(2**32)).normal(0.0, scale, size=shape)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("case", range(2))
def test_layers_random_configurations(mode: str, fused: bool, case: int, hidden_rng: random.Random) -> None:
    steps, batch = hidden_rng.randint(1, 5), hidden_rng.randint(1, 3)
    n_in, hidden = hidden_rng.randint(1, 4), hidden_rng.randint(1, 4)
    layers, bidirectional = hidden_rng.randint(1, 2), hidden_rng.random() < 0.5
    batch_first, bias = hidden_rng.random() < 0.5, hidden_rng.random() < 0.8
    dtype = hidden_rng.choice(["float32", "float64"])
    extra = {"nonlinearity": hidden_rng.choice(["tanh", "relu"])} if mode == "RNN" else {}
    model, reference = twins(mode, n_in, hidden, num_layers=layers, bidirectional=bidirectional, bias=bias,
                             batch_first=batch_first, dtype=dtype, fused=fused, seed=hidden_rng.randrange(1000),
                             **extra)
    x = _array(hidden_rng, (batch, steps, n_in) if batch_first else (steps, batch, n_in), scale=1.5)
    shape = (layers * (2 if bidirectional else 1), batch, hidden)
    states = None
    if hidden_rng.random() < 0.7:
        states = [_array(hidden_rng, shape) for _ in range(2 if mode == "LSTM" else 1)]
    label = (f"{mode}({n_in}, {hidden}, num_layers={layers}, bidirectional={bidirectional}, bias={bias}, "
             f"batch_first={batch_first}{', ' + str(extra) if extra else ''}) on T={steps}, B={batch}, {dtype}, "
             f"{'with' if states else 'without'} an initial state")
    compare_run(model, reference, x, states, dtype, label)


@pytest.mark.parametrize("mode", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("fused", [True, False])
def test_cells_random(mode: str, fused: bool, hidden_rng: random.Random) -> None:
    batch, n_in, hidden = hidden_rng.randint(1, 4), hidden_rng.randint(1, 5), hidden_rng.randint(1, 5)
    dtype = hidden_rng.choice(["float32", "float64"])
    bias = hidden_rng.random() < 0.7
    model, reference = twins(mode, n_in, hidden, bias=bias, dtype=dtype, fused=fused, seed=hidden_rng.randrange(1000))
    states = [_array(hidden_rng, (batch, hidden)) for _ in range(2 if mode == "LSTMCell" else 1)]
    compare_run(model, reference, _array(hidden_rng, (batch, n_in), scale=2.0), states, dtype,
                f"{mode}({n_in}, {hidden}, bias={bias}) on a batch of {batch}, {dtype}")


@pytest.mark.parametrize("case", range(3))
def test_embedding_random_indices(case: int, hidden_rng: random.Random) -> None:
    rows, width = hidden_rng.randint(2, 8), hidden_rng.randint(1, 4)
    shape = tuple(hidden_rng.randint(1, 4) for _ in range(hidden_rng.randint(1, 3)))
    padding = hidden_rng.choice([None, hidden_rng.randrange(rows)])
    dtype = hidden_rng.choice(["float32", "float64"])
    torch.manual_seed(hidden_rng.randrange(1000))
    reference = torch.nn.Embedding(rows, width, padding_idx=padding).to(getattr(torch, dtype))
    model = mt.nn.Embedding(rows, width, padding_idx=padding, dtype=getattr(mt, dtype))
    copy_weights(model, reference)
    # few distinct rows, so that indices repeat
    idx = np.random.default_rng(hidden_rng.randrange(2**32)).integers(0, min(rows, 3), size=shape).astype(np.int64)
    m_out, t_out = model(mt.tensor(idx)), reference(torch.tensor(idx))
    label = f"Embedding({rows}, {width}, padding_idx={padding}) at indices of shape {shape}"
    assert_close(m_out, t_out, what=label, dtype=dtype)
    up = _array(hidden_rng, shape + (width,))
    (m_out * mt.tensor(up, dtype=getattr(mt, dtype))).sum().backward()
    (t_out * torch.tensor(up, dtype=getattr(torch, dtype))).sum().backward()
    assert_close(model.weight.grad, reference.weight.grad, what=f"{label}: weight.grad", dtype=dtype)
