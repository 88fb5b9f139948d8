#!/usr/bin/env bash
# The GPU checks of ex07 in one go, for a session that has a machine with an NVIDIA GPU (issue #19).
#
#   bash benchmarks/gpu_check.sh            # results in $OUT (the device tool's folder), else ./gpu-check-out
#
# Steps, most important first, each with its own time limit, and all of them within GPU_CHECK_SECONDS
# (default 540: a later step gets what is left, or is skipped). numba compiles every kernel once; the
# kernel cache in $MTDG_CACHE serves the later steps, and a second run of the script.
#   1. environment: nvidia-smi, versions, whether numba.cuda imports and sees the GPU   -> env.txt
#   2. `mtdg grade ex07 --source solutions`: the grading child must see the GPU          -> grade-ex07.txt/.json
#   3. benchmarks/cuda_table.py: ex07 against torch, ratios and the issue's goals         -> cuda-table.txt
#   4. the table with numba's own launches (MTDG_CUDA_FAST_LAUNCH=0, cuda_launch.py)      -> cuda-table-numba-launch.txt
#   5. benchmarks/cuda_profile.py: each case's kernels and GPU time against its wall time -> cuda-profile.txt
#   6. the cuda tests (ex07 public and hidden; device, launch, pool, conv, recurrent)    -> cuda-tests.txt
#   7. benchmarks/cuda_overhead.py: the host time of one op, layer by layer, and a cProfile -> cuda-overhead.txt
#   8. the table without the caching allocator (MTDG_CUDA_POOL=0, cuda_pool.py)          -> cuda-table-nopool.txt
#   9. benchmarks/test_bench_cuda.py under pytest-benchmark                              -> bench-cuda.txt/.json
#  10. `mtdg verify ex07 --skip-solutions`: stubs fail, every mutant is caught (every mutant
#      recompiles the kernels: the longest step, so the last)                            -> verify-ex07.txt
# summary.txt has one line per step: its exit status and seconds (124: it ran past its limit).
# GPU_CHECK_STEPS="env cuda-table ..." runs only the steps named (in the order above).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-check-out}
mkdir -p "$OUT"
if [ -z "${PY:-}" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=$(command -v python3 || command -v python); fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export MTDG_CACHE=${MTDG_CACHE:-/tmp/mtdg-gpu-check-cache}
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
unset NUMBA_ENABLE_CUDASIM  # a real GPU: never the simulator here
: > "$OUT/summary.txt"

TOTAL=${GPU_CHECK_SECONDS:-540}  # the whole script; the device tool allows 600 s per command

step() {  # step NAME LIMIT_SECONDS COMMAND... : run it, output to $OUT/NAME.txt, a line in summary.txt
    local name=$1 limit=$2
    shift 2
    if [ -n "${GPU_CHECK_STEPS:-}" ] && [[ " $GPU_CHECK_STEPS " != *" $name "* ]]; then
        return
    fi
    local left=$((TOTAL - SECONDS))
    if [ "$left" -lt 30 ]; then
        echo "$name: skipped, out of time ($TOTAL s in all): $*" | tee -a "$OUT/summary.txt"
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    local started=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
    local code=$?
    echo "$name: exit $code after $((SECONDS - started)) s (limit $limit s): $*" | tee -a "$OUT/summary.txt"
}

step env 90 "$PY" benchmarks/gpu_environment.py
step grade-ex07 180 "$PY" -m grader grade ex07 --source solutions --json "$OUT/grade-ex07.json"
step cuda-table 150 "$PY" benchmarks/cuda_table.py --rounds 5
step cuda-table-numba-launch 120 env MTDG_CUDA_FAST_LAUNCH=0 "$PY" benchmarks/cuda_table.py --rounds 5
step cuda-profile 90 "$PY" benchmarks/cuda_profile.py
step cuda-tests 180 "$PY" -m pytest -p no:cacheprovider -n "${GPU_CHECK_WORKERS:-4}" -q -rs \
    tests/exercises/test_ex07_cuda.py tests/hidden/test_ex07_cuda.py tests/framework/test_cuda_device.py \
    tests/framework/test_cuda_launch.py tests/framework/test_cuda_pool.py tests/framework/test_conv_cuda.py \
    tests/framework/test_recurrent_cuda.py
step cuda-overhead 120 "$PY" benchmarks/cuda_overhead.py
step cuda-table-nopool 120 env MTDG_CUDA_POOL=0 "$PY" benchmarks/cuda_table.py --rounds 5
step bench-cuda 120 "$PY" -m pytest -p no:cacheprovider -n 0 -q benchmarks/test_bench_cuda.py --benchmark-enable \
    --benchmark-group-by=group --benchmark-columns=min,median,max --benchmark-json="$OUT/bench-cuda.json"
step verify-ex07 300 "$PY" -m grader verify ex07 --skip-solutions
cat "$OUT/summary.txt"
