"""How the grader words the end of a process that did not finish on its own: a signal or an early exit.

One wording for the grading child (grader/runner.py) and for an exercise's worker (grader/judge.py), so that a
segmentation fault reads the same whichever process exercise code crashed.
"""

from __future__ import annotations

import signal

SIGNAL_REASONS = {
    signal.SIGSEGV: "crashed with a segmentation fault (SIGSEGV): an out-of-bounds access in compiled code?",
    signal.SIGBUS: "crashed with a bus error (SIGBUS)",
    signal.SIGFPE: "crashed with a floating-point exception (SIGFPE)",
    signal.SIGABRT: "aborted (SIGABRT)",
    signal.SIGXCPU: "used up its CPU-time limit (SIGXCPU)",
    signal.SIGKILL: "was killed (SIGKILL), probably for exceeding a limit",
}

EXIT_ADVICE = "exercise code must not call os._exit, sys.exit or quit"


def signal_reason(number: int) -> str:
    """'crashed with a segmentation fault (SIGSEGV): ...' for signal `number`: what happened to the process."""
    try:
        sig = signal.Signals(number)
    except ValueError:
        return f"was killed by signal {number}"
    return SIGNAL_REASONS.get(sig, f"was killed by {sig.name}")
