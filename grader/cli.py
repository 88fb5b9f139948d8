"""`mtdg`: the command line of the course.

    mtdg list                     the exercises, in graded order, with points and prerequisites
    mtdg check EX                 public tests of EX on your code (reference for everything else)
    mtdg grade [EX ...]           public + hidden tests, a score table, result files
    mtdg progress                 where you stand and what to do next
    mtdg hint EX                  the handout's hints for the tests that failed last time
    mtdg verify [EX ...]          instructors: solutions pass, stubs fail, every mutant is caught
    mtdg release DIR              instructors: write the student repository
    mtdg autograder OUT.zip       instructors: build the Gradescope autograder bundle
    mtdg classroom [DIR]          instructors: write the GitHub Classroom workflow
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from minitorch_dg import course
from minitorch_dg.cache_root import cache_root
from minitorch_dg.errors import CourseError

from . import classroom, formats, hints, report, sandbox, state
from .autograder import AutograderError, build_bundle
from .catalog import Catalog, CatalogError, Exercise, load
from .grading import ExerciseReport, grade_exercise, source_for
from .paths import project_root
from .release import ReleaseError, build_release
from .verify import fingerprint_exercise, verify_exercise


TORCH_CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"  # the README's install line: torch's CPU build


def _print(text: str = "") -> None:
    """Print a line; above a progress bar when one is drawn (tqdm moves the bar down)."""
    tqdm.write(text, file=sys.stdout)
    sys.stdout.flush()


def progress(exercises: Sequence[Exercise], what: str) -> "tqdm[Exercise]":
    """A per-exercise progress bar with elapsed time (tqdm, on stderr) for runs over several exercises;
    none for one exercise, or when stderr is not a terminal (a log, CI, a test)."""
    return tqdm(exercises, desc=what, unit="exercise", file=sys.stderr, leave=False, dynamic_ncols=True,
                disable=True if len(exercises) < 2 else None,
                bar_format="{desc} {n_fmt}/{total_fmt} exercises |{bar}| {elapsed} elapsed, ~{remaining} left")


def _banner(catalog: Catalog) -> None:
    where = "instructor copy (solutions available)" if course.solutions_available() else "student copy"
    _print(dim_line(f"{catalog.title} · {where} · {sys.executable}"))


HONOUR_NOTE = (
    "Note (shown once on this machine): mtdg is not running as root here, so nothing but your own restraint keeps "
    "your exercise code away from the tests' files and the references: grading on your own machine is the honour "
    "system, and the hidden tests draw fresh inputs on every run. docs/students.md, 'The rules your code is held "
    "to', says what is checked where."
)


def _running_as_root() -> bool:
    return getattr(os, "geteuid", lambda: -1)() == 0


def honour_system_note() -> None:
    """Say once per machine (a stamp in the course's cache folder) that, not running as root, the grader cannot
    hide files from exercise code. As root (Gradescope, CI) the workers are sandboxed (grader/sandbox.py) and
    nothing is said, unless the sandbox cannot work here: then why, every time. A cache that cannot be
    written means the note comes again next time, which is harmless."""
    if _running_as_root():
        reason = sandbox.status(project_root())
        if reason:
            _print(dim_line(f"Note: mtdg runs as root, but {reason}: exercise workers run as root, and file "
                            "access is not enforced, as on a learner's own machine."))
        return
    stamp = cache_root() / "notices" / "honour-system"
    if stamp.exists():
        return
    _print(dim_line(HONOUR_NOTE))
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text("mtdg showed the honour-system note on this machine\n")
    except OSError:
        pass


def dim_line(text: str) -> str:
    return report.dim(text)


# ---------------------------------------------------------------------------------------------------
# list / progress
# ---------------------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, catalog: Catalog) -> int:
    rows = []
    for ex in catalog.exercises:
        split = " + ".join(report.fmt_points(float(s.points or 0)) for s in (ex.public, ex.hidden) if s is not None)
        points = report.fmt_points(ex.points)
        if ex.optional is not None:
            points += f" (+{report.fmt_points(ex.optional_points)} optional)"
        rows.append((ex.id, ex.title, points, split, ",".join(ex.requires) or "-", ex.handout))
    _print(report.render(("id", "title", "points", "public + hidden", "requires", "handout"), rows))
    total = sum(ex.points for ex in catalog.exercises)
    bonus = sum(ex.optional_points for ex in catalog.exercises)
    _print(f"total {report.fmt_points(total)} points" + (f", plus {report.fmt_points(bonus)} for optional parts" if bonus else ""))
    _print()
    _print("`mtdg check EX` runs the public tests (and an optional part's) and scores their share; "
           "`mtdg grade EX` adds the hidden tests.")
    _print(f"exercise code is served by the course: {course.describe()} when you run Python yourself;")
    _print("`mtdg check EX` always grades your exercises/ module for EX.")
    return 0


def _next_exercise(catalog: Catalog, data: dict[str, dict[str, object]]) -> Exercise | None:
    """The first exercise, in graded order, whose public tests did not all pass in its last run."""
    for ex in catalog.exercises:
        if data.get(ex.id, {}).get("status") not in ("passing public", "passing hidden"):
            return ex
    return None


def _progress_row(ex: Exercise, entry: dict[str, object]) -> tuple[str, ...]:
    pub, hid = entry.get("public"), entry.get("hidden")
    points = entry.get("points")
    maximum = ex.points
    return (
        ex.id, ex.title, str(entry.get("status", "not started")),
        f"{pub[0]}/{pub[1]}" if isinstance(pub, list) else "-",
        f"{hid[0]}/{hid[1]}" if isinstance(hid, list) else "-",
        f"{report.fmt_points(float(points))}/{report.fmt_points(maximum)}" if isinstance(points, (int, float))
        else f"-/{report.fmt_points(maximum)}",
        f"{entry.get('when', '')} {entry.get('command', '')}".strip() or "never",
    )


def cmd_progress(args: argparse.Namespace, catalog: Catalog) -> int:
    data = state.load()
    rows = [_progress_row(ex, data.get(ex.id, {})) for ex in catalog.exercises]
    total = sum(float(data.get(ex.id, {}).get("points", 0) or 0) for ex in catalog.exercises)
    maximum = sum(ex.points for ex in catalog.exercises)
    _print(report.render(("id", "title", "status", "public", "hidden", "points", "last run"), rows,
                         ("total", "", "", "", "", f"{report.fmt_points(total)}/{report.fmt_points(maximum)}", "")))
    _print()
    for ex in catalog.exercises:
        entry = data.get(ex.id, {})
        if entry.get("status") == "failing":
            looks = "; ".join(entry.get("looks_like", []) or [])
            _print(f"{ex.id} is failing: `mtdg hint {ex.id}` shows the hints for what failed" + (f" ({looks})" if looks else ""))
    nxt = _next_exercise(catalog, data)
    if nxt is None:
        ungraded = [ex.id for ex in catalog.exercises if data.get(ex.id, {}).get("status") != "passing hidden"]
        if ungraded:
            _print(f"Every exercise passes its public tests. Next: `mtdg grade {' '.join(ungraded)}` for the hidden tests.")
        else:
            _print("Every exercise passes its public and hidden tests. Well done.")
    else:
        _print(f"next: {nxt.id} — {nxt.title}. Read {nxt.handout}, then `mtdg check {nxt.id}`.")
    return 0


# ---------------------------------------------------------------------------------------------------
# hint
# ---------------------------------------------------------------------------------------------------


def cmd_hint(args: argparse.Namespace, catalog: Catalog) -> int:
    ex = catalog.get(args.exercise)
    entry = state.load().get(ex.id)
    handout = project_root() / ex.handout
    available = hints.handout_hints(handout)
    if not entry:
        _print(f"{ex.id} has not been run yet: `mtdg check {ex.id}` first; then `mtdg hint {ex.id}` shows the "
               "hints for what failed.")
        return 1
    failed = [f for f in entry.get("failed", []) if isinstance(f, dict)]
    when = f"your last run ({entry.get('command', 'check')}, {entry.get('when', '?')})"
    if entry.get("status") == "not started":
        _print(f"{ex.id} is not started yet: read {ex.handout} and replace the stubs in exercises/{ex.module}.py.")
        if available:
            _print(f"The handout has hints for: {', '.join(available)}.")
        return 0
    if not failed and not entry.get("reason"):
        _print(f"Nothing failed in {when}. " + (f"Next: `mtdg grade {ex.id}`." if entry.get("command") == "check" else ""))
        return 0
    again = f"then run `mtdg {entry.get('command', 'check')} {ex.id}` again"
    if entry.get("import_failure"):  # no test ran any of its code: the handout's hints would be guesses
        _print(f"{ex.id}: {ex.module}.py does not import: {entry['import_failure']}")
        _print(f"No hint applies until it imports: fix that line, {again}.")
        return 0
    if entry.get("reason"):
        _print(f"{ex.id}: {entry['reason']}")
    for looks in entry.get("looks_like", []) or []:
        _print(looks)
    failed = [f for f in failed if f.get("failure") not in hints.NOT_A_BUG or f.get("failure") == "not_implemented"]
    if entry.get("reason") and not failed:  # refused (or stopped) before any test could fail on its own
        _print(f"No test ran your code far enough for a hint: fix that, {again}.")
        return 0
    unwritten = [f for f in failed if f.get("failure") == "not_implemented"]
    failed = [f for f in failed if f not in unwritten]
    stubs = sorted({report.stub_name(f.get("message", "")) for f in unwritten})
    if stubs:
        _print(f"not written yet (their tests fail until you write them; no hint needed): {', '.join(stubs)}")
    chosen = hints.hints_for_failures(available, [(f["test"], f.get("message", "")) for f in failed])
    for heading, tests in chosen.items():
        _print()
        _print(f"### {heading}   (failed: {', '.join(sorted(set(tests))[:4])}{' ...' if len(set(tests)) > 4 else ''})")
        _print(available[heading])
    unmatched = [f for f in failed if not any(f["test"] in tests for tests in chosen.values())]
    marked = {f["test"]: f["hint"] for f in unmatched if f.get("hint")}
    for test, text in marked.items():
        _print(f"\n{test}: {text}")
    if not chosen and not marked and failed:
        where = f" ({', '.join(available)})" if available else ""
        _print(f"No hint of {ex.handout}{where} matches the {len(failed)} failing tests of {when}; "
               f"`mtdg check {ex.id}` shows each failure with its inputs.")
    return 0


# ---------------------------------------------------------------------------------------------------
# check / grade
# ---------------------------------------------------------------------------------------------------


LOAD_TIMEOUT_HELP = "seconds to start the exercise's process and import the module (default: the catalog's)"


def _with_limits(ex: Exercise, catalog: Catalog, args: argparse.Namespace) -> tuple[Exercise, Catalog]:
    """Apply --timeout / --test-timeout / --load-timeout from the command line over the catalog's values."""
    if getattr(args, "timeout", None):
        ex = dataclasses.replace(ex, timeout=args.timeout)
    if getattr(args, "test_timeout", None):
        catalog = dataclasses.replace(catalog, test_timeout=args.test_timeout)
    if getattr(args, "load_timeout", None):
        catalog = dataclasses.replace(catalog, load_timeout=args.load_timeout)
    return ex, catalog


def _run_reports(exercises: Sequence[Exercise], catalog: Catalog, args: argparse.Namespace, *, hidden: bool,
                 command: str, seed: int | None) -> list[ExerciseReport]:
    reports = []
    bar = progress(exercises, command)
    for ex in bar:
        bar.set_description(f"{command} {ex.id}")
        ex, catalog = _with_limits(ex, catalog, args)
        plan, _ = source_for(ex.id, chain=getattr(args, "chain", False), source=args.source)
        _print(dim_line(f"{ex.id}: running {'public and hidden' if hidden else 'public'} tests with MTDG_SOURCE={plan} ..."))
        rep = grade_exercise(ex, catalog, hidden=hidden, chain=getattr(args, "chain", False), source=args.source,
                             seed=seed, submission=_submission_dir(args),
                             check_policy=not getattr(args, "no_policy", False))
        reports.append(rep)
        text = report.details(rep, command)
        if text:
            _print(text)
        looks_like = [str(d) for d in hints.diagnose_report(rep)]
        for line in looks_like:
            _print(f"  {line}")
        if rep.tests and not rep.run.all_passed() and not rep.not_started and not rep.run.reason \
                and not rep.run.import_failure:
            _print(dim_line(f"  `mtdg hint {ex.id}` shows the handout's hints for these failures"))
        if not args.source and (not args.submission or os.environ.get("MTDG_STATE_DIR")):
            state.record(rep, command, looks_like)
    return reports


def _submission_dir(args: argparse.Namespace) -> str | None:
    """The folder holding the submitted exNN_*.py files (DIR itself or DIR/exercises)."""
    if not args.submission:
        return None
    folder = Path(args.submission).resolve()
    if (folder / "exercises").is_dir():
        folder = folder / "exercises"
    if not folder.is_dir():
        raise CourseError(f"--submission {args.submission}: no such folder")
    return str(folder)


def cmd_check(args: argparse.Namespace, catalog: Catalog) -> int:
    if not args.exercise:
        _print("mtdg check EX runs the public tests of one exercise; the exercises are:")
        _print()
        cmd_list(args, catalog)
        _print()
        _print(f"for example: mtdg check {catalog.exercises[0].id}")
        return 2
    ex = catalog.get(args.exercise)
    honour_system_note()
    rep = _run_reports([ex], catalog, args, hidden=False, command="check", seed=None)[0]
    _print()
    _print(report.table([rep]))
    ok_count, total = rep.counts("public")
    if total and ok_count == total and not rep.run.reason:  # an optional part never fails the check
        _print(report.green(f"{ex.id}: all {total} public tests pass. Next: `mtdg grade {ex.id}` for the hidden tests."))
        opt_ok, opt_n = rep.counts("optional")
        if opt_n:
            _print(f"{ex.id}'s optional part: {opt_ok}/{opt_n} tests pass "
                   f"({report.fmt_points(rep.optional_points)}/{report.fmt_points(ex.optional_points)} points on top).")
        return 0
    if not rep.not_started:
        _print(f"{ex.id}: {ok_count}/{total} public tests pass.")
    return 1


def cmd_grade(args: argparse.Namespace, catalog: Catalog) -> int:
    started = time.time()
    exercises = catalog.select(args.exercises)
    seed = args.seed if args.seed is not None else secrets.randbelow(10**9)
    honour_system_note()
    _print(dim_line(f"hidden tests drawn with seed {seed} (to repeat this run: mtdg grade --seed {seed})"))
    reports = _run_reports(exercises, catalog, args, hidden=True, command="grade", seed=seed)
    _print()
    _print(report.table(reports))
    seconds = time.time() - started
    if args.gradescope:
        doc = formats.gradescope(reports, hidden_visibility=args.hidden_visibility or catalog.hidden_visibility,
                                 seconds=seconds)
        formats.write_json(args.gradescope, doc)
        _print(f"wrote {args.gradescope} (Gradescope results.json)")
    if args.json:
        formats.write_json(args.json, formats.plain_json(reports, seed=seed))
        _print(f"wrote {args.json}")
    if args.junit:
        formats.write_text(args.junit, formats.junit(reports))
        _print(f"wrote {args.junit}")
    full = all(r.points >= r.max_points - 1e-9 and not r.run.reason for r in reports)
    return 0 if full else 1


# ---------------------------------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------------------------------


def _instructors_only(command: str) -> None:
    """Refuse an instructors' command in a student copy, in one line."""
    if not course.solutions_available():
        raise CourseError(f"{command} needs the reference solutions: it is for the instructors' repository, "
                          "and this is a student copy")


def cmd_fingerprints(args: argparse.Namespace, catalog: Catalog, seed: int) -> int:
    """Measure every mutant's failing public tests and store them in grader/fingerprints.json."""
    measured = {}
    for ex in catalog.select(args.exercises):
        _print(dim_line(f"{ex.id}: measuring the fingerprint of each mutant (all public tests, no -x) ..."))
        entry = fingerprint_exercise(ex, catalog, seed)
        for name, mutant in entry["mutants"].items():  # type: ignore[union-attr]
            fails = mutant["fails"]
            mark = report.red("fails no public test") if not fails else f"fails {len(fails)}: {', '.join(fails[:3])}"
            _print(f"  {name}: {mark}{' ...' if len(fails) > 3 else ''}")
        measured[ex.id] = entry
    path = hints.write_fingerprints(measured)
    _print(f"wrote {path} ({len(measured)} exercises); commit it with the mutants")
    return 0


def cmd_verify(args: argparse.Namespace, catalog: Catalog) -> int:
    _instructors_only("mtdg verify")
    if args.fingerprints:
        return cmd_fingerprints(args, catalog, args.seed if args.seed is not None else 0)
    seed = args.seed if args.seed is not None else secrets.randbelow(10**9)
    _print(dim_line(f"verify: hidden tests drawn with seed {seed}"))
    all_ok = True
    mutant_rows: list[tuple[str, ...]] = []
    bar = progress(catalog.select(args.exercises), "verify")
    for ex in bar:
        bar.set_description(f"verify {ex.id}")
        _print(dim_line(f"{ex.id}: verifying ..."))
        verdict = verify_exercise(ex, catalog, solutions=not args.skip_solutions, stubs=not args.skip_stubs,
                                  mutants=not args.skip_mutants, only_mutant=args.mutant, seed=seed)
        parts = []
        if verdict.solutions is not None:
            parts.append(f"solutions {verdict.solutions.passed}/{verdict.solutions.total} pass")
        if verdict.stubs is not None:
            failing = verdict.stubs.total - verdict.stubs.passed
            parts.append(f"stubs {failing}/{verdict.stubs.total} fail")
        if verdict.mutants:
            parts.append(f"mutants {sum(m.ok for m in verdict.mutants)}/{len(verdict.mutants)} caught")
        problems = verdict.problems()
        mark = report.green("ok") if not problems else report.red("PROBLEMS")
        _print(f"{ex.id}: {'; '.join(parts) or 'contract only'} — {mark}")
        for p in problems:
            _print(report.red(f"  ✗ {p}"))
        for m in verdict.mutants:
            mutant_rows.append((ex.id, m.mutant.name, m.caught_by or ("BROKEN" if m.problem else "NOT CAUGHT"),
                                m.mutant.description[:70]))
        all_ok &= verdict.ok
    if mutant_rows:
        _print()
        _print(report.render(("exercise", "mutant", "caught by", "bug"), mutant_rows))
    _print()
    _print(report.green("verify: everything checks out") if all_ok else report.red("verify: problems found (above)"))
    return 0 if all_ok else 1


# ---------------------------------------------------------------------------------------------------
# release / classroom
# ---------------------------------------------------------------------------------------------------


def cmd_release(args: argparse.Namespace, catalog: Catalog) -> int:
    _instructors_only("mtdg release")
    released = catalog.select(args.with_solutions) if args.with_solutions else []
    summary = build_release(Path(args.dir).resolve(), catalog, released)
    if args.classroom:
        classroom.write_workflow(summary.root, catalog)
    _print(f"wrote the student repository to {summary.root} ({summary.files} files)")
    if summary.released_solutions:
        _print(f"reference code in place of the stubs of: {', '.join(summary.released_solutions)}")
    for item in summary.incomplete:
        _print(report.red(f"  note: the catalog lists {item}; students cannot do that exercise yet"))
    _print("it has no solutions/, no hidden tests and no mutants. Students start with:")
    _print(f"  python3 -m venv .venv && .venv/bin/pip install -e \".[test]\" {TORCH_CPU_INDEX} && .venv/bin/mtdg check "
           f"{catalog.exercises[0].id}")
    return 0


def cmd_autograder(args: argparse.Namespace, catalog: Catalog) -> int:
    _instructors_only("mtdg autograder")
    exercises = catalog.select(args.exercises)
    summary = build_bundle(Path(args.out).resolve(), catalog, exercises, hidden_visibility=args.hidden_visibility,
                           static_policy=not args.no_policy)
    _print(f"wrote {summary.path} ({summary.files} files) grading {', '.join(summary.exercises)}")
    _print("upload it as the autograder of a Gradescope programming assignment (base image: Ubuntu);")
    _print("students submit their exercises/ folder or the exNN_*.py files themselves.")
    return 0


def cmd_classroom(args: argparse.Namespace, catalog: Catalog) -> int:
    target = classroom.write_workflow(Path(args.dir).resolve(), catalog)
    _print(f"wrote {target}: one autograding step per exercise ({len(catalog.exercises)}), public tests only")
    for item in classroom.inexact_points(catalog):
        _print(report.red(f"  note: {item}: GitHub Classroom steps take whole points; the step gives "
                          f"{item.split()[0]} {'0' if 'per_test' in item else 'its points rounded down'}"))
    return 0


def cmd_bench(args: argparse.Namespace, catalog: Catalog) -> int:
    """Run benchmarks/table.py (ex06's fast backend beside torch and numpy) in a child process, then
    benchmarks/cuda_table.py (ex07's kernels beside torch on a GPU; it says why it skips without one)."""
    import subprocess

    from .paths import project_root

    script = project_root() / "benchmarks" / "table.py"
    if not script.exists():
        print(f"mtdg: {script} is missing: the benchmarks ship with the course repository", file=sys.stderr)
        return 2
    command = [sys.executable, str(script), "--rounds", str(args.rounds)]
    command += ["--only", args.only] if args.only else []
    command += ["--no-jit"] if args.no_jit else []
    code = subprocess.call(command, cwd=project_root())
    cuda_script = project_root() / "benchmarks" / "cuda_table.py"
    if args.no_cuda or not cuda_script.exists():
        return code
    print("\nCUDA (ex07's kernels against torch on the same GPU; benchmarks/cuda_table.py):", flush=True)
    cuda_command = [sys.executable, str(cuda_script), "--rounds", str(args.rounds)]
    cuda_command += ["--only", args.only] if args.only else []
    cuda_code = subprocess.call(cuda_command, cwd=project_root())
    return code or cuda_code


# ---------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mtdg", description="The minitorch-dg course: check, grade, verify.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="the exercises in graded order")
    sub.add_parser("progress", help="where you stand and what to do next")
    hint = sub.add_parser("hint", help="the handout's hints for the tests that failed in your last run")
    hint.add_argument("exercise", help="e.g. ex01")

    check = sub.add_parser("check", help="run the public tests of one exercise on your code")
    check.add_argument("exercise", nargs="?", help="e.g. ex01 (without it: the list of exercises)")
    check.add_argument("--chain", action="store_true", help="use your own modules for the prerequisites too")
    check.add_argument("--submission", metavar="DIR", help="grade the exNN_*.py files in DIR instead of exercises/")
    check.add_argument("--timeout", type=float, help="wall-clock seconds per exercise (default: the catalog's)")
    check.add_argument("--test-timeout", type=float, help="seconds per test (default: the catalog's)")
    check.add_argument("--load-timeout", type=float, help=LOAD_TIMEOUT_HELP)
    check.add_argument("--no-policy", action="store_true",
                       help="instructors: skip the static policy check (exercise code still runs only in its worker)")
    check.add_argument("--source", help="grade with this MTDG_SOURCE plan instead (e.g. solutions)")

    grade = sub.add_parser("grade", help="public and hidden tests, score table, result files")
    grade.add_argument("exercises", nargs="*", help="exercise ids or ranges (default: all)")
    grade.add_argument("--chain", action="store_true", help="use your own modules for the prerequisites too")
    grade.add_argument("--submission", metavar="DIR", help="grade the exNN_*.py files in DIR instead of exercises/")
    grade.add_argument("--timeout", type=float, help="wall-clock seconds per exercise (default: the catalog's)")
    grade.add_argument("--test-timeout", type=float, help="seconds per test (default: the catalog's)")
    grade.add_argument("--load-timeout", type=float, help=LOAD_TIMEOUT_HELP)
    grade.add_argument("--no-policy", action="store_true",
                       help="instructors: skip the static policy check (exercise code still runs only in its worker)")
    grade.add_argument("--source", help="grade with this MTDG_SOURCE plan (e.g. solutions: the reference)")
    grade.add_argument("--seed", type=int, help="seed of the hidden tests (default: drawn now)")
    grade.add_argument("--gradescope", metavar="FILE", help="write Gradescope's results.json here")
    grade.add_argument("--hidden-visibility", choices=formats.VISIBILITIES,
                       help="Gradescope visibility of hidden tests (default: the catalog's)")
    grade.add_argument("--json", metavar="FILE", help="write a JSON report")
    grade.add_argument("--junit", metavar="FILE", help="write JUnit XML")

    verify = sub.add_parser("verify", help="instructors: solutions pass, stubs fail, mutants are caught")
    verify.add_argument("exercises", nargs="*")
    verify.add_argument("--seed", type=int)
    verify.add_argument("--mutant", help="only this mutant (file stem)")
    verify.add_argument("--skip-solutions", action="store_true", help="do not rerun the suite on the reference")
    verify.add_argument("--skip-stubs", action="store_true")
    verify.add_argument("--skip-mutants", action="store_true")
    verify.add_argument("--fingerprints", action="store_true",
                        help="instead of verifying: store each mutant's failing public tests in grader/fingerprints.json")

    release = sub.add_parser("release", help="instructors: write the student repository into DIR")
    release.add_argument("dir", help="a new (or empty) folder")
    release.add_argument("--with-solutions", nargs="+", metavar="EX",
                         help="put the reference code of these exercises in place of their stubs (e.g. ex01-ex04)")
    release.add_argument("--classroom", action="store_true", help="also write the GitHub Classroom workflow")

    bundle = sub.add_parser("autograder", help="instructors: build the Gradescope autograder zip")
    bundle.add_argument("out", help="the zip to write, e.g. autograder.zip")
    bundle.add_argument("--exercises", nargs="+", metavar="EX", help="exercises to grade (default: all)")
    bundle.add_argument("--hidden-visibility", choices=formats.VISIBILITIES,
                        help="Gradescope visibility of hidden tests (default: the catalog's)")
    bundle.add_argument("--no-policy", action="store_true",
                        help="grade without the static policy (the runtime defences and, as root, the workers' "
                             "sandbox stay)")

    room = sub.add_parser("classroom", help="instructors: write .github/workflows/classroom.yml under DIR")
    room.add_argument("dir", nargs="?", default=".", help="the student repository (default: here)")

    bench = sub.add_parser("bench", help="time the fast CPU backend against torch and numpy: one table")
    bench.add_argument("--rounds", type=int, default=5, help="timing rounds per case (default 5)")
    bench.add_argument("--only", default="", help="only cases whose group or name contains this text")
    bench.add_argument("--no-jit", action="store_true", help="skip the cold / cached JIT measurements")
    bench.add_argument("--no-cuda", action="store_true", help="skip the CUDA rows (they run only on a real GPU)")
    return parser


def check_sources(args: argparse.Namespace) -> None:
    """Refuse a malformed MTDG_SOURCE (environment) or --source before anything runs, in one line."""
    if os.environ.get(course.ENV_VAR, "").strip():
        course.parse_source(os.environ[course.ENV_VAR])
    if getattr(args, "source", None):
        try:
            course.parse_source(args.source)
        except CourseError as error:
            raise CourseError(str(error).replace(f"{course.ENV_VAR}=", "--source ", 1)) from None


COMMANDS = {
    "list": cmd_list,
    "progress": cmd_progress,
    "hint": cmd_hint,
    "check": cmd_check,
    "grade": cmd_grade,
    "verify": cmd_verify,
    "release": cmd_release,
    "classroom": cmd_classroom,
    "autograder": cmd_autograder,
    "bench": cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_sources(args)
        catalog = load()
        _banner(catalog)
        return COMMANDS[args.command](args, catalog)
    except (CatalogError, CourseError, ReleaseError, AutograderError) as error:
        print(f"mtdg: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`mtdg hint ex02 | head -3`): nothing to say, and no one to say it to
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the final flush at exit does not fail again
        return 1
    except OSError as error:  # a folder that cannot be written, a disk that is full
        where = f" ({error.filename})" if error.filename else ""
        print(f"mtdg: {error.strerror or error}{where}; check the path and its permissions", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mtdg: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
