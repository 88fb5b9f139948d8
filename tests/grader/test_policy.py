"""The static policy: each rule fires on the code it is about, names the line, and never on honest code."""

from __future__ import annotations


import pytest

from grader.policy import check_source
from tests.grader.conftest import ROOT

REFERENCE_CLASS = "class Scalar:\n    def __eq__(self, other):\n        return 1.0\n"

# snippet -> the rule it must trigger (on its last line)
CASES = {
    "import torch": "forbidden-import",
    "from solutions import ex01_operators": "forbidden-import",
    "import tests.hidden.test_ex01_operators": "forbidden-import",
    "from _pytest import runner": "forbidden-import",
    "import numpy as np\nnp.testing.assert_allclose(1, 1)": "forbidden-name",
    "import importlib": "forbidden-import",
    "from unittest.mock import ANY": "forbidden-import",
    "import os\nos._exit(0)": "forbidden-name",
    "import os as o\no.fork()": "forbidden-name",
    "from os import fork": "forbidden-name",
    "import os\nos.environ['MTDG_SOURCE'] = 'solutions'": "forbidden-name",
    "import sys\nsys.exit(0)": "forbidden-name",
    "import sys\nsys.modules['x'] = None": "module-patch",
    "import math\nmath.pi = 3": "module-patch",
    "import numpy\nsetattr(numpy, 'abs', len)": "module-patch",
    "import numpy\ngetattr(numpy, 'te' + 'sting')": "dynamic-attribute",
    "__builtins__['len'] = max": "forbidden-name",
    "f = (lambda: 0).__globals__": "forbidden-attribute",
    "def f(e):\n    return e.__traceback__.tb_frame.f_back": "forbidden-attribute",
    "eval('1')": "forbidden-call",
    "text = open('tests/hidden/test_ex01_operators.py').read()": "forbidden-call",
    "exit()": "forbidden-call",
    "X = type('X', (), {'__eq__': lambda s, o: True})": "dynamic-class",
    "class Yes(float):\n    def __eq__(self, other): return True": "special-method",
    "class Scalar:\n    __bool__ = lambda self: True": "special-method",
    "from minitorch_dg import course\ncourse.using('solutions')": "forbidden-name",
    "from . import ex02_autodiff": "relative-import",
    "def broken(:\n    pass": "syntax-error",
}


@pytest.mark.parametrize("snippet", list(CASES))
def test_each_rule_fires_with_file_and_line(snippet: str) -> None:
    found = check_source(snippet + "\n", "exercises/ex01_operators.py", REFERENCE_CLASS)
    rules = {v.rule for v in found}
    assert CASES[snippet] in rules, f"{snippet!r} gave {[str(v) for v in found]}"
    assert all(str(v).startswith("exercises/ex01_operators.py:") for v in found)
    assert any(v.line == snippet.count("\n") + 1 or v.rule == "syntax-error" for v in found)


def test_what_the_reference_defines_is_allowed_and_honest_code_passes() -> None:
    honest = (
        "from __future__ import annotations\nimport math\nimport numpy as np\nimport numba\n"
        "from minitorch_dg import course\nops = course.ExerciseProxy('ex01')\n"
        "class Scalar:\n    def __eq__(self, other):\n        return 1.0\n    def __repr__(self):\n        return 'S'\n"
        "def f(x):\n    y = np.zeros(3)\n    y[0] = math.exp(x)\n    return getattr(ops, 'mul')(x, x)\n"
    )
    assert check_source(honest, "x.py", REFERENCE_CLASS) == []


def test_without_a_reference_special_methods_are_not_judged() -> None:
    assert check_source("class Yes(float):\n    def __eq__(self, o):\n        return True\n", "x.py", None) == []


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_every_reference_and_stub_of_the_course_passes_the_policy(folder: str) -> None:
    for path in sorted((ROOT / folder).glob("ex*.py")):
        reference = ROOT / "solutions" / path.name
        found = check_source(path.read_text(), f"{folder}/{path.name}",
                             reference.read_text() if reference.is_file() else None)
        assert found == [], f"the policy refuses honest code: {[str(v) for v in found]}"


def test_the_mutants_pass_the_policy_so_verify_tests_the_tests() -> None:
    from grader.mutants import MutantError, load_mutant

    for path in sorted((ROOT / "grader" / "mutants").glob("*/*.py")):
        mutant = load_mutant(path)
        try:
            source = mutant.source()
        except MutantError:
            continue  # a stale mutant is verify's business
        found = check_source(source, f"mutant {mutant.name}", None)
        assert found == [], [str(v) for v in found]
