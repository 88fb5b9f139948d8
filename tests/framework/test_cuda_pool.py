"""The caching allocator for a real GPU (on unless MTDG_CUDA_POOL=0), checked against a fake CUDA driver:
freed blocks are reused by size, kept alive while in use (views too), and handed back to the driver when an
allocation runs out of memory. (On a GPU, benchmarks/gpu_check.sh times the CUDA table with it.)

numba's real driver module is replaced by the simulator's in a process with NUMBA_ENABLE_CUDASIM=1 (as
this test process may be), so the checks run in a child process without it; no GPU is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECKS = '''
import gc
from numba.cuda.cudadrv import driver as cuda_driver
from minitorch_dg.backends import cuda_pool


class FakeDriver:
    def __init__(self):
        self.next_pointer = 0x1000
        self.freed = []
        self.fail_next = 0

    def cuMemAlloc(self, size):
        if self.fail_next:
            self.fail_next -= 1
            raise cuda_driver.CudaAPIError(2, "CUDA_ERROR_OUT_OF_MEMORY (fake)")
        self.next_pointer += 0x100000
        return self.next_pointer

    def cuMemFree(self, pointer):
        self.freed.append(pointer)


class FakeContext:
    pass


fake = FakeDriver()
cuda_driver.driver = fake
context = FakeContext()
pool = cuda_pool.CachingMemoryManager(context=context)

first = pool.memalloc(1000)
pointer = first.device_pointer
gc.collect()
assert pool.live and pool.cached_bytes == 0, "a block in use must stay alive and out of the cache"
del first
gc.collect()
assert pool.cached_bytes == 1024 and not pool.live, (pool.cached_bytes, pool.live)
again = pool.memalloc(900)
assert again.device_pointer == pointer and pool.driver_allocations == 1 and pool.cached_bytes == 0
other = pool.memalloc(5000)
assert other.device_pointer != pointer and pool.driver_allocations == 2 and fake.freed == []

view = again.view(100, 200)  # numba's view of a block (a slice of a device array) keeps the block in use
del again
gc.collect()
assert pool.live and pool.cached_bytes == 0, "a block with a view must stay out of the cache"
del view
gc.collect()
assert pool.cached_bytes == 1024 and not pool.live.intersection([int(pointer)])
again = pool.memalloc(900)
assert again.device_pointer == pointer and pool.driver_allocations == 2

del again, other
gc.collect()
cached = sorted(p for pointers in pool.cached.values() for p in pointers)
assert len(cached) == 2 and pool.cached_bytes == 1024 + 5120
fake.fail_next = 1
fresh = pool.memalloc(100_000)
assert sorted(fake.freed) == cached and pool.cached_bytes == 0, (fake.freed, cached)
assert fresh.device_pointer not in cached
pool.generation += 1  # as reset does: a block handed out before it is not cached when it is freed
del fresh
gc.collect()
assert pool.cached_bytes == 0 and not pool.live
print("POOL OK")
'''


def test_the_pool_rounds_sizes_reuses_freed_blocks_and_empties_itself_when_out_of_memory() -> None:
    from minitorch_dg.backends.cuda import SIMULATOR_ENV

    env = {k: v for k, v in os.environ.items() if k != SIMULATOR_ENV}
    script = ("from minitorch_dg.backends import cuda_pool as p\n"
              "assert p.rounded_size(1) == 512 and p.rounded_size(513) == 1024\n"
              "assert p.rounded_size(40_000_000) == 20 * 2 * 1024 * 1024\n"
              "assert p.pool_requested({}) and p.pool_requested({'MTDG_CUDA_POOL': '1'})\n"
              "assert not p.pool_requested({'MTDG_CUDA_POOL': '0'}) and not p.pool_requested({'MTDG_CUDA_POOL': 'off'})\n"
              + CHECKS)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert "POOL OK" in run.stdout, run.stderr[-2000:]
