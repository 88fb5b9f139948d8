"""What the operating system enforces on an exercise worker when the grader runs as root (issue #14, phase 2).

A worker (grader/worker.py) runs the student's code. Run by root, the grader starts it as a user of its own:

* **Identity.** Each worker gets a user and group id from `UID_RANGE` that no account on the machine owns, one
  per running worker (a lock file in `SLOT_FOLDER` per id), so two graders on one machine never share one.
  It has no supplementary groups (but ex14's torch group, below) and no capabilities, and cannot get root
  back (real, effective and saved ids all change).
* **Files.** The worker reads only what a user without privileges may read. `lock_down` takes that right
  from "others" on everything of the course a worker must not see: every entry of the project root but the
  framework, the exercise stubs and the interpreter's environment (tests, grader, solutions, .git, ...), the
  course's cache folder, torch, and the folders in `MTDG_PROTECT` (Gradescope's results). torch's folder
  stays open to one group (`torch_group`), which only the workers of exercises built on torch.distributed
  (ex14) get as a supplementary group: torch is their engine there, not the oracle. What the worker
  needs from those places is copied into a fresh *stage* folder (`Stage`): `grader/worker.py` and
  `grader/cuda_schedule.py` (ex07's strict simulator schedule, which the worker enters), the
  prerequisite references its plan serves from solutions/, the submission's files, a mutant. It writes
  only `stage/scratch` (its working folder, HOME and TMPDIR) and world-writable places such as /tmp.
* **Stage folder.** Made in the temporary folder when a worker can reach it, else in /tmp (`stage_parent`).
* **Kernels.** The worker's Numba cache is in its scratch folder, seeded with copies of the kernels root has
  compiled for the framework and for the references it is served (`seed_kernels`), never the graded one's:
  without them each worker would compile the fast backend afresh (ex05's grading took 99 s instead of 35 s).
* **The way to Python.** When the interpreter lives under a folder others cannot enter (pyenv under /root),
  `open_paths_to` first closes every other entry of that folder to others, then lets others *enter* it
  (search, not list): nothing but the interpreter becomes reachable that was not before.
* **Limits** (`limit_worker`, before exec): processes and threads of the worker's user (`MAX_PROCESSES`;
  `MAX_PROCESSES_CUDA` for ex07's, whose simulator runs one thread per GPU thread of a block), the
  size of any file it writes (`MAX_FILE_MB`), open files, no core dumps; memory and CPU as the grading
  child's own limits, which it inherits.
* **Ending.** When a worker ends, `kill_all` sends SIGKILL to every process of its user, however it left the
  worker's process group (setsid, double fork); the judge does it before it reports, the runner again after
  the grading child ends, and a worker id is cleared the same way before it is used.

Not root (a learner's own machine), none of this applies: `mtdg` says so once (cli.honour_system_note).
Root but unable to switch users (a container without the capability), `status()` says why, and grading runs
as if not root. Everything here is Linux-only.
"""

from __future__ import annotations

import errno
import fcntl
import grp
import hashlib
import importlib.util
import os
import pwd
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UID_RANGE = range(61000, 61200)  # worker user and group ids; ids that an account or group owns are skipped
SLOT_FOLDER = Path("/run/mtdg-worker-ids")  # root's lock files, one per id in use
MAX_PROCESSES = 256  # RLIMIT_NPROC for a worker's user: processes and threads together
# ... for a worker that runs CUDA kernels (ex07): numba's simulator (the strict schedule too) runs each thread
# of a block as a Python thread, and a block may have 1024 threads
MAX_PROCESSES_CUDA = 1024 + MAX_PROCESSES
MAX_FILE_MB = 256  # RLIMIT_FSIZE: no file a worker writes grows past this (torch's 434 MB library cannot)
MAX_OPEN_FILES = 512
TORCH_GROUP_RANGE = range(61200, 61300)  # the group that may read torch: its first id no account owns
OTHERS = stat.S_IRWXO

# The entries of the project root a worker reads in place (the interpreter's environment is added when it
# lies inside the root); everything else there is closed to others.
READABLE_IN_ROOT = ("minitorch_dg", "exercises")
# The grader's files a worker runs (grader/worker.py's WORKER_MODULES), copied into every stage.
WORKER_FILES = ("worker.py", "cuda_schedule.py")
_KILL_ALL = "import os\ntry:\n    os.kill(-1, 9)\nexcept ProcessLookupError:\n    pass\n"


class SandboxUnavailable(RuntimeError):
    """Running as root, but a worker cannot be started as an unprivileged user here (the message says why)."""


def wanted() -> bool:
    """True where the grader must enforce the sandbox: running as root on Linux."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


# -- files --------------------------------------------------------------------------------------------------


def close_to_others(path: Path) -> None:
    """Take read, write and search rights from "others" on `path` (not following a symlink)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISLNK(info.st_mode) and info.st_mode & OTHERS:
        os.chmod(path, stat.S_IMODE(info.st_mode) & ~OTHERS)


def open_paths_to(targets: Iterable[Path]) -> list[Path]:
    """Let others reach every target: each folder above one that others cannot enter gets its other
    entries closed to others (those on the way to no target), then the right to be entered (not listed).
    Returns the folders opened."""
    wanted = [Path(os.path.realpath(t)) for t in targets]
    opened: list[Path] = []
    for target in wanted:
        for folder in reversed(target.parents):
            mode = stat.S_IMODE(os.stat(folder).st_mode)
            if mode & stat.S_IXOTH:
                continue
            keep = {t.relative_to(folder).parts[0] for t in wanted if folder in t.parents}
            for entry in os.scandir(folder):
                if entry.name not in keep:
                    close_to_others(Path(entry.path))
            os.chmod(folder, (mode | stat.S_IXOTH) & ~stat.S_IROTH & ~stat.S_IWOTH)
            opened.append(folder)
    return opened


def open_tree(folder: Path) -> None:
    """Let others read a folder of the course that holds nothing secret (the framework, the stubs), when a
    restrictive umask made it private: read on files, read and search on folders."""
    if stat.S_IMODE(os.stat(folder).st_mode) & (stat.S_IROTH | stat.S_IXOTH) == stat.S_IROTH | stat.S_IXOTH:
        return
    for path in [folder, *folder.rglob("*")]:
        info = os.lstat(path)
        if not stat.S_ISLNK(info.st_mode):
            extra = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(info.st_mode) else 0)
            os.chmod(path, stat.S_IMODE(info.st_mode) | extra)


def interpreter_paths() -> list[Path]:
    """What a worker must reach to run Python: the executable (followed through links), the base
    installation and the environment."""
    paths = {Path(os.path.realpath(sys.executable)), Path(os.path.realpath(sys.base_prefix)),
             Path(os.path.realpath(sys.prefix))}
    return sorted(paths)


def secret_paths(root: Path) -> list[Path]:
    """Everything of the course a worker must not read (see the module's docstring)."""
    from minitorch_dg.cache_root import cache_root

    keep = set(READABLE_IN_ROOT)
    for path in interpreter_paths():
        try:
            keep.add(path.relative_to(root).parts[0])
        except (ValueError, IndexError):
            pass
    secrets = [Path(entry.path) for entry in os.scandir(root) if entry.name not in keep]
    secrets.append(cache_root())
    secrets += torch_paths()
    secrets += [Path(p) for p in os.environ.get("MTDG_PROTECT", "").split(os.pathsep) if p]
    return secrets


def torch_paths() -> list[Path]:
    """The folders of the installed torch package (closed to others; open to `torch_group()`)."""
    spec = importlib.util.find_spec("torch")
    return [Path(os.path.realpath(p)) for p in ((spec.submodule_search_locations or []) if spec else [])]


def torch_group() -> int:
    """The group whose members may read torch: the workers of exercises built on torch.distributed (ex14,
    judge.TORCH_ENGINE), whose user gets it as its one supplementary group. The first id of
    `TORCH_GROUP_RANGE` that no group or user owns (the same in every grader on the machine)."""
    for gid in TORCH_GROUP_RANGE:
        if not _owned(gid):
            return gid
    raise SandboxUnavailable(f"every id in {TORCH_GROUP_RANGE.start}-{TORCH_GROUP_RANGE.stop - 1} is owned")


def share_with_group(path: Path, gid: int) -> None:
    """Make `path` (a folder) enterable and readable by group `gid` and by nobody else but its owner."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return
    if info.st_gid != gid:
        os.chown(path, -1, gid, follow_symlinks=False)
    mode = (stat.S_IMODE(info.st_mode) & ~OTHERS & ~stat.S_IWGRP) | stat.S_IRGRP | stat.S_IXGRP
    if mode != stat.S_IMODE(info.st_mode):
        os.chmod(path, mode)


def lock_down(root: Path) -> None:
    """Close the course's secrets to others, open torch to its group, and open the way to the interpreter
    (idempotent)."""
    for path in secret_paths(root):
        close_to_others(path)
    for path in torch_paths():
        share_with_group(path, torch_group())
    readable = [root / name for name in READABLE_IN_ROOT if (root / name).is_dir()]
    open_paths_to([*interpreter_paths(), *readable])
    for folder in readable:
        open_tree(folder)


# -- identities ---------------------------------------------------------------------------------------------


def _owned(uid: int) -> bool:
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
            return True
        except KeyError:
            pass
    return False


@dataclass
class Slot:
    """A worker user and group id held by this process (the lock file stays open until `release`)."""

    uid: int
    lock_fd: int

    def release(self) -> None:
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1


def _slot_folder() -> Path:
    SLOT_FOLDER.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(SLOT_FOLDER)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SandboxUnavailable(f"{SLOT_FOLDER} is not a folder that only root can write")
    return SLOT_FOLDER


def _try_slot(uid: int) -> Slot | None:
    """Lock worker id `uid` for this process, or None when another process holds it."""
    fd = os.open(_slot_folder() / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return None
        raise
    return Slot(uid, fd)


def acquire_slot() -> Slot:
    """Hold the first free worker id (a non-blocking lock on its file); its leftover processes are killed."""
    for uid in UID_RANGE:
        if _owned(uid):
            continue
        slot = _try_slot(uid)
        if slot is not None:
            kill_all(uid)
            return slot
    raise SandboxUnavailable(f"every worker id in {UID_RANGE.start}-{UID_RANGE.stop - 1} is in use")


def processes_of(uid: int) -> list[int]:
    """The ids of the live processes whose real user id is `uid` (from /proc; zombies are already dead and
    wait only for a parent to collect them)."""
    found: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as status:
                state = ""
                for line in status:
                    if line.startswith("State:"):
                        state = line.split()[1]
                    elif line.startswith("Uid:"):
                        if int(line.split()[1]) == uid and state not in ("Z", "X"):
                            found.append(int(entry.name))
                        break
        except (OSError, ValueError, IndexError):
            continue
    return found


def identity(uid: int, torch: bool = False) -> dict[str, Any]:
    """`subprocess.Popen` arguments that start a process as worker id `uid`: its user, its group of the same
    number, and no supplementary groups but, with `torch`, the one that may read torch (`torch_group`)."""
    return {"user": uid, "group": uid, "extra_groups": [torch_group()] if torch else []}


def kill_all(uid: int, attempts: int = 50) -> bool:
    """SIGKILL every process of `uid`: a helper that becomes `uid` sends kill(-1), which reaches all of them
    at once (a fork in flight included), until /proc shows none. False if some survived every attempt."""
    for _ in range(attempts):
        if not processes_of(uid):
            return True
        subprocess.run([sys.executable, "-S", "-c", _KILL_ALL], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env={}, cwd="/", check=False, **identity(uid))
        time.sleep(0.005)
    return not processes_of(uid)


def limit_worker(max_processes: int = MAX_PROCESSES) -> None:
    """In the worker before exec (already its own user): processes, file size, open files, no core."""
    for limit, value in ((resource.RLIMIT_NPROC, max_processes), (resource.RLIMIT_FSIZE, MAX_FILE_MB << 20),
                         (resource.RLIMIT_NOFILE, MAX_OPEN_FILES), (resource.RLIMIT_CORE, 0)):
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, value))


# -- the stage ----------------------------------------------------------------------------------------------


def references_for(exercise: str, student_code: bool) -> list[str]:
    """The references a worker for `exercise` may read: every exercise the plan serves from solutions/, but
    the graded one when a student's code is graded. Later exercises' references are among them: the
    framework's tensors run their code (ex03's views need ex05's tensor functions), and the grading child
    serves them the same way when it is not root."""
    from minitorch_dg import course

    plan = course.plan()
    return [course.module_name(x) for x in course.exercise_ids()
            if plan.source_of(x) == "solutions" and not (student_code and x == exercise)]


class Stage:
    """A fresh folder with what a worker reads that the lock-down closed, and its scratch folder."""

    def __init__(self, root: Path, uid: int, exercise: str, submission: str | None, mutant: Path | None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="mtdg-worker-", dir=stage_parent()))
        os.chmod(self.path, 0o755)
        (self.path / "grader").mkdir(mode=0o755)
        (self.path / "grader" / "__init__.py").write_text("", encoding="utf-8")
        for name in WORKER_FILES:
            shutil.copyfile(root / "grader" / name, self.path / "grader" / name)
        references = references_for(exercise, student_code=bool(submission) or _graded_from_exercises(exercise))
        solutions = root / "solutions"
        if solutions.is_dir():
            self._copy(solutions, self.path / "solutions", ["__init__"] + references)
        self.submission: str | None = None
        if submission:
            names = [p.stem for p in Path(submission).glob("ex*.py")]
            self._copy(Path(submission), self.path / "submission", names)
            self.submission = str(self.path / "submission")
        self.mutant: str | None = None
        if mutant is not None:
            self._copy(mutant.parent, self.path / "mutant", [mutant.stem])
            self.mutant = str(self.path / "mutant" / mutant.name)
        self.scratch = self.path / "scratch"
        self.scratch.mkdir(mode=0o700)
        self.kernels = seed_kernels(root, self.path / "solutions", references, self.scratch / "numba")
        for path in [self.scratch, *self.scratch.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)
        for path in [self.path, *self.path.rglob("*")]:
            if path != self.scratch and self.scratch not in path.parents:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)

    @staticmethod
    def _copy(source: Path, target: Path, stems: Iterable[str]) -> None:
        """Copy source/<stem>.py for each stem, keeping its modification time (Numba's cache checks it)."""
        target.mkdir(mode=0o755, exist_ok=True)
        for stem in stems:
            if (source / f"{stem}.py").is_file():
                shutil.copy2(source / f"{stem}.py", target / f"{stem}.py")

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """`base` with the worker's writes pointed at its scratch folder (also its working folder) and the
        stage first on the module path, where `python -m grader.worker` finds the copy; PYTHONSAFEPATH keeps
        the scratch folder itself off the path (Python 3.11+)."""
        scratch = str(self.scratch)
        path = os.pathsep.join(p for p in (str(self.path), base.get("PYTHONPATH", "")) if p)
        return {**base, "HOME": scratch, "TMPDIR": scratch, "MTDG_CACHE": os.path.join(scratch, "cache"),
                "NUMBA_CACHE_DIR": os.path.join(scratch, "numba"), "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPATH": path, "PYTHONSAFEPATH": "1"}

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def stage_parent() -> str:
    """Where stages are made: the temporary folder (TMPDIR) when a worker's user can reach it (others may
    search every folder on the way), else /tmp, so that a private TMPDIR does not stop every worker."""
    path = Path(tempfile.gettempdir()).resolve()
    for folder in [path, *path.parents]:
        try:
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return "/tmp"
        except OSError:
            return "/tmp"
    return str(path)


def numba_subfolder(source_folder: Path) -> str:
    """The folder under NUMBA_CACHE_DIR where Numba keeps the kernels of files in `source_folder`: its name and
    the SHA-1 of its absolute path (numba.core.caching._CacheLocator.get_suitable_cache_subpath)."""
    path = os.path.abspath(source_folder)
    return f"{os.path.basename(path)}_{hashlib.sha1(path.encode()).hexdigest()}"


def _kernel_files(folder: Path, prefixes: tuple[str, ...] | None = None) -> list[Path]:
    """The regular Numba cache files (.nbi index, .nbc data) in `folder` whose names start with one of
    `prefixes` (all when None)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [Path(e.path) for e in entries
            if e.name.endswith((".nbi", ".nbc")) and e.is_file(follow_symlinks=False)
            and (prefixes is None or e.name.startswith(prefixes))]


def seed_kernels(root: Path, staged_solutions: Path, references: list[str], target: Path) -> int:
    """Give a worker the Numba kernels the grader's own user has compiled, so that it does not compile them
    again (a cold start of the fast backend costs tens of seconds); returns how many files were copied.

    A worker's NUMBA_CACHE_DIR is its scratch folder, and Numba keys a kernel by the folder of its source
    file. The framework's kernels (minitorch_dg/, read in place) keep their key: their files are copied
    from where root's runs keep them (minitorch_dg's __pycache__ folders, or NUMBA_CACHE_DIR). The
    references are read from the stage, so their kernels, found under root's kernel cache for solutions/,
    are copied under the stage's key; the stage's copies keep the files' modification times, which Numba
    checks. Only the references the worker is served are copied, never the graded exercise's, and nothing
    when root's cache was compiled against other framework code (its stamp file differs: see
    minitorch_dg/fast/caching.py). The copies are the worker's to replace, not root's files: what a worker
    compiles never reaches another worker."""
    from minitorch_dg.fast import caching
    from minitorch_dg.fast.ops import FRAMEWORK_STAMP

    user_folder = os.environ.get("NUMBA_CACHE_DIR", "")
    kernel_folder = Path(user_folder) if user_folder else caching.cache_folder()
    try:
        stamp = (kernel_folder / caching.STAMP_FILE).read_text().strip()
    except OSError:
        stamp = ""
    copies: list[tuple[Path, Path]] = []
    framework = root / "minitorch_dg"
    for folder in [framework, *(p for p in framework.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
        for source in _kernel_files(folder / "__pycache__") + _kernel_files(kernel_folder / numba_subfolder(folder)):
            copies.append((source, target / numba_subfolder(folder) / source.name))
    if references and stamp == str(FRAMEWORK_STAMP):
        prefixes = tuple(f"{name}." for name in references)
        for source in _kernel_files(kernel_folder / numba_subfolder(root / "solutions"), prefixes):
            copies.append((source, target / numba_subfolder(staged_solutions) / source.name))
    for source, copy in copies:
        copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            shutil.copyfile(source, copy)
        except OSError:
            continue  # a cache is only ever an optimisation
    return len(copies)


def _graded_from_exercises(exercise: str) -> bool:
    from minitorch_dg import course

    return course.plan().source_of(exercise) == "exercises"


# -- the whole --------------------------------------------------------------------------------------------


_status: str | None = None  # "" once the sandbox works in this process, else why not


def status(root: Path) -> str:
    """'' when workers of this process run sandboxed (locks the course down and tries a switch of user the
    first time); otherwise why not, in a sentence. Not root, the answer is always a reason."""
    global _status
    if not wanted():
        return "the grader is not running as root"
    if _status is None:
        try:
            lock_down(root)
            slot = acquire_slot()
            try:
                probe = subprocess.run([sys.executable, "-S", "-c", "import sys"], cwd="/", env={}, capture_output=True,
                                       text=True, timeout=30, check=False, **identity(slot.uid))
            finally:
                slot.release()
            if probe.returncode != 0:
                raise SandboxUnavailable(f"an unprivileged user cannot run {sys.executable}: "
                                         f"{(probe.stderr or '').strip()[-200:]}")
            _status = ""
        except (OSError, subprocess.SubprocessError, SandboxUnavailable) as error:
            _status = f"workers cannot run as an unprivileged user here ({error})"
    return _status


class Sandbox:
    """One worker's identity and stage; `close` kills its every process and removes the stage."""

    def __init__(self, root: Path, exercise: str, submission: str | None, mutant: Path | None) -> None:
        self.slot = acquire_slot()
        try:
            self.stage = Stage(root, self.slot.uid, exercise, submission, mutant)
        except BaseException:
            self.slot.release()
            raise
        self.closed = False

    @property
    def uid(self) -> int:
        """The worker's user and group id."""
        return self.slot.uid

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        kill_all(self.uid)
        self.stage.remove()
        self.slot.release()


def end_worker_user(uid: int) -> None:
    """For the runner, once its grading child has ended: kill what is left of a worker user that the child
    reported, unless another grader holds that id again by now (it cleared it when it took it)."""
    if not (wanted() and uid in UID_RANGE):
        return
    slot = _try_slot(uid)
    if slot is not None:
        try:
            kill_all(uid)
        finally:
            slot.release()
