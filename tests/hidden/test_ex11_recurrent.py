"""ex11 hidden tests: layer configurations, sizes, dtypes and indices drawn at grading time (MTDG_SEED),
compared with torch.nn (weights copied) on the same data: every output and every gradient.

ex11 runs in a worker process (grader/judge.py): each minitorch-dg module is built there from torch's
weights and driven through the programs of tests/support/recurrent.py; torch and the comparison stay here."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch

from grader import judge
from tests.support import recurrent
from tests.support.compare import assert_close

ag = judge.exercise("ex11")  # ex11 runs in a worker process (grader/judge.py)
run = ag.run_program


def twins(mode: str, *args: Any, **kwargs: Any) -> tuple[Any, torch.nn.Module]:
    return recurrent.remote_twins(ag, mode, *args, **kwargs)


def compare_run(model: Any, reference: torch.nn.Module, *args: Any, **kwargs: Any) -> None:
    recurrent.compare_run(model, reference, *args, worker=ag, **kwargs)


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
    # few distinct rows, so that indices repeat
    idx = np.random.default_rng(hidden_rng.randrange(2**32)).integers(0, min(rows, 3), size=shape).astype(np.int64)
    up = _array(hidden_rng, shape + (width,))
    recurrent.check_embedding(ag, rows, width, {"padding_idx": padding}, dtype, idx, up,
                              f"Embedding({rows}, {width}, padding_idx={padding}) at indices of shape {shape}")


def _step(module: object, x: object, state: object) -> object:
    return module(x) if state is None else module(x, state)  # type: ignore[operator]


def _h(state: object) -> object:
    return state[0] if isinstance(state, tuple) else state


def _grad(t: Any) -> Any:
    return run(recurrent.grad_of, t)


@pytest.mark.parametrize("mode", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("fused", [True, False])
def test_cells_in_a_python_loop_random_lengths(mode: str, fused: bool, hidden_rng: random.Random) -> None:
    """The dynamic graph: the same cell in a Python loop, a different number of steps on each call, each call
    starting from a given state or from none; every h, and every gradient after each call's backward."""
    batch, n_in, hidden = hidden_rng.randint(1, 4), hidden_rng.randint(1, 5), hidden_rng.randint(1, 5)
    dtype = hidden_rng.choice(["float32", "float64"])
    bias = hidden_rng.random() < 0.8
    torch_dtype = getattr(torch, dtype)
    model, reference = twins(mode, n_in, hidden, bias=bias, dtype=dtype, fused=fused,
                             seed=hidden_rng.randrange(1000))
    lengths = hidden_rng.sample(range(1, 8), 3)
    for call, steps in enumerate(lengths):
        label = f"{mode}({n_in}, {hidden}, bias={bias}) in a loop of {steps} steps (call {call}), B={batch}, {dtype}"
        xs = _array(hidden_rng, (steps, batch, n_in), scale=1.5)
        m_xs = [run(recurrent.leaf, xs[t], dtype) for t in range(steps)]
        t_xs = [torch.tensor(xs[t], dtype=torch_dtype, requires_grad=True) for t in range(steps)]
        m_state: object = None
        t_state: object = None
        m_start: list = []
        t_start: list = []
        if hidden_rng.random() < 0.6:
            starts = [_array(hidden_rng, (batch, hidden)) for _ in range(2 if mode == "LSTMCell" else 1)]
            m_start = [run(recurrent.leaf, s, dtype) for s in starts]
            t_start = [torch.tensor(s, dtype=torch_dtype, requires_grad=True) for s in starts]
            m_state = tuple(m_start) if mode == "LSTMCell" else m_start[0]
            t_state = tuple(t_start) if mode == "LSTMCell" else t_start[0]
        m_outs, t_outs = [], []
        for t in range(steps):
            m_state, t_state = run(recurrent.call, model, m_xs[t], m_state), _step(reference, t_xs[t], t_state)
            m_outs.append(m_state)
            t_outs.append(_h(t_state))
            assert_close(run(recurrent.h_of, m_state), t_outs[-1], what=f"{label}: h at step {t}", dtype=dtype)
        if mode == "LSTMCell":
            assert_close(run(lambda state: state[1].to_numpy(), m_state), t_state[1],  # type: ignore[index]
                         what=f"{label}: the last c", dtype=dtype)
        run(lambda m: m.zero_grad(), model)
        reference.zero_grad()
        up = _array(hidden_rng, (steps, batch, hidden))
        run(recurrent.weighted_backward, m_outs, list(up), dtype)
        sum((o * torch.tensor(up[k], dtype=torch_dtype)).sum() for k, o in enumerate(t_outs)).backward()
        for t in range(steps):
            assert_close(_grad(m_xs[t]), t_xs[t].grad, what=f"{label}: gradient of the input at step {t}", dtype=dtype)
        for k, (m, tt) in enumerate(zip(m_start, t_start)):
            assert_close(_grad(m), tt.grad, what=f"{label}: gradient of the initial state {k}", dtype=dtype)
        grads = run(recurrent.param_grads, model)
        for name, p in reference.named_parameters():
            assert grads.get(name) is not None, f"{label}: {name}.grad is None"
            assert_close(grads[name], p.grad, what=f"{label}: {name}.grad", dtype=dtype)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("fused", [True, False])
def test_truncated_backpropagation_random_chunks(mode: str, fused: bool, hidden_rng: random.Random) -> None:
    """Truncated BPTT: a sequence read in chunks of random lengths, the state carried into the next chunk
    detached, one backward per chunk with the parameter gradients accumulating; every chunk's output and
    input gradient (no gradient may cross a chunk boundary) and the accumulated parameter gradients."""
    batch, n_in, hidden = hidden_rng.randint(1, 3), hidden_rng.randint(1, 4), hidden_rng.randint(1, 4)
    layers, bidirectional = hidden_rng.randint(1, 2), hidden_rng.random() < 0.3
    batch_first, dtype = hidden_rng.random() < 0.5, hidden_rng.choice(["float32", "float64"])
    torch_dtype = getattr(torch, dtype)
    model, reference = twins(mode, n_in, hidden, num_layers=layers, bidirectional=bidirectional,
                             batch_first=batch_first, dtype=dtype, fused=fused, seed=hidden_rng.randrange(1000))
    chunks = [hidden_rng.randint(1, 4) for _ in range(hidden_rng.randint(2, 4))]
    label = (f"{mode}({n_in}, {hidden}, num_layers={layers}, bidirectional={bidirectional}, "
             f"batch_first={batch_first}), truncated BPTT over chunks of {chunks} steps, B={batch}, {dtype}")
    m_state: object = None
    t_state: object = None
    m_inputs, t_inputs = [], []
    for k, steps in enumerate(chunks):
        x = _array(hidden_rng, (batch, steps, n_in) if batch_first else (steps, batch, n_in), scale=1.5)
        m_x = run(recurrent.leaf, x, dtype)
        t_x = torch.tensor(x, dtype=torch_dtype, requires_grad=True)
        m_inputs.append(m_x)
        t_inputs.append(t_x)
        m_out, m_state = run(recurrent.call, model, m_x, m_state)
        t_out, t_state = _step(reference, t_x, t_state)  # type: ignore[misc]
        assert_close(run(lambda out: out.to_numpy(), m_out), t_out, what=f"{label}: output of chunk {k}", dtype=dtype)
        up = _array(hidden_rng, tuple(t_out.shape))
        run(recurrent.weighted_backward, [m_out], [up], dtype)
        (t_out * torch.tensor(up, dtype=torch_dtype)).sum().backward()
        m_state = run(recurrent.detached, m_state)
        if mode == "LSTM":
            t_state = (t_state[0].detach(), t_state[1].detach())  # type: ignore[index]
        else:
            t_state = t_state.detach()  # type: ignore[union-attr]
    for k, (m_x, t_x) in enumerate(zip(m_inputs, t_inputs)):
        assert_close(_grad(m_x), t_x.grad, what=f"{label}: gradient of chunk {k}'s input", dtype=dtype)
    grads = run(recurrent.param_grads, model)
    for name, p in reference.named_parameters():
        assert grads.get(name) is not None, f"{label}: {name}.grad is None"
        assert_close(grads[name], p.grad, what=f"{label}: {name}.grad (accumulated)", dtype=dtype)
