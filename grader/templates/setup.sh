#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (written by `mtdg autograder`).
# It installs Python, PyTorch {torch_version} (CPU build), the pinned dependencies and the course.
set -euo pipefail
SOURCE="$(cd "$(dirname "$0")" && pwd)"
VENV="${MTDG_VENV:-/autograder/venv}"

if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip
fi
python3 -m venv "$VENV"
PIP="$VENV/bin/pip"
"$PIP" install -q --upgrade pip
# PyTorch is only the oracle the tests compare with; the CPU build is a fraction of the CUDA one's size.
"$PIP" install -q --index-url {torch_index} "torch=={torch_version}"
# The versions the instructor verified the course with ({pinned_python}); if this image's Python cannot
# install them, fall back to the ranges in pyproject.toml.
if ! "$PIP" install -q -r "$SOURCE/requirements.txt"; then
    echo "setup.sh: the pinned versions do not install on $(python3 --version); using pyproject's ranges" >&2
    "$PIP" install -q -e "$SOURCE[test]"
fi
"$PIP" install -q --no-deps -e "$SOURCE"
# Warm the import caches once, so that the first submission does not pay for them.
"$VENV/bin/python" -c "import numpy, numba, torch, minitorch_dg, grader.cli"
