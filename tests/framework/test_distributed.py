"""The framework around ex14: post-accumulate-grad hooks (against torch's), mt.distributed's zero-copy
hand-over to torch, the launcher's failure handling, DDP's own checks, DataLoader(sampler=...)."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch

import minitorch_dg as mt
import minitorch_dg.distributed as dist
from grader import hints
from minitorch_dg import nn
from tests.support.compare import assert_close

# ---------------------------------------------------------------------------------------------
# register_post_accumulate_grad_hook
# ---------------------------------------------------------------------------------------------


def _fired(params: dict[str, object], register: str) -> list[tuple[str, np.ndarray]]:
    fired: list[tuple[str, np.ndarray]] = []
    for name, p in params.items():
        def hook(t: object, name: str = name) -> None:
            grad = t.grad  # type: ignore[attr-defined]
            fired.append((name, grad.detach().numpy().copy() if isinstance(grad, torch.Tensor) else grad.to_numpy()))
        getattr(p, register)(hook)
    return fired


def test_post_accumulate_grad_hook_fires_once_per_leaf_with_torchs_gradient() -> None:
    rng = np.random.default_rng(0)
    w1, b1, w2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4))
    x = rng.normal(size=(5, 3))
    t = {"w1": torch.tensor(w1, requires_grad=True), "b1": torch.tensor(b1, requires_grad=True),
         "w2": torch.tensor(w2, requires_grad=True)}
    m = {k: mt.tensor(v.detach().numpy(), dtype=mt.float64, requires_grad=True) for k, v in t.items()}
    t_fired, m_fired = _fired(t, "register_post_accumulate_grad_hook"), _fired(m, "register_post_accumulate_grad_hook")
    (torch.tanh(torch.tensor(x) @ t["w1"].T + t["b1"]) @ t["w2"].T).sum().backward()
    (mt.tanh(mt.tensor(x, dtype=mt.float64) @ m["w1"].T + m["b1"]) @ m["w2"].T).sum().backward()
    assert sorted(n for n, _ in m_fired) == sorted(n for n, _ in t_fired) == ["b1", "w1", "w2"]
    for name, grad in m_fired:
        assert_close(grad, dict(t_fired)[name], what=f"{name}.grad seen by the hook")


def test_post_accumulate_grad_hook_fires_while_backward_runs() -> None:
    a, b = mt.ones(2, requires_grad=True), mt.ones(2, requires_grad=True)
    seen: list[bool] = []
    a.register_post_accumulate_grad_hook(lambda t: seen.append(b.grad is None))
    b.register_post_accumulate_grad_hook(lambda t: seen.append(a.grad is None))
    ((a * 3).exp() + (b * 2).exp()).sum().backward()
    assert sorted(seen) == [False, True], "the first leaf's hook must fire before the other leaf has its gradient"


def test_post_accumulate_grad_hook_handle_removes_and_non_leaf_refused() -> None:
    p = mt.ones(3, requires_grad=True)
    calls: list[int] = []
    handle = p.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    (p * 2).sum().backward()
    handle.remove()
    (p * 2).sum().backward()
    assert calls == [1]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (p * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mt.ones(2).register_post_accumulate_grad_hook(lambda t: None)


# ---------------------------------------------------------------------------------------------
# mt.distributed without processes
# ---------------------------------------------------------------------------------------------


def test_as_torch_shares_memory_without_copy() -> None:
    buffer = mt.zeros(6, dtype=mt.float64)
    view = dist.as_torch(buffer.view(-1)[2:5])
    view += 7.0
    assert buffer.tolist() == [0.0, 0.0, 7.0, 7.0, 7.0, 0.0]
    with pytest.raises(RuntimeError, match="not contiguous"):
        dist.as_torch(mt.zeros(3, 4).T)


def test_calls_without_a_process_group_say_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))


def test_dataloader_takes_a_sampler() -> None:
    ds = mt.utils.data.TensorDataset(mt.arange(10))
    sampler = mt.utils.data.DistributedSampler(ds, num_replicas=3, rank=1, shuffle=False)
    batches = [b[0].tolist() for b in mt.utils.data.DataLoader(ds, batch_size=2, sampler=sampler)]
    assert batches == [[1, 4], [7, 0]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        mt.utils.data.DataLoader(ds, sampler=sampler, shuffle=True)
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        mt.utils.data.DistributedSampler(ds, num_replicas=3, rank=3)


# ---------------------------------------------------------------------------------------------
# The launcher: failures end the job, never hang it
# ---------------------------------------------------------------------------------------------


def _one_rank_raises(rank: int, world_size: int) -> None:
    buffer = mt.ones(4)
    if rank == world_size - 1:
        raise ValueError("this rank's data file is missing")
    dist.all_reduce(buffer)  # the other ranks wait here for the rank that failed


def _rank_zero_waits_forever(rank: int, world_size: int) -> int:
    if rank == 0:
        dist.recv(mt.zeros(2), 1)  # rank 1 never sends
    else:
        time.sleep(60)
    return rank


def _sum_of_ranks(rank: int, world_size: int) -> float:
    buffer = mt.full((3,), float(rank))
    dist.all_reduce(buffer)
    return float(buffer.sum().item())


def test_spawn_returns_results_by_rank() -> None:
    assert dist.spawn(_sum_of_ranks, 3, timeout=30) == [9.0, 9.0, 9.0]


def test_a_failing_rank_ends_the_job_naming_rank_and_error() -> None:
    started = time.monotonic()
    with pytest.raises(dist.JobFailed, match=r"rank 2 of 3 failed: ValueError: this rank's data file is missing"):
        dist.spawn(_one_rank_raises, 3, timeout=30)
    assert time.monotonic() - started < 20


def test_a_hanging_job_is_stopped_at_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(dist.JobFailed, match=r"did not finish within 3 s; rank\(s\) \[0, 1\]") as failure:
        dist.spawn(_rank_zero_waits_forever, 2, timeout=3)
    assert time.monotonic() - started < 10
    assert hints.hung("failed", str(failure.value)), "the grader's \"looks like\" no longer recognises a hung job"


def test_a_hanging_job_says_where_each_rank_waits() -> None:
    with pytest.raises(dist.JobFailed) as failure:
        dist.spawn(_rank_zero_waits_forever, 2, timeout=3)
    assert re.search(r"Where they were: rank 0 at comm\.py:\d+ in recv <- test_distributed\.py:\d+ in "
                     r"_rank_zero_waits_forever; rank 1 at test_distributed\.py:\d+ in _rank_zero_waits_forever\.$",
                     str(failure.value)), str(failure.value)


def _unused_parameter(rank: int, world_size: int) -> str:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused = nn.Linear(2, 1), nn.Linear(2, 1)

        def forward(self, x: mt.Tensor) -> mt.Tensor:
            return self.used(x)

    with mt.use_backend("simple"):
        model = nn.parallel.DistributedDataParallel(Two())
        model(mt.ones(1, 2)).sum().backward()
        try:
            model(mt.ones(1, 2))
        except RuntimeError as error:
            return str(error)
    return "no error"


def test_ddp_names_parameters_without_gradient() -> None:
    messages = dist.spawn(_unused_parameter, 2, timeout=30)
    assert all("2 of 4 parameters got no gradient" in m for m in messages), messages
