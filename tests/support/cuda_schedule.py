"""The strict schedule for numba's CUDA simulator, where tests import it: it lives in grader/cuda_schedule.py.

ex07's worker enters it for the exercise's code (grader/worker.py, `--cuda-schedule`), so it belongs to the
grader, which ships in a student release too; the framework's cuda tests and the cuda benchmarks enter it
in their own process with `serial_schedule()` as before.
"""

from grader.cuda_schedule import BarrierError, Launch, ScheduleLog, active_log, serial_schedule

__all__ = ["BarrierError", "Launch", "ScheduleLog", "active_log", "serial_schedule"]
