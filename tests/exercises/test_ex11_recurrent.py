"""ex11 public tests: recurrent cells and layers, the fused kernels, Embedding, against torch.nn.

Everything is reached through the framework (`mt.nn.LSTM`, `mt.nn.GRUCell`, `mt.nn.Embedding`, ...) with the
weights copied from the torch module, except where a test calls an ex11 function directly (unroll). Every
output and every gradient (input, h0 / c0, each parameter by name) is compared with torch on the same numpy
data (tests/support/recurrent.py), in float64 and float32. A module's `fused` flag picks the path: True
runs your gate kernels (Part 3) between the framework's matmuls, False runs your composed cells (Part 1)
through your unroll (Part 2).

ex11 runs in a worker process (grader/judge.py): each minitorch-dg module is built there from torch's
weights and held here as a reference (`twins`); a test runs it through programs (tests/support/recurrent.py),
one call or one step at a time, and compares what comes back with torch here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt  # for the programs' names: they run with the worker's `mt`
from grader import judge
from tests.support import recurrent
from tests.support.compare import assert_close

ag = judge.exercise("ex11")  # ex11 runs in a worker process (grader/judge.py)
run = ag.run_program
ex: Any  # a program's global: ex11's module as the worker serves it (never bound here)
DTYPES = ["float64", "float32"]


def twins(mode: str, *args: Any, **kwargs: Any) -> tuple[Any, torch.nn.Module]:
    """torch.nn.<mode> with seeded weights, and minitorch-dg's twin with the same weights in ex11's worker."""
    return recurrent.remote_twins(ag, mode, *args, **kwargs)


def compare_run(model: Any, reference: torch.nn.Module, *args: Any, **kwargs: Any) -> None:
    """tests/support/recurrent.compare_run with the minitorch-dg side in ex11's worker."""
    recurrent.compare_run(model, reference, *args, worker=ag, **kwargs)


def data(*shape: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


# ---------------------------------------------------------------------------------------------
# Part 1: the composed cells
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("rnn_cell: act(input @ weight_ih.T + bias_ih + hx @ weight_hh.T + bias_hh); a None bias adds nothing.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_cell(dtype: str, nonlinearity: str, bias: bool) -> None:
    model, reference = twins("RNNCell", 3, 5, bias=bias, nonlinearity=nonlinearity, dtype=dtype)
    compare_run(model, reference, data(4, 3), [data(4, 5, seed=1)], dtype,
                f"RNNCell(3, 5, bias={bias}, nonlinearity={nonlinearity!r})")


@pytest.mark.hint("lstm_cell: the 4H pre-activation columns are the gates in the order i, f, g, o (pre.chunk(4, 1)); "
                  "g uses tanh, the other three sigmoid; c' = f*c + i*g, h' = o*tanh(c').")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_composed(dtype: str, bias: bool) -> None:
    model, reference = twins("LSTMCell", 3, 5, bias=bias, dtype=dtype, fused=False)
    compare_run(model, reference, data(4, 3), [data(4, 5, seed=1), data(4, 5, seed=2)], dtype,
                f"LSTMCell(3, 5, bias={bias}) with your composed lstm_cell")


@pytest.mark.hint("gru_cell: n = tanh(x_n + r * h_n) where h_n = (hx @ W_hh.T + b_hh)'s third chunk: the reset gate "
                  "multiplies the hidden part after its matmul and bias; h' = (1 - z) * n + z * hx.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_gru_cell_composed(dtype: str, bias: bool) -> None:
    model, reference = twins("GRUCell", 3, 5, bias=bias, dtype=dtype, fused=False)
    compare_run(model, reference, data(4, 3), [data(4, 5, seed=1)], dtype,
                f"GRUCell(3, 5, bias={bias}) with your composed gru_cell")


@pytest.mark.parametrize("mode", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("fused", [False, True])
def test_cells_without_a_state_and_unbatched(mode: str, fused: bool) -> None:
    model, reference = twins(mode, 4, 3, fused=fused)
    compare_run(model, reference, data(2, 4), None, "float64", f"{mode}(4, 3)(x) with no state (zeros)")
    model, reference = twins(mode, 4, 3, fused=fused)
    compare_run(model, reference, data(4), None, "float64", f"{mode}(4, 3)(x of shape (4,)), unbatched")


# ---------------------------------------------------------------------------------------------
# Part 2: unroll
# ---------------------------------------------------------------------------------------------


def _unroll_halving(x: Any, reverse: bool) -> tuple[list[float], Any, Any]:
    """Program: ex11's unroll of step(xt, state) = state * 0.5 + xt from zeros; the x[t, 0, 0] of each step in
    the order visited, the outputs and the final state."""
    seen: list[float] = []

    def step(xt: Any, state: Any) -> Any:
        seen.append(float(xt.to_numpy()[0, 0]))
        return state * 0.5 + xt

    outputs, final = ex.unroll(step, mt.tensor(x), mt.zeros(2, 3, dtype=mt.float64), reverse)
    return seen, outputs.to_numpy(), final.to_numpy()


@pytest.mark.hint("unroll: outputs[t] is the h computed from inputs[t]; with reverse=True walk t = T-1 .. 0 but "
                  "store each h at its own t, so the outputs come back in the input's time order.")
@pytest.mark.parametrize("reverse", [False, True])
def test_unroll_order_and_final_state(reverse: bool) -> None:
    x = data(4, 2, 3)
    seen, outputs, final = run(_unroll_halving, x, reverse)
    order = list(range(3, -1, -1)) if reverse else list(range(4))
    assert seen == [x[t, 0, 0] for t in order], f"unroll(reverse={reverse}) visited the steps in the wrong order"
    expected = np.zeros((4, 2, 3))
    state = np.zeros((2, 3))
    for t in order:
        state = state * 0.5 + x[t]
        expected[t] = state
    assert_close(outputs, expected, what=f"unroll(reverse={reverse}): outputs (in the input's time order)")
    assert_close(final, state, what=f"unroll(reverse={reverse}): the final state")


def _unroll_pair_state(x: Any) -> tuple[Any, Any, Any]:
    """Program: ex11's unroll of step(xt, (h, c)) = (h + c, c + xt) from (ones, zeros); outputs, final h, c."""

    def step(xt: Any, state: Any) -> Any:
        h, c = state
        return h + c, c + xt

    h0, c0 = mt.ones(2, 2, dtype=mt.float64), mt.zeros(2, 2, dtype=mt.float64)
    outputs, (h, c) = ex.unroll(step, mt.tensor(x), (h0, c0), False)
    return outputs.to_numpy(), h.to_numpy(), c.to_numpy()


def test_unroll_carries_a_tuple_state() -> None:
    x = data(3, 2, 2)
    outputs, h, c = run(_unroll_pair_state, x)
    hs, hh, cc = [], np.ones((2, 2)), np.zeros((2, 2))
    for t in range(3):
        hh, cc = hh + cc, cc + x[t]
        hs.append(hh)
    assert_close(outputs, np.stack(hs), what="unroll with an (h, c) state: outputs are the h of each step")
    assert_close(h, hh, what="unroll with an (h, c) state: final h")
    assert_close(c, cc, what="unroll with an (h, c) state: final c")


@pytest.mark.hint("A layer with fused=False runs your composed cell through your unroll, once per direction.")
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_composed_layers_two_layers(mode: str, bidirectional: bool) -> None:
    model, reference = twins(mode, 3, 4, num_layers=2, bidirectional=bidirectional, fused=False)
    directions = 2 if bidirectional else 1
    states = [data(2 * directions, 2, 4, seed=s) for s in ((1, 2) if mode == "LSTM" else (1,))]
    compare_run(model, reference, data(5, 2, 3), states, "float64",
                f"{mode}(3, 4, num_layers=2, bidirectional={bidirectional}), composed cells")


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_layer_relu_and_tanh(nonlinearity: str) -> None:
    model, reference = twins("RNN", 3, 4, num_layers=2, nonlinearity=nonlinearity, batch_first=True)
    compare_run(model, reference, data(2, 5, 3), None, "float64", f"RNN(3, 4, 2 layers, {nonlinearity}, batch_first)")


# ---------------------------------------------------------------------------------------------
# Part 3: the fused kernels, through the cells and the layers
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("lstm_gates_backward: dc = d_c + d_h * o * (1 - tanh(c)^2); then d_a_i = dc * g * i(1-i), "
                  "d_a_f = dc * c_prev * f(1-f), d_a_g = dc * i * (1-g^2), d_a_o = d_h * tanh(c) * o(1-o).")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_fused(dtype: str, bias: bool) -> None:
    model, reference = twins("LSTMCell", 3, 5, bias=bias, dtype=dtype, fused=True)
    compare_run(model, reference, data(4, 3), [data(4, 5, seed=1), data(4, 5, seed=2)], dtype,
                f"LSTMCell(3, 5, bias={bias}) with your fused lstm_gates_forward/backward")


@pytest.mark.hint("gru_gates_backward: d_n = d_h (1-z)(1-n^2); d_gh_n = d_n * r; d_r = d_n * gh_n * r(1-r); "
                  "d_z = d_h (h_prev - n) z(1-z); d_h_prev (the direct part) = d_h * z.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_gru_cell_fused(dtype: str, bias: bool) -> None:
    model, reference = twins("GRUCell", 3, 5, bias=bias, dtype=dtype, fused=True)
    compare_run(model, reference, data(4, 3), [data(4, 5, seed=1)], dtype,
                f"GRUCell(3, 5, bias={bias}) with your fused gru_gates_forward/backward")


def _cell_gradients(mode: str, fused: bool, x: Any, h: Any, c: Any, weights: list[Any]) -> list[Any]:
    """Program: a float64 mt.nn.<mode>(3, 4) initialised after manual_seed(3), with `fused` set, on x and the
    state (h, or (h, c) for LSTMCell); the gradients of x, h and every parameter of sum_k sum(out_k * w_k)."""
    model = getattr(mt.nn, mode)(3, 4, dtype=mt.float64)
    mt.manual_seed(3)
    model.reset_parameters()
    model.fused = fused
    x = mt.tensor(x, requires_grad=True)
    h = mt.tensor(h, requires_grad=True)
    state = (h, mt.tensor(c, requires_grad=True)) if mode == "LSTMCell" else h
    out = model(x, state)
    leaves = list(out) if isinstance(out, tuple) else [out]
    total = sum(((leaf * mt.tensor(weights[k])).sum() for k, leaf in enumerate(leaves)),
                mt.tensor(0.0, dtype=mt.float64))
    total.backward()
    return [None if t.grad is None else t.grad.to_numpy() for t in [x, h, *model.parameters()]]


@pytest.mark.parametrize("mode", ["LSTMCell", "GRUCell"])
def test_fused_backward_equals_composed_backward(mode: str) -> None:
    """The hand-derived backward and the one autograd derives from the composed cell agree to rounding."""
    inputs = (data(2, 3, scale=2.0), data(2, 4, seed=1), data(2, 4, seed=2),
              [data(2, 4, seed=10 + k) for k in range(2)])
    grads = {fused: run(_cell_gradients, mode, fused, *inputs) for fused in (False, True)}
    for composed, fused_grad in zip(grads[False], grads[True]):
        assert_close(fused_grad, composed, what=f"{mode}: fused backward against the composed (autograd) backward")


LAYER_CASES = [(1, False, False), (2, False, False), (1, True, False), (2, True, True), (1, False, True)]


@pytest.mark.hint("The fused layer calls your gate kernels once per step; reverse directions walk t = T-1 .. 0.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first", LAYER_CASES)
def test_fused_layers(dtype: str, mode: str, num_layers: int, bidirectional: bool, batch_first: bool) -> None:
    model, reference = twins(mode, 3, 4, num_layers=num_layers, bidirectional=bidirectional,
                             batch_first=batch_first, dtype=dtype)
    x = data(2, 5, 3) if batch_first else data(5, 2, 3)
    shape = (num_layers * (2 if bidirectional else 1), 2, 4)
    states = [data(*shape, seed=s) for s in ((1, 2) if mode == "LSTM" else (1,))]
    compare_run(model, reference, x, states, dtype,
                f"{mode}(3, 4, num_layers={num_layers}, bidirectional={bidirectional}, batch_first={batch_first})")


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("fused", [True, False])
def test_sequence_of_length_one_unbatched_and_without_bias(mode: str, fused: bool) -> None:
    model, reference = twins(mode, 3, 4, bidirectional=True, fused=fused)
    compare_run(model, reference, data(1, 2, 3), None, "float64", f"{mode} on a sequence of length 1")
    model, reference = twins(mode, 3, 4, num_layers=2, fused=fused)
    compare_run(model, reference, data(4, 3), None, "float64", f"{mode} on an unbatched sequence (T, I)")
    model, reference = twins(mode, 3, 4, bias=False, fused=fused)
    compare_run(model, reference, data(3, 2, 3), None, "float64", f"{mode}(bias=False)")


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_large_pre_activations_stay_finite(mode: str) -> None:
    model, reference = twins(mode, 3, 4, dtype="float32")
    compare_run(model, reference, data(4, 2, 3, scale=60.0), None, "float32",
                f"{mode} with inputs of size ~60 (saturated gates)", atol=1e-4)


@pytest.mark.hint("Each call of a cell records new nodes: the graph is as long as that call's loop.")
@pytest.mark.parametrize("mode", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_in_a_python_loop_with_a_different_length_each_call(mode: str) -> None:
    model, reference = twins(mode, 3, 4)
    for call, steps in enumerate([3, 1, 5]):
        xs = data(steps, 2, 3, seed=call)
        m_state: object = None
        t_state: object = None
        m_outs, t_outs = [], []
        for t in range(steps):
            m_state = run(recurrent.call, model, xs[t], m_state)
            t_state = reference(torch.tensor(xs[t]), t_state) if t_state is not None else reference(torch.tensor(xs[t]))
            m_outs.append(m_state)
            t_outs.append(t_state[0] if isinstance(t_state, tuple) else t_state)
        run(lambda m: m.zero_grad(), model)
        reference.zero_grad()
        weights = data(steps, 2, 4, seed=50 + call)
        run(recurrent.weighted_backward, m_outs, list(weights), "float64")
        sum((o * torch.tensor(weights[k])).sum() for k, o in enumerate(t_outs)).backward()
        grads = run(recurrent.param_grads, model)
        for name, p in reference.named_parameters():
            assert grads.get(name) is not None, f"{mode} unrolled {steps} steps (call {call}): {name}.grad is None"
            assert_close(grads[name], p.grad, what=f"{mode} unrolled {steps} steps (call {call}): {name}.grad")


@pytest.mark.hint("Truncated BPTT: the state carried into the next chunk is detached, so no gradient crosses chunks.")
@pytest.mark.parametrize("fused", [True, False])
def test_truncated_backpropagation_with_detach(fused: bool) -> None:
    model, reference = twins("LSTM", 3, 4, fused=fused)
    x = data(9, 2, 3)
    m_state = t_state = None
    for start in range(0, 9, 3):
        chunk = x[start:start + 3]
        m_out, m_state = run(recurrent.call, model, chunk, m_state)
        t_out, t_state = reference(torch.tensor(chunk)) if t_state is None else reference(torch.tensor(chunk), t_state)
        run(lambda out: (out * out).sum().backward(), m_out)
        (t_out * t_out).sum().backward()
        m_state = run(recurrent.detached, m_state)
        t_state = (t_state[0].detach(), t_state[1].detach())
    grads = run(recurrent.param_grads, model)
    for name, p in reference.named_parameters():
        assert grads.get(name) is not None, f"truncated BPTT over 3 chunks: {name}.grad is None"
        assert_close(grads[name], p.grad, what=f"truncated BPTT over 3 chunks: {name}.grad (accumulated)")


# ---------------------------------------------------------------------------------------------
# The layers around the kernels: names, dropout, state dicts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_parameter_names_shapes_and_state_dicts_both_ways(mode: str) -> None:
    model, reference = twins(mode, 3, 4, num_layers=2, bidirectional=True)
    names = run(lambda m: [(n, tuple(p.shape)) for n, p in m.named_parameters()], model)
    assert [(n, tuple(shape)) for n, shape in names] == [(n, tuple(p.shape)) for n, p in reference.named_parameters()]
    torch.manual_seed(9)
    fresh = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=True).double()
    state = run(lambda m: {k: v.to_numpy() for k, v in m.state_dict().items()}, model)
    fresh.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    x = data(3, 2, 3)
    out_m = run(lambda m, x: m(mt.tensor(x))[0].to_numpy(), model, x)
    out_t = fresh(torch.tensor(x))[0]
    assert_close(out_m, out_t, what=f"{mode}: torch loaded from minitorch-dg's state_dict gives the same output")


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_dropout_between_layers(mode: str) -> None:
    model, reference = twins(mode, 3, 4, num_layers=2, dropout=1.0)
    compare_run(model, reference, data(4, 2, 3), None, "float64", f"{mode}(dropout=1.0) in training: layer 2 sees zeros")
    model, reference = twins(mode, 3, 4, num_layers=2, dropout=0.5)
    run(lambda m: m.eval(), model)
    reference.eval()
    compare_run(model, reference, data(4, 2, 3), None, "float64", f"{mode}(dropout=0.5) in eval mode: no dropout")


# ---------------------------------------------------------------------------------------------
# Part 4: Embedding
# ---------------------------------------------------------------------------------------------

REPEATED = np.array([[1, 4, 1, 0], [4, 4, 2, 1]], dtype=np.int64)


@pytest.mark.hint("embedding_backward: add (+=) each gradient row into its index's row; a repeated index collects "
                  "the sum of its rows, it does not keep only the last one.")
@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_gradient_adds_up_repeated_indices(dtype: str) -> None:
    torch.manual_seed(0)
    recurrent.check_embedding(ag, 6, 3, {}, dtype, REPEATED, data(2, 4, 3, seed=4), "Embedding(6, 3) at indices of shape (2, 4)")


@pytest.mark.hint("The padding_idx row gets no gradient: skip it in embedding_backward.")
@pytest.mark.parametrize("padding_idx", [1, 4, -2])
def test_embedding_padding_idx_gets_no_gradient(padding_idx: int) -> None:
    torch.manual_seed(0)
    got = recurrent.check_embedding(ag, 6, 3, {"padding_idx": padding_idx}, "float64", REPEATED, data(2, 4, 3, seed=5),
                          f"Embedding(padding_idx={padding_idx})")
    assert np.all(got["initial"][padding_idx] == 0), "the padding_idx row must start at zero"


def _embedding_functional_and_pretrained(table: Any, idx: Any) -> dict[str, Any]:
    """Program: F.embedding(idx, weight) with its weight.grad after backward of the sum, and
    Embedding.from_pretrained with freeze=True (whether the weight trains) and freeze=False (its grad)."""
    weight = mt.tensor(table, requires_grad=True)
    out = mt.nn.functional.embedding(mt.tensor(idx), weight)
    out.sum().backward()
    frozen = mt.nn.Embedding.from_pretrained(mt.tensor(table))
    trainable = mt.nn.Embedding.from_pretrained(mt.tensor(table), freeze=False)
    trainable(mt.tensor(idx)).sum().backward()
    grad = trainable.weight.grad
    return {"out": out.to_numpy(), "grad": None if weight.grad is None else weight.grad.to_numpy(),
            "frozen trains": frozen.weight.requires_grad, "trainable trains": trainable.weight.requires_grad,
            "trainable grad": None if grad is None else grad.to_numpy()}


def test_functional_embedding_and_from_pretrained() -> None:
    table = data(5, 2)
    idx = np.array([3, 0, 3], dtype=np.int64)
    got = run(_embedding_functional_and_pretrained, table, idx)
    w_t = torch.tensor(table, requires_grad=True)
    out_t = torch.nn.functional.embedding(torch.tensor(idx), w_t)
    assert_close(got["out"], out_t, what="F.embedding(indices, weight)")
    out_t.sum().backward()
    assert got["grad"] is not None, "F.embedding: weight.grad is None after backward"
    assert_close(got["grad"], w_t.grad, what="F.embedding: weight.grad")
    assert not got["frozen trains"], "from_pretrained(freeze=True) must not train the weight"
    assert got["trainable trains"], "from_pretrained(freeze=False) must train the weight"
    assert got["trainable grad"] is not None, "from_pretrained(freeze=False): weight.grad is None after backward"
    assert_close(got["trainable grad"], w_t.grad, what="from_pretrained(freeze=False): weight.grad")
