"""The static policy: what exercise code may not do, checked on the source before any of it runs.

`check_source` parses a submitted exercise file (it never executes it) and returns one `Violation`
per broken rule, with the line. The grader refuses to run an exercise whose files break a rule: that
exercise scores 0 with the file, line and rule as the reason, and the other exercises are graded.

The rules keep exercise code to its job — computing results — and away from the machinery that
judges them: the oracle (torch), the reference (solutions), the grader and its tests, the test runner,
the interpreter's internals (frames, gc, the import system, builtins, sys.modules), other processes,
and the files of the tests and solutions. It is an early, friendly warning, not the security: exercise
code runs in a worker process apart from the tests (grader/judge.py), and as root as a user of its own
(grader/sandbox.py), which is what stops what a static check cannot see.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

# Top-level modules exercise code may not import, with the reason shown to the student.
FORBIDDEN_MODULES: dict[str, str] = {
    "torch": "the tests compare with torch; your code must compute the result itself",
    "solutions": "the reference solutions are not yours to call",
    "grader": "exercise code may not touch the grader",
    "tests": "exercise code may not read the tests",
    "pytest": "exercise code may not touch the test runner",
    "_pytest": "exercise code may not touch the test runner",
    "hypothesis": "exercise code may not touch the test runner",
    "unittest": "exercise code may not touch the test runner (unittest.mock.ANY equals everything)",
    "ctypes": "raw memory access is not allowed in exercise code",
    "_ctypes": "raw memory access is not allowed in exercise code",
    "cffi": "raw memory access is not allowed in exercise code",
    "gc": "exercise code may not walk the interpreter's objects",
    "inspect": "exercise code may not inspect the caller's frames",
    "importlib": "exercise code may not drive the import system",
    "builtins": "exercise code may not change builtins",
    "subprocess": "exercise code may not start processes",
    "_posixsubprocess": "exercise code may not start processes",
    "multiprocessing": "exercise code may not start processes",
    "concurrent": "exercise code may not start processes",
    "pty": "exercise code may not start processes",
    "signal": "exercise code may not handle signals (the grader times tests with them)",
    "socket": "exercise code may not use the network",
    "pickle": "exercise code may not unpickle objects",
    "marshal": "exercise code may not load code objects",
    "code": "exercise code may not run an interpreter",
    "codeop": "exercise code may not compile code",
    "pdb": "exercise code may not start a debugger",
    "atexit": "exercise code may not register exit handlers",
    "faulthandler": "exercise code may not change crash handling",
    "resource": "exercise code may not change the grader's limits",
    "posix": "use the math, not the operating system",
    "io": "exercise code has no files to read or write",
    "_io": "exercise code has no files to read or write",
    "pathlib": "exercise code has no files to read or write",
    "shutil": "exercise code has no files to read or write",
    "glob": "exercise code has no files to read or write",
    "tempfile": "exercise code has no files to read or write",
    "fcntl": "exercise code has no files to read or write",
    "mmap": "exercise code has no files to read or write",
    "linecache": "exercise code has no files to read or write",
}

# Attributes of modules that exercise code may not touch (also refused in `from M import NAME`).
FORBIDDEN_MODULE_ATTRIBUTES: dict[str, frozenset[str]] = {
    "os": frozenset({
        "_exit", "abort", "fork", "forkpty", "system", "popen", "kill", "killpg", "setsid", "setpgid",
        "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
        "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
        "posix_spawn", "posix_spawnp", "write", "writev", "pwrite", "read", "open", "close", "dup", "dup2",
        "fdopen", "pipe", "remove", "unlink", "rename", "replace", "rmdir", "removedirs", "symlink", "link",
        "chdir", "chmod", "chown", "environ", "environb", "putenv", "unsetenv", "listdir", "scandir", "walk",
        "register_at_fork", "setuid", "setgid", "nice", "truncate", "ftruncate",
    }),
    "sys": frozenset({
        "exit", "modules", "meta_path", "path_hooks", "path_importer_cache", "path", "_getframe",
        "_current_frames", "settrace", "setprofile", "addaudithook", "excepthook", "unraisablehook",
        "stdin", "__stdout__", "__stderr__", "exc_info",
        "exception", "last_traceback", "_clear_type_cache", "setrecursionlimit", "breakpointhook",
    }),
    # the course mechanism serves exercises; exercise code may use ExerciseProxy but not change the plan
    "minitorch_dg.course": frozenset({"using", "install", "uninstall", "parse_source", "plan", "load"}),
    # numpy's file readers and writers would open the tests or the solutions for exercise code
    "numpy": frozenset({"testing", "ctypeslib", "load", "loadtxt", "genfromtxt", "fromfile", "fromregex",
                        "memmap", "save", "savez", "savez_compressed", "savetxt", "tofile", "DataSource", "lib"}),
}

# Names that reach interpreter internals whatever object they are read from.
FORBIDDEN_ATTRIBUTES = frozenset({
    "__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__", "__import__", "__loader__",
    "__traceback__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__",
    "f_back", "f_locals", "f_globals", "f_builtins", "f_code", "f_trace",
    "tb_frame", "tb_next", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
    "co_code", "co_consts",
})

# Built-in functions that run code, reach frames or leave the process.
FORBIDDEN_CALLS: dict[str, str] = {
    "eval": "exercise code may not evaluate strings as code",
    "exec": "exercise code may not evaluate strings as code",
    "compile": "exercise code may not compile code",
    "__import__": "imports must be plain import statements",
    "breakpoint": "exercise code may not start a debugger",
    "globals": "exercise code may not reach module namespaces by name",
    "locals": "exercise code may not reach namespaces by name",
    "vars": "exercise code may not reach namespaces by name",
    "exit": "exercise code may not end the process",
    "quit": "exercise code may not end the process",
    "open": "exercise code has no files to read or write",
    "input": "exercise code gets no input",
}

# Special methods that decide comparisons and conversions: a class whose `__eq__` is always true passes
# `x == expected`. A class may define them only where the reference solution's class of that name does.
JUDGING_METHODS = frozenset({
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__", "__int__",
    "__index__", "__complex__", "__abs__", "__round__", "__hash__", "__len__", "__array__",
    "__array_ufunc__", "__array_function__", "__array_interface__", "__instancecheck__", "__subclasscheck__",
    "__getattr__", "__getattribute__", "__class__",
})

_DUNDER = re.compile(r"^__\w+__$")


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (file, line), which rule, and what to do instead."""

    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message}"


class _Checker(ast.NodeVisitor):
    """Walks one module's syntax tree and collects violations."""

    def __init__(self, file: str, allowed_methods: dict[str, frozenset[str]] | None) -> None:
        self.file = file
        self.allowed_methods = allowed_methods
        self.modules: dict[str, str] = {}  # local alias -> module path ("np" -> "numpy")
        self.found: list[Violation] = []

    def add(self, node: ast.AST, rule: str, message: str) -> None:
        self.found.append(Violation(self.file, getattr(node, "lineno", 0), rule, message))

    # -- imports ---------------------------------------------------------------------------------

    def _check_module(self, node: ast.AST, module: str) -> bool:
        top = module.split(".")[0]
        if top in FORBIDDEN_MODULES:
            self.add(node, "forbidden-import", f"`import {module}`: {FORBIDDEN_MODULES[top]}")
            return False
        parent, _, leaf = module.rpartition(".")
        if parent and leaf in FORBIDDEN_MODULE_ATTRIBUTES.get(parent, ()):
            self.add(node, "forbidden-import", f"`import {module}` is not allowed in exercise code")
            return False
        return True

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self._check_module(node, alias.name):
                local = alias.asname or alias.name.split(".")[0]
                self.modules[local] = alias.name if alias.asname else alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.add(node, "relative-import", "import other exercises through `minitorch_dg`, not relatively")
            return
        module = node.module or ""
        if not self._check_module(node, module):
            return
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if alias.name == "*":
                continue
            if alias.name in FORBIDDEN_MODULE_ATTRIBUTES.get(module, ()) or alias.name in FORBIDDEN_ATTRIBUTES:
                self.add(node, "forbidden-name", f"`from {module} import {alias.name}` is not allowed in exercise code")
            elif self._check_module(node, full):
                self.modules[alias.asname or alias.name] = full

    # -- names and attributes ------------------------------------------------------------------

    def _dotted(self, node: ast.AST) -> str | None:
        """'numpy.testing.assert_allclose' for `np.testing.assert_allclose` when `np` is an imported module."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.modules:
            return ".".join([self.modules[node.id], *reversed(parts)])
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in FORBIDDEN_ATTRIBUTES:
            self.add(node, "forbidden-attribute", f"`.{node.attr}` reaches the interpreter's internals")
        else:
            dotted = self._dotted(node)
            if dotted:
                parent, _, leaf = dotted.rpartition(".")
                private_course = parent == "minitorch_dg.course" and leaf.startswith("_")
                if leaf in FORBIDDEN_MODULE_ATTRIBUTES.get(parent, ()) or private_course:
                    self.add(node, "forbidden-name", f"`{dotted}` is not allowed in exercise code")
                elif parent.split(".")[0] in FORBIDDEN_MODULES:
                    self.add(node, "forbidden-import", f"`{dotted}`: {FORBIDDEN_MODULES[parent.split('.')[0]]}")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("__builtins__", "__import__", "__loader__", "__spec__"):
            self.add(node, "forbidden-name", f"`{node.id}` reaches the interpreter's internals")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
            self.add(node, "forbidden-call", f"`{func.id}(...)`: {FORBIDDEN_CALLS[func.id]}")
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            if self._dotted(node.args[0]) is not None:
                self.add(node, "module-patch", f"`{func.id}` on a module changes it for the tests too")
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) > 1:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                if name.value in FORBIDDEN_ATTRIBUTES:
                    self.add(node, "forbidden-attribute", f"`{name.value}` reaches the interpreter's internals")
            elif self._dotted(node.args[0]) is not None:
                self.add(node, "dynamic-attribute", f"`{func.id}` on a module needs a constant attribute name")
        if isinstance(func, ast.Name) and func.id == "type" and len(node.args) == 3:
            self.add(node, "dynamic-class", "define classes with a `class` statement")
        self.generic_visit(node)

    # -- writes to shared state ----------------------------------------------------------------

    def _check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
            return
        if isinstance(target, ast.Starred):
            self._check_target(target.value)
            return
        base = target
        while isinstance(base, (ast.Attribute, ast.Subscript)):
            base = base.value
        if target is not base and isinstance(base, ast.Name) and base.id in self.modules:
            self.add(target, "module-patch",
                     f"assigning into the module `{self.modules[base.id]}` changes it for the tests too")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name in self.modules:
                self.add(node, "module-patch", f"`global {name}` rebinds an imported module")

    # -- classes ------------------------------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if self.allowed_methods is not None:
            allowed = self.allowed_methods.get(node.name, frozenset())
            for item in node.body:
                for name, where in _defined_names(item):
                    if name in JUDGING_METHODS and name not in allowed:
                        self.add(where, "special-method",
                                 f"`{node.name}.{name}` decides how results compare; the reference's "
                                 f"`{node.name}` does not define it, so yours may not either")
        self.generic_visit(node)


def _defined_names(item: ast.stmt) -> list[tuple[str, ast.AST]]:
    """Names that a statement in a class body binds (methods and plain assignments)."""
    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [(item.name, item)]
    if isinstance(item, ast.Assign):
        return [(t.id, item) for t in item.targets if isinstance(t, ast.Name)]
    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
        return [(item.target.id, item)]
    return []


def special_methods_of(source: str) -> dict[str, frozenset[str]]:
    """Class name -> the special methods it defines, for every top-level class of a (reference) module."""
    tree = ast.parse(source)
    out: dict[str, frozenset[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = frozenset(n for item in node.body for n, _ in _defined_names(item) if _DUNDER.match(n))
    return out


def check_source(source: str, file: str, reference: str | None = None) -> list[Violation]:
    """Every policy violation in `source` (shown as `file`). `reference`: the solution's source, if any.

    Without a reference the special-method rule is not applied (a student release has no solutions).
    """
    try:
        tree = ast.parse(source, filename=file)
    except SyntaxError as error:
        return [Violation(file, error.lineno or 0, "syntax-error", f"Python cannot parse this file: {error.msg}")]
    allowed = special_methods_of(reference) if reference is not None else None
    checker = _Checker(file, allowed)
    checker.visit(tree)
    return sorted(set(checker.found), key=lambda v: (v.line, v.rule, v.message))


def check_file(path: Path, shown_as: str, reference: Path | None = None) -> list[Violation]:
    """`check_source` on a file; an unreadable file is itself a violation."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [Violation(shown_as, 0, "unreadable", f"cannot read the file: {error}")]
    ref_text = None
    if reference is not None and reference.is_file():
        ref_text = reference.read_text(encoding="utf-8")
    return check_source(source, shown_as, ref_text)


def summary(violations: list[Violation], limit: int = 3) -> str:
    """One line for a report: the first violations and how many more there are."""
    shown = "; ".join(str(v) for v in violations[:limit])
    more = len(violations) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")
