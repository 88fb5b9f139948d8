"""`mtdg bench` ends with the CUDA rows (benchmarks/cuda_table.py), which say why they are skipped without a GPU."""

from __future__ import annotations

from tests.grader.conftest import Mtdg


def test_bench_prints_the_cuda_section_and_why_it_is_skipped_without_a_gpu(mtdg: Mtdg) -> None:
    run = mtdg("bench", "--only", "no-case-has-this-name", "--no-jit", "--rounds", "1",
               env={"MTDG_SOURCE": "solutions", "NUMBA_ENABLE_CUDASIM": "1"}, timeout=300)
    assert run.returncode == 0, run.stdout[-1500:] + run.stderr[-1500:]
    assert "CUDA (ex07's kernels against torch on the same GPU" in run.stdout
    assert "cuda rows skipped: they need a real GPU, and there is none here (simulator" in run.stdout, run.stdout[-800:]
