"""mt.save / mt.load: exact round trips of state dicts, optimizer state and nested data; refusal of files
that are not ours, of truncated files, and of objects that would need pickle."""

from __future__ import annotations

import io
import math
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg import nn
from minitorch_dg.serialization import CheckpointError


def _equal(a: object, b: object) -> None:
    """Structural equality that also checks types, dtypes and exact values."""
    assert type(a) is type(b), f"{type(a).__name__} came back as {type(b).__name__}"
    if isinstance(a, mt.Tensor):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)  # type: ignore[union-attr]
        assert a.requires_grad == b.requires_grad  # type: ignore[union-attr]
        assert np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=a.dtype.is_floating_point)  # type: ignore[union-attr]
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)  # type: ignore[union-attr]
    elif isinstance(a, dict):
        assert list(a) == list(b)  # type: ignore[arg-type]
        for key in a:
            _equal(a[key], b[key])  # type: ignore[index]
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)  # type: ignore[arg-type]
        for x, y in zip(a, b):  # type: ignore[call-overload]
            _equal(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)  # type: ignore[arg-type]
    else:
        assert a == b


class WithBuffers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        self.register_buffer("count", mt.tensor([5, 6], dtype=mt.int64))
        self.register_buffer("mask", mt.tensor([True, False, True]))
        self.register_buffer("table", mt.tensor(np.arange(6.0).reshape(2, 3), dtype=mt.float64))


def test_module_state_dict_round_trip(tmp_path: Path) -> None:
    mt.manual_seed(0)
    model = WithBuffers()
    path = tmp_path / "model.pt"  # any suffix: the file is written exactly there
    mt.save(model.state_dict(), path)
    assert path.exists() and not (tmp_path / "model.pt.npz").exists()
    loaded = mt.load(path)
    assert isinstance(loaded, OrderedDict)
    _equal(model.state_dict(), loaded)
    fresh = WithBuffers()
    fresh.load_state_dict(loaded)
    _equal(model.state_dict(), fresh.state_dict())


def test_optimizer_state_round_trip_is_exact(tmp_path: Path) -> None:
    model = nn.Linear(3, 2)
    opt = mt.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.95))
    for _ in range(3):
        opt.zero_grad()
        model(mt.randn(4, 3)).pow(2).sum().backward()
        opt.step()
    state = opt.state_dict()
    mt.save(state, tmp_path / "opt.npz")
    loaded = mt.load(tmp_path / "opt.npz")
    _equal(state, loaded)
    assert isinstance(loaded["param_groups"][0]["betas"], tuple)
    assert set(loaded["state"]) == {0, 1} and loaded["state"][0]["step"] == 3


def test_nested_plain_data_round_trip() -> None:
    weight = nn.Parameter(mt.tensor([1.0, 2.0]))
    shared = mt.tensor([[1, 2], [3, 4]])
    obj = {
        "none": None, "flag": True, "count": 7, "big": 2**62 + 1, "rate": 0.1, "inf": -math.inf, "nan": math.nan,
        "name": "ünïcode", "tuple": (1, (2.5, "x")), "list": [[], [1], {}], 3: "int key", (1, 2): "tuple key",
        "param": weight, "a": shared, "b": shared, "grad": mt.ones(2, requires_grad=True),
        "array": np.arange(4, dtype=np.int32), "scalar": np.float32(1.5), "zero_d": mt.tensor(3.5, dtype=mt.float64),
        "ordered": OrderedDict([("z", 1), ("a", 2)]),
    }
    buffer = io.BytesIO()
    mt.save(obj, buffer)
    buffer.seek(0)
    loaded = mt.load(buffer)
    _equal(obj, loaded)
    assert isinstance(loaded["param"], nn.Parameter) and loaded["param"].requires_grad
    assert loaded["a"] is loaded["b"], "a tensor stored twice comes back as one object"


def test_objects_that_need_pickle_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Save a state_dict"):
        mt.save(nn.Linear(2, 2), tmp_path / "model.npz")
    with pytest.raises(TypeError, match=r"the object\['fn'\]"):
        mt.save({"fn": print}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="only numeric and bool"):
        mt.save({"text": np.array(["a", "b"])}, tmp_path / "x.npz")
    assert not list(tmp_path.iterdir()), "a refused save must not leave a file behind"


def test_files_that_are_not_ours_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("just some text")
    with pytest.raises(CheckpointError, match="not a minitorch-dg checkpoint"):
        mt.load(text)
    other = tmp_path / "plain.npz"
    np.savez(other, weights=np.ones(3))
    with pytest.raises(CheckpointError, match="not a minitorch-dg checkpoint: mt.load reads only files written by mt.save"):
        mt.load(other)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(CheckpointError, match="single numpy .npy array"):
        mt.load(single)
    torch_file = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, torch_file)
    with pytest.raises(CheckpointError, match="torch.save"):
        mt.load(torch_file)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        mt.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.97])
def test_truncated_files_are_refused(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "ckpt.npz"
    mt.save({"w": mt.randn(50, 50), "b": mt.randn(50)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated|not a"):
        mt.load(path)


def test_a_corrupted_manifest_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.npz"
    mt.save({"w": mt.ones(2)}, path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, np.array('{"format": "minitorch-dg checkpoint", "version": 1, "root": {"$tensor": "a9"}}'))
    members["__mtdg_manifest__.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(CheckpointError, match="corrupted"):
        mt.load(path)


def test_map_location() -> None:
    buffer = io.BytesIO()
    mt.save({"w": mt.ones(2)}, buffer)
    buffer.seek(0)
    assert mt.load(buffer, map_location="cpu")["w"].device == "cpu"
    with pytest.raises(ValueError, match="map_location"):
        mt.load(buffer, map_location="tpu")
