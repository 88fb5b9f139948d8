"""The framework's optimizer bookkeeping against torch.optim: parameter groups, zero_grad, skipped
parameters, state dicts (layout and exact resumption) and lr schedulers. The update rules are ex09's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from tests.support.compare import assert_close

OPTIMIZERS = {
    "SGD": (mt.optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    "Adam": (mt.optim.Adam, torch.optim.Adam, dict(lr=0.01)),
    "AdamW": (mt.optim.AdamW, torch.optim.AdamW, dict(lr=0.01)),
    "RMSprop": (mt.optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
}


def _params(n: int = 2) -> list[mt.Tensor]:
    rng = np.random.default_rng(0)
    return [mt.tensor(rng.normal(size=(3, 2)), requires_grad=True) for _ in range(n)]


def _feed(params: list[mt.Tensor], step: int) -> None:
    rng = np.random.default_rng(100 + step)
    for p in params:
        p.grad = mt.tensor(rng.normal(size=tuple(p.shape)), dtype=p.dtype)


def test_constructor_checks_like_torch() -> None:
    with pytest.raises(ValueError, match="empty parameter list"):
        mt.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        mt.optim.SGD(mt.zeros(2, requires_grad=True), lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        mt.optim.SGD([mt.zeros(2, requires_grad=True) * 2], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        mt.optim.Adam(_params(), lr=-1.0)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        mt.optim.SGD(_params(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        mt.optim.AdamW(_params(), betas=(0.9, 1.0))
    with pytest.raises(NotImplementedError, match="amsgrad"):
        mt.optim.Adam(_params(), amsgrad=True)
    with pytest.raises(TypeError, match="ordered collections"):
        mt.optim.SGD([{"params": set(_params())}], lr=0.1)
    p = _params(1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        mt.optim.SGD([{"params": p}, {"params": p}], lr=0.1)


def test_groups_take_defaults_and_can_be_added() -> None:
    a, b, c = _params(3)
    opt = mt.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    assert "Parameter Group 2" in repr(opt)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none: bool) -> None:
    params = _params()
    _feed(params, 0)
    opt = mt.optim.SGD(params, lr=0.1)
    opt.zero_grad(set_to_none=set_to_none)
    for p in params:
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad is not None and not p.grad.to_numpy().any()


def test_parameters_without_gradient_are_skipped_and_get_no_state() -> None:
    a, b = _params()
    opt = mt.optim.Adam([a, b], lr=0.1)
    before = b.detach().to_numpy().copy()
    a.grad = mt.ones(3, 2, dtype=mt.float64)
    opt.step()
    assert np.array_equal(b.detach().to_numpy(), before)
    assert b not in opt.state and opt.state[a]["step"] == 1


def test_step_calls_the_closure_with_grad_enabled() -> None:
    (p,) = _params(1)
    opt = mt.optim.SGD([p], lr=0.1)

    def closure() -> mt.Tensor:
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with mt.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, mt.Tensor) and p.grad is not None


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_layout_matches_torch(name: str) -> None:
    mine_cls, torch_cls, kwargs = OPTIMIZERS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(2, 3)), rng.normal(size=(4,))]
    m_params = [mt.tensor(a, requires_grad=True) for a in arrays]
    t_params = [torch.tensor(a, requires_grad=True) for a in arrays]
    m_opt = mine_cls([{"params": [m_params[0]]}, {"params": [m_params[1]], "lr": 0.002}], **kwargs)
    t_opt = torch_cls([{"params": [t_params[0]]}, {"params": [t_params[1]], "lr": 0.002}], **kwargs)
    for step in range(3):
        g = [rng.normal(size=a.shape) for a in arrays]
        for mp, tp, gi in zip(m_params, t_params, g):
            mp.grad, tp.grad = mt.tensor(gi, dtype=mt.float64), torch.tensor(gi)
        m_opt.step()
        t_opt.step()
    mine, theirs = m_opt.state_dict(), t_opt.state_dict()
    assert list(mine["state"]) == list(theirs["state"])
    for index, state in theirs["state"].items():
        assert sorted(mine["state"][index]) == sorted(k for k, v in state.items() if v is not None)
        for key, value in state.items():
            if value is not None:
                assert_close(np.asarray(mine["state"][index][key].to_numpy() if isinstance(mine["state"][index][key], mt.Tensor)
                                        else mine["state"][index][key], dtype=np.float64),
                             value, what=f"{name} state {index}.{key}")
    for m_group, t_group in zip(mine["param_groups"], theirs["param_groups"]):
        for key, value in m_group.items():
            assert key in t_group, f"{name}: param group key {key!r} is not one of torch's"
            assert t_group[key] == value, f"{name}: param group {key} = {value!r}, torch has {t_group[key]!r}"


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resuming_from_a_saved_state_dict_is_exact(name: str, tmp_path: Any) -> None:
    """Train 4 steps, save model and optimizer, load both into fresh objects, train 4 more: the result is
    bit-for-bit what 8 uninterrupted steps give."""
    mine_cls, _, kwargs = OPTIMIZERS[name]
    straight = _params()
    opt = mine_cls(straight, **kwargs)
    for step in range(8):
        _feed(straight, step)
        opt.step()

    first = _params()
    opt = mine_cls(first, **kwargs)
    for step in range(4):
        _feed(first, step)
        opt.step()
    path = tmp_path / "ckpt.npz"
    mt.save({"params": [p.detach() for p in first], "optimizer": opt.state_dict()}, path)
    ckpt = mt.load(path)
    resumed = [mt.tensor(np.zeros((3, 2)), requires_grad=True) for _ in range(2)]
    with mt.no_grad():
        for p, saved in zip(resumed, ckpt["params"]):
            p.copy_(saved)
    opt2 = mine_cls(resumed, lr=123.0)  # hyper-parameters come back from the state dict
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    for step in range(4, 8):
        _feed(resumed, step)
        opt2.step()
    for a, b in zip(straight, resumed):
        assert np.array_equal(a.detach().to_numpy(), b.detach().to_numpy()), f"{name}: resumed run differs"


def test_load_state_dict_refuses_a_different_layout() -> None:
    a, b, c = _params(3)
    opt = mt.optim.SGD([a, b], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(mt.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict())
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(mt.optim.SGD([a, b, c], lr=0.1).state_dict())


def test_loaded_state_is_a_copy_in_the_parameters_dtype() -> None:
    p32 = mt.zeros(3, requires_grad=True)
    opt = mt.optim.SGD([p32], lr=0.1, momentum=0.9)
    buffer = mt.tensor([1.0, 2.0, 3.0], dtype=mt.float64)
    opt.load_state_dict({"state": {0: {"momentum_buffer": buffer}}, "param_groups": [
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False, "maximize": False,
         "params": [0]}]})
    restored = opt.state[p32]["momentum_buffer"]
    assert restored.dtype is mt.float32 and restored is not buffer


# ---------------------------------------------------------------------------------------------------
# lr schedulers
# ---------------------------------------------------------------------------------------------------


def _lrs(scheduler_cls: Any, opt_cls: Any, param: Any, epochs: int, **kwargs: Any) -> list[float]:
    opt = opt_cls([param], lr=0.5)
    scheduler = scheduler_cls(opt, **kwargs)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    out.append(scheduler.get_last_lr()[0])
    return out


@pytest.mark.parametrize("name,kwargs", [
    ("StepLR", dict(step_size=3)),
    ("StepLR", dict(step_size=2, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=5)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.05)),
])
def test_schedulers_match_torch(name: str, kwargs: dict[str, Any]) -> None:
    mine = _lrs(getattr(mt.optim.lr_scheduler, name), mt.optim.SGD, mt.zeros(1, requires_grad=True), 14, **kwargs)
    t = torch.zeros(1, requires_grad=True)
    t.grad = torch.zeros(1)
    theirs = _lrs(getattr(torch.optim.lr_scheduler, name), torch.optim.SGD, t, 14, **kwargs)
    assert_close(np.array(mine), np.array(theirs), what=f"{name}({kwargs}) learning rates over 14 epochs")


def test_scheduler_state_dict_resumes() -> None:
    p = mt.zeros(1, requires_grad=True)
    opt = mt.optim.SGD([p], lr=1.0)
    sched = mt.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(3):
        sched.step()
    saved = sched.state_dict()
    opt2 = mt.optim.SGD([p], lr=1.0)
    sched2 = mt.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(saved)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    sched.step()
    sched2.step()
    assert math.isclose(opt.param_groups[0]["lr"], opt2.param_groups[0]["lr"])
    assert sched2.last_epoch == 4
