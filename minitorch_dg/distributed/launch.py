"""`spawn`: run a function on `world_size` local processes joined in one gloo process group on loopback.

    def train(rank, world_size, steps):
        ...                                   # mt.distributed calls work here
        return final_loss                     # any picklable value

    losses = mt.distributed.spawn(train, world_size=2, args=(100,), timeout=120)

It is the one-machine launcher that tests and notebooks use (torchrun is the one for programs and for
several machines). The processes are forks of the caller, so they start in milliseconds and see
everything the caller set up (the course's source plan, installed exercise modules).
Rendezvous is a FileStore in a fresh temporary directory, so parallel jobs never collide. (A TCPStore
served by the caller was tried first: one client connection in about 25 stalled for 5 s, and now and then
a whole job hung in rendezvous, on a loaded 2-core machine; the file store showed neither in 900 jobs.)

The ranks run on the caller's CPU backend, except when the caller has already run a parallel Numba
kernel: a fork cannot use that thread pool, so the ranks then run on the simple backend (fine for the
small models of tests; programs that need speed start their ranks with torchrun).

Failures never hang: when a rank raises, the others are stopped and `spawn` raises `JobFailed` naming the
rank and its error; when the whole job takes longer than `timeout` seconds, every rank is stopped and
`JobFailed` names the ranks that had not finished and where each one was waiting (its innermost lines
outside torch, from a faulthandler stack dump the launcher asks for before stopping it).
"""

from __future__ import annotations

import datetime
import faulthandler
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ..backends import use_backend
from ..errors import NotImplementedYet
from .comm import init_process_group


class JobFailed(RuntimeError):
    """A distributed job did not complete: a rank raised, died, or the job ran out of time."""


def _run_rank(fn: Callable[..., Any], rank: int, world_size: int, store_path: str, args: Sequence[Any],
              timeout: float, conn: Any) -> None:
    """The body of one rank's process: join the group, run fn, send back ('ok', value) or ('error', text)."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)  # one core per rank; also keeps torch's thread pool out of the forked child
    stack_file = open(_stack_path(store_path, rank), "w")  # noqa: SIM115  (open for the process's lifetime)
    faulthandler.register(signal.SIGUSR1, file=stack_file, all_threads=False)  # the parent asks at the deadline
    try:
        store = dist.FileStore(store_path, world_size)
        store.set_timeout(datetime.timedelta(seconds=timeout))
        init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=timeout)
        if _numba_thread_pool_started():
            with use_backend("simple"):
                result = fn(rank, world_size, *args)
        else:
            result = fn(rank, world_size, *args)
        conn.send(("ok", result))
    except NotImplementedYet as error:  # a stub: the caller sees the course's own one-line message
        conn.send(("not_implemented", (error.exercise, error.name, error.what)))
    except BaseException as error:  # noqa: BLE001  (everything a rank does wrong is reported, then it exits)
        frames = traceback.extract_tb(error.__traceback__)
        where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
        conn.send(("error", f"{type(error).__name__}: {error}{where}"))
    finally:
        conn.close()
        if dist.is_initialized():
            dist.destroy_process_group()


def _stack_path(store_path: str, rank: int) -> str:
    """Where rank `rank` writes its Python stack when the parent sends SIGUSR1 (beside the job's store)."""
    return os.path.join(os.path.dirname(store_path), f"stack-{rank}")


_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<name>\S+)')


def _where_ranks_wait(processes: Sequence[Any], ranks: Sequence[int], store_path: str) -> str:
    """Ask each rank still running for its Python stack (faulthandler, SIGUSR1); describe where each waits.

    Returns e.g. " Where they were: rank 0 at ex14_distributed.py:57 in _exchange <- ex14_distributed.py:87
    in ring_all_reduce." Frames inside torch are left out: the student's own line is the one that matters.
    """
    for rank in ranks:
        if processes[rank].is_alive() and processes[rank].pid is not None:
            os.kill(processes[rank].pid, signal.SIGUSR1)
    places = []
    deadline = time.monotonic() + 1.0
    for rank in ranks:
        text = ""
        while not text and time.monotonic() < deadline:  # the handler writes at once; give it a moment
            time.sleep(0.05)
            try:
                with open(_stack_path(store_path, rank)) as stack:
                    text = stack.read()
            except FileNotFoundError:  # a rank stuck before it could open its file: nothing to say about it
                break
        frames = []
        for match in _FRAME.finditer(text):  # innermost first, down to this launcher's _run_rank
            if match["file"] == __file__:
                break
            if not _is_plumbing(match["file"]):
                frames.append(match)
        if frames:
            where = " <- ".join(f"{os.path.basename(m['file'])}:{m['line']} in {m['name']}" for m in frames[:3])
            places.append(f"rank {rank} at {where}")
    return f" Where they were: {'; '.join(places)}." if places else ""


def _is_plumbing(path: str) -> bool:
    """Frames of torch and multiprocessing: true, but not where the student's code waits."""
    parts = path.split(os.sep)
    return "torch" in parts or "multiprocessing" in parts


def _numba_thread_pool_started() -> bool:
    """True when this process has run a parallel Numba kernel: its OpenMP thread pool cannot be used again
    in a forked child (Numba terminates a child that tries), so the ranks then use the simple backend."""
    module = sys.modules.get("numba.np.ufunc.parallel")
    return bool(getattr(module, "_is_initialized", False))


def _stop(processes: Sequence[Any]) -> None:
    """Terminate every process still running, then kill those that ignore it; reap them all."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + 2.0
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def spawn(fn: Callable[..., Any], world_size: int, args: Sequence[Any] = (), timeout: float = 60.0) -> list[Any]:
    """Run `fn(rank, world_size, *args)` on `world_size` forked processes; return their results by rank.

    Raises `JobFailed` (naming the rank and its error) as soon as one rank fails, and after `timeout`
    seconds if the job has not finished; in both cases every process has been stopped.
    """
    if not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive int, got {world_size!r}")
    context = multiprocessing.get_context("fork")
    rendezvous = tempfile.mkdtemp(prefix="mtdg-rendezvous-")
    store_path = os.path.join(rendezvous, "store")
    processes, receivers = [], {}
    try:
        for rank in range(world_size):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_run_rank, name=f"mtdg-rank-{rank}", daemon=True,
                                      args=(fn, rank, world_size, store_path, tuple(args), timeout, sender))
            process.start()
            sender.close()
            processes.append(process)
            receivers[receiver] = rank
        return _collect(processes, receivers, world_size, timeout, store_path)
    finally:
        _stop(processes)
        for receiver in receivers:
            receiver.close()
        shutil.rmtree(rendezvous, ignore_errors=True)


def _collect(processes: list[Any], receivers: dict[Any, int], world_size: int, timeout: float,
             store_path: str) -> list[Any]:
    """Wait for every rank's answer; raise JobFailed at the first error, death or the deadline."""
    results: dict[int, Any] = {}
    deadline = time.monotonic() + timeout
    waiting = dict(receivers)
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            missing = sorted(waiting.values())
            raise JobFailed(
                f"the job of {world_size} processes did not finish within {timeout:g} s; rank(s) {missing} were still "
                "running and have been stopped (is a rank waiting for a send, recv or collective that another rank "
                "never makes?)" + _where_ranks_wait(processes, missing, store_path)
            )
        for receiver in multiprocessing.connection.wait(list(waiting), timeout=min(left, 0.5)):
            rank = waiting.pop(receiver)
            try:
                status, value = receiver.recv()
            except EOFError:
                code = processes[rank].exitcode
                processes[rank].join(1.0)
                code = processes[rank].exitcode if code is None else code
                raise JobFailed(f"rank {rank} of {world_size} died without a result (exit code {code}); the other "
                                "ranks have been stopped") from None
            if status == "not_implemented":
                raise NotImplementedYet(*value)
            if status == "error":
                raise JobFailed(f"rank {rank} of {world_size} failed: {value}; the other ranks have been stopped")
            results[rank] = value
    return [results[rank] for rank in range(world_size)]
