"""Recurrent layers and Embedding on cuda (the CUDA simulator without a GPU, tiny shapes): the layers run
ex11's composed cells through unroll there, Embedding's backward goes through the host; both against torch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg.backends import cuda as cuda_env
from tests.support import cuda_schedule
from tests.support.compare import assert_close
from tests.support.recurrent import twins

pytestmark = pytest.mark.skipif(cuda_env.mode() == "none",
                                reason=cuda_env.skip_reason("tests/framework/test_recurrent_cuda.py"))


@pytest.fixture(autouse=True)
def schedule() -> Iterator[cuda_schedule.ScheduleLog]:
    """The strict simulator schedule: also a fast one, because its simulated threads come from a pool instead
    of a new Python thread per GPU thread and launch (the LSTM test: 52 s under the stock simulator)."""
    with cuda_schedule.serial_schedule() as log:
        yield log


@pytest.mark.parametrize("mode,bidirectional", [("LSTM", True), ("GRU", False)])
def test_layer_on_cuda(mode: str, bidirectional: bool) -> None:
    model, reference = twins(mode, 2, 3, bidirectional=bidirectional)
    model.to("cuda")
    x = np.random.default_rng(0).normal(size=(2, 1, 2))
    m_x = mt.tensor(x, device="cuda", requires_grad=True)
    t_x = torch.tensor(x, requires_grad=True)
    m_out, m_state = model(m_x)
    t_out, t_state = reference(t_x)
    assert m_out.device == "cuda"
    assert_close(m_out.to("cpu"), t_out, what=f"{mode} on cuda: output")
    m_h = m_state[0] if mode == "LSTM" else m_state
    t_h = t_state[0] if mode == "LSTM" else t_state
    assert_close(m_h.to("cpu"), t_h, what=f"{mode} on cuda: h_n")
    (m_out * m_out).sum().backward()
    (t_out * t_out).sum().backward()
    assert_close(m_x.grad.to("cpu"), t_x.grad, what=f"{mode} on cuda: gradient of the input")
    for name, p in reference.named_parameters():
        assert_close(getattr(model, name).grad.to("cpu"), p.grad, what=f"{mode} on cuda: {name}.grad")


def test_embedding_on_cuda() -> None:
    torch.manual_seed(0)
    reference = torch.nn.Embedding(4, 2, padding_idx=0).double()
    model = mt.nn.Embedding(4, 2, padding_idx=0, dtype=mt.float64)
    model.load_state_dict({"weight": mt.tensor(reference.weight.detach().numpy())})
    model.to("cuda")
    idx = np.array([[1, 3, 1, 0]], dtype=np.int64)
    m_out = model(mt.tensor(idx, device="cuda"))
    t_out = reference(torch.tensor(idx))
    assert m_out.device == "cuda"
    assert_close(m_out.to("cpu"), t_out, what="Embedding on cuda")
    m_out.sum().backward()
    t_out.sum().backward()
    assert_close(model.weight.grad.to("cpu"), reference.weight.grad, what="Embedding on cuda: weight.grad")
