"""Mutants: deliberately wrong variants of a solution, each a realistic student bug that the tests must catch.

A mutant is a file `grader/mutants/<module>/<name>.py`:

    \"\"\"One line that says what the bug is.\"\"\"
    HINT = "What a student whose code fails like this should look at."
    PATCH = [("exact text in the solution", "the text that replaces it")]   # optional
    def some_function(...): ...                                             # optional overrides

The mutant's module is the solution's source with every PATCH applied (each `old` must occur exactly
once), followed by the mutant file itself, so that its definitions replace the solution's. It is written
to a real file before import, so that Numba's on-disk cache works for mutants too.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .paths import cache_dir

MUTANTS_DIR = Path(__file__).with_name("mutants")


class MutantError(ValueError):
    """A mutant file is malformed or no longer applies to its solution."""


@dataclass(frozen=True)
class Mutant:
    path: Path
    module_name: str  # e.g. ex01_operators
    name: str
    description: str
    hint: str
    patches: tuple[tuple[str, str], ...]

    @property
    def exercise(self) -> str:
        return self.module_name.split("_")[0]

    def source(self) -> str:
        """The mutated module's source text."""
        solution = solution_path(self.module_name).read_text(encoding="utf-8")
        for old, new in self.patches:
            count = solution.count(old)
            if count != 1:
                raise MutantError(
                    f"mutant {self.name}: its PATCH text occurs {count} times in solutions/{self.module_name}.py "
                    f"(must be exactly once): {old[:60]!r}"
                )
            solution = solution.replace(old, new)
        body = "\n".join(
            line for line in self.path.read_text(encoding="utf-8").splitlines()
            if not line.startswith("from __future__")
        )
        return f"{solution}\n\n# ---- mutant {self.name} (grader/mutants) ----\n{body}\n"

    @property
    def unique_name(self) -> str:
        """The name the mutated module is imported under (never exercises.* or solutions.*)."""
        return f"mtdg_mutant_{self.module_name}_{self.name}"

    def write(self) -> Path:
        """Write the mutated source to the cache folder (once per content) and return the file: a grading
        worker imports it from there (grader/worker.py), as `module()` does in-process."""
        text = self.source()
        digest = hashlib.sha1(text.encode()).hexdigest()[:10]
        folder = cache_dir() / "mutants" / f"{self.module_name}__{self.name}__{digest}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{self.module_name}.py"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        return target

    def module(self) -> ModuleType:
        """Write the mutated source to the cache folder and import it from there."""
        target = self.write()
        unique = self.unique_name
        spec = importlib.util.spec_from_file_location(unique, target)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        import sys

        sys.modules[unique] = module
        spec.loader.exec_module(module)
        return module


def solution_path(module_name: str) -> Path:
    """The reference's file, found in the solutions package's folders (without looking the module itself
    up, which a judging process refuses: grader/judge.py)."""
    spec = importlib.util.find_spec("solutions")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / f"{module_name}.py"
        if candidate.is_file():
            return candidate
    raise MutantError(f"mutants need the reference solutions; solutions/{module_name}.py is not installed")


def _literal(tree: ast.Module, name: str, default: object) -> object:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return default


def load_mutant(path: str | Path) -> Mutant:
    """Parse a mutant file (it is not executed here)."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise MutantError(f"{file}: {error}") from None
    description = (ast.get_docstring(tree) or "").strip().splitlines()
    patches = _literal(tree, "PATCH", [])
    if not isinstance(patches, list) or not all(isinstance(p, tuple) and len(p) == 2 for p in patches):
        raise MutantError(f"{file}: PATCH must be a list of (old, new) string pairs")
    return Mutant(
        path=file,
        module_name=file.parent.name,
        name=file.stem,
        description=description[0] if description else file.stem,
        hint=str(_literal(tree, "HINT", "")),
        patches=tuple(patches),  # type: ignore[arg-type]
    )


def mutants_for(module_name: str) -> list[Mutant]:
    """All mutants of one exercise module, sorted by name."""
    folder = MUTANTS_DIR / module_name
    if not folder.is_dir():
        return []
    return [load_mutant(p) for p in sorted(folder.glob("*.py")) if re.match(r"^[a-z0-9_]+\.py$", p.name)]
