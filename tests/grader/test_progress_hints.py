"""Progress, hints and "looks like" diagnoses: unit checks, and a student's loop on the first exercise
(stub -> a known bug -> complete), graded with `--submission` and a private state folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import hints
from grader.catalog import load
from grader.mutants import mutants_for
from tests.grader.conftest import ROOT, Mtdg, make_submission

CATALOG = load()
EX01 = CATALOG.get("ex01")


def test_handout_hints_are_the_subsections_of_the_hints_section(tmp_path: Path) -> None:
    handout = tmp_path / "h.md"
    handout.write_text("# t\n\n## Part\n### not_a_hint\nx\n\n## Hints\n\n### relu\nA.\n\n### `relu_back`\nB\nC.\n\n"
                       "## After\n### later\nD\n")
    assert hints.handout_hints(handout) == {"relu": "A.", "relu_back": "B\nC."}
    assert hints.handout_hints(tmp_path / "missing.md") == {}


def test_every_handout_of_the_catalog_has_hints() -> None:
    for ex in CATALOG.exercises:
        if (ROOT / ex.handout).is_file():
            assert hints.handout_hints(ROOT / ex.handout), f"{ex.handout} has no `## Hints` with `### name` entries"


@pytest.mark.parametrize(
    "test, message, expected",
    [
        ("test_relu_back_at_zero_is_zero_like_torch", "", ["relu_back"]),  # the longer name wins over relu
        ("test_a_10000_node_chain_backpropagates", "", ["backpropagate"]),  # a plural still matches
        ("test_diamonds_and_shared_subexpressions", "", []),  # exp is not a prefix of subexpressions
        ("test_unary_values[sigmoid]", "", ["sigmoid"]),  # the parameter of a hidden test
        ("test_binary_arithmetic", "mul(x, y): expected 6, got 5", ["mul"]),  # a name in the message
        ("test_binary_arithmetic", "`Exp` backward is wrong", ["Exp"]),
    ],
)
def test_failures_map_to_the_hints_of_their_functions(test: str, message: str, expected: list[str]) -> None:
    available = {name: f"hint for {name}" for name in ("relu", "relu_back", "backpropagate", "Exp", "sigmoid", "mul")}
    assert list(hints.hints_for_failures(available, [(test, message)])) == expected


def test_diagnose_names_the_closest_fingerprint(tmp_path: Path) -> None:
    digest = hints.public_tests_digest(EX01)
    path = tmp_path / "fp.json"
    path.write_text(json.dumps({"ex01": {"public_digest": digest, "mutants": {
        "a": {"description": "bug A", "hint": "look at A", "fails": ["t1", "t2"]},
        "b": {"description": "bug B", "hint": "", "fails": ["t3"]},
    }}}))
    found = hints.diagnose(EX01, ["t1", "t2"], path)
    assert [str(d) for d in found] == ["looks like: bug A — look at A"]
    assert [str(d) for d in hints.diagnose(EX01, ["t1", "t2", "t9"], path)] == ["looks like: bug A — look at A"]
    assert hints.diagnose(EX01, ["t1", "t4"], path) == []  # A's t2 did not fail: not A
    assert hints.diagnose(EX01, ["t3", "t4", "t5"], path) == []  # B explains only a third of these
    path.write_text(json.dumps({"ex01": {"public_digest": "stale", "mutants": {"a": {"fails": ["t1"]}}}}))
    assert hints.diagnose(EX01, ["t1"], path) == [], "fingerprints of other public tests must not be used"


@pytest.mark.parametrize("exercise", [e for e in CATALOG.exercises if mutants_for(e.module)], ids=lambda e: e.id)
def test_committed_fingerprints_cover_every_mutant(exercise) -> None:  # type: ignore[no-untyped-def]
    """Stale fingerprints are a failure, not a skip: without them `mtdg grade` silently stops saying which
    known bug a student's failures look like, and `mtdg verify` loses its short first run per mutant."""
    entry = hints.load_fingerprints(hints.FINGERPRINTS_FILE).get(exercise.id)
    if entry is None or entry.get("public_digest") != hints.public_tests_digest(exercise):
        pytest.fail(f"{exercise.id}: fingerprints are missing or were measured with other public tests; "
                    f"run `mtdg verify {exercise.id} --fingerprints` and commit grader/fingerprints.json")
    current = {m.name for m in mutants_for(exercise.module)}
    if set(entry["mutants"]) != current:
        pytest.fail(f"{exercise.id}: the mutants changed since the fingerprints were measured "
                    f"({sorted(current ^ set(entry['mutants']))}); run `mtdg verify {exercise.id} --fingerprints`")
    for name, mutant in entry["mutants"].items():
        assert all(isinstance(test, str) and test.startswith("test_") for test in mutant["fails"]), name
        assert mutant["description"] and name in current


def _fingerprints_env(tmp_path: Path) -> dict[str, str]:
    """Use the committed fingerprints when they are fresh, else measure ex01's relu mutant into a temp file."""
    if hints.fingerprints_for(EX01):
        return {}
    from grader.verify import fingerprint

    mutant = next(m for m in mutants_for(EX01.module) if m.name == "relu_back_at_zero")
    path = tmp_path / "fingerprints.json"
    hints.write_fingerprints({"ex01": {"public_digest": hints.public_tests_digest(EX01), "mutants": {
        mutant.name: {"description": mutant.description, "hint": mutant.hint,
                      "fails": fingerprint(EX01, CATALOG, mutant, 0)}}}}, path)
    return {"MTDG_FINGERPRINTS": str(path)}


@pytest.mark.slow
def test_a_student_loop_on_ex01_shows_progress_hints_and_the_bug_it_looks_like(mtdg: Mtdg, tmp_path: Path) -> None:
    env = {"MTDG_STATE_DIR": str(tmp_path / "state"), **_fingerprints_env(tmp_path)}
    sub = tmp_path / "sub"

    def check(source: str) -> str:
        make_submission(sub, ex01_operators=source)
        return mtdg("check", "ex01", "--submission", str(sub), env=env).stdout

    # 1. the untouched stub
    out = check((ROOT / "exercises" / "ex01_operators.py").read_text())
    assert "not started yet" in out
    progress = mtdg("progress", env=env).stdout
    assert "not started" in progress and "next: ex01" in progress
    assert "not started yet" in mtdg("hint", "ex01", env=env).stdout

    # 2. a known bug: relu_back uses x >= 0
    buggy = next(m for m in mutants_for("ex01_operators") if m.name == "relu_back_at_zero")
    out = check(buggy.source())
    assert "looks like: relu_back uses x >= 0" in out and buggy.hint in out, out
    assert "mtdg hint ex01" in out
    progress = mtdg("progress", env=env).stdout
    row = next(line for line in progress.splitlines() if line.startswith("ex01"))
    assert "failing" in row and "check" in row and "next: ex01" in progress
    hint = mtdg("hint", "ex01", env=env).stdout
    assert "### relu_back" in hint and "x >= 0" in hint and "looks like" in hint
    assert "### sigmoid" not in hint, "only the hints of what failed"

    # 3. complete: public, then hidden
    out = check("solution")
    assert "all" in out and "public tests pass" in out
    progress = mtdg("progress", env=env).stdout
    assert "passing public" in progress and "next: ex02" in progress
    assert "Nothing failed" in mtdg("hint", "ex01", env=env).stdout
    graded = mtdg("grade", "ex01", "--submission", str(sub), env=env)
    assert graded.returncode == 0, graded.stdout
    row = next(line for line in mtdg("progress", env=env).stdout.splitlines() if line.startswith("ex01"))
    full = sum(s.points or 0 for s in EX01.test_sets())
    assert "passing hidden" in row and f"{full:g}/{full:g}" in row, row
