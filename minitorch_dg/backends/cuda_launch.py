"""Kernel launches below numba's dispatcher, on a real GPU (on by default; MTDG_CUDA_FAST_LAUNCH=0 turns it off).

`kernel[grid, block](*args)` costs 26-50 us of Python in numba.cuda whatever the kernel's size: a launch
configuration object, the typing of every argument, each device array unpacked into its kernel parameters
through an argument wrapper, and cuda.core's parameter holder. On an H200 an element-wise op on 10 million
float32 runs for about 40 us, so numba's host work is as long as the GPU's, and a program of such ops waits on
Python. torch queues a whole op in under 10 us.

`install(cuda_dispatcher_class)` replaces the class's `__getitem__`, so every numba.cuda kernel launched with
the `kernel[grid, block](...)` syntax (ex07's, ex10's, the framework's) goes through `FastLaunch`:

* The arguments' **key**: for each argument its Python type, and for a device array its dtype, strides and
  whether it has at most one element; with the kernel's dims these decide numba's overload and layout.
* The **first launch** with a key goes through numba (which compiles the kernel when needed). Then a `Plan`
  is made for the key: the compiled overload's kernel handle, one 8-byte slot per kernel parameter and an
  array of pointers to the slots (what cuLaunchKernel reads). The plan packs the same arguments once and must
  give exactly the values numba's own packing (`_Kernel._prepare_args`) gives; a difference, an argument type
  it cannot pack, a debug or cooperative kernel, or a kernel specialised per launch configuration leave the
  key on numba's path for good (`refusals` says why).
* **Later launches** with the key write the parameters into the slots (one `struct.pack_into`; a device
  array's parameters are computed once per array and kept on it) and call `cuLaunchKernel` on the default
  stream, the stream numba launches on when none is given.

Whatever the fast path cannot do goes to numba unchanged: a stream or dynamic shared memory in the brackets,
another thread than the one that made the plan, a value that does not fit its slot (an int beyond int64),
and a launch the driver refuses, which numba then repeats so that its own error message is the one raised.
numba's low-occupancy performance warning (a grid of under 128 blocks) is not repeated on the fast path.

Never installed in the simulator (there is no driver), nor when MTDG_CUDA_FAST_LAUNCH is '0', 'off', 'no' or
'false'. `counts` says how many launches took each path (benchmarks and tests read it); `observers` see
every launch of the fast path.
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
from typing import Any

FAST_LAUNCH_ENV = "MTDG_CUDA_FAST_LAUNCH"
PARAMETERS_ATTRIBUTE = "_mtdg_kernel_parameters"  # kept on a device array: its kernel parameters, packed once

counts = {"fast": 0, "numba": 0}  # launches by path since the process started
# Called as observer(dispatcher, grid, block) with 3-tuples for every launch made on the fast path (a launch
# through numba passes CUDADispatcher.configure instead): tests log kernel launches on a GPU with it.
observers: list[Any] = []
refusals: dict[str, str] = {}  # kernel name -> why a key of it stays on numba's path (the latest reason)
_REFUSED = object()  # the plan of a key that numba launches


def switched_on(variable: str, environ: Any = None) -> bool:
    """True unless the environment variable `variable` turns off what it names ('0', 'off', 'no', 'false', in
    any case): the CUDA backend's optimisations are on by default (this module's MTDG_CUDA_FAST_LAUNCH,
    cuda_pool's MTDG_CUDA_POOL)."""
    value = (os.environ if environ is None else environ).get(variable, "").strip().lower()
    return value not in ("0", "off", "no", "false")


def fast_launch_requested(environ: Any = None) -> bool:
    """True unless MTDG_CUDA_FAST_LAUNCH turns the fast path off."""
    return switched_on(FAST_LAUNCH_ENV, environ)


# ---------------------------------------------------------------------------------------------------
# Pure helpers (no numba, no driver): dims, keys, slot formats
# ---------------------------------------------------------------------------------------------------


def dims3(dims: Any) -> tuple[int, int, int] | None:
    """A grid or block given as an int or a tuple of 1 to 3 positive ints, as (x, y, z); None for anything
    else (numba then checks it and says what is wrong)."""
    if type(dims) is int:
        return (dims, 1, 1) if dims > 0 else None
    if type(dims) is tuple and 1 <= len(dims) <= 3 and all(type(d) is int and d > 0 for d in dims):
        return (dims + (1, 1))[:3]  # type: ignore[return-value]
    return None


def describe_array(array: Any) -> tuple[Any, tuple[int, ...]]:
    """A device array's part of a launch key, and its kernel parameters as numba packs them. The key part:
    type, dtype, strides, and whether it has at most one element (numba's layout of such an array ignores its
    strides). The parameters: no meminfo, no parent, element count, item size, data pointer, shape, strides in
    bytes. Computed once per array and kept on it (an array's pointer, shape and strides never change)."""
    found = getattr(array, PARAMETERS_ATTRIBUTE, None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    size = int(array.size)
    pointer = (array.device_ctypes_pointer.value or 0) if size else 0
    found = ((type(array), array.dtype, tuple(array.strides), size <= 1),
             (0, 0, size, int(array.dtype.itemsize), int(pointer), *map(int, array.shape), *map(int, array.strides)))
    try:
        setattr(array, PARAMETERS_ATTRIBUTE, found)
    except AttributeError:  # an array type without a __dict__: described again next time
        pass
    return found


def key_and_values(args: tuple[Any, ...]) -> tuple[tuple[Any, ...], list[Any]] | None:
    """A launch's key (what decides the overload and the parameter layout: each scalar's type, each device
    array's `describe_array` key part) and its parameter values in order (scalars as they are, arrays
    expanded); None when an argument is neither a Python int, float or bool nor a numba device array (a
    host array that numba would copy to the GPU, a record, ...): numba launches those."""
    key: list[Any] = []
    values: list[Any] = []
    for value in args:
        kind = type(value)
        if kind is int or kind is float or kind is bool:
            key.append(kind)
            values.append(value)
        elif getattr(kind, "__cuda_ndarray__", False):
            part, parameters = describe_array(value)
            key.append(part)
            values.extend(parameters)
        else:
            return None
    return tuple(key), values


# A kernel parameter's struct format inside its 8-byte slot, by numba type name (what `str(type)` prints).
SCALAR_SLOTS = {
    "int64": "q", "uint64": "Q", "int32": "i4x", "uint32": "I4x", "int16": "h6x", "uint16": "H6x",
    "int8": "b7x", "uint8": "B7x", "float64": "d", "float32": "f4x", "bool": "?7x",
}


def slot_format(type_name: str, array_dims: int | None) -> str | None:
    """The struct format of a parameter of this numba type: an array of `array_dims` dims (an int) takes
    5 + 2 * dims int64 slots (meminfo, parent, element count, item size, data pointer, shape, strides in
    bytes); a scalar one slot (SCALAR_SLOTS); None when the fast path cannot pack the type."""
    if array_dims is not None:
        return "q" * (5 + 2 * array_dims)
    return SCALAR_SLOTS.get(type_name)


# ---------------------------------------------------------------------------------------------------
# Plans: one per kernel overload and argument key
# ---------------------------------------------------------------------------------------------------


class Plan:
    """A compiled overload's launch: its kernel handle, the parameter slots and the pointers to them."""

    __slots__ = ("handle", "format", "slots", "pointers", "pointer_address", "thread")

    def __init__(self, handle: Any, formats: list[str]) -> None:
        self.handle = handle
        self.format = "<" + "".join(formats)
        count = struct.calcsize(self.format) // 8  # every format fills whole 8-byte slots
        self.slots = (ctypes.c_uint64 * max(count, 1))()
        base = ctypes.addressof(self.slots)
        self.pointers = (ctypes.c_void_p * max(count, 1))(*[base + 8 * i for i in range(count)])
        self.pointer_address = ctypes.addressof(self.pointers)
        self.thread = threading.get_ident()

    def pack(self, values: list[Any]) -> None:
        """Write a launch's parameter values into the slots (struct.error when a value does not fit its slot)."""
        struct.pack_into(self.format, self.slots, 0, *values)


def _numba_values(kernel: Any, args: tuple[Any, ...]) -> list[Any]:
    """The parameter values numba's own packing gives for these arguments (ctypes scalars unwrapped)."""
    packed: list[Any] = []
    for numba_type, value in zip(kernel.argument_types, args):
        kernel._prepare_args(numba_type, value, 0, [], packed)
    return [getattr(value, "value", value) for value in packed]


def make_plan(dispatcher: Any, args: tuple[Any, ...], values: list[Any]) -> Any:
    """The Plan for launching `dispatcher` with arguments like `args` (already compiled by a numba launch), whose
    parameter values `key_and_values` gave as `values`, or _REFUSED with the reason in `refusals`."""
    name = getattr(dispatcher, "__name__", "kernel")

    def refuse(reason: str) -> Any:
        refusals[name] = reason
        return _REFUSED

    try:
        if getattr(dispatcher, "_launch_config_sensitive", False) or getattr(dispatcher, "extensions", None):
            return refuse("specialised per launch configuration, or has argument extensions")
        if getattr(dispatcher, "specialized", False):
            kernel = next(iter(dispatcher.overloads.values()))
        else:
            kernel = dispatcher.overloads.get(tuple(dispatcher.typeof_pyval(a) for a in args))
        if kernel is None:
            return refuse("no overload compiled for exactly these argument types")
        if kernel.debug or getattr(kernel, "cooperative", False) or getattr(kernel, "launch_config_sensitive", False):
            return refuse("a debug, cooperative or launch-configuration-sensitive kernel")
        formats: list[str] = []
        for numba_type in kernel.argument_types:
            is_array = type(numba_type).__name__ == "Array"
            layout = slot_format(str(numba_type), numba_type.ndim if is_array else None)
            if layout is None:
                return refuse(f"an argument of type {numba_type}")
            formats.append(layout)
        if len(formats) != len(args):
            return refuse("the number of arguments differs from the kernel's")
        handle = _driver.CUfunction(int(kernel._codelibrary.get_cufunc().handle))  # a CUkernel, launched as such
        plan = Plan(handle, formats)
        theirs = _numba_values(kernel, args)
        if values != theirs:
            return refuse(f"packing differs from numba's: {values} != {theirs}")
        plan.pack(values)
        return plan
    except Exception as error:  # noqa: BLE001 - anything unexpected in numba's internals: numba's path
        return refuse(f"{type(error).__name__}: {error}")


# ---------------------------------------------------------------------------------------------------
# The launch
# ---------------------------------------------------------------------------------------------------


class FastLaunch:
    """What `kernel[grid, block]` returns: launches on the fast path when it can, through numba otherwise."""

    __slots__ = ("dispatcher", "config")

    def __init__(self, dispatcher: Any, config: tuple[Any, ...]) -> None:
        self.dispatcher = dispatcher
        self.config = config

    def __call__(self, *args: Any) -> None:
        config = self.config
        if len(config) == 2:
            grid, block = dims3(config[0]), dims3(config[1])
            if grid is not None and block is not None:
                plans = _plans(self.dispatcher)
                described = key_and_values(args)
                if described is None:
                    return self._numba(args)
                key, values = described
                plan = plans.get(key)
                if plan is None:
                    self._numba(args)
                    plans[key] = make_plan(self.dispatcher, args, values)
                    return
                if plan is not _REFUSED and plan.thread == threading.get_ident():
                    try:
                        plan.pack(values)
                    except struct.error:
                        return self._numba(args)
                    error, = _driver.cuLaunchKernel(plan.handle, grid[0], grid[1], grid[2], block[0], block[1],
                                                    block[2], 0, _stream, plan.pointer_address, 0)
                    if error != _success:
                        return self._numba(args)  # nothing was queued: numba launches again and says what is wrong
                    counts["fast"] += 1
                    for observer in observers:
                        observer(self.dispatcher, grid, block)
                    return
        self._numba(args)

    def _numba(self, args: tuple[Any, ...]) -> None:
        counts["numba"] += 1
        _original_getitem(self.dispatcher, self.config)(*args)


def _plans(dispatcher: Any) -> dict[tuple[Any, ...], Any]:
    """The dispatcher's plans by argument key (kept on the dispatcher: it lives as long as the kernel)."""
    try:
        return dispatcher.__dict__["_mtdg_plans"]  # type: ignore[no-any-return]
    except KeyError:
        plans: dict[tuple[Any, ...], Any] = {}
        dispatcher.__dict__["_mtdg_plans"] = plans
        return plans


_original_getitem: Any = None
_driver: Any = None
_stream: Any = None
_success: Any = None


def installed() -> bool:
    """True when launches go through FastLaunch in this process."""
    return _original_getitem is not None


def install(dispatcher_class: Any, environ: Any = None) -> bool:
    """Route `kernel[grid, block](...)` of every kernel of `dispatcher_class` (numba's CUDADispatcher) through
    FastLaunch, unless MTDG_CUDA_FAST_LAUNCH turns it off or this numba-cuda lacks what it needs. Idempotent.
    Returns whether the fast path is installed."""
    global _original_getitem, _driver, _stream, _success
    if _original_getitem is not None:
        return True
    if not fast_launch_requested(environ):
        return False
    try:
        from cuda.bindings import driver

        stream = driver.CUstream(0)
        success = driver.CUresult.CUDA_SUCCESS
    except Exception:  # noqa: BLE001 - no cuda.bindings driver module: numba's launches as they are
        return False
    original = dispatcher_class.__getitem__

    def getitem(self: Any, config: Any) -> Any:
        if type(config) is tuple and len(config) == 2:
            return FastLaunch(self, config)
        return original(self, config)

    _driver, _stream, _success = driver, stream, success
    _original_getitem = original
    dispatcher_class.__getitem__ = getitem
    return True


def uninstall(dispatcher_class: Any) -> None:
    """Give numba its own `__getitem__` back (tests compare both paths)."""
    global _original_getitem
    if _original_getitem is not None:
        dispatcher_class.__getitem__ = _original_getitem
        _original_getitem = None
