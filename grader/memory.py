"""How the grader bounds a grading child's memory without hiding a GPU from it.

The catalog gives one number, `memory_limit_mb`. Two ways to enforce it:

* **address space** (RLIMIT_AS, set in the child before it starts): exact and free, and the kernel refuses
  the allocation, so Python raises MemoryError inside the test that allocated. But a CUDA context reserves
  tens of GiB of *virtual* address space up front (unified addressing), far more than it uses; under
  RLIMIT_AS the driver fails to initialise and numba.cuda reports that there is no GPU at all.
* **resident memory** (a watch in the grading parent): every `WATCH_SECONDS` it adds up the resident set
  (VmRSS) of every process in the child's session and kills the session when the sum passes the limit.
  It leaves a CUDA context alone (reserved address space is not resident), at the price of a kill instead
  of a MemoryError, and of noticing a burst a fraction of a second late.

`memory_rule` picks address space where no NVIDIA device exists and resident memory where one does.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
from collections.abc import Callable, Collection

ADDRESS_SPACE = "address space"
RESIDENT = "resident memory"
UNLIMITED = ""
WATCH_SECONDS = 0.2


def memory_rule(memory_mb: int, gpu: bool) -> str:
    """ADDRESS_SPACE, RESIDENT or UNLIMITED (memory_mb <= 0) for a child on a machine with or without a GPU."""
    if memory_mb <= 0:
        return UNLIMITED
    return RESIDENT if gpu else ADDRESS_SPACE


def limit_address_space(memory_mb: int) -> None:
    """In the child (before exec): RLIMIT_AS of memory_mb MiB."""
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def resident_kib(pid: int) -> int:
    """VmRSS of process `pid` in KiB; 0 when it is gone or unreadable (a zombie has none)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def session_of(pid: int) -> int:
    """The session id of process `pid` (field 6 of /proc/PID/stat); -1 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
        return int(text.rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return -1


def sessions_resident_mb(sessions: Collection[int]) -> int:
    """The summed VmRSS, in MiB, of every process whose session id is in `sessions`."""
    total = 0
    for name in os.listdir("/proc"):
        if name.isdigit() and session_of(int(name)) in sessions:
            total += resident_kib(int(name))
    return total // 1024


def session_resident_mb(session: int) -> int:
    """The summed VmRSS, in MiB, of every process whose session id is `session` (the child and its children)."""
    return sessions_resident_mb((session,))


class ResidentWatch:
    """Kills a child's session (it must have called setsid) once its processes hold more than `memory_mb`
    MiB of resident memory; `exceeded` and `peak_mb` say what it saw. Use as a context manager around the
    child's lifetime."""

    def __init__(self, pid: int, memory_mb: int, measure: Callable[[int], int] = session_resident_mb) -> None:
        self.pid = pid
        self.memory_mb = memory_mb
        self.measure = measure
        self.exceeded = False
        self.peak_mb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="mtdg-resident-watch", daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            used = self.measure(self.pid)
            self.peak_mb = max(self.peak_mb, used)
            if used > self.memory_mb:
                self.exceeded = True
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                return

    def __enter__(self) -> ResidentWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def out_of_memory_reason(rule: str, memory_mb: int, stopped: bool = False) -> str:
    """What the report says when a child ran out of memory under `rule` (`stopped`: the resident watch
    killed it; otherwise an allocation raised MemoryError)."""
    if rule == RESIDENT and stopped:
        return (f"ran out of memory: the test processes held more than {memory_mb} MB of resident memory and were "
                "stopped (on a machine with a GPU the grader limits resident memory, so that a CUDA context fits); "
                "something allocates without bound")
    if rule == RESIDENT:
        return (f"ran out of memory: an allocation failed (MemoryError); each exercise may hold {memory_mb} MB of "
                "resident memory; something allocates without bound")
    return (f"ran out of memory: each exercise may use {memory_mb} MB of address space; "
            "something allocates without bound")
