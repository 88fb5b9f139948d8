"""ex14 hidden tests: sizes, world sizes, bucket caps, readiness orders and models drawn at grading time
(MTDG_SEED); the ring against the sum of the ranks' buffers, DDP against one-process torch training,
shard_indices against torch's DistributedSampler. ex14 runs in a worker (see the public tests' docstring)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.utils.data

from grader import judge
from tests.support import distributed_runs as runs

ag = judge.exercise("ex14")  # ex14 runs in a worker process (grader/judge.py)


@pytest.mark.parametrize("case", range(3))
def test_chunk_bounds_random(case: int, hidden_rng: random.Random) -> None:
    for _ in range(20):
        numel, world_size = hidden_rng.randint(0, 500), hidden_rng.randint(1, 16)
        sizes = [len(c) for c in torch.tensor_split(torch.arange(numel), world_size)]
        got = ag.chunk_bounds(numel, world_size)
        starts = list(np.cumsum([0] + sizes[:-1]))
        assert [(int(a), int(b)) for a, b in got] == [(int(s), int(s + n)) for s, n in zip(starts, sizes)], (
            f"chunk_bounds({numel}, {world_size}) = {got}; torch.tensor_split gives chunks of sizes {sizes}"
        )


def test_ring_all_reduce_random_sizes(hidden_rng: random.Random) -> None:
    world_size = hidden_rng.choice([2, 3])
    cases = [((hidden_rng.randint(1, 300),), hidden_rng.choice(["float64", "float32"])) for _ in range(4)]
    cases.append(((hidden_rng.randint(1, world_size),), "float64"))  # fewer elements than some chunks need
    runs.check_ring(ag, world_size, cases, seed=hidden_rng.randrange(2**32))


@pytest.mark.parametrize("case", range(3))
def test_bucketer_random_shapes_caps_and_orders(case: int, hidden_rng: random.Random) -> None:
    count = hidden_rng.randint(1, 7)
    shapes = [tuple(hidden_rng.randint(1, 5) for _ in range(hidden_rng.randint(1, 2))) for _ in range(count)]
    order = list(range(count))
    hidden_rng.shuffle(order)
    cap = hidden_rng.choice([1, 24, 64, 200, 10**6])
    runs.run_bucketer(ag, shapes, order, cap, hidden_rng.randint(2, 5), rounds=2, seed=hidden_rng.randrange(2**32))


def test_ddp_random_model_matches_single_process_training(hidden_rng: random.Random) -> None:
    world_size = hidden_rng.choice([2, 3])
    sizes = tuple(hidden_rng.randint(2, 6) for _ in range(hidden_rng.randint(2, 4)))
    steps, micro, rows = hidden_rng.randint(1, 3), hidden_rng.choice([1, 1, 2]), hidden_rng.randint(1, 4)
    lr, momentum, seed = hidden_rng.uniform(0.01, 0.2), hidden_rng.choice([0.0, 0.9]), hidden_rng.randrange(10**6)
    cap_mb = hidden_rng.choice([0.00005, 0.0002, 25.0])
    runs.check_ddp(ag, sizes, world_size, steps, micro, rows, cap_mb, lr, momentum, seed,
                   what="(torch: one process on the concatenated batches)")


@pytest.mark.parametrize("case", range(3))
def test_shard_indices_random(case: int, hidden_rng: random.Random) -> None:
    for _ in range(15):
        n, replicas = hidden_rng.randint(1, 60), hidden_rng.randint(1, 9)
        drop_last = hidden_rng.random() < 0.5 and n >= replicas
        order = list(range(n))
        hidden_rng.shuffle(order)
        rank = hidden_rng.randrange(replicas)
        sampler = torch.utils.data.DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                                      drop_last=drop_last)
        expected = [order[i] for i in sampler]
        got = list(ag.shard_indices(order, replicas, rank, drop_last))
        assert got == expected, (
            f"shard_indices(order of {n}, num_replicas={replicas}, rank={rank}, drop_last={drop_last}) = {got}; "
            f"torch's DistributedSampler takes {expected}"
        )
