"""Data sets: handwritten digits (bundled with scikit-learn, no download), MNIST from IDX files you
already have, and small generated 2-D problems (xor, circles, spirals) for quick experiments.

Every loader returns a `TensorDataset` of (features float32, labels int64).
"""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import numpy as np

from .creation import default_generator
from .creation import tensor as make_tensor
from .dtypes import float32, int64
from .utils.data import TensorDataset

__all__ = ["IDXFormatError", "MNIST", "digits", "digits_arrays", "make_circles", "make_spirals", "make_xor", "read_idx"]


# ---------------------------------------------------------------------------------------------------
# Handwritten digits (scikit-learn's copy of the UCI optdigits test set: 1797 8x8 images, 10 classes)
# ---------------------------------------------------------------------------------------------------


def digits(train: bool = True, test_fraction: float = 0.2, seed: int = 0, flatten: bool = True) -> TensorDataset:
    """The 1797 handwritten 8x8 digits that ship with scikit-learn, split into train and test.

    Pixels are scaled from 0..16 to 0..1 (float32); labels are int64 in 0..9. The split is stratified
    (each digit keeps its share in both parts) and fixed by `seed`, so train and test never overlap and
    are the same on every machine. flatten=True gives (N, 64) rows, flatten=False (N, 1, 8, 8) images.
    """
    x, y = digits_arrays(train, test_fraction, seed, flatten)
    return TensorDataset(make_tensor(x, dtype=float32), make_tensor(y, dtype=int64))


def digits_arrays(train: bool = True, test_fraction: float = 0.2, seed: int = 0,
                  flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`digits` as numpy arrays (images float32, labels int64), the same split, without making tensors:
    ex13's grader scores a model on held-out labels taken from here, in a process that runs no exercise code."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - scikit-learn is an install requirement of the examples
        raise ImportError("the digits data set comes with scikit-learn: pip install 'minitorch-dg[data]'") from None
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float32) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    test_rows: list[int] = []
    for label in range(10):
        rows = np.flatnonzero(labels == label)
        rng.shuffle(rows)
        test_rows.extend(rows[: int(round(len(rows) * test_fraction))].tolist())
    in_test = np.zeros(len(labels), dtype=bool)
    in_test[test_rows] = True
    chosen = np.flatnonzero(in_test if not train else ~in_test)
    x = images[chosen]
    x = x.reshape(len(chosen), 64) if flatten else x.reshape(len(chosen), 1, 8, 8)
    return x, labels[chosen]


# ---------------------------------------------------------------------------------------------------
# IDX files (the format of MNIST and Fashion-MNIST)
# ---------------------------------------------------------------------------------------------------


class IDXFormatError(ValueError):
    """A file that is not a well-formed IDX file (wrong magic number, bad type code, wrong size)."""


_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(2)
        handle.seek(0)
        if head == b"\x1f\x8b":  # gzip, as MNIST is distributed
            try:
                return gzip.decompress(handle.read())
            except (OSError, EOFError) as error:
                raise IDXFormatError(f"{path}: a gzip file that cannot be decompressed ({error}); is it complete?") from None
        return handle.read()


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a numpy array of its shape and native-endian dtype.

    The header is two zero bytes, a type code (0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64), the number of dims, then each dim as a big-endian uint32; the data follow, big-endian.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no IDX file at {path}")
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXFormatError(f"{path}: {len(raw)} bytes is too short for an IDX header (4 bytes of magic number)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise IDXFormatError(
            f"{path} is not an IDX file: its magic number is {raw[:4].hex(' ')}, expected 00 00 <type> <ndim> "
            "with type 08, 09, 0b, 0c, 0d or 0e"
        )
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXFormatError(f"{path} is truncated: the header declares {ndim} dims ({header} bytes) but the file has "
                             f"{len(raw)} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        state = "truncated" if actual < expected else "longer than its header says"
        raise IDXFormatError(
            f"{path} is {state}: the header says shape {shape} of {dtype.name} = {expected} bytes of data, the file "
            f"has {actual}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header, count=math.prod(shape))
    return data.reshape(shape).astype(dtype.newbyteorder("="))


_MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(root: Path, stem: str) -> Path:
    for candidate in (root / stem, root / f"{stem}.gz", root / stem.replace("-idx", ".idx")):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"MNIST: {stem} (or {stem}.gz) is not in {root}. minitorch-dg does not download data: put the four IDX "
        "files of MNIST there, or use mt.datasets.digits(), which needs no download."
    )


def MNIST(root: str | os.PathLike[str], train: bool = True, flatten: bool = False) -> TensorDataset:
    """MNIST (or any data set in its layout) from the IDX files in `root`, plain or .gz.

    Images become float32 in [0, 1] of shape (N, 1, 28, 28) (or (N, 784) with flatten=True); labels int64.
    """
    folder = Path(root)
    image_stem, label_stem = _MNIST_FILES[bool(train)]
    images = read_idx(_find(folder, image_stem))
    labels = read_idx(_find(folder, label_stem))
    if images.ndim != 3:
        raise IDXFormatError(f"MNIST images must be a 3-D IDX array (N, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise IDXFormatError(f"MNIST labels must be a 1-D IDX array (N,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise IDXFormatError(f"MNIST: {len(images)} images but {len(labels)} labels in {folder}")
    x = images.astype(np.float32) / 255.0
    x = x.reshape(len(x), -1) if flatten else x[:, None, :, :]
    return TensorDataset(make_tensor(x, dtype=float32), make_tensor(labels.astype(np.int64), dtype=int64))


# ---------------------------------------------------------------------------------------------------
# Generated 2-D problems
# ---------------------------------------------------------------------------------------------------


def _rng(seed: int | None) -> np.random.Generator:
    if seed is None:
        return np.random.default_rng(int(default_generator().integers(0, 2**63 - 1)))
    return np.random.default_rng(seed)


def _dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(make_tensor(x, dtype=float32), make_tensor(y.astype(np.int64), dtype=int64))


def make_xor(n: int = 200, noise: float = 0.1, seed: int | None = None) -> TensorDataset:
    """Points in the four quadrants of [-1, 1]²; class 1 where x·y < 0 (not linearly separable)."""
    rng = _rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (x[:, 0] * x[:, 1] < 0).astype(np.int64)
    return _dataset(x + rng.normal(0.0, noise, size=x.shape), y)


def make_circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int | None = None) -> TensorDataset:
    """Two concentric circles: class 0 on the unit circle, class 1 on the circle of radius `factor`."""
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be between 0 and 1, got {factor}")
    rng = _rng(seed)
    y = np.arange(n) % 2
    angle = rng.uniform(0.0, 2 * math.pi, size=n)
    radius = np.where(y == 0, 1.0, factor)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return _dataset(x + rng.normal(0.0, noise, size=x.shape), y)


def make_spirals(n: int = 300, classes: int = 2, noise: float = 0.02, turns: float = 1.5,
                 seed: int | None = None) -> TensorDataset:
    """`classes` interleaved spiral arms from the origin, one class per arm, about n / classes points each."""
    if classes < 2:
        raise ValueError(f"a spiral data set needs at least 2 classes, got {classes}")
    rng = _rng(seed)
    y = np.arange(n) % classes
    t = rng.uniform(0.05, 1.0, size=n)
    angle = 2 * math.pi * turns * t + 2 * math.pi * y / classes
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return _dataset(x + rng.normal(0.0, noise, size=x.shape), y)
