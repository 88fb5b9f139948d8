"""Red team against the worker's sandbox (grader/sandbox.py; issue #14, phase 2): the grader runs as root.

The student controls only exercises/ex01_operators.py. Each attack first gets past everything the worker
refuses for itself inside its process (phase 1): it reads, writes, forks and signals through libc with ctypes,
so Python's audit hook never sees it, and it drops the import refusal from `sys.meta_path`. What must stop it
is the operating system: the worker runs as a user of its own, with the course's secrets closed to others.

Every attack would score if it worked (a readable reference is executed and answers every test; a process that
outlives grading rewrites the results file with full marks). Each runs through `mtdg grade` on this checkout
and through the Gradescope bundle in a re-created /autograder layout, and must score 0 there, say in its
(untrusted, truncated) message what the system refused, and leave nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from grader import sandbox
from tests.grader.conftest import ROOT, Mtdg
from tests.grader.test_autograder import bundle, gradescope_layout, run_autograder  # noqa: F401 (fixture)
from tests.grader.test_redteam_judge import ATTACKS, EVERY_FUNCTION_CHEATS, _grade

pytestmark = pytest.mark.skipif(
    not sandbox.wanted(), reason="the worker's sandbox needs root (it switches users); these attacks run in CI, as root")

STUB = (ROOT / "exercises" / "ex01_operators.py").read_text(encoding="utf-8")

# Shared by every attack: the course root as the worker can find it, and libc calls that the audit hook never sees.
PRELUDE = """
import ctypes, os, sys, time
import minitorch_dg
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(minitorch_dg.__file__)))
_libc = ctypes.CDLL(None, use_errno=True)
_REPORT = []
def _errno():
    return os.strerror(ctypes.get_errno()).replace(" ", "-")
def _read(path):
    fd = _libc.open(os.fsencode(path), os.O_RDONLY)
    if fd < 0:
        return None, _errno()
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace"), "READ"
"""

# Appended last: each public function answers from the reference when an attack got it, else reports.
DISPATCH = """
_REFERENCE = {}
def _make_cheat(name):
    def _cheat(*args, **kwargs):
        if name in _REFERENCE:
            return _REFERENCE[name](*args, **kwargs)
        raise RuntimeError("attack: " + " ".join(_REPORT))
    return _cheat
for _name, _value in list(globals().items()):
    if not _name.startswith("_") and callable(_value) and getattr(_value, "__module__", "") == __name__:
        globals()[_name] = _make_cheat(_name)
_take_reference()
"""

# Families 1, 6 and 7: the graded reference, torch, the hidden tests, .git, the judge's environment and command line.
READS = """
def _take_reference():
    text, how = _read(os.path.join(_ROOT, "solutions", "ex01_operators.py"))
    _REPORT.append("reference:" + how)
    if text is not None:
        namespace = {"__name__": "stolen"}
        exec(compile(text, "stolen", "exec"), namespace)
        _REFERENCE.update({k: v for k, v in namespace.items() if callable(v)})
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_RefusedImports"]
    try:
        import torch
        _REPORT.append("torch:" + ("USABLE" if hasattr(torch, "tensor") else "empty"))
    except Exception as error:
        _REPORT.append("torch:" + type(error).__name__)
    for label, path in (("hidden", "tests/hidden/test_ex01_operators.py"), ("public", "tests/exercises/test_ex01_operators.py"),
                        ("git", ".git/HEAD"), ("grader", "grader/judge.py"), ("fingerprints", "grader/fingerprints.json")):
        _REPORT.append(label + ":" + _read(os.path.join(_ROOT, path))[1])
    environ, how = _read(f"/proc/{os.getppid()}/environ")
    _REPORT.append("environ:" + how + ("-SEED" if environ and "MTDG_SEED" in environ else ""))
    cmdline, how = _read(f"/proc/{os.getppid()}/cmdline")
    _REPORT.append("cmdline:" + ("SEED" if cmdline and "seed" in cmdline else "clean"))
"""

# Family 4: writing where later runs read (the tests' conftest, a .pth in site-packages, the framework, the stub).
WRITES = """
import site
_TARGETS = {"conftest": os.path.join(_ROOT, "tests", "conftest.py"),
            "pth": os.path.join(site.getsitepackages()[0], "mtdg_redteam.pth"),
            "framework": os.path.join(_ROOT, "minitorch_dg", "__init__.py"),
            "stub": os.path.join(_ROOT, "exercises", "ex01_operators.py"),
            "results": os.path.join(os.path.dirname(_ROOT), "results", "results.json")}
def _take_reference():
    for label, path in _TARGETS.items():
        fd = _libc.open(os.fsencode(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if fd < 0:
            _REPORT.append(label + ":" + _errno())
            continue
        os.write(fd, b"\\nimport sys  # mtdg red team\\n")
        os.close(fd)
        _REPORT.append(label + ":WRITTEN")
"""

# Families 5 and 2: processes that leave the worker's group and session (a libc double fork with setsid, and a
# shell loop under setsid(1)) and outlive the judge, one meaning to rewrite the results; signals and ptrace
# against the judge.
PROCESSES = """
def _take_reference():
    judge = os.getppid()
    if _libc.fork() == 0:
        _libc.setsid()
        if _libc.fork() == 0:
            while True:
                with open(HEARTBEAT, "w") as beat:
                    beat.write(str(time.time()))
                if not os.path.exists(f"/proc/{judge}"):
                    time.sleep(0.3)
                    try:
                        with open(RESULTS, "w") as results:
                            results.write('{"score": 1000, "tests": [], "output": "rewritten"}')
                    except OSError:
                        pass
                    with open(MARKER, "w") as marker:
                        marker.write("outlived the judge")
                    os._exit(0)
                time.sleep(0.1)
        os._exit(0)
    # A second way out: a shell started through libc's system(), in a session of its own via setsid(1).
    _libc.system(("setsid sh -c 'while :; do date > " + HEARTBEAT2 + "; sleep 0.1; done' >/dev/null 2>&1 &").encode())
    _REPORT.append("kill:" + ("SENT" if _libc.kill(judge, 0) == 0 else _errno()))
    _REPORT.append("ptrace:" + ("ATTACHED" if _libc.ptrace(16, judge, 0, 0) == 0 else _errno()))
    _REPORT.append("mem:" + _read(f"/proc/{judge}/mem")[1])
"""


def _attack(body: str, **constants: str) -> str:
    header = "".join(f"{name} = {value!r}\n" for name, value in constants.items())
    return STUB + PRELUDE + header + body + DISPATCH


def _report(tests: list[dict[str, Any]], key: str = "message") -> str:
    texts = [str(t.get(key, "")) for t in tests]
    found = [t for t in texts if "attack: " in t]
    assert found, f"no test reported the attack: {texts[:3]}"
    return found[0].split("attack: ", 1)[1].split("\n")[0]


def _by_mtdg(mtdg: Mtdg, tmp_path: Path, source: str) -> tuple[float, str]:
    ex01 = _grade(mtdg, tmp_path, source)  # `mtdg grade ex01 --no-policy`, its report in tmp_path / "r.json"
    passed = [t["id"] for t in ex01["tests"] if t["outcome"] == "passed"]
    assert not passed, f"the attack passed {passed}"
    return ex01["points"], _report(ex01["tests"])


def _gradescope_doc(bundle_zip: Path, tmp_path: Path, source: str) -> tuple[dict[str, Any], Path]:
    """results.json of the bundle grading `source` as ex01, and the /autograder root it used."""
    root = gradescope_layout(tmp_path, bundle_zip)
    # As `mtdg autograder --no-policy` writes it: the static policy would refuse these files before they ran.
    (root / "source" / "autograder.json").write_text('{"exercises": ["ex01"], "static_policy": false}')
    (root / "submission" / "ex01_operators.py").write_text(source, encoding="utf-8")
    return run_autograder(root), root


def _by_gradescope(bundle_zip: Path, tmp_path: Path, source: str) -> tuple[float, str, Path]:
    doc, root = _gradescope_doc(bundle_zip, tmp_path, source)
    return doc["score"], _report(doc["tests"], "output"), root


def _fields(report: str) -> dict[str, str]:
    """'a:x b:y (at file:line in f)' -> {'a': 'x', 'b': 'y'} (the worker adds where the exception was raised)."""
    return dict(item.split(":", 1) for item in report.split(" (at ")[0].split())


@pytest.fixture(scope="module", autouse=True)
def _sandbox_works() -> None:
    status = sandbox.status(ROOT)
    assert status == "", f"running as root, the sandbox must work here: {status}"


READ_REFUSED = {"reference": "Permission-denied", "hidden": "Permission-denied", "public": "Permission-denied",
                "git": "Permission-denied", "grader": "Permission-denied", "fingerprints": "Permission-denied",
                "environ": "Permission-denied", "cmdline": "clean"}


def test_reading_the_reference_tests_git_and_the_judge_is_refused(mtdg: Mtdg, tmp_path: Path, bundle: Path) -> None:
    points, report = _by_mtdg(mtdg, tmp_path, _attack(READS))
    fields = _fields(report)
    assert points == 0, report
    assert {k: fields.get(k) for k in READ_REFUSED} == READ_REFUSED, report
    assert fields["torch"] != "USABLE", report
    score, report, _ = _by_gradescope(bundle, tmp_path / "gs", _attack(READS))
    fields = _fields(report)
    assert score == 0, report
    # A bundle has no .git, no references and no fingerprints: those reads fail either way.
    assert not any(fields.get(k) == "READ" for k in READ_REFUSED) and fields["torch"] != "USABLE", report
    present = ("hidden", "public", "grader", "environ")
    assert {k: fields.get(k) for k in present} == {k: READ_REFUSED[k] for k in present}, report
    assert fields["cmdline"] == "clean", report


def test_ex14s_worker_reads_torch_but_not_its_reference_the_tests_or_git(mtdg: Mtdg, tmp_path: Path) -> None:
    """ex14's worker is the one whose user may read torch (its engine, through torch's group): the same reads
    from its stub find torch usable and everything else as closed as for ex01's."""
    attack = (ROOT / "exercises" / "ex14_distributed.py").read_text(encoding="utf-8") + PRELUDE + \
        READS.replace("ex01_operators", "ex14_distributed") + DISPATCH
    ex14 = _grade(mtdg, tmp_path, attack, exercise="ex14")
    passed = [t["id"] for t in ex14["tests"] if t["outcome"] == "passed"]
    report = _report(ex14["tests"])
    fields = _fields(report)
    assert ex14["points"] == 0 and not passed, f"the attack passed {passed}: {report}"
    assert {k: fields.get(k) for k in READ_REFUSED} == READ_REFUSED, report
    assert fields["torch"] == "USABLE", report


WRITE_TARGETS = {"conftest": ROOT / "tests" / "conftest.py", "framework": ROOT / "minitorch_dg" / "__init__.py",
                 "stub": ROOT / "exercises" / "ex01_operators.py"}


def test_writing_where_later_runs_read_is_refused(mtdg: Mtdg, tmp_path: Path, bundle: Path) -> None:
    import site

    pth = Path(site.getsitepackages()[0]) / "mtdg_redteam.pth"
    before = {name: path.read_bytes() for name, path in WRITE_TARGETS.items()}
    try:
        points, report = _by_mtdg(mtdg, tmp_path, _attack(WRITES))
    finally:  # should the sandbox fail, leave the checkout as it was
        changed = [name for name, path in WRITE_TARGETS.items() if path.read_bytes() != before[name]]
        for name in changed:
            WRITE_TARGETS[name].write_bytes(before[name])
        planted = pth.exists()
        pth.unlink(missing_ok=True)
    assert not changed and not planted, f"written: {changed}, .pth planted: {planted}"
    fields = _fields(report)
    assert points == 0, report
    assert all(fields[k] == "Permission-denied" for k in ("conftest", "pth", "framework", "stub")), report
    score, report, root = _by_gradescope(bundle, tmp_path / "gs", _attack(WRITES))
    fields = _fields(report)
    assert score == 0, report
    assert all(fields[k] == "Permission-denied" for k in ("conftest", "pth", "framework", "stub", "results")), report
    assert b"red team" not in (root / "results" / "results.json").read_bytes()
    assert not pth.exists()


def _processes_attack(results: Path) -> tuple[str, Path, Path]:
    """The attack's source, and where its escaped processes leave heartbeats (a folder the worker's user can
    reach and write, so that the test sees they ran) and a marker once one outlived the judge."""
    shared = Path(tempfile.mkdtemp(prefix="mtdg-redteam-"))
    shared.chmod(0o777)
    heartbeat, marker = shared / "heartbeat", shared / "marker"
    source = _attack(PROCESSES, HEARTBEAT=str(heartbeat), HEARTBEAT2=str(shared / "heartbeat2"), MARKER=str(marker),
                     RESULTS=str(results))
    return source, heartbeat, marker


def _assert_did_not_outlive(heartbeat: Path, marker: Path) -> None:
    beats = [heartbeat, heartbeat.parent / "heartbeat2"]  # the forked Python and the setsid shell
    assert all(b.exists() for b in beats), "an escaped process never ran: the attack proves nothing"
    last = [b.stat().st_mtime for b in beats]
    time.sleep(1.5)
    assert [b.stat().st_mtime for b in beats] == last, "a process of the worker's user still runs after grading"
    assert not marker.exists(), marker.read_text()
    shutil.rmtree(heartbeat.parent, ignore_errors=True)


def test_a_process_that_escapes_the_worker_dies_with_it_and_cannot_touch_the_judge(
        mtdg: Mtdg, tmp_path: Path, bundle: Path) -> None:
    out = tmp_path / "r.json"  # where _grade has `mtdg grade` write its report
    source, heartbeat, marker = _processes_attack(out)
    points, report = _by_mtdg(mtdg, tmp_path, source)
    fields = _fields(report)
    assert points == 0, report
    assert fields == {"kill": "Operation-not-permitted", "ptrace": "Operation-not-permitted",
                      "mem": "Permission-denied"}, report
    _assert_did_not_outlive(heartbeat, marker)
    assert json.loads(out.read_text())["exercises"][0]["points"] == 0

    gs = tmp_path / "gs"
    results = gs / "autograder" / "results" / "results.json"
    source, heartbeat, marker = _processes_attack(results)
    score, report, root = _by_gradescope(bundle, gs, source)
    assert score == 0, report
    _assert_did_not_outlive(heartbeat, marker)
    assert json.loads(results.read_text())["score"] == 0


# Families 2, 3, 7 and 8 as the worker meets them whoever runs the grader (test_redteam_judge.py grades them with
# `mtdg grade`): here through the Gradescope bundle, as root.


@pytest.mark.parametrize("attack", ["frames", "gc", "environment", "forged results", "lying objects"])
def test_the_in_process_attacks_score_zero_through_gradescope_too(attack: str, tmp_path: Path, bundle: Path) -> None:
    doc, _ = _gradescope_doc(bundle, tmp_path, STUB + ATTACKS[attack] + EVERY_FUNCTION_CHEATS)
    scored = [t["name"] for t in doc["tests"] if t.get("score", 0) > 0]
    assert doc["score"] == 0 and not scored, f"{attack}: scored {doc['score']}: {scored}"
