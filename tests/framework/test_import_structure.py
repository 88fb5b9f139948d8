"""The framework's core imports downward only (issue #13).

The core of minitorch_dg is a stack of layers, lowest first (LAYERS below; docs/design.md draws it). A
core module may import modules of lower layers and, inside a subpackage (fast/, backends/), its own
siblings; nothing else of the framework. Tensor sits near the top: the modules below it never import
tensor.py, they are handed the class once (`K.register_tensor_class`) and recognise tensors with
`K.is_tensor`. These tests read the package's source with ast, so a wrong import is named with its file
and line before anything runs, and then import every core module alone in a fresh interpreter, so that
an import cycle that the package's usual import order hides still shows.

Run this file as a script to print the import graph of the whole package:
    python tests/framework/test_import_structure.py
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "minitorch_dg"
ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / PACKAGE

# The core, lowest layer first. A name is a module (`kernels`) or a subpackage with all its modules (`fast`).
LAYERS: list[tuple[str, ...]] = [
    ("errors", "dtypes", "autodiff", "cache_root"),  # facts that import nothing of the framework
    ("course",),  # which module serves each exercise
    ("elementwise",),  # the one table of element-wise ops (ex01 computes where it has the function)
    ("scalar_ops", "tensor_data"),  # the element ops by name; strided storage and ex03's shape arithmetic
    ("fast",),  # plumbing for ex06's Numba kernels
    ("backends",),  # who runs map/zip/reduce/matmul for a device
    ("kernels",),  # raw tensor ops, no graph; holds the Tensor class once tensor.py hands it down
    ("function", "creation", "indexing", "printing"),  # Function.apply, making tensors, keys, repr
    ("tensor_functions", "softmax_ops"),  # the framework's own Functions; softmax/logsumexp
    ("host_ops",),  # sin, cumsum, sort, ... on the host
    ("tensor",),  # the Tensor class: its methods call the layers above this line
    ("ops", "nn.windows", "nn.sparse_functional"),  # torch's functions of tensors (mt.cat, ...); ex10, ex11 glue
    ("nn.cuda_windows",),  # conv and pooling kernels for cuda tensors
    ("nn.conv_functional",),
    ("nn.pool_functional",),
    ("nn.functional",),  # F.*: the top of the core; nn's Modules, optim, data, ... build on it
]

# Imports inside a function body in the core, each for a reason. Any other one is a failure: it either
# hides an upward import or costs a lookup on every call for nothing.
LAZY: dict[tuple[str, str], str] = {
    ("nn.windows", "fast.caching"): "minitorch_dg.fast's __init__ imports numba: loaded when ex10 first runs",
    ("nn.windows", "fast.threads"): "as fast.caching (fast.threads starts Numba's thread pool)",
    ("backends.cuda", "backends.cuda_pool"): "cuda_pool imports numba.cuda at its top: loaded with the first "
                                             "cuda tensor on a GPU (MTDG_CUDA_POOL=0 leaves it idle)",
    ("backends.cuda", "backends.cuda_launch"): "replaces numba.cuda's kernel launch: installed with the first cuda "
                                              "tensor on a GPU, never in the simulator",
    ("backends.cuda", "backends.cuda_versions"): "used only when numba.cuda fails to import, to say why",
    ("nn.conv_functional", "nn.cuda_windows"): "cuda_windows imports numba.cuda at its top: loaded with the "
                                               "first convolution of a cuda tensor",
    ("nn.pool_functional", "nn.cuda_windows"): "as for nn.conv_functional",
}

# Core modules that the fresh-interpreter test does not import alone.
NOT_ALONE = {
    "backends.cuda_pool": "imports numba.cuda at its top (a GPU or the simulator); the cuda tests import it",
    "nn.cuda_windows": "imports numba.cuda at its top (a GPU or the simulator); the cuda tests import it",
}


@dataclass(frozen=True)
class Import:
    source: str  # dotted module names without the package prefix: 'tensor', 'nn.functional'
    target: str
    line: int
    in_function: bool

    def where(self) -> str:
        return f"{_path_of(self.source)}:{self.line}"


def _path_of(module: str) -> str:
    path = PACKAGE_DIR.joinpath(*module.split("."))
    if path.is_dir():
        return str((path / "__init__.py").relative_to(ROOT))
    return str(path.with_suffix(".py").relative_to(ROOT))


@functools.cache
def package_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name without the package prefix ('' is the package itself)."""
    found = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The framework modules that `module` imports when it runs: at module level or inside functions (blocks
    under `if TYPE_CHECKING:` are left out: they are for type checkers and never run)."""
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def resolve(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
            return [n[len(PACKAGE) + 1:] for n in names if n.startswith(PACKAGE + ".")] + \
                   ["" for n in names if n == PACKAGE]
        if node.level:
            base = module.split(".") if module else []
            if not is_package:
                base = base[:-1]
            base = base[:len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        elif node.module == PACKAGE or (node.module or "").startswith(PACKAGE + "."):
            origin = node.module[len(PACKAGE) + 1:]
        else:
            return []
        targets = []
        for alias in node.names:  # `from . import kernels` names a module; `from .dtypes import int64` does not
            submodule = f"{origin}.{alias.name}" if origin else alias.name
            targets.append(submodule if submodule in modules else origin)
        return targets

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.orelse:
                visit(statement, in_function)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in dict.fromkeys(resolve(node)):
                if target != module:
                    found.append(Import(module, target, node.lineno, in_function))
            return
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return found


@functools.cache
def import_graph() -> dict[str, list[Import]]:
    modules = package_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def unit_of(module: str) -> str | None:
    """The entry of LAYERS that `module` belongs to (a subpackage's modules belong to it), or None."""
    for layer in LAYERS:
        for name in layer:
            if module == name or module.startswith(name + "."):
                return name
    return None


def layer_of(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def core_modules() -> list[str]:
    return [m for m in package_modules() if unit_of(m) is not None]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a cycle through them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return [_cycle_through(sorted(c), edges) for c in components]


def _cycle_through(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One cycle inside a strongly connected component, from its first module back to it (breadth first)."""
    members = set(component)
    start = component[0]
    paths = {w: [start, w] for w in sorted(edges[start]) if w in members}
    queue = list(paths)
    while queue:
        v = queue.pop(0)
        if v == start:
            return paths[v]
        for w in sorted(edges[v]):
            if w in members and w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return component


def _label(module: str) -> str:
    return module or PACKAGE


# ----------------------------------------------------------------------------------------------------
# The tests
# ----------------------------------------------------------------------------------------------------


def test_every_layer_names_modules_that_exist() -> None:
    modules = package_modules()
    for layer in LAYERS:
        for name in layer:
            assert name in modules, f"LAYERS names {name!r}, which is not a module of {PACKAGE}"
    for source, target in LAZY:
        assert source in modules and target in modules, f"LAZY names {source} -> {target}, not modules"


def test_core_imports_point_down() -> None:
    """Each core module imports only modules of lower layers (or, in a subpackage, its siblings)."""
    problems = []
    for module, imports in import_graph().items():
        unit = unit_of(module)
        if unit is None:
            continue
        for imp in imports:
            target_unit = unit_of(imp.target)
            if target_unit == unit:
                continue
            if target_unit is None:
                problems.append(f"{imp.where()}: {module} imports {_label(imp.target)}, which is not in the core: "
                                "the core must not depend on what builds on it")
            elif layer_of(target_unit) >= layer_of(unit):
                problems.append(f"{imp.where()}: {module} (layer {layer_of(unit)}) imports {imp.target} (layer "
                                f"{layer_of(target_unit)}): imports in the core point down only")
    assert not problems, "upward imports in the core:\n" + "\n".join(problems)


def test_core_imports_at_the_top_of_the_module() -> None:
    """No import of the framework inside a function in the core, except the lazy ones listed in LAZY."""
    problems = []
    for module, imports in import_graph().items():
        if unit_of(module) is None:
            continue
        for imp in imports:
            if imp.in_function and (module, imp.target) not in LAZY:
                problems.append(f"{imp.where()}: {module} imports {_label(imp.target)} inside a function; import it "
                                "at the top of the module (or, if it is costly to load, add it to LAZY with the reason)")
    assert not problems, "\n".join(problems)


def test_no_import_cycles_in_the_core() -> None:
    """No cycle among core modules, counting imports inside functions too."""
    core = set(core_modules())
    edges = {m: {i.target for i in imports if i.target in core} for m, imports in import_graph().items() if m in core}
    cycles = _cycles(edges)
    assert not cycles, "import cycles in the core:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_import_cycles_in_the_package_at_import_time() -> None:
    """No cycle among the modules of the whole package through the imports that run when a module is imported
    (at its top level). A package's own __init__ is where its submodules are gathered, so the edges into a
    package are left out."""
    modules = package_modules()
    packages = {m for m, path in modules.items() if path.name == "__init__.py"}
    edges = {m: {i.target for i in imports if not i.in_function and i.target not in packages}
             for m, imports in import_graph().items()}
    cycles = _cycles(edges)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(_label(m) for m in c) for c in cycles)


_ALONE = """
import importlib, importlib.machinery, importlib.util, sys
# the package without its __init__ (which imports everything, in an order that could hide a cycle)
spec = importlib.machinery.ModuleSpec({package!r}, None, is_package=True)
spec.submodule_search_locations = [{directory!r}]
sys.modules[{package!r}] = importlib.util.module_from_spec(spec)
importlib.import_module(sys.argv[1])
"""


def _import_alone(module: str) -> str:
    """'' when `module` imports as the first module of the framework in a fresh interpreter, else why not."""
    code = _ALONE.format(package=PACKAGE, directory=str(PACKAGE_DIR))
    result = subprocess.run([sys.executable, "-c", code, f"{PACKAGE}.{module}"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    if result.returncode == 0:
        return ""
    last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
    return f"{module}: {last}"


def test_each_core_module_imports_alone() -> None:
    """Import every core module in a fresh interpreter as the first module of the framework (without the
    package's __init__, whose order of imports could hide a cycle): each must import on its own."""
    names = [m for m in core_modules() if m not in NOT_ALONE]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        failures = [f for f in pool.map(_import_alone, names) if f]
    assert not failures, "core modules that do not import on their own:\n" + "\n".join(failures)


if __name__ == "__main__":
    for name, imports in import_graph().items():
        unit = unit_of(name)
        where = f"layer {layer_of(unit)}" if unit is not None else "above the core"
        top = sorted({_label(i.target) for i in imports if not i.in_function})
        lazy = sorted({f"{_label(i.target)} (line {i.line})" for i in imports if i.in_function})
        print(f"{_label(name)}  [{where}]\n    imports: {', '.join(top) or '-'}")
        if lazy:
            print(f"    inside functions: {', '.join(lazy)}")
