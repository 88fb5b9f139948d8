"""What benchmarks/gpu_check.sh records about the machine: versions, the GPU, whether numba.cuda imports."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minitorch_dg.backends import cuda as cuda_env  # noqa: E402
from minitorch_dg.backends.cuda_versions import import_problem, installed_versions  # noqa: E402


def main() -> int:
    try:
        print(subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30).stdout)
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"nvidia-smi: not available ({error})")
    print("python", platform.python_version(), sys.executable)
    print("versions", installed_versions())
    try:
        import torch

        print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())
    except Exception as error:  # noqa: BLE001 - a report, not a check
        print("torch: not importable:", error)
    print("gpu_present:", cuda_env.gpu_present(), "mode:", cuda_env.mode())
    problem = import_problem()
    print("numba.cuda import:", problem or "ok")
    if not problem:
        from numba import cuda

        print("numba.cuda.is_available():", cuda.is_available())
        if cuda.is_available():
            device = cuda.get_current_device()
            print("device:", device.name, "compute capability", device.compute_capability)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
