"""Recurrent layers and the char LM in minitorch-dg and in torch, side by side, with 2 threads each.

    .venv/bin/pytest benchmarks/test_bench_rnn.py --benchmark-enable -s -p no:randomly

Cases (issue #16; ratio = torch time / minitorch-dg time, higher is better, 1 means as fast as torch):

    LSTM layer forward + backward, T=50, B=32, input = hidden = 128, float32     goal >= 0.6
    GRU layer, same sizes                                                         goal >= 0.6
    char LM training steps (examples/char_lm.py's model and step)                 goal >= 0.5

minitorch-dg runs its default path (the fused Functions with ex11's gate kernels on the CPU). Each
implementation runs once untimed (Numba compiles or loads its kernels, torch allocates), then `ROUNDS`
timed rounds; the best round counts. The last test prints the ratios. Without --benchmark-enable every
case still runs once, as a smoke test.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg import course

if "MTDG_SOURCE" not in os.environ and course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"  # time the reference, as the test suite does, unless told otherwise

THREADS = 2
ROUNDS = 5
GOALS = {"LSTM layer T=50 B=32 I=H=128 fwd+bwd": 0.6, "GRU layer T=50 B=32 I=H=128 fwd+bwd": 0.6,
         "char LM: 5 training steps": 0.5}
TIMES: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module", autouse=True)
def same_threads() -> Iterator[None]:
    """torch, Numba and numpy's BLAS all get THREADS threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(THREADS):
            yield
    except ImportError:
        yield
    torch.set_num_threads(before)


def layer_case(lib: Any, mode: str) -> Callable[[], float]:
    """One forward + backward of a one-layer LSTM / GRU over (50, 32, 128) float32."""
    x = np.random.default_rng(0).normal(size=(50, 32, 128)).astype(np.float32)
    lib.manual_seed(0)
    layer = getattr(lib.nn, mode)(128, 128)
    inputs = lib.tensor(x, requires_grad=True)

    def run() -> float:
        inputs.grad = None
        for p in layer.parameters():
            p.grad = None
        out, _ = layer(inputs)
        loss = out.sum()
        loss.backward()
        return float(loss.item())

    return run


def _char_lm() -> Any:
    path = Path(__file__).resolve().parents[1] / "examples" / "char_lm.py"
    spec = importlib.util.spec_from_file_location("char_lm_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def char_lm_case(lib: Any) -> Callable[[], float]:
    """Five truncated-BPTT steps of examples/char_lm.py's default model (LSTM 128, batch 32 x 32 characters)."""
    example = _char_lm()
    config = example.Config()
    ids, vocab = example.encode(example.load_corpus(200_000))
    data = example.streams(ids, config.batch)
    starts = example.windows(data, config.seq_len)
    lib.manual_seed(0)
    model = example.CharModel(lib, len(vocab), config)
    optimizer = lib.optim.Adam(model.parameters(), lr=config.lr)
    where = {"step": 0, "state": None}

    def run() -> float:
        loss = None
        for _ in range(5):
            optimizer.zero_grad()
            start = starts[where["step"] % len(starts)]
            loss, state = example.window_loss(lib, model, data, start, config.seq_len, where["state"])
            loss.backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            where["state"], where["step"] = example.detach(state), where["step"] + 1
        return float(loss.item())

    return run


CASES: dict[str, Callable[[Any], Callable[[], float]]] = {
    "LSTM layer T=50 B=32 I=H=128 fwd+bwd": lambda lib: layer_case(lib, "LSTM"),
    "GRU layer T=50 B=32 I=H=128 fwd+bwd": lambda lib: layer_case(lib, "GRU"),
    "char LM: 5 training steps": char_lm_case,
}
LIBS = {"minitorch-dg": mt, "torch": torch}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", list(LIBS))
def test_rnn(benchmark: Any, case: str, impl: str) -> None:
    run = CASES[case](LIBS[impl])
    run()  # warm-up, untimed
    benchmark.group = case
    benchmark.extra_info.update(implementation=impl, threads=THREADS, goal=GOALS[case])
    result = benchmark.pedantic(run, rounds=ROUNDS if benchmark.enabled else 1, iterations=1)
    assert np.isfinite(result), f"{case} ({impl}): the loss is {result}"
    TIMES.setdefault(case, {})[impl] = benchmark.stats.stats.min if benchmark.enabled else float("nan")


def test_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    complete = {case: t for case, t in TIMES.items() if len(t) == 2}
    if not complete:
        pytest.skip(f"the ratios need both timings of a case; got {sorted(TIMES) or 'none'} (run the whole file)")
    with capsys.disabled():
        print(f"\nrecurrent benchmarks, {THREADS} threads each; ratio = torch time / minitorch-dg time")
        for case, t in complete.items():
            ratio = t["torch"] / t["minitorch-dg"]
            print(f"  {case:40s} minitorch-dg {t['minitorch-dg'] * 1e3:9.1f} ms  torch {t['torch'] * 1e3:9.1f} ms  "
                  f"ratio {ratio:5.2f}  (goal >= {GOALS[case]})")
    assert all(t["torch"] > 0 for t in complete.values() if np.isfinite(t["torch"]))
