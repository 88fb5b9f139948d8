"""The one table of element-wise ops (minitorch_dg/elementwise.py) and what each backend derives from it.

* the table: kinds, op codes, result rules, and the name lists that kernels.py and the backends use;
* the formulas: as Python, compiled with njit, and their edges (inf, nan, -0.0) against torch;
* the backends: the simple backend's scalar functions, the fast backend's op ids and the CUDA element
  functions (their op codes and generated dispatch) all come from the table, so an op added to it
  reaches every backend.

The values of every op on every backend and dtype are checked against torch elsewhere
(test_torch_fidelity.py, test_differential.py, test_fast_backend.py, test_cuda_device.py).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from numba import njit

from minitorch_dg import elementwise as ew
from minitorch_dg import scalar_ops
from minitorch_dg.backends import cuda as cuda_env
from minitorch_dg.fast import ops as fast_ops

ROOT = Path(__file__).resolve().parents[2]

EDGES = [-math.inf, -1000.0, -2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, 1000.0, math.inf, math.nan]
FINITE = [x for x in EDGES if math.isfinite(x)]

TORCH_UNARY = {"id": lambda t: t, "neg": torch.neg, "exp": torch.exp, "log": torch.log, "sigmoid": torch.sigmoid,
               "relu": torch.relu, "tanh": torch.tanh, "inv": torch.reciprocal, "abs": torch.abs, "sqrt": torch.sqrt,
               "logical_not": torch.logical_not}
TORCH_BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
                "maximum": torch.maximum, "minimum": torch.minimum, "lt": torch.lt, "le": torch.le, "gt": torch.gt,
                "ge": torch.ge, "eq": torch.eq, "ne": torch.ne}


def test_the_table_lists_every_op_once_in_op_code_order() -> None:
    assert ew.UNARY_OPS == ("id", "neg", "exp", "log", "sigmoid", "relu", "tanh", "inv", "abs", "sqrt", "logical_not")
    assert ew.BINARY_OPS[:7] == ("add", "sub", "mul", "div", "pow", "maximum", "minimum")
    assert ew.REDUCE_OPS == ("sum", "prod", "max", "min")
    assert ew.COMPARISONS == ("lt", "le", "gt", "ge", "eq", "ne")
    assert ew.FLOAT_RESULT_UNARY == ("exp", "log", "sigmoid", "tanh", "inv", "sqrt")
    for kind in ew.KINDS:
        names = ew.names(kind)
        assert len(set(names)) == len(names), f"a {kind} op is listed twice"
        for code, name in enumerate(names):
            entry = ew.lookup(name, kind)
            assert ew.code(name, kind) == code and entry.kind == kind
            assert entry.arity == (1 if kind == ew.UNARY else 2)
    for entry in ew.ops_of(ew.REDUCE):
        assert entry.start is not None and entry.combine is not None
        assert entry.formula is ew.lookup(entry.combine, ew.BINARY).formula
    with pytest.raises(ValueError, match="unknown unary op 'add'"):
        ew.lookup("add", ew.UNARY)


def test_every_backend_takes_its_ops_from_the_table() -> None:
    assert (scalar_ops.UNARY_OPS, scalar_ops.BINARY_OPS, scalar_ops.REDUCE_OPS) == (
        ew.UNARY_OPS, ew.BINARY_OPS, ew.REDUCE_OPS)
    assert list(scalar_ops.UNARY) == list(ew.UNARY_OPS) and list(scalar_ops.BINARY) == list(ew.BINARY_OPS)
    assert list(scalar_ops.REDUCE) == list(ew.REDUCE_OPS)
    for kind in ew.KINDS:
        for code, name in enumerate(ew.names(kind)):
            op = fast_ops.op_id(name, kind)
            assert op % 256 == code and fast_ops.op_name(op, kind) == name


def test_the_cuda_element_functions_are_generated_from_the_table() -> None:
    script = textwrap.dedent("""
        from minitorch_dg import elementwise as ew
        from minitorch_dg.backends import cuda_ops
        assert list(cuda_ops.UNARY_CODES) == list(ew.UNARY_OPS)
        assert list(cuda_ops.BINARY_CODES) == list(ew.BINARY_OPS)
        assert list(cuda_ops.REDUCE_CODES) == list(ew.REDUCE_OPS)
        source = cuda_ops.generated_source()
        for kind in ew.KINDS:
            for code, entry in enumerate(ew.ops_of(kind)):
                assert f"if op == {code}:  # {entry.name}\\n" in source, entry.name
        assert "less(a, b) * 1.0" in source and "divide(a * 1.0, b * 1.0)" in source
        print("GENERATED")
    """)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert "GENERATED" in run.stdout, run.stderr[-1500:]


def _same(got: float, want: float) -> bool:
    """Equal to a few ulp (infinities exactly, with their sign), or both nan."""
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    return math.isclose(got, want, rel_tol=1e-14, abs_tol=0.0)


@pytest.mark.parametrize("name", [e.name for e in ew.ops_of(ew.UNARY)])
def test_unary_formulas_give_torchs_values_at_the_edges(name: str) -> None:
    entry = ew.lookup(name, ew.UNARY)
    compiled = njit(error_model="numpy")(entry.formula)
    for x in EDGES:
        want = float(TORCH_UNARY[name](torch.tensor(x, dtype=torch.float64)).item())
        got = entry.formula(x)
        assert _same(float(got), want), f"{name}({x}) is {got} as Python, torch says {want}"
        assert _same(float(compiled(x)), float(got)), f"{name}({x}) compiled is {compiled(x)}, as Python {got}"


@pytest.mark.parametrize("name", list(TORCH_BINARY))
def test_binary_formulas_give_torchs_values_at_the_edges(name: str) -> None:
    entry = ew.lookup(name, ew.BINARY)
    # pow's formula uses math.fmod, which numba.cuda compiles and numba's CPU target does not (the fast
    # backend uses the `compiled` variant for pow)
    compiled = None if name == "pow" else njit(error_model="numpy")(entry.formula)
    values = FINITE if name == "pow" else EDGES  # pow's formula (the CUDA backend's) is torch's for finite operands
    for a in values:
        for b in values:
            want = float(TORCH_BINARY[name](torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)))
            if name == "pow" and a == 0 and b < 0 and math.copysign(1.0, a) < 0:
                continue  # (-0.0) ** -b: torch says -inf for odd b; the formula says inf, as Python's simple backend
            got = entry.formula(a, b)
            assert _same(float(got), want), f"{name}({a}, {b}) is {got} as Python, torch says {want}"
            if compiled is not None:
                assert _same(float(compiled(a, b)), float(got)), f"{name}({a}, {b}): compiled {compiled(a, b)}, Python {got}"


def test_backward_formulas_match_their_definitions() -> None:
    for x in (-2.0, -0.5, 0.0, 0.3, 4.0, math.nan):
        for d in (-1.5, 0.0, 2.0):
            assert _same(ew.relu_back(x, d), d if (x > 0 or x != x) else 0.0)
            assert _same(ew.log_back(x, d), ew.divide(d, x))
            assert _same(ew.inv_back(x, d), -ew.divide(d, x * x))
            assert _same(ew.sigmoid_back(x, d), d * x * (1.0 - x))
            assert _same(ew.tanh_back(x, d), d * (1.0 - x * x))


def test_compiled_variants_agree_with_the_formulas_where_ieee_arithmetic_holds() -> None:
    for entry in ew.OPS:
        if entry.compiled is None:
            continue
        compiled = njit(error_model="numpy")(entry.compiled)
        points = FINITE if entry.name == "pow" else EDGES
        for values in ([(x,) for x in points] if entry.arity == 1 else [(a, b) for a in points for b in points]):
            if entry.name == "pow" and values[0] == 0 and values[1] < 0 and math.copysign(1.0, values[0]) < 0:
                continue  # IEEE pow gives -inf for (-0.0) ** -1, the formula inf (see the test above)
            assert _same(float(compiled(*values)), float(entry.formula(*values))), (entry.name, values)


def test_formulas_calling_formulas_are_compiled_together() -> None:
    compiled = ew.compile_formulas(lambda function: njit(error_model="numpy")(function))
    assert set(compiled) >= {entry.formula.__name__ for entry in ew.OPS}
    assert compiled["log_back"](0.0, 2.0) == math.inf and compiled["inv_back"](-0.0, 1.0) == -math.inf
    assert ew.log_back.__globals__ is vars(ew), "compiling must leave the module's own functions alone"
    assert compiled["power_integers"](np.int64(3), np.int64(40)) == np.int64(3) ** np.int64(40)


def test_reductions_start_from_their_identity_in_every_dtype() -> None:
    for name, start in zip(ew.REDUCE_OPS, (0, 1, -math.inf, math.inf)):
        assert ew.lookup(name, ew.REDUCE).start == start
    op = fast_ops.op_id
    assert fast_ops.identity(op("max"), np.int32(0)) == np.iinfo(np.int32).min
    assert fast_ops.identity(op("min"), np.uint8(0)) == 255
    assert fast_ops.identity(op("max"), np.bool_(True)) == np.bool_(False)
    assert fast_ops.identity(op("prod"), np.float32(0)) == np.float32(1)


@pytest.mark.skipif(cuda_env.gpu_present(), reason="checks how a machine without a GPU sets up the cache")
def test_cuda_kernels_that_use_the_element_functions_have_their_cache_stamped(tmp_path: Path) -> None:
    """On a GPU a cached kernel keeps its own file's stamp only; a kernel module that uses cuda_ops's functions
    gets ELEMENT_STAMP added, so that a change of a formula is not hidden by a kernel cached before it.
    Decorating needs no GPU, so this runs (without the simulator) on any machine."""
    (tmp_path / "uses_ops.py").write_text(textwrap.dedent("""
        from numba import cuda
        from minitorch_dg.backends.cuda_ops import unary_op

        @cuda.jit(cache=True)
        def kernel(op, out, a):
            out[0] = unary_op(op, a[0])
    """))
    (tmp_path / "plain.py").write_text(textwrap.dedent("""
        from numba import cuda

        @cuda.jit(cache=True)
        def kernel(out):
            out[0] = 1.0
    """))
    script = textwrap.dedent("""
        import uses_ops, plain
        from minitorch_dg.backends import cuda_ops
        stamped = uses_ops.kernel._cache._impl.locator.get_source_stamp()
        plain_stamp = plain.kernel._cache._impl.locator.get_source_stamp()
        print(stamped[1] == cuda_ops.ELEMENT_STAMP, cuda_ops.ELEMENT_STAMP not in repr(plain_stamp))
    """)
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_ENABLE_CUDASIM"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT), env.get("PYTHONPATH", "")])
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.stdout.strip() == "True True", run.stderr[-1500:]


def test_the_fast_backends_python_versions_follow_the_table() -> None:
    """unary / binary run as Python (debugging, kernels run without jit) give the formulas' values, Python
    numbers included (1 / 0.0 is inf there too, not a ZeroDivisionError)."""
    for entry in ew.ops_of(ew.UNARY):
        for x in EDGES:
            got = fast_ops.unary(fast_ops.op_id(entry.name, ew.UNARY), x)
            assert _same(float(got), float(entry.formula(x))), (entry.name, x, got)
    for entry in ew.ops_of(ew.BINARY):
        points = FINITE if entry.name == "pow" else EDGES
        for a in points:
            for b in points:
                if entry.name == "pow" and a == 0 and b < 0 and math.copysign(1.0, a) < 0:
                    continue  # IEEE pow: (-0.0) ** -1 = -inf; the formula: inf (see above)
                got = fast_ops.binary(fast_ops.op_id(entry.name, ew.BINARY), a, b)
                assert _same(float(got), float(entry.formula(a, b))), (entry.name, a, b, got)
    assert fast_ops.binary(fast_ops.op_id("pow"), 3, 4) == 81 and fast_ops.binary(fast_ops.op_id("div"), 1, 0) == math.inf
