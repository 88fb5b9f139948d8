"""A caching allocator for cuda tensors on a real GPU (on by default; MTDG_CUDA_POOL=0 turns it off).

numba.cuda allocates every device array with cuMemAlloc and frees it with cuMemFree, which waits for the
whole GPU to finish; it defers the frees and makes them ten at a time. An operation on 10 million float32
allocates 40 MB for its output, and the allocation, not the kernel, can be most of its time. This memory
manager (numba's External Memory Management plugin interface) keeps freed blocks, by size rounded up,
and hands them out again: after the first few operations nothing is allocated or freed on the driver.

Reusing a block is safe without waiting, because everything runs on the default stream: a kernel that
will use the block is queued behind every kernel that used it before, and a copy from the host into it
waits for them too. The cached blocks are given back to the driver when an allocation fails for lack of
memory (then the allocation is retried) and when the context is reset.

Measured on an H200 (benchmarks/cuda_overhead.py, issue #19): a 40 MB device_array took 143-241 us from the
driver and 16 us from the pool; `x.exp()` of 10 million float32 went from 265-480 us to 98 us per call. So it
is on by default, as torch's caching allocator is; MTDG_CUDA_POOL=0 gives numba's own allocator back (for
example to see with a memory checker every allocation the driver makes).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from typing import Any

from numba.cuda.cudadrv import driver as cuda_driver

from .cuda_launch import switched_on

POOL_ENV = "MTDG_CUDA_POOL"
SMALL_BLOCK = 512  # sizes are rounded up to a multiple of this ...
LARGE_BLOCK = 2 * 1024 * 1024  # ... and above 1 MiB to a multiple of 2 MiB, so that near sizes share blocks


def pool_requested(environ: Any = None) -> bool:
    """True unless MTDG_CUDA_POOL turns the caching allocator off ('0', 'off', 'no', 'false')."""
    return switched_on(POOL_ENV, environ)


def rounded_size(size: int) -> int:
    """The size of the block that serves a request of `size` bytes (at least one small block)."""
    unit = LARGE_BLOCK if size > 1024 * 1024 else SMALL_BLOCK
    return max(unit, -(-size // unit) * unit)


class PooledMemory(cuda_driver.MemoryPointer):  # type: ignore[misc, name-defined]
    """A block of the pool in use: a numba MemoryPointer that goes back to its pool's cache when the last
    reference to it goes (device arrays and their views refer to it strongly; views made by numba's
    `MemoryPointer.view` hold it as their owner). One object per allocation and no finalizer: numba's own
    AutoFreePointer + OwnedPointer pair costs two weakref finalizers and a proxy per allocation, about 6 us."""

    def __init__(self, context: Any, pointer: Any, size: int, pool: CachingMemoryManager, block: int) -> None:
        # MemoryPointer's fields, set directly (its __init__ would make a finalizer this class does not need)
        self.context = context
        self.device_pointer = self.handle = pointer
        self.size = self._cuda_memsize_ = size
        self.is_managed = False
        self.refct = 1
        self._owner = None
        self.pool, self.block, self.generation = pool, block, pool.generation

    def free(self) -> None:
        """numba calls this when the views it counted are gone; the block returns with the object itself."""

    def __del__(self) -> None:
        try:
            self.pool.give_back(self.device_pointer, self.block, self.generation)
        except Exception:  # noqa: BLE001, S110 - at interpreter exit the pool may be half torn down: nothing to keep
            pass


class CachingMemoryManager(cuda_driver.NumbaCUDAMemoryManager):  # type: ignore[misc, name-defined]
    """numba's device memory manager, with freed blocks kept for reuse instead of returned to the driver."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cached: defaultdict[int, list[Any]] = defaultdict(list)  # rounded size -> free device pointers
        self.cached_bytes = 0
        self.driver_allocations = 0  # how many blocks came from cuMemAlloc (for tests and benchmarks)
        self.live: set[int] = set()  # the pointers of blocks in use
        self.generation = 0  # raised when the cache is emptied: blocks of an earlier generation are not cached
        self._context_proxy: Any = None  # a weak proxy of the context, made with the first allocation

    def memalloc(self, size: int) -> Any:
        block = rounded_size(size)
        free = self.cached.get(block)
        if free:
            pointer = free.pop()
            self.cached_bytes -= block
        else:
            pointer = self._attempt_allocation(lambda: cuda_driver.driver.cuMemAlloc(block))
            self.driver_allocations += 1
        self.live.add(int(pointer))
        if self._context_proxy is None:
            self._context_proxy = weakref.proxy(self.context)
        return PooledMemory(self._context_proxy, pointer, size, self, block)

    def give_back(self, pointer: Any, block: int, generation: int) -> None:
        """A block no longer in use: into the cache (unless the cache was emptied since it was handed out, as
        on a context reset, which frees all the context's memory)."""
        self.live.discard(int(pointer))
        if generation == self.generation:
            self.cached[block].append(pointer)
            self.cached_bytes += block

    def _attempt_allocation(self, allocator: Any) -> Any:
        try:
            return allocator()
        except cuda_driver.CudaAPIError:
            self.release_cached()  # out of memory (or another failure): give the cache back and try once more
            return super()._attempt_allocation(allocator)

    def release_cached(self) -> None:
        """Give every cached block back to the driver."""
        for pointers in self.cached.values():
            for pointer in pointers:
                cuda_driver.driver.cuMemFree(pointer)
        self.cached.clear()
        self.cached_bytes = 0

    def reset(self) -> None:
        self.release_cached()
        self.generation += 1  # blocks in use die with the context's memory: none of them comes back
        self.live.clear()
        super().reset()


def install_if_requested(cuda_module: Any, environ: Any = None) -> bool:
    """Make CachingMemoryManager numba's memory manager unless MTDG_CUDA_POOL turns it off (before the first
    context is created, or it applies to later contexts only). Returns whether it was installed."""
    if not pool_requested(environ):
        return False
    cuda_module.set_memory_manager(CachingMemoryManager)
    return True
