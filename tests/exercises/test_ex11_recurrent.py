"""ex11 public tests: recurrent cells and layers, the fused kernels, Embedding, against torch.nn.

Everything is reached through the framework (`mt.nn.LSTM`, `mt.nn.GRUCell`, `mt.nn.Embedding`, ...) with the
weights copied from the torch module, except where a test calls an ex11 function directly (unroll). Every
output and every gradient (input, h0 / c0, each parameter by name) is compared with torch on the same numpy
data (tests/support/recurrent.py), in float64 and float32. A module's `fused` flag picks the path: True
runs your gate kernels (Part 3) between the framework's matmuls, False runs your composed cells (Part 1)
through your unroll (Part 2).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg import course
from tests.support.compare import assert_close
from tests.support.recurrent import compare_run, copy_weights, twins

ex11 = course.ExerciseProxy("ex11")
DTYPES = ["float64", "float32"]


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


@pytest.mark.hint("unroll: outputs[t] is the h computed from inputs[t]; with reverse=True walk t = T-1 .. 0 but "
                  "store each h at its own t, so the outputs come back in the input's time order.")
@pytest.mark.parametrize("reverse", [False, True])
def test_unroll_order_and_final_state(reverse: bool) -> None:
    x = data(4, 2, 3)
    seen: list[float] = []

    def step(xt: mt.Tensor, state: mt.Tensor) -> mt.Tensor:
        seen.append(float(xt.to_numpy()[0, 0]))
        return state * 0.5 + xt

    outputs, final = ex11.unroll(step, mt.tensor(x), mt.zeros(2, 3, dtype=mt.float64), reverse)
    order = list(range(3, -1, -1)) if reverse else list(range(4))
    assert seen == [x[t, 0, 0] for t in order], f"unroll(reverse={reverse}) visited the steps in the wrong order"
    expected = np.zeros((4, 2, 3))
    state = np.zeros((2, 3))
    for t in order:
        state = state * 0.5 + x[t]
        expected[t] = state
    assert_close(outputs, expected, what=f"unroll(reverse={reverse}): outputs (in the input's time order)")
    assert_close(final, state, what=f"unroll(reverse={reverse}): the final state")


def test_unroll_carries_a_tuple_state() -> None:
    x = data(3, 2, 2)

    def step(xt: mt.Tensor, state: tuple[mt.Tensor, mt.Tensor]) -> tuple[mt.Tensor, mt.Tensor]:
        h, c = state
        return h + c, c + xt

    h0, c0 = mt.ones(2, 2, dtype=mt.float64), mt.zeros(2, 2, dtype=mt.float64)
    outputs, (h, c) = ex11.unroll(step, mt.tensor(x), (h0, c0), False)
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


@pytest.mark.parametrize("mode", ["LSTMCell", "GRUCell"])
def test_fused_backward_equals_composed_backward(mode: str) -> None:
    """The hand-derived backward and the one autograd derives from the composed cell agree to rounding."""
    grads = {}
    for fused in (False, True):
        model = getattr(mt.nn, mode)(3, 4, dtype=mt.float64)
        mt.manual_seed(3)
        model.reset_parameters()
        model.fused = fused
        x = mt.tensor(data(2, 3, scale=2.0), requires_grad=True)
        h = mt.tensor(data(2, 4, seed=1), requires_grad=True)
        state = (h, mt.tensor(data(2, 4, seed=2), requires_grad=True)) if mode == "LSTMCell" else h
        out = model(x, state)
        leaves = list(out) if isinstance(out, tuple) else [out]
        total = sum(((leaf * mt.tensor(data(2, 4, seed=10 + k))).sum() for k, leaf in enumerate(leaves)),
                    mt.tensor(0.0, dtype=mt.float64))
        total.backward()
        grads[fused] = [x.grad, h.grad] + [p.grad for p in model.parameters()]
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
            m_state = model(mt.tensor(xs[t]), m_state) if m_state is not None else model(mt.tensor(xs[t]))
            t_state = reference(torch.tensor(xs[t]), t_state) if t_state is not None else reference(torch.tensor(xs[t]))
            m_outs.append(m_state[0] if isinstance(m_state, tuple) else m_state)
            t_outs.append(t_state[0] if isinstance(t_state, tuple) else t_state)
        model.zero_grad()
        reference.zero_grad()
        weights = data(steps, 2, 4, seed=50 + call)
        sum((o * mt.tensor(weights[k])).sum() for k, o in enumerate(m_outs)).backward()
        sum((o * torch.tensor(weights[k])).sum() for k, o in enumerate(t_outs)).backward()
        for name, p in reference.named_parameters():
            assert_close(getattr(model, name).grad, p.grad, what=f"{mode} unrolled {steps} steps (call {call}): {name}.grad")


@pytest.mark.hint("Truncated BPTT: the state carried into the next chunk is detached, so no gradient crosses chunks.")
@pytest.mark.parametrize("fused", [True, False])
def test_truncated_backpropagation_with_detach(fused: bool) -> None:
    model, reference = twins("LSTM", 3, 4, fused=fused)
    x = data(9, 2, 3)
    m_state = t_state = None
    for start in range(0, 9, 3):
        chunk = x[start:start + 3]
        m_out, m_state = model(mt.tensor(chunk)) if m_state is None else model(mt.tensor(chunk), m_state)
        t_out, t_state = reference(torch.tensor(chunk)) if t_state is None else reference(torch.tensor(chunk), t_state)
        (m_out * m_out).sum().backward()
        (t_out * t_out).sum().backward()
        m_state = (m_state[0].detach(), m_state[1].detach())
        t_state = (t_state[0].detach(), t_state[1].detach())
    for name, p in reference.named_parameters():
        assert_close(getattr(model, name).grad, p.grad, what=f"truncated BPTT over 3 chunks: {name}.grad (accumulated)")


# ---------------------------------------------------------------------------------------------
# The layers around the kernels: names, dropout, state dicts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_parameter_names_shapes_and_state_dicts_both_ways(mode: str) -> None:
    model, reference = twins(mode, 3, 4, num_layers=2, bidirectional=True)
    assert [(n, tuple(p.shape)) for n, p in model.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in reference.named_parameters()]
    torch.manual_seed(9)
    fresh = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=True).double()
    fresh.load_state_dict({k: torch.tensor(v.to_numpy()) for k, v in model.state_dict().items()})
    x = data(3, 2, 3)
    out_m = model(mt.tensor(x))[0]
    out_t = fresh(torch.tensor(x))[0]
    assert_close(out_m, out_t, what=f"{mode}: torch loaded from minitorch-dg's state_dict gives the same output")


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_dropout_between_layers(mode: str) -> None:
    model, reference = twins(mode, 3, 4, num_layers=2, dropout=1.0)
    compare_run(model, reference, data(4, 2, 3), None, "float64", f"{mode}(dropout=1.0) in training: layer 2 sees zeros")
    model, reference = twins(mode, 3, 4, num_layers=2, dropout=0.5)
    model.eval()
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
    reference = torch.nn.Embedding(6, 3).to(getattr(torch, dtype))
    model = mt.nn.Embedding(6, 3, dtype=getattr(mt, dtype))
    copy_weights(model, reference)
    m_out, t_out = model(mt.tensor(REPEATED)), reference(torch.tensor(REPEATED))
    assert_close(m_out, t_out, what="Embedding(6, 3)(indices of shape (2, 4))", dtype=dtype)
    up = data(2, 4, 3, seed=4)
    (m_out * mt.tensor(up, dtype=getattr(mt, dtype))).sum().backward()
    (t_out * torch.tensor(up, dtype=getattr(torch, dtype))).sum().backward()
    assert_close(model.weight.grad, reference.weight.grad, what="Embedding: weight.grad with repeated indices", dtype=dtype)


@pytest.mark.hint("The padding_idx row gets no gradient: skip it in embedding_backward.")
@pytest.mark.parametrize("padding_idx", [1, 4, -2])
def test_embedding_padding_idx_gets_no_gradient(padding_idx: int) -> None:
    torch.manual_seed(0)
    reference = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    model = mt.nn.Embedding(6, 3, padding_idx=padding_idx, dtype=mt.float64)
    assert np.all(model.weight.to_numpy()[padding_idx] == 0), "the padding_idx row must start at zero"
    copy_weights(model, reference)
    m_out, t_out = model(mt.tensor(REPEATED)), reference(torch.tensor(REPEATED))
    up = data(2, 4, 3, seed=5)
    (m_out * mt.tensor(up)).sum().backward()
    (t_out * torch.tensor(up)).sum().backward()
    assert_close(model.weight.grad, reference.weight.grad, what=f"Embedding(padding_idx={padding_idx}): weight.grad")


def test_functional_embedding_and_from_pretrained() -> None:
    table = data(5, 2)
    idx = np.array([3, 0, 3], dtype=np.int64)
    w_m, w_t = mt.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)
    out_m, out_t = mt.nn.functional.embedding(mt.tensor(idx), w_m), torch.nn.functional.embedding(torch.tensor(idx), w_t)
    assert_close(out_m, out_t, what="F.embedding(indices, weight)")
    out_m.sum().backward()
    out_t.sum().backward()
    assert_close(w_m.grad, w_t.grad, what="F.embedding: weight.grad")
    frozen = mt.nn.Embedding.from_pretrained(mt.tensor(table))
    assert not frozen.weight.requires_grad, "from_pretrained(freeze=True) must not train the weight"
    trainable = mt.nn.Embedding.from_pretrained(mt.tensor(table), freeze=False)
    assert trainable.weight.requires_grad
    trainable(mt.tensor(idx)).sum().backward()
    assert_close(trainable.weight.grad, w_t.grad, what="from_pretrained(freeze=False): weight.grad")
