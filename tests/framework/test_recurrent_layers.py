"""The framework around ex11: recurrent layers' initialisation and argument errors, Embedding's index
checks, pad_sequence and length masks. These parts are the framework's own code (they work on the stubs);
the maths they wrap is tested in tests/exercises/test_ex11_recurrent.py."""

from __future__ import annotations

import math
import threading
import time

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


# ---------------------------------------------------------------------------------------------
# The sequence Functions' threads: each half of the batch on its own thread
# ---------------------------------------------------------------------------------------------


def test_on_threads_runs_every_part_once_and_returns_in_order() -> None:
    from minitorch_dg.nn.recurrent_functions import on_threads

    where: dict[int, str] = {}

    def work(k: int) -> int:
        where[k] = threading.current_thread().name
        return k * k

    assert on_threads(work, [3, 4]) == [9, 16]
    assert where[3] == threading.current_thread().name and where[4] != where[3], "the second part ran here too"
    assert on_threads(work, [5]) == [25]


@pytest.mark.parametrize("failing", [0, 1])
def test_on_threads_raises_a_parts_error_after_both_parts_are_done(failing: int) -> None:
    from minitorch_dg.nn.recurrent_functions import on_threads

    finished: list[int] = []

    def work(k: int) -> None:
        if k == failing:
            raise ZeroDivisionError(f"part {k} failed")
        time.sleep(0.05)
        finished.append(k)

    with pytest.raises(ZeroDivisionError, match=f"part {failing} failed"):
        on_threads(work, [0, 1])
    assert finished == [1 - failing], "the other part must have finished before the error reached the caller"
    assert on_threads(lambda k: k + 1, [1, 2]) == [2, 3], "the helper thread must serve the next call"


def test_on_threads_without_a_thread_runs_every_part_here(monkeypatch: pytest.MonkeyPatch) -> None:
    from minitorch_dg.nn import recurrent_functions

    def refused() -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(recurrent_functions, "_helper_thread", refused)
    here = threading.current_thread().name
    assert recurrent_functions.on_threads(lambda k: (k, threading.current_thread().name), [1, 2]) == \
        [(1, here), (2, here)]


def test_batch_parts_halve_large_batches_when_two_threads_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    from minitorch_dg.nn import recurrent_functions

    monkeypatch.setattr(recurrent_functions.threads, "allowed", lambda: 2)
    assert recurrent_functions.batch_parts(32) == (slice(0, 16), slice(16, 32))
    assert recurrent_functions.batch_parts(11) == (slice(0, 6), slice(6, 11))
    assert recurrent_functions.batch_parts(recurrent_functions.SPLIT_MIN_ROWS - 1) == \
        (slice(0, recurrent_functions.SPLIT_MIN_ROWS - 1),)
    monkeypatch.setattr(recurrent_functions.threads, "allowed", lambda: 1)
    assert recurrent_functions.batch_parts(32) == (slice(0, 32),)


def _twins(mode: str, bidirectional: bool, bias: bool) -> tuple[object, torch.nn.Module]:
    torch.manual_seed(3)
    theirs = getattr(torch.nn, mode)(5, 4, num_layers=2, bias=bias, bidirectional=bidirectional).double()
    ours = getattr(mt.nn, mode)(5, 4, num_layers=2, bias=bias, bidirectional=bidirectional, dtype=mt.float64)
    for name, p in theirs.named_parameters():
        getattr(ours, name).data = mt.tensor(p.detach().numpy().copy())
    return ours, theirs


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional,bias", [(True, True), (False, False)])
@pytest.mark.parametrize("parts", [1, 2])
def test_sequences_on_two_threads_match_torch_and_repeat_exactly(
        mode: str, bidirectional: bool, bias: bool, parts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sequence Functions run each half of the batch on its own thread when two threads are allowed and
    the batch is large; forced here for a batch of 3 (rows 0-1 and 2), and checked with one part too: the
    outputs and every gradient match torch's, and a second run gives the same gradients bit for bit (each
    weight gradient is the sum of the halves' shares, in order). weight_ih_l0 needs no gradient: not
    computed."""
    from minitorch_dg import course
    from minitorch_dg.nn import recurrent_functions

    monkeypatch.setattr(recurrent_functions, "SPLIT_MIN_ROWS", 2 if parts == 2 else 1000)
    monkeypatch.setattr(recurrent_functions.threads, "allowed", lambda: 2)
    x = data(9, 3, 5, seed=5)
    weights = data(9, 3, 8 if bidirectional else 4, seed=6)
    with course.using("solutions"):
        ours, theirs = _twins(mode, bidirectional, bias)
        ours.weight_ih_l0.requires_grad = False
        theirs.weight_ih_l0.requires_grad_(False)
        t_x = torch.tensor(x, requires_grad=True)
        t_out, _ = theirs(t_x)
        (t_out * torch.tensor(weights)).sum().backward()
        runs = []
        for _ in range(2):
            m_x = mt.tensor(x, requires_grad=True)
            for p in ours.parameters():
                p.grad = None
            m_out, _ = ours(m_x)
            (m_out * mt.tensor(weights)).sum().backward()
            runs.append([m_x.grad.to_numpy()] + [p.grad.to_numpy() for p in ours.parameters() if p.requires_grad])
        assert ours.weight_ih_l0.grad is None
    what = f"{mode}(bidirectional={bidirectional}, bias={bias}) in {parts} part(s) of the batch"
    assert_close(m_out, t_out, what=f"{what}: output")
    assert_close(runs[0][0], t_x.grad, what=f"{what}: gradient of the input")
    named = [(n, p) for n, p in theirs.named_parameters() if p.requires_grad]
    for (name, p), ours_grad in zip(named, runs[0][1:]):
        assert_close(ours_grad, p.grad, what=f"{what}: gradient of {name}")
    for first, second in zip(runs[0], runs[1]):
        assert np.array_equal(first, second), f"{what}: two runs gave different gradients"


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("changed", ["input", "hidden state"])
def test_an_input_changed_in_place_before_backward_never_gives_wrong_gradients(mode: str, changed: str) -> None:
    """The fused Functions keep views of their inputs for backward, so an in-place change between forward
    and backward could change the gradients silently. Either backward refuses, in torch's words (torch's own
    layers refuse both changes), or the weight gradients are those of the values forward saw (the sequence
    Functions copy h0 and c0 step by step)."""
    from minitorch_dg import course

    cell = mode.endswith("Cell")
    x = data(4, 3, 5, seed=1)
    h = data(1, 3, 6, seed=2)
    if cell:
        x, h = x[0], h[0]

    def weight_grads(change: bool) -> list[np.ndarray] | str:
        mt.manual_seed(0)
        layer = getattr(mt.nn, mode)(5, 6, dtype=mt.float64)
        xs, hs = mt.tensor(x), mt.tensor(h)
        out = layer(xs, (hs, mt.zeros(*hs.shape, dtype=mt.float64)) if mode.startswith("LSTM") else hs)
        first = out[0] if isinstance(out, tuple) else out
        if change:
            (xs if changed == "input" else hs).add_(1.0)
        try:
            (first * first).sum().backward()
        except RuntimeError as error:
            return str(error)
        return [p.grad.to_numpy() for p in layer.parameters()]

    with course.using("solutions"):
        expected, got = weight_grads(False), weight_grads(True)
    if isinstance(got, str):
        assert "modified by an inplace operation" in got, got
        return
    for ours, right in zip(got, expected):
        assert np.allclose(ours, right), (
            f"{mode}: the {changed} was changed in place between forward and backward, and the weight gradients "
            "silently changed with it (torch refuses: one of the variables needed for gradient computation has "
            "been modified by an inplace operation)")
