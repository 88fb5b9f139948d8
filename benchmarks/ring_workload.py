"""Time ex14's ring_all_reduce against gloo's all_reduce on the same buffer; run by benchmarks/test_bench_ddp.py.

    torchrun --standalone --nproc-per-node 2 benchmarks/ring_workload.py --megabytes 16 --json out.json

Every rank reduces a float32 buffer of --megabytes MB; after one warm-up call each (Numba compiles the
ring's additions there), each variant runs --repeats times between barriers and the best time counts.
Rank 0 writes {"ring_seconds", "gloo_seconds", "megabytes", "world_size"} to --json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import minitorch_dg as mt
import minitorch_dg.distributed as dist
from minitorch_dg import course

if "MTDG_SOURCE" not in os.environ and course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"


def best_time(run: Callable[[mt.Tensor], None], buffer: mt.Tensor, repeats: int) -> float:
    run(buffer)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        run(buffer)
        dist.barrier()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=16.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    dist.init_process_group("gloo", timeout=300)
    rank, world = dist.get_rank(), dist.get_world_size()
    numel = int(args.megabytes * 1024 * 1024) // 4
    values = np.random.default_rng(rank).normal(size=numel).astype(np.float32)
    buffer = mt.tensor(values)
    ring = best_time(course.load("ex14").ring_all_reduce, buffer, args.repeats)
    gloo = best_time(dist.all_reduce, buffer, args.repeats)
    check = mt.tensor(values)
    course.load("ex14").ring_all_reduce(check)
    expected = mt.tensor(values)
    dist.all_reduce(expected)
    agree = bool(np.allclose(check.numpy(), expected.numpy(), rtol=1e-4, atol=1e-4))
    if rank == 0:
        args.json.write_text(json.dumps({"ring_seconds": ring, "gloo_seconds": gloo, "megabytes": args.megabytes,
                                         "world_size": world, "ring_equals_gloo": agree}) + "\n")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
