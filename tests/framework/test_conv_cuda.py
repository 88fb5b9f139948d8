"""Convolution and pooling of cuda tensors (minitorch_dg/nn/cuda_windows.py) against torch on the CPU.

Without a GPU the kernels run in numba's CUDA simulator under the strict serial schedule, one Python thread
per GPU thread, so the shapes are tiny; they still cover strides, padding, dilation, groups, ceil_mode,
ties and NaN in max pooling, both divisor rules of average pooling and adaptive windows that overlap.
Forward values and every gradient are compared; the results stay on cuda until they are compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg.backends import cuda as cuda_env
from tests.support import cuda_schedule
from tests.support.compare import assert_close
from tests.support.tensor_oracle import check_op

pytestmark = pytest.mark.skipif(cuda_env.mode() == "none",
                                reason=cuda_env.skip_reason("tests/framework/test_conv_cuda.py"))

F = mt.nn.functional
TF = torch.nn.functional


@pytest.fixture(autouse=True)
def schedule() -> Iterator[cuda_schedule.ScheduleLog]:
    with cuda_schedule.serial_schedule() as log:
        yield log


def lib(x: Any) -> Any:
    return F if isinstance(x, mt.Tensor) else TF


def data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


def on_cuda(fn: Any) -> Any:
    """fn, checking that every minitorch-dg result it makes stays on cuda."""

    def run(*args: Any) -> Any:
        out = fn(*args)
        if isinstance(out, mt.Tensor):
            assert out.device == "cuda", f"the result is on {out.device}, not on cuda"
        return out

    return run


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("kwargs,w_shape", [
    (dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2)), (4, 3, 3, 2)),
    (dict(groups=3, padding=1), (6, 1, 2, 2)),
    (dict(padding="same"), (2, 3, 2, 3)),
], ids=["strided-dilated", "depthwise", "same"])
def test_conv2d_on_cuda(kwargs: dict[str, Any], w_shape: tuple[int, ...]) -> None:
    check_op(on_cuda(lambda x, w, b: lib(x).conv2d(x, w, b, **kwargs)), data(2, 3, 5, 4), data(*w_shape, seed=1),
             data(w_shape[0], seed=2), device="cuda", label=f"F.conv2d on cuda, weight {w_shape}, {kwargs}")


def test_conv1d_float32_without_bias_on_cuda() -> None:
    check_op(on_cuda(lambda x, w: lib(x).conv1d(x, w, stride=2, padding=2)), data(2, 3, 7), data(2, 3, 3, seed=1),
             dtype="float32", device="cuda", label="F.conv1d on cuda, float32, no bias")


def test_unfold_and_fold_on_cuda() -> None:
    kwargs = dict(kernel_size=(2, 3), padding=1, stride=(1, 2), dilation=(2, 1))
    check_op(on_cuda(lambda x: lib(x).unfold(x, **kwargs)), data(2, 3, 5, 6), device="cuda",
             label=f"F.unfold on cuda, {kwargs}")
    blocks = TF.unfold(torch.zeros(1, 3, 5, 6), **kwargs).shape
    check_op(on_cuda(lambda y: lib(y).fold(y, (5, 6), **kwargs)), data(2, blocks[1], blocks[2], seed=3), device="cuda",
             label=f"F.fold on cuda, {kwargs}")


def test_max_pool2d_ties_nan_and_indices_on_cuda() -> None:
    x = data(2, 2, 5, 6)
    x[0, 0, 1, :3] = 2.5  # a tie: the first maximum wins
    x[0, 1, 2, 2] = np.nan  # a NaN wins its windows
    x[1, 0] = -np.abs(x[1, 0]) - 1  # negative values next to the padding: padding never wins
    kwargs = dict(kernel_size=2, stride=1, padding=1)
    check_op(on_cuda(lambda x: lib(x).max_pool2d(x, **kwargs)), x, device="cuda", label=f"F.max_pool2d on cuda, {kwargs}")
    got = F.max_pool2d(mt.tensor(x, device="cuda"), return_indices=True, **kwargs)[1]
    expected = TF.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)[1]
    assert got.device == "cuda" and got.dtype.name == "int64"
    np.testing.assert_array_equal(got.to_numpy(), expected.numpy(), err_msg="max_pool2d indices on cuda")


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=(2, 3), stride=(2, 1), padding=1, dilation=(2, 1), ceil_mode=True),
    dict(kernel_size=3, stride=2),  # stride < kernel: windows overlap, one input can win two of them
])
def test_max_pool2d_windows_on_cuda(kwargs: dict[str, Any]) -> None:
    check_op(on_cuda(lambda x: lib(x).max_pool2d(x, **kwargs)), data(2, 2, 5, 6, seed=4), device="cuda",
             label=f"F.max_pool2d on cuda, {kwargs}")


def test_max_pool1d_on_cuda() -> None:
    check_op(on_cuda(lambda x: lib(x).max_pool1d(x, 3, 2, padding=1)), data(2, 3, 7), dtype="float32", device="cuda",
             label="F.max_pool1d(x, 3, 2, padding=1) on cuda")


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=1),
])
def test_avg_pool2d_on_cuda(kwargs: dict[str, Any]) -> None:
    check_op(on_cuda(lambda x: lib(x).avg_pool2d(x, **kwargs)), data(2, 2, 5, 6, seed=5), device="cuda",
             label=f"F.avg_pool2d on cuda, {kwargs}")


def test_adaptive_avg_pool_on_cuda() -> None:
    check_op(on_cuda(lambda x: lib(x).adaptive_avg_pool2d(x, (3, 4))), data(2, 2, 5, 7, seed=6), device="cuda",
             label="F.adaptive_avg_pool2d(x (2, 2, 5, 7), (3, 4)) on cuda: overlapping windows")
    check_op(on_cuda(lambda x: lib(x).adaptive_avg_pool1d(x, 3)), data(2, 7, seed=7), device="cuda",
             label="F.adaptive_avg_pool1d(x (2, 7) unbatched, 3) on cuda")


def test_cnn_modules_train_on_cuda() -> None:
    """A small CNN of nn modules moved with .to('cuda'): forward and every parameter's gradient as torch's."""
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                    torch.nn.Conv2d(3, 2, 2), torch.nn.AvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1),
                                    torch.nn.Flatten()).double()
    model = mt.nn.Sequential(mt.nn.Conv2d(2, 3, 3, padding=1, dtype=mt.float64), mt.nn.ReLU(), mt.nn.MaxPool2d(2),
                             mt.nn.Conv2d(3, 2, 2, dtype=mt.float64), mt.nn.AvgPool2d(1), mt.nn.AdaptiveAvgPool2d(1),
                             mt.nn.Flatten())
    model.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in reference.state_dict().items()})
    model.to("cuda")
    x = data(2, 2, 6, 6, seed=8)
    out = model(mt.tensor(x, device="cuda"))
    expected = reference(torch.tensor(x))
    assert out.device == "cuda"
    assert_close(out.to("cpu").to_numpy(), expected.detach().numpy(), what="the CNN's output on cuda")
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    for name, p in reference.named_parameters():
        got = dict(model.named_parameters())[name].grad
        assert got is not None and got.device == "cuda", f"{name}.grad is missing or not on cuda"
        assert_close(got.to("cpu").to_numpy(), p.grad.numpy(), what=f"the CNN on cuda: {name}.grad")


def test_mixed_devices_are_refused() -> None:
    x = mt.tensor(data(1, 2, 4, 4), device="cuda")
    w = mt.tensor(data(3, 2, 2, 2))
    with pytest.raises(RuntimeError, match="same device"):
        F.conv2d(x, w)
