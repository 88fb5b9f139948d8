"""ex14 hidden tests: sizes, world sizes, bucket caps, readiness orders and models drawn at grading time
(MTDG_SEED); the ring against torch.distributed's all_reduce, DDP against one-process torch training,
shard_indices against torch's DistributedSampler."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.utils.data

from minitorch_dg import course
from minitorch_dg.distributed import spawn
from tests.support import distributed_runs as runs
from tests.support.compare import assert_close


@pytest.mark.parametrize("case", range(3))
def test_chunk_bounds_random(case: int, hidden_rng: random.Random) -> None:
    for _ in range(20):
        numel, world_size = hidden_rng.randint(0, 500), hidden_rng.randint(1, 16)
        sizes = [len(c) for c in torch.tensor_split(torch.arange(numel), world_size)]
        got = course.load("ex14").chunk_bounds(numel, world_size)
        starts = list(np.cumsum([0] + sizes[:-1]))
        assert [(int(a), int(b)) for a, b in got] == [(int(s), int(s + n)) for s, n in zip(starts, sizes)], (
            f"chunk_bounds({numel}, {world_size}) = {got}; torch.tensor_split gives chunks of sizes {sizes}"
        )


def test_ring_all_reduce_random_sizes(hidden_rng: random.Random) -> None:
    world_size = hidden_rng.choice([2, 3])
    cases = [((hidden_rng.randint(1, 300),), hidden_rng.choice(["float64", "float32"])) for _ in range(4)]
    cases.append(((hidden_rng.randint(1, world_size),), "float64"))  # fewer elements than some chunks need
    results = spawn(runs.ring_rank, world_size, args=(cases,), timeout=runs.JOB_TIMEOUT_S)
    for rank, result in enumerate(results):
        for (shape, dtype), got, expected in zip(cases, result["ring"], result["expected"]):
            assert_close(got, expected, what="ring_all_reduce(buffer)", dtype=dtype,
                         inputs={"world_size": world_size, "rank": rank, "shape": shape, "dtype": dtype})


@pytest.mark.parametrize("case", range(3))
def test_bucketer_random_shapes_caps_and_orders(case: int, hidden_rng: random.Random) -> None:
    count = hidden_rng.randint(1, 7)
    shapes = [tuple(hidden_rng.randint(1, 5) for _ in range(hidden_rng.randint(1, 2))) for _ in range(count)]
    order = list(range(count))
    hidden_rng.shuffle(order)
    cap = hidden_rng.choice([1, 24, 64, 200, 10**6])
    runs.run_bucketer(shapes, order, cap, hidden_rng.randint(2, 5), rounds=2, seed=hidden_rng.randrange(2**32))


def test_ddp_random_model_matches_single_process_training(hidden_rng: random.Random) -> None:
    world_size = hidden_rng.choice([2, 3])
    sizes = tuple(hidden_rng.randint(2, 6) for _ in range(hidden_rng.randint(2, 4)))
    steps, micro, rows = hidden_rng.randint(1, 3), hidden_rng.choice([1, 1, 2]), hidden_rng.randint(1, 4)
    lr, momentum, seed = hidden_rng.uniform(0.01, 0.2), hidden_rng.choice([0.0, 0.9]), hidden_rng.randrange(10**6)
    cap_mb = hidden_rng.choice([0.00005, 0.0002, 25.0])
    results = spawn(runs.ddp_rank, world_size, args=(sizes, steps, micro, rows, cap_mb, lr, momentum, seed),
                    timeout=runs.JOB_TIMEOUT_S)
    expected = runs.torch_reference(results[0]["initial"], sizes, steps, micro, rows, world_size, lr, momentum, seed)
    inputs = {"world_size": world_size, "layer sizes": sizes, "steps": steps, "micro-batches": micro,
              "bucket_cap_mb": cap_mb}
    for rank, result in enumerate(results):
        for name, value in expected.items():
            assert_close(result["final"][name], value, what=f"rank {rank}: {name} after training", inputs=inputs)
        assert np.array_equal(result["after_broadcast"]["scale"], results[0]["initial"]["scale"]), (
            f"rank {rank}: DDP must start every rank from rank 0's buffers too"
        )


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
        got = list(course.load("ex14").shard_indices(order, replicas, rank, drop_last))
        assert got == expected, (
            f"shard_indices(order of {n}, num_replicas={replicas}, rank={rank}, drop_last={drop_last}) = {got}; "
            f"torch's DistributedSampler takes {expected}"
        )
