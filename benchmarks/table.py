"""One table: minitorch-dg's fast CPU backend beside torch and numpy, on the same machine, in the same run.

    .venv/bin/mtdg bench                         # the whole table (a few minutes)
    .venv/bin/python benchmarks/table.py --only matmul --rounds 7

Every implementation runs with the same number of threads: Numba's (numba.set_num_threads), torch's
(torch.set_num_threads) and numpy's BLAS (threadpoolctl, when installed) are all set to --threads
(default: every core Numba sees). Each case is timed in rounds; a round times each implementation in
its own block of calls (torch, then ours, then numpy, then the simple backend), with a short pause between
blocks so that one library's idle worker threads do not steal the cores of the next. A row shows the best
time of each implementation over the rounds, the ratio torch time / ours (above 1: we are faster), the
issue's target where it has one, and the spread (slowest / fastest round of ours) as a measure of how
noisy the machine was. The load average before and after is printed too.

JIT: benchmarks/jit_workload.py (every kernel of the backend for float32) in a fresh process with an empty
Numba cache folder (cold: everything compiles), then again with that folder (a cached start).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from tabulate import tabulate  # noqa: E402

from bench_cases import Case, cases  # noqa: E402
from conv_cases import cases as conv_cases  # noqa: E402  (ex10: conv2d, max_pool2d, the digits CNN epoch)

ORDER = ("torch", "fast", "numpy", "simple")


def set_threads(threads: int) -> str:
    numba.set_num_threads(threads)
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
        blas = f"numpy BLAS {threads}"
    except ImportError:
        blas = "numpy BLAS: default threads (threadpoolctl is not installed)"
    return f"threads: numba {numba.get_num_threads()}, torch {torch.get_num_threads()}, {blas}"


def time_block(run: Callable[[], Any], budget: float) -> float:
    """Seconds per call, from a block of calls that lasts about `budget` seconds (at least one call)."""
    start = time.perf_counter()
    run()
    once = time.perf_counter() - start
    calls = max(1, min(200, int(budget / max(once, 1e-6))))
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def agree(case: Case, runners: dict[str, Callable[[], Any]]) -> str:
    """'' when the fast backend's result matches torch's (a benchmark of a wrong answer is worthless)."""
    if not case.compare:
        return ""
    ours = runners["fast"]().to_numpy().astype(np.float64)
    theirs = runners["torch"]().double().numpy()
    scale = max(1.0, float(np.abs(theirs).max()) if theirs.size else 1.0)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=1e-3, atol=1e-4 * scale, equal_nan=True):
        return "RESULT DIFFERS FROM TORCH"
    return ""


def measure(case: Case, rounds: int, budget: float) -> dict[str, Any]:
    runners = case.prepare()
    for run in runners.values():  # warm up: compile, first-touch allocations
        run()
    problem = agree(case, runners)
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name in ORDER:
            if name in runners:
                time.sleep(0.05)
                samples[name].append(time_block(runners[name], budget if name != "simple" else 0.0))
    case.release()
    best = {name: min(values) for name, values in samples.items()}
    spread = max(samples["fast"]) / min(samples["fast"])
    return {"best": best, "spread": spread, "problem": problem}


def jit_cost() -> list[tuple[str, str]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="mtdg-jit-") as folder:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(folder, "numba"), MTDG_CACHE=folder)
        env.setdefault("MTDG_SOURCE", "solutions")
        script = os.path.join(HERE, "jit_workload.py")
        for label in ("cold (empty cache: everything compiles)", "cached start (new process, same cache)"):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True)
            wall = time.perf_counter() - started
            detail = done.stdout.strip().splitlines()[-1] if done.returncode == 0 else done.stderr.strip()[-300:]
            rows.append((label, f"{wall:.2f} s wall for the process ({detail})"))
    return rows


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.3f}" if seconds < 0.01 else f"{seconds * 1e3:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds per case (default 5)")
    parser.add_argument("--budget", type=float, default=0.15, help="seconds per timed block (default 0.15)")
    parser.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    parser.add_argument("--only", default="", help="only cases whose group or name contains this text")
    parser.add_argument("--no-jit", action="store_true", help="skip the JIT measurements")
    args = parser.parse_args(argv)

    from minitorch_dg import backends, course

    if not backends.get("fast").is_available():
        print(f"the fast backend is not available ({course.describe()}): ex06 is not implemented in the source in "
              "force. Implement it (mtdg check ex06), or time the reference with MTDG_SOURCE=solutions.")
        return 2
    print(set_threads(args.threads), flush=True)
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"on {os.cpu_count()} cores", flush=True)
    header = ("group", "case", "fast ms", "torch ms", "numpy ms", "simple ms", "torch/fast", "target", "met",
              "spread")
    rows: list[tuple[str, ...]] = []
    selected = [c for c in cases() + conv_cases() if args.only in c.group or args.only in c.name]
    for case in selected:
        result = measure(case, args.rounds, args.budget)
        best = result["best"]
        ratio = best["torch"] / best["fast"]
        met = "-" if case.target is None else ("yes" if ratio >= case.target else "NO")
        goal = "-" if case.target is None else f">= {case.target}"
        if case.simple_target is not None and best.get("simple"):
            over_simple = best["simple"] / best["fast"]
            goal = f"simple/fast {over_simple:.0f} >= {case.simple_target:g}"
            met = "yes" if over_simple >= case.simple_target else "NO"
        rows.append((case.group, case.name + (f"  [{result['problem']}]" if result["problem"] else ""),
                     fmt(best.get("fast")), fmt(best.get("torch")), fmt(best.get("numpy")), fmt(best.get("simple")),
                     f"{ratio:.2f}", goal, met,
                     f"{result['spread']:.2f}"))
        print("  " + " | ".join(rows[-1]), flush=True)
    print()
    print(tabulate(rows, headers=header, tablefmt="simple", disable_numparse=True))
    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; spread = slowest / "
          "fastest round of the fast backend (1.00: steady; a busy machine shows up here)")
    if not args.no_jit:
        print("\nJIT cost of the whole fast backend (benchmarks/jit_workload.py):")
        for label, value in jit_cost():
            print(f"  {label}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
