"""The runtime guard in a fresh interpreter (an audit hook cannot be removed, so never in pytest's own):
what it refuses from exercise code, and what it lets libraries and the test code do."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.grader.conftest import ROOT

SCRIPT = """
import json, sys
sys.path.insert(0, {root!r})
from grader.guard import Guard, GuardError
seen = []
guard = Guard([{exercises!r}], [{protected!r}], [], seen.append, references=[{references!r}])
guard.install()
sys.path[:0] = [{exercises!r}, {library!r}]
outcome = {{}}
import student
for name in [n for n in dir(student) if n.startswith("try_")]:
    try:
        getattr(student, name)()
        outcome[name] = "allowed"
    except GuardError:
        outcome[name] = "refused"
print(json.dumps({{"outcome": outcome, "violations": seen}}))
"""

STUDENT = """
import helperlib

def try_open_protected_directly():
    open({secret!r}).read()

def try_open_reference_through_pathlib():
    helperlib.pathlib.Path({reference!r}).read_text()  # a stdlib module reached through a library

def try_library_reads_reference_for_us():
    helperlib.read({reference!r})  # like Numba reading and caching a reference prerequisite

def try_library_reads_protected_for_us():
    helperlib.read({secret!r})  # the tests stay closed, whoever asks

def try_import_a_forbidden_module():
    import inspect  # already loaded by the interpreter: still refused in exercise code

def try_own_file():
    open(__file__).read()
"""

LIBRARY = "import pathlib\n\ndef read(path):\n    with open(path) as handle:\n        return handle.read()\n"


def test_the_guard_tells_exercise_code_from_libraries(tmp_path: Path) -> None:
    exercises, library, protected, references = (tmp_path / n for n in ("ex", "lib", "tests", "solutions"))
    for folder in (exercises, library, protected, references):
        folder.mkdir()
    secret, reference = protected / "test_hidden.py", references / "ex01_ref.py"
    secret.write_text("SECRET = 1\n")
    reference.write_text("REFERENCE = 1\n")
    (library / "helperlib.py").write_text(LIBRARY)
    (exercises / "student.py").write_text(textwrap.dedent(STUDENT.format(secret=str(secret), reference=str(reference))))
    script = SCRIPT.format(root=str(ROOT), exercises=str(exercises), protected=str(protected),
                           references=str(references), library=str(library))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["outcome"] == {
        "try_open_protected_directly": "refused",
        "try_open_reference_through_pathlib": "refused",
        "try_library_reads_reference_for_us": "allowed",
        "try_library_reads_protected_for_us": "refused",
        "try_import_a_forbidden_module": "refused",
        "try_own_file": "allowed",
    }, result
    assert len(result["violations"]) == 4 and all("student.py:" in v for v in result["violations"])
