"""The framework around ex11: recurrent layers' initialisation and argument errors, Embedding's index
checks, pad_sequence and length masks. These parts are the framework's own code (they work on the stubs);
the maths they wrap is tested in tests/exercises/test_ex11_recurrent.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

import minitorch_dg as mt
from tests.support.compare import assert_close


def data(*shape: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


@pytest.mark.parametrize("mode,hidden", [("LSTM", 16), ("GRU", 9), ("RNN", 4), ("LSTMCell", 25)])
def test_initialisation_is_uniform_within_one_over_sqrt_hidden(mode: str, hidden: int) -> None:
    mt.manual_seed(0)
    model = getattr(mt.nn, mode)(7, hidden)
    bound = 1.0 / math.sqrt(hidden)
    values = np.concatenate([p.to_numpy().reshape(-1) for p in model.parameters()])
    assert values.min() >= -bound and values.max() <= bound, f"{mode}: weights outside ±1/sqrt({hidden})"
    assert stats.kstest(values, stats.uniform(loc=-bound, scale=2 * bound).cdf).pvalue > 1e-3, \
        f"{mode}: the initial weights do not look uniform on ±1/sqrt(hidden)"


def test_errors_say_what_is_wrong() -> None:
    lstm = mt.nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 5"):
        lstm(mt.randn(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 1, 4\), got \[1, 1, 4\]"):
        lstm(mt.randn(2, 1, 3), (mt.zeros(1, 1, 4), mt.zeros(2, 1, 4)))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        lstm(mt.randn(2, 1, 1, 3))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        mt.nn.GRU(3, 4)(mt.randn(2, 5, 3), mt.zeros(1, 4, 4))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 2 expected 3"):
        mt.nn.GRUCell(3, 4)(mt.randn(5, 2))
    with pytest.raises(RuntimeError, match="Input batch size 5 doesn't match hidden0 batch size 2"):
        mt.nn.RNNCell(3, 4)(mt.randn(5, 3), mt.zeros(2, 4))
    with pytest.raises(RuntimeError, match="float64"):
        mt.nn.LSTM(3, 4)(mt.randn(2, 1, 3, dtype=mt.float64))


def test_embedding_index_out_of_range_names_the_index_and_the_size() -> None:
    with pytest.raises(IndexError, match="index 7 .* 5 rows"):
        mt.nn.Embedding(5, 2)(mt.tensor([1, 7]))
    with pytest.raises(IndexError, match="index -1"):
        mt.nn.Embedding(5, 2)(mt.tensor([-1]))
    with pytest.raises(RuntimeError, match="Long"):
        mt.nn.Embedding(5, 2)(mt.tensor([1.0]))


# ---------------------------------------------------------------------------------------------
# Variable lengths: pad_sequence and masking
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_and_a_masked_loss(batch_first: bool) -> None:
    arrays = [data(3, 2, seed=1), data(5, 2, seed=2), data(1, 2, seed=3)]
    m_seqs = [mt.tensor(a, requires_grad=True) for a in arrays]
    t_seqs = [torch.tensor(a, requires_grad=True) for a in arrays]
    pad = mt.nn.utils.rnn.pad_sequence
    m_pad = pad(m_seqs, batch_first=batch_first, padding_value=-1.0)
    t_pad = torch.nn.utils.rnn.pad_sequence(t_seqs, batch_first=batch_first, padding_value=-1.0)
    assert_close(m_pad, t_pad, what=f"pad_sequence(batch_first={batch_first}, padding_value=-1)")
    lengths = [3, 5, 1]
    m_mask = mt.nn.utils.rnn.length_mask(lengths, batch_first=batch_first)
    t_mask = torch.arange(5).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    t_mask = t_mask if batch_first else t_mask.T
    assert_close(m_mask.to(mt.float64), t_mask.double(), what="length_mask(lengths)")
    m_loss = ((m_pad * m_pad).sum(-1) * m_mask.to(mt.float64)).sum() / sum(lengths)
    t_loss = ((t_pad * t_pad).sum(-1) * t_mask.double()).sum() / sum(lengths)
    assert_close(m_loss, t_loss, what="masked mean over the valid steps")
    m_loss.backward()
    t_loss.backward()
    for k, (m, t) in enumerate(zip(m_seqs, t_seqs)):
        assert_close(m.grad, t.grad, what=f"masked loss: gradient of sequence {k}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_products_split_between_two_threads_match_numpy(dtype: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sequence Functions' large matmuls run in two halves of rows, one on a helper thread; forced here
    for small products (threshold 0, two threads allowed): plain, transposed-view and one-row operands."""
    from minitorch_dg.nn import recurrent_functions

    monkeypatch.setattr(recurrent_functions.threads, "MATMUL_PARALLEL_MIN", 0)
    monkeypatch.setattr(recurrent_functions.threads, "allowed", lambda: 2)
    a, b, c = data(7, 5, seed=1).astype(dtype), data(5, 3, seed=2).astype(dtype), data(7, 4, seed=3).astype(dtype)
    row = data(1, 5, seed=4).astype(dtype)
    products = [(a, b), (a.T, c), (row, b)]
    outs = recurrent_functions.matmuls(*products)
    for (x, y), out in zip(products, outs):
        assert out.dtype == dtype and out.flags.c_contiguous
        assert_close(out, x @ y, what=f"matmuls: ({x.shape} @ {y.shape}) in two halves", dtype=np.dtype(dtype).name)
    assert recurrent_functions._helper is not None, "the helper thread never ran"
