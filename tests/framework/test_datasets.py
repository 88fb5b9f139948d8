"""mt.datasets: scikit-learn's digits, the IDX/MNIST reader (on small files written here, including broken
ones), and the generated 2-D sets."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

import minitorch_dg as mt
from minitorch_dg.datasets import (IDXFormatError, MNIST, digits, digits_arrays, make_circles, make_spirals, make_xor,
                                   read_idx)

# ---------------------------------------------------------------------------------------------------
# digits
# ---------------------------------------------------------------------------------------------------


def test_digits_arrays_are_the_split_that_digits_makes() -> None:
    for train, flatten in [(True, True), (False, False)]:
        x, y = digits_arrays(train=train, seed=3, flatten=flatten)
        images, labels = digits(train=train, seed=3, flatten=flatten).tensors
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert np.array_equal(x, images.to_numpy()) and np.array_equal(y, labels.to_numpy())


def test_digits_split_is_stratified_disjoint_and_fixed() -> None:
    from sklearn.datasets import load_digits

    train, test = digits(train=True), digits(train=False)
    assert len(train) + len(test) == 1797
    x_train, y_train = train.tensors
    x_test, y_test = test.tensors
    assert x_train.dtype is mt.float32 and y_train.dtype is mt.int64 and tuple(x_train.shape[1:]) == (64,)
    assert 0.0 <= x_train.to_numpy().min() and x_train.to_numpy().max() <= 1.0
    assert abs(len(test) / 1797 - 0.2) < 0.01
    assert sorted(set(y_test.tolist())) == list(range(10))
    counts = np.bincount(y_test.to_numpy(), minlength=10) / np.bincount(load_digits().target, minlength=10)
    assert np.all(np.abs(counts - 0.2) < 0.02), "every digit keeps its share in the test split"
    rows_train = {r.tobytes() + bytes([int(l)]) for r, l in zip(x_train.to_numpy(), y_train.to_numpy())}
    rows_test = [r.tobytes() + bytes([int(l)]) for r, l in zip(x_test.to_numpy(), y_test.to_numpy())]
    # the data has a handful of duplicate images; no sample may be in both splits more often than that
    assert sum(r in rows_train for r in rows_test) <= 5
    again = digits(train=False)
    assert np.array_equal(again.tensors[0].to_numpy(), x_test.to_numpy())
    images = digits(train=False, flatten=False)
    assert tuple(images.tensors[0].shape) == (len(test), 1, 8, 8)


# ---------------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------------

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress:
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path: Path, dtype: type, compress: bool) -> None:
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(3, 4, 2)) * 50).astype(dtype)
    got = read_idx(write_idx(tmp_path / "a.idx", array, compress))
    assert got.shape == (3, 4, 2) and got.dtype == np.dtype(dtype) and np.array_equal(got, array)


def test_read_idx_refuses_a_wrong_magic_number(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello, these are not images")
    with pytest.raises(IDXFormatError, match="not an IDX file: its magic number is 68 65 6c 6c"):
        read_idx(path)


def test_read_idx_refuses_a_truncated_file(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "images", np.zeros((10, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IDXFormatError, match=r"truncated: the header says shape \(10, 28, 28\) of uint8 = 7840 bytes"):
        read_idx(path)
    header_only = tmp_path / "header"
    header_only.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(IDXFormatError, match="truncated"):
        read_idx(header_only)
    broken_gzip = tmp_path / "images.gz"
    broken_gzip.write_bytes(gzip.compress(b"\x00" * 1000)[:20])
    with pytest.raises(IDXFormatError, match="gzip"):
        read_idx(broken_gzip)


def test_mnist_from_small_idx_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9], dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, compress=True)
    ds = MNIST(tmp_path, train=True)
    x, y = ds.tensors
    assert tuple(x.shape) == (6, 1, 28, 28) and x.dtype is mt.float32 and y.dtype is mt.int64
    assert np.allclose(x.to_numpy()[:, 0], images / 255.0) and y.tolist() == labels.tolist()
    assert tuple(MNIST(tmp_path, flatten=True).tensors[0].shape) == (6, 784)
    with pytest.raises(FileNotFoundError, match="does not download"):
        MNIST(tmp_path, train=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels[:5], compress=True)
    with pytest.raises(IDXFormatError, match="6 images but 5 labels"):
        MNIST(tmp_path)


# ---------------------------------------------------------------------------------------------------
# generated sets
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make,classes", [(make_xor, 2), (make_circles, 2), (lambda **k: make_spirals(classes=3, **k), 3)])
def test_generated_sets(make, classes: int) -> None:  # noqa: ANN001
    ds = make(n=120, seed=0)
    x, y = ds.tensors
    assert tuple(x.shape) == (120, 2) and x.dtype is mt.float32 and y.dtype is mt.int64
    assert sorted(set(y.tolist())) == list(range(classes))
    assert np.array_equal(make(n=120, seed=0).tensors[0].to_numpy(), x.to_numpy())
    assert not np.array_equal(make(n=120, seed=1).tensors[0].to_numpy(), x.to_numpy())


def test_generated_sets_have_their_geometry() -> None:
    x, y = (t.to_numpy() for t in make_xor(n=400, noise=0.0, seed=0).tensors)
    assert np.array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))
    x, y = (t.to_numpy() for t in make_circles(n=400, noise=0.0, factor=0.3, seed=0).tensors)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert np.allclose(radius[y == 0], 1.0, atol=1e-6) and np.allclose(radius[y == 1], 0.3, atol=1e-6)
