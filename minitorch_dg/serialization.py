"""`mt.save` / `mt.load`: state dicts, optimizer state and other plain data in a .npz file, without pickle.

    mt.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7}, "ckpt.npz")
    ckpt = mt.load("ckpt.npz")
    model.load_state_dict(ckpt["model"])

What can be saved: tensors (dtype, shape, device, requires_grad and Parameter-ness are kept), numpy
arrays and scalars, None, bools, ints, floats (nan and ±inf too), strings, and lists, tuples and dicts
(str, int, float, bool, None or tuple keys; dict order and OrderedDict are kept) of these, nested to
any depth. A tensor that appears twice is stored once and loads as one object.

The file is an ordinary numpy .npz archive: one array per tensor, plus a JSON manifest that describes
the structure, read back with allow_pickle=False. Nothing in it can run code. A file that is not such a
checkpoint, or that was cut short, is refused with a CheckpointError that says so.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .creation import tensor
from .dtypes import from_numpy
from .nn.parameter import Parameter
from .tensor import Tensor

FORMAT = "minitorch-dg checkpoint"
VERSION = 1
_FORMAT_KEY = "__mtdg_format__"
_MANIFEST_KEY = "__mtdg_manifest__"

PathLike = str | os.PathLike[str] | IO[bytes]


class CheckpointError(RuntimeError):
    """A file that mt.load cannot read: not a minitorch-dg checkpoint, truncated, or corrupted."""


# ---------------------------------------------------------------------------------------------------
# Encoding: Python structure -> JSON-able manifest + named arrays
# ---------------------------------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._seen: dict[int, str] = {}
        self._keep: list[Any] = []  # keep encoded objects alive so that their ids stay unique

    def _store(self, obj: Any, array: np.ndarray) -> str:
        key = self._seen.get(id(obj))
        if key is None:
            key = f"a{len(self.arrays)}"
            self.arrays[key] = np.asarray(array)  # (np.ascontiguousarray would make a 0-d array 1-d)
            self._seen[id(obj)] = key
            self._keep.append(obj)
        return key

    def encode(self, obj: Any, where: str) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"$float": repr(obj)}
        if isinstance(obj, Tensor):
            key = self._store(obj, obj.to_numpy())
            return {"$tensor": key, "dtype": obj.dtype.name, "device": obj.device,
                    "requires_grad": bool(obj.requires_grad), "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"mt.save: {where} is a numpy array of dtype {obj.dtype}; only numeric and bool "
                                "arrays can be stored without pickle")
            return {"$ndarray": self._store(obj, obj), "dtype": obj.dtype.str}
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"mt.save: {where} is a numpy {obj.dtype} scalar, which cannot be stored")
            return {"$npscalar": self._store(obj, np.asarray(obj)), "dtype": obj.dtype.str}
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return {"$list": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (str, int, float, bool, tuple))):
                    raise TypeError(f"mt.save: {where} has a key of type {type(k).__name__}; keys must be str, int, "
                                    "float, bool, None or tuples of them")
                items.append([self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")])
            kind = "ordered" if isinstance(obj, OrderedDict) else "dict"
            if type(obj) not in (dict, OrderedDict):
                kind = "dict"  # other mappings come back as plain dicts
            return {"$dict": items, "kind": kind}
        raise TypeError(
            f"mt.save cannot store {where}, an object of type {type(obj).__name__}: checkpoints hold tensors, numpy "
            "arrays, numbers, strings, None, and lists/tuples/dicts of them (no pickle). Save a state_dict(), not "
            "the model or optimizer object."
        )


def save(obj: Any, f: PathLike) -> None:
    """Write `obj` (a state dict, an optimizer state dict, or nested plain data with tensors) to `f`.

    `f` is a path (written exactly there, whatever its suffix; the write is atomic) or a binary file object.
    """
    writer = _Writer()
    manifest = {"format": FORMAT, "version": VERSION, "root": writer.encode(obj, "the object")}
    arrays = dict(writer.arrays)
    arrays[_FORMAT_KEY] = np.array(FORMAT)
    arrays[_MANIFEST_KEY] = np.array(json.dumps(manifest, allow_nan=False))
    if hasattr(f, "write"):
        np.savez(f, **arrays)  # type: ignore[arg-type]
        return
    path = Path(os.fspath(f))  # type: ignore[arg-type]
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(temporary, path)


# ---------------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, arrays: Mapping[str, np.ndarray], name: str, map_location: str | None) -> None:
        self.arrays = arrays
        self.name = name
        self.map_location = map_location
        self._made: dict[str, Any] = {}

    def _array(self, key: str) -> np.ndarray:
        if key not in self.arrays:
            raise CheckpointError(f"{self.name} is corrupted: its manifest names an array {key!r} that is not in the file")
        return self.arrays[key]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or not node:
            raise CheckpointError(f"{self.name} is corrupted: unexpected manifest entry {node!r}")
        if "$float" in node:
            return float(node["$float"])
        if "$tuple" in node:
            return tuple(self.decode(v) for v in node["$tuple"])
        if "$list" in node:
            return [self.decode(v) for v in node["$list"]]
        if "$dict" in node:
            pairs = [(self.decode(k), self.decode(v)) for k, v in node["$dict"]]
            return OrderedDict(pairs) if node.get("kind") == "ordered" else dict(pairs)
        if "$tensor" in node:
            return self._tensor(node)
        if "$ndarray" in node:
            return self._numpy(node, "$ndarray")
        if "$npscalar" in node:
            return self._numpy(node, "$npscalar")[()]
        raise CheckpointError(f"{self.name} is corrupted: unknown manifest entry {sorted(node)}")

    def _numpy(self, node: dict[str, Any], tag: str) -> np.ndarray:
        array = self._array(node[tag])
        if array.dtype.str != node["dtype"]:
            raise CheckpointError(f"{self.name} is corrupted: array {node[tag]} has dtype {array.dtype}, "
                                  f"the manifest says {node['dtype']}")
        return array.copy()

    def _tensor(self, node: dict[str, Any]) -> Tensor:
        key = node["$tensor"]
        if key in self._made:
            return self._made[key]
        array = self._array(key)
        if from_numpy(array.dtype).name != node["dtype"] or array.dtype.kind not in "biuf":
            raise CheckpointError(f"{self.name} is corrupted: tensor {key} holds {array.dtype}, the manifest says "
                                  f"{node['dtype']}")
        device = self.map_location or node.get("device", "cpu")
        t = tensor(array, dtype=node["dtype"], device=device)
        if node.get("parameter"):
            t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
        elif node.get("requires_grad"):
            t.requires_grad_(True)
        self._made[key] = t
        return t


def _name(f: PathLike) -> str:
    return repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file object"


def load(f: PathLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read what `save` wrote. `map_location` ('cpu' or 'cuda') puts every tensor on that device;
    otherwise each goes back to the device it was saved from. Loading never unpickles anything, so
    `weights_only` is always effectively True."""
    name = _name(f)
    if map_location is not None:
        map_location = str(map_location).split(":")[0]
        if map_location not in ("cpu", "cuda"):
            raise ValueError(f"map_location must be 'cpu' or 'cuda', got {map_location!r}")
    if isinstance(f, (str, os.PathLike)) and not os.path.exists(f):
        raise FileNotFoundError(f"no checkpoint at {name}")
    try:
        archive = np.load(f, allow_pickle=False)
    except ValueError as error:
        if "pickle" in str(error):
            raise CheckpointError(f"{name} is not a minitorch-dg checkpoint: it is neither a .npz archive nor a .npy "
                                  "array (mt.load reads only files written by mt.save)") from None
        raise CheckpointError(f"{name} is not a minitorch-dg checkpoint: {error}") from None
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as error:
        raise CheckpointError(f"{name} is not a readable minitorch-dg checkpoint (truncated or corrupted: "
                              f"{error})") from None
    if isinstance(archive, np.ndarray):
        raise CheckpointError(f"{name} is a single numpy .npy array, not a minitorch-dg checkpoint written by mt.save")
    with archive:
        files = set(archive.files)
        if _FORMAT_KEY not in files or _MANIFEST_KEY not in files:
            hint = " (it looks like a torch.save file)" if any(n.endswith("data.pkl") for n in files) else ""
            raise CheckpointError(f"{name} is a .npz archive but not a minitorch-dg checkpoint{hint}: mt.load reads "
                                  "only files written by mt.save")
        try:
            arrays = {key: archive[key] for key in archive.files}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as error:
            raise CheckpointError(f"{name} is truncated or corrupted: {error}") from None
    if str(arrays[_FORMAT_KEY]) != FORMAT:
        raise CheckpointError(f"{name} is not a minitorch-dg checkpoint (format tag {str(arrays[_FORMAT_KEY])!r})")
    try:
        manifest = json.loads(str(arrays[_MANIFEST_KEY]))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{name} is corrupted: its manifest is not valid JSON ({error})") from None
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"{name} is a minitorch-dg checkpoint of version {manifest.get('version')}; this "
                              f"version of minitorch-dg reads version {VERSION}")
    return _Reader(arrays, name, map_location).decode(manifest["root"])


def _bytes(obj: Any) -> bytes:
    """The bytes `save` would write (for tests and in-memory copies)."""
    buffer = io.BytesIO()
    save(obj, buffer)
    return buffer.getvalue()
