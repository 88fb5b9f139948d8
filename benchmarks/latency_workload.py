"""How long one gradient all-reduce takes on this machine, as DDP meets it; run by benchmarks/test_bench_ddp.py.

    torchrun --standalone --nproc-per-node 2 benchmarks/latency_workload.py --numel 21386 --json out.json

A DDP step computes for a few milliseconds, then all-reduces the gradients and waits for the result. This
times gloo's all_reduce of a float32 buffer of --numel elements (default: the digits CNN's 21386
parameters) in three rhythms:

* back to back: all-reduce after all-reduce, the best case;
* after compute: each call follows --compute-ms of arithmetic on every rank, like a training step;
* after sleep: each call follows --compute-ms of sleep, the processes idle meanwhile.

For each call the ranks' entry and exit times (one clock: they run on one machine) give the *latency*:
from the moment the last rank enters to the moment the first one leaves, so that a rank that arrives
late does not count. Rank 0 writes the mean, the median and the 90th percentile of each rhythm, in milliseconds, to
--json. On a machine where waking a thread on another core waits for the next timer tick, the last two
come out near a tick (4 ms at 250 Hz) however small the buffer, and that bounds what two processes can
gain on a step of a few milliseconds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist


def _busy(seconds: float) -> None:
    """Arithmetic on one core for about `seconds` (numpy products on a small matrix)."""
    a = np.random.default_rng(0).normal(size=(96, 96))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        a = np.tanh(a @ a)


def _rhythm(buffer: torch.Tensor, before: Callable[[], None], calls: int) -> list[tuple[float, float]]:
    """(entry, exit) of `calls` all-reduces, each after `before()`."""
    times = []
    for _ in range(calls):
        before()
        entry = time.perf_counter()
        dist.all_reduce(buffer)
        times.append((entry, time.perf_counter()))
    return times


def _latencies(times: torch.Tensor) -> list[float]:
    """times (world, calls, 2): per call, the first exit minus the last entry, in ms."""
    last_entry = times[:, :, 0].max(0).values
    first_exit = times[:, :, 1].min(0).values
    return sorted(((first_exit - last_entry) * 1e3).tolist())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numel", type=int, default=21386)
    parser.add_argument("--compute-ms", type=float, default=4.0)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    world = dist.get_world_size()
    buffer = torch.ones(args.numel)
    pause = args.compute_ms / 1e3
    rhythms: dict[str, Callable[[], None]] = {
        "back_to_back": lambda: None,
        "after_compute": lambda: _busy(pause),
        "after_sleep": lambda: time.sleep(pause),
    }
    result: dict[str, object] = {"numel": args.numel, "compute_ms": args.compute_ms, "world_size": world}
    for name, before in rhythms.items():
        _rhythm(buffer, before, 10)  # warm-up
        dist.barrier()
        mine = torch.tensor(_rhythm(buffer, before, args.calls), dtype=torch.float64)
        gathered = [torch.empty_like(mine) for _ in range(world)]
        dist.all_gather(gathered, mine)
        latencies = _latencies(torch.stack(gathered))
        result[name] = {"mean_ms": sum(latencies) / len(latencies), "median_ms": latencies[len(latencies) // 2],
                        "p90_ms": latencies[(9 * len(latencies)) // 10]}
    if dist.get_rank() == 0:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
