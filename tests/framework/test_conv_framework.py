"""The framework around ex10: nn.Conv1d/Conv2d initialisation and torch's errors for wrong use of
convolution and pooling (argument checks in minitorch_dg/nn/conv_functional.py and pool_functional.py,
run before any exercise code). ex10's maths is tested in
tests/exercises/test_ex10_conv.py."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minitorch_dg as mt

F = mt.nn.functional


def test_conv2d_init_bounds() -> None:
    """kaiming_uniform_(a=√5) gives weights in ±1/√fan_in, the bias ±1/√fan_in, fan_in = C/groups·kh·kw."""
    mt.manual_seed(0)
    layer = mt.nn.Conv2d(6, 8, (3, 2), groups=2)
    bound = 1.0 / math.sqrt(3 * 3 * 2)
    assert tuple(layer.weight.shape) == (8, 3, 3, 2) and tuple(layer.bias.shape) == (8,)
    for name, values in [("weight", layer.weight.to_numpy()), ("bias", layer.bias.to_numpy())]:
        assert np.abs(values).max() <= bound, f"{name} values exceed ±1/√fan_in = ±{bound:.4f}"
        assert np.abs(values).max() > 0.5 * bound, f"{name} values do not spread over ±1/√fan_in"


@pytest.mark.parametrize("call,message", [
    (lambda: F.conv2d(mt.zeros(1, 4, 5, 5), mt.zeros(2, 3, 3, 3)), "to have 3 channels, but got 4 channels"),
    (lambda: F.conv2d(mt.zeros(1, 3, 2, 2), mt.zeros(2, 3, 3, 3)), "Kernel size can't be greater than actual input size"),
    (lambda: F.conv2d(mt.zeros(1, 4, 5, 5), mt.zeros(3, 2, 3, 3), groups=2), "expected weight to be divisible by 2"),
    (lambda: F.conv2d(mt.zeros(4, 5), mt.zeros(2, 4, 3, 3)), "Expected 3D (unbatched) or 4D (batched) input to conv2d"),
    (lambda: F.conv2d(mt.zeros(1, 3, 5, 5), mt.zeros(2, 3, 3, 3), stride=2, padding="same"), "padding='same'"),
    (lambda: F.conv2d(mt.zeros(1, 3, 5, 5), mt.zeros(2, 3, 3, 3), mt.zeros(3)), "expected bias to be 1-dimensional with 2"),
    (lambda: mt.nn.Conv2d(3, 4, 3, groups=2), "in_channels must be divisible by groups"),
    (lambda: F.max_pool2d(mt.zeros(1, 1, 4, 4), 2, padding=2), "pad should be at most half"),
    (lambda: F.avg_pool2d(mt.zeros(1, 1, 4, 4), 3, padding=2), "pad should be smaller than or equal to half"),
    (lambda: F.max_pool2d(mt.zeros(1, 1, 9, 9), 3, 1, 2, 2), "pad should be smaller than or equal to half"),
    (lambda: F.max_pool1d(mt.zeros(2, 3, 4, 4), 2), "expected 2D (unbatched) or 3D (batched) input"),
    (lambda: F.conv2d(mt.zeros(1, 3, 5, 5), mt.zeros(2, 3, 3, 3, dtype=mt.float64)), "same dtype"),
    (lambda: F.conv1d(mt.zeros(1, 3, 5), mt.zeros(2, 3, 3), stride=0), "non-positive stride"),
    (lambda: F.unfold(mt.zeros(3, 4), 2), "Only 3D or 4D input"),
    (lambda: F.fold(mt.zeros(1, 8, 5), (4, 4), 2), "calculated number of sliding blocks"),
], ids=["channels", "kernel-too-large", "groups", "2d-input", "same-strided", "bias", "module-groups", "pool-pad",
        "avg-pool-pad", "dilated-pool-pad", "pool1d-4d", "dtypes", "stride", "unfold-2d", "fold-blocks"])
def test_wrong_use_gets_torchs_error(call: Callable[[], Any], message: str) -> None:
    with pytest.raises((RuntimeError, ValueError)) as info:
        call()
    assert message in str(info.value), f"expected an error saying {message!r}, got: {info.value}"


@pytest.mark.parametrize("groups", [1, 2])
def test_reference_conv2d_input_gradient_in_chunks_of_samples_matches_torch(groups: int,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """ex10's reference computes ∂ℓ/∂x a chunk of samples at a time (so that ∂ℓ/∂Cols stays in the cache);
    the test shapes fit in one chunk, so force chunks of 2 samples, with a last chunk of 1, and compare every
    gradient with torch's."""
    import importlib

    import torch

    reference = importlib.import_module("solutions.ex10_conv")
    x, w, b = (np.random.default_rng(s).normal(size=shape) for s, shape in
               enumerate([(5, 4, 7, 6), (6, 4 // groups, 3, 2), (6,)]))
    per_sample = (4 // groups) * 3 * 2 * groups * 7 * 4 * 8  # (G, Cg·kh·kw, L = 7 x 4) float64 of one sample
    monkeypatch.setattr(reference, "INPUT_CHUNK_BYTES", 2 * per_sample)
    products, matmul = [], reference.K.matmul
    monkeypatch.setattr(reference.K, "matmul", lambda a, b: products.append(tuple(b.shape)) or matmul(a, b))
    kwargs = dict(stride=(1, 2), padding=1, groups=groups)
    with mt.course.using("solutions"):
        ours = [mt.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = F.conv2d(*ours, **kwargs)
        (out * out).sum().backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    expected = torch.nn.functional.conv2d(*theirs, **kwargs)
    (expected * expected).sum().backward()
    assert products[-3:] == [(groups, 6 // groups, 2 * 28)] * 2 + [(groups, 6 // groups, 28)], products
    np.testing.assert_allclose(out.to_numpy(), expected.detach().numpy(), rtol=1e-10)
    for name, o, t in zip(["input", "weight", "bias"], ours, theirs):
        np.testing.assert_allclose(o.grad.to_numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"gradient of the {name} with chunks of 2 samples")
