"""The CUDA rows of `mtdg bench`: ex07's kernels against torch on the same GPU, in one table.

    .venv/bin/python benchmarks/cuda_table.py [--rounds 5] [--only matmul]

Each case runs through minitorch-dg's Tensor API (so the host's work counts) and through torch, on the same
inputs. A round times a block of calls of one library, then waits for the GPU (cuda.synchronize /
torch.cuda.synchronize): the time per call is that of a program that queues operations back to back.
A row shows the best round of each, the ratio torch time / ours (1.0: as fast as torch), the goal of
issue #19 where it has one, and whether the result agrees with numpy. torch runs without TF32 (plain
float32 matmul, as ours). Without a GPU it prints why and exits 0: the simulator says nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from tabulate import tabulate  # noqa: E402

from minitorch_dg.backends import cuda as cuda_env  # noqa: E402  (imports no numba)


def _block_seconds(run: Callable[[], Any], sync: Callable[[], None], budget: float) -> float:
    """Seconds per call over a block of calls lasting about `budget` seconds, the GPU drained at both ends."""
    sync()
    start = time.perf_counter()
    run()
    sync()
    once = time.perf_counter() - start
    calls = max(1, min(200, int(budget / max(once, 1e-6))))
    start = time.perf_counter()
    for _ in range(calls):
        run()
    sync()
    return (time.perf_counter() - start) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per timed block (default 0.3)")
    parser.add_argument("--only", default="", help="only cases whose name contains this text")
    args = parser.parse_args(argv)
    if cuda_env.mode() != "gpu":
        print(f"cuda rows skipped: they need a real GPU, and there is none here ({cuda_env.mode()}; the CUDA simulator "
              "checks results, not speed)")
        return 0
    import numpy as np
    import torch

    import minitorch_dg as mt
    from cuda_cases import cuda_cases, first_rows

    if "MTDG_SOURCE" not in os.environ and mt.course.solutions_available():
        os.environ["MTDG_SOURCE"] = "solutions"
    from numba import cuda

    mt.zeros(1, device="cuda")  # the backend first: it installs the caching allocator before numba's context exists
    torch_gpu = torch.cuda.is_available()
    if torch_gpu:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    name = getattr(cuda.get_current_device(), "name", "?")
    name = name.decode() if isinstance(name, bytes) else name
    print(f"GPU: {name}; minitorch-dg: {mt.course.describe()}; torch {torch.__version__} "
          f"({'CUDA' if torch_gpu else 'no CUDA: torch columns empty'}, TF32 off)", flush=True)
    header = ("case", "minitorch-dg ms", "torch ms", "torch/ours", "goal", "met", "agrees")
    rows: list[tuple[str, ...]] = []
    for case in cuda_cases():
        if args.only and args.only not in case.name:
            continue
        a_host, b_host = case.inputs()
        a, b = mt.tensor(a_host, device="cuda"), mt.tensor(b_host, device="cuda")
        ours = case.run(a, b)  # compiles the kernels outside the timing
        got = first_rows(ours.to_numpy(), case).astype(np.float64)
        want = case.reference(a_host, b_host)
        scale = max(1.0, float(np.abs(want).max()))
        agrees = "yes" if np.allclose(got, want, rtol=1e-3, atol=1e-4 * scale * np.sqrt(a_host.shape[-1])) else "NO"
        mine = min(_block_seconds(lambda: case.run(a, b), cuda.synchronize, args.budget) for _ in range(args.rounds))
        theirs = None
        if torch_gpu:
            ta, tb = torch.from_numpy(a_host).cuda(), torch.from_numpy(b_host).cuda()
            theirs = min(_block_seconds(lambda: case.run(ta, tb), torch.cuda.synchronize, args.budget)
                         for _ in range(args.rounds))
        ratio = "-" if theirs is None else f"{theirs / mine:.2f}"
        goal = "-" if case.target is None else f">= {case.target}"
        met = "-" if case.target is None or theirs is None else ("yes" if theirs / mine >= case.target else "NO")
        rows.append((case.name, f"{mine * 1e3:.3f}", "-" if theirs is None else f"{theirs * 1e3:.3f}", ratio, goal,
                     met, agrees))
        print("  " + " | ".join(rows[-1]), flush=True)
        del a, b, ours
    print()
    print(tabulate(rows, headers=header, tablefmt="simple", disable_numparse=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
