"""Where the time of each CUDA case goes: the GPU kernels it launches and the host time around them.

    .venv/bin/python benchmarks/cuda_profile.py [--only zip]

For each case of benchmarks/cuda_cases.py, after one untimed call (compilation), three calls of
minitorch-dg and of torch run under torch.profiler, which records every kernel of the process through
CUPTI, numba's as well as torch's. A case prints the wall time per call, the GPU time per call summed
over its kernels, and the kernels by GPU time. Wall much larger than GPU time means host work (Python,
launches, allocation) dominates; GPU time much larger than torch's means the kernels themselves are slow.
Without a GPU it prints why and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from minitorch_dg.backends import cuda as cuda_env  # noqa: E402  (imports no numba)

CALLS = 3


def _profile(label: str, run, sync) -> None:  # type: ignore[no-untyped-def]
    """Profile CALLS calls of run(); print wall and summed kernel time per call, and the top kernels."""
    from torch.profiler import ProfilerActivity, profile

    run()
    sync()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        start = time.perf_counter()
        for _ in range(CALLS):
            run()
        sync()
        wall = (time.perf_counter() - start) / CALLS
    kernels = []
    for event in prof.key_averages():
        device_us = getattr(event, "device_time_total", None)
        if device_us is None:
            device_us = getattr(event, "cuda_time_total", 0.0)
        kind = str(getattr(event, "device_type", ""))
        if device_us and "CUDA" in kind:
            kernels.append((device_us / CALLS, event.count // CALLS, event.key))
    kernels.sort(reverse=True)
    gpu = sum(us for us, _, _ in kernels)
    print(f"    {label}: wall {wall * 1e6:9.1f} us/call, GPU kernels {gpu:9.1f} us/call")
    for us, count, name in kernels[:6]:
        print(f"        {us:9.1f} us  x{count:<3d} {name[:90]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="only cases whose name contains this text")
    args = parser.parse_args(argv)
    if cuda_env.mode() != "gpu":
        print(f"cuda profile skipped: it needs a real GPU ({cuda_env.mode()})")
        return 0
    import torch
    from numba import cuda

    import minitorch_dg as mt
    from cuda_cases import cuda_cases

    if "MTDG_SOURCE" not in os.environ and mt.course.solutions_available():
        os.environ["MTDG_SOURCE"] = "solutions"
    torch.backends.cuda.matmul.allow_tf32 = False
    for case in cuda_cases():
        if args.only and args.only not in case.name:
            continue
        print(case.name, flush=True)
        a_host, b_host = case.inputs()
        a, b = mt.tensor(a_host, device="cuda"), mt.tensor(b_host, device="cuda")
        _profile("minitorch-dg", lambda: case.run(a, b), cuda.synchronize)
        ta, tb = torch.from_numpy(a_host).cuda(), torch.from_numpy(b_host).cuda()
        _profile("torch       ", lambda: case.run(ta, tb), torch.cuda.synchronize)
        sys.stdout.flush()
        del a, b, ta, tb
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
