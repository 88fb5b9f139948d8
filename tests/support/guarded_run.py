"""Run a snippet as if it were exercise code, in a fresh grading-like process with the grader's guard up.

The grader's runtime guard refuses any read of solutions/ while exercise code is on the stack. A student's
code can make the first tensor op, convolution or pooling of a grading process, so that the framework
compiles its kernels then, on a cold cache: none of that may touch solutions/ (the student would score 0).
`run_as_exercise_code` compiles `definition` under the path of `exercise_file` (so the guard sees exercise
code), then runs `call` with it, in a subprocess whose kernel cache is `cache` (empty: everything compiles).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_as_exercise_code(exercise_file: str, definition: str, call: str, cache: Path) -> str:
    """Run `definition` (source of one function, compiled as exercises/`exercise_file`) and then `call` (lines
    that use `namespace[...]` and `mt`) under the guard; assert that it succeeds with nothing refused and
    return its stdout."""
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from grader.child import build_guard
        refused = []
        guard = build_guard(None, refused.append)
        guard.install()
        import minitorch_dg as mt
        code = compile({definition!r}, os.path.join({str(ROOT)!r}, "exercises", {exercise_file!r}), "exec")
        namespace = {{}}
        exec(code, namespace)
    """) + textwrap.dedent(call) + '\nprint("refused:", refused)\n'
    env = dict(os.environ, MTDG_SOURCE="solutions", MTDG_CACHE=str(cache), MTDG_BACKEND="fast")
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: []" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout
