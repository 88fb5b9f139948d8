"""Per-op overhead, ours and torch's timed in alternation: the two rows of issue #13 that a busy VM blurs most.

    .venv/bin/python benchmarks/overhead_interleaved.py [ROUNDS]

A 10x10 float32 add without grad and `(a * b).sum().backward()` on 10x10 float64, each timed in ROUNDS rounds
(default 15) in which a block of ours is followed at once by the same block of torch's, so both see the same
moment of the machine. Prints our median time per add and the median and best of the per-round ratios
(torch time / ours; higher is better; the goal is >= 0.2 for both). `mtdg bench --only overhead` times the
same operations in separate blocks, best of five.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("MTDG_SOURCE", "solutions")

import minitorch_dg as mt  # noqa: E402


def per_call_us(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main(rounds: int) -> None:
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    a, b = (mt.tensor(rng.random((10, 10), dtype=np.float32)) for _ in range(2))
    ta, tb = torch.rand(10, 10), torch.rand(10, 10)
    x, y = (mt.tensor(rng.random((10, 10)), requires_grad=True) for _ in range(2))
    tx, ty = (torch.rand(10, 10, dtype=torch.float64, requires_grad=True) for _ in range(2))

    def ours_backward() -> None:
        (x * y).sum().backward()

    def torch_backward() -> None:
        (tx * ty).sum().backward()

    def ours_add() -> Any:
        return a + b

    def torch_add() -> Any:
        return ta + tb

    for fn in (ours_add, torch_add, ours_backward, torch_backward):  # warm up: compile, allocate
        per_call_us(fn, 3000)
    add_ratios, add_times, backward_ratios = [], [], []
    for _ in range(rounds):
        ours = per_call_us(ours_add, 5000)
        add_ratios.append(per_call_us(torch_add, 5000) / ours)
        add_times.append(ours)
        ours = per_call_us(ours_backward, 1000)
        backward_ratios.append(per_call_us(torch_backward, 1000) / ours)
    print(f"add 10x10 float32: ours {statistics.median(add_times):.2f} us (median); ratio median "
          f"{statistics.median(add_ratios):.3f}, best {max(add_ratios):.3f}")
    print(f"(a * b).sum().backward() 10x10 float64: ratio median {statistics.median(backward_ratios):.3f}, "
          f"best {max(backward_ratios):.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
