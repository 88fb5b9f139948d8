"""ex14 public tests: the ring all-reduce against torch.distributed's all_reduce, DDP training against
single-process torch training, the bucketing order, no_sync, and the sampler against torch's
DistributedSampler.

Tests with several ranks run real processes (forks of the test process, one gloo process group on
127.0.0.1, `mt.distributed.spawn`); every such job is stopped after JOB_TIMEOUT_S seconds, so a ring
that waits for a message nobody sends fails the test instead of hanging it. Exercise code is reached
through the course (ring_all_reduce, broadcast_module_state) and through the framework
(mt.nn.parallel.DistributedDataParallel, mt.utils.data.DistributedSampler).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data

import minitorch_dg as mt
from minitorch_dg import course
from minitorch_dg.distributed import spawn
from tests.support import distributed_runs as runs
from tests.support.compare import assert_close


def ex14():  # type: ignore[no-untyped-def]
    return course.load("ex14")


# ---------------------------------------------------------------------------------------------
# Part 1: chunks and the ring
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 7])
@pytest.mark.hint("chunk_bounds: the first numel % world_size chunks get one extra element, like torch.tensor_split.")
def test_chunk_bounds_match_torch_tensor_split(world_size: int) -> None:
    for numel in [0, 1, 2, 3, 5, 7, 10, 16, 23]:
        expected = [(int(c[0]), int(c[-1]) + 1) if len(c) else None
                    for c in torch.tensor_split(torch.arange(numel), world_size)]
        got = ex14().chunk_bounds(numel, world_size)
        sizes = [len(c) for c in torch.tensor_split(torch.arange(numel), world_size)]
        assert [b - a for a, b in got] == sizes, (
            f"chunk_bounds({numel}, {world_size}) gives chunk sizes {[b - a for a, b in got]}; torch.tensor_split "
            f"gives {sizes}"
        )
        for (a, b), e in zip(got, expected):
            if e is not None:
                assert (a, b) == e, f"chunk_bounds({numel}, {world_size}) = {got}: chunk {(a, b)} should be {e}"
        assert got[0][0] == 0 and got[-1][1] == numel, f"chunk_bounds({numel}, {world_size}) = {got} must cover [0, {numel})"


RING_CASES: list[runs.Case] = [((1,), "float64"), ((2,), "float64"), ((5,), "float64"), ((11,), "float64"),
                               ((3, 7), "float64"), ((1000,), "float64"), ((13,), "float32"), ((9,), "int64")]


@pytest.mark.parametrize("world_size", [2, 3])
@pytest.mark.hint("ring_all_reduce: in reduce-scatter step s rank r sends chunk (r - s) mod p and adds the chunk "
                  "(r - s - 1) mod p it receives; all-gather then passes the finished chunks on.")
def test_ring_all_reduce_matches_all_reduce(world_size: int) -> None:
    cases = [(shape, dtype if dtype != "int64" else "float64") for shape, dtype in RING_CASES]
    results = spawn(runs.ring_rank, world_size, args=(cases,), timeout=runs.JOB_TIMEOUT_S)
    for rank, result in enumerate(results):
        for (shape, dtype), got, expected in zip(cases, result["ring"], result["expected"]):
            inputs = {"world_size": world_size, "rank": rank, "shape": shape, "dtype": dtype}
            assert_close(got, expected, what="ring_all_reduce(buffer)", inputs=inputs, dtype=dtype)


@pytest.mark.parametrize("world_size", [3])
@pytest.mark.hint("ring_all_reduce: send only to (rank + 1) % world_size, one chunk at a time; each rank sends "
                  "about 2 (p - 1) / p of the buffer in all.")
def test_ring_all_reduce_sends_chunks_to_the_next_rank_only(world_size: int) -> None:
    cases: list[runs.Case] = [((30,), "float64"), ((7,), "float64")]
    results = spawn(runs.ring_rank, world_size, args=(cases,), timeout=runs.JOB_TIMEOUT_S)
    for rank, result in enumerate(results):
        for (shape, _), sends in zip(cases, result["sends"]):
            n = int(np.prod(shape))
            largest = -(-n // world_size)
            sent = sum(count for _, count in sends)
            assert {dst for dst, _ in sends} <= {(rank + 1) % world_size}, (
                f"rank {rank} of {world_size} sent to ranks {sorted({d for d, _ in sends})}; a ring sends only to "
                f"rank {(rank + 1) % world_size}"
            )
            assert all(count <= largest for _, count in sends), (
                f"rank {rank} sent messages of {[c for _, c in sends]} elements for a buffer of {n}: send one chunk "
                f"(at most {largest} elements) at a time"
            )
            assert sent <= 2 * (n - n // world_size), (
                f"rank {rank} sent {sent} elements for a buffer of {n} on {world_size} ranks; a ring sends "
                f"2 (p - 1) chunks, about {2 * (world_size - 1) * n // world_size}"
            )


# ---------------------------------------------------------------------------------------------
# Part 2: broadcast, buckets, DDP
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("broadcast_module_state: broadcast every parameter AND every buffer (module.buffers()) from src.")
def test_broadcast_module_state_copies_parameters_and_buffers() -> None:
    results = spawn(runs.broadcast_rank, 2, args=(3,), timeout=runs.JOB_TIMEOUT_S)
    source = results[0]["before"]
    for rank, result in enumerate(results):
        assert set(result["after"]) == set(source)
        for name, value in source.items():
            assert np.array_equal(result["after"][name], value), (
                f"after broadcast_module_state, rank {rank}'s {name!r} is {result['after'][name].ravel()[:4]}..., "
                f"rank 0's is {value.ravel()[:4]}... (every parameter and buffer must come from rank 0)"
            )


@pytest.mark.hint("GradientBucketer: append each parameter as it becomes ready; reduce the bucket the moment it holds "
                  "bucket_cap_bytes, not at the end of backward.")
def test_bucketer_reduces_full_buckets_as_gradients_become_ready() -> None:
    shapes = [(4, 3), (4,), (2, 4), (2,), (5, 2), (5,)]
    runs.run_bucketer(shapes, order=[5, 4, 3, 2, 1, 0], cap_bytes=100, world_size=2)
    runs.run_bucketer(shapes, order=[4, 5, 2, 0, 3, 1], cap_bytes=64, world_size=3)


@pytest.mark.hint("GradientBucketer: after all_reduce (a sum over ranks) divide by world_size: DDP averages.")
def test_bucketer_one_bucket_for_everything_averages() -> None:
    runs.run_bucketer([(3,), (2, 2), (1,)], order=[1, 2, 0], cap_bytes=10**9, world_size=4, rounds=3)


@pytest.mark.hint("GradientBucketer.no_sync: inside the block grad_ready must not communicate.")
def test_bucketer_no_sync_skips_communication() -> None:
    params = [mt.nn.Parameter(mt.ones(3, dtype=mt.float64)) for _ in range(2)]
    recorder = runs.RecordingAllReduce(2)
    bucketer = ex14().GradientBucketer(params, 8, 2, recorder)
    with bucketer.no_sync():
        for p in reversed(params):
            p.grad = mt.ones(3, dtype=mt.float64)
            bucketer.grad_ready(p)
    assert recorder.calls == [], f"grad_ready inside no_sync() called all_reduce {len(recorder.calls)} time(s)"
    for p in params:
        assert_close(p.grad, np.ones(3), what="a gradient inside no_sync() (left as it is)")
    for p in reversed(params):
        bucketer.grad_ready(p)
    assert len(recorder.calls) == 2, "after no_sync() the next backward must reduce again (one bucket per parameter here)"


DDP_SIZES = (4, 6, 5, 3)


@pytest.mark.parametrize("world_size", [2, 3])
@pytest.mark.hint("DDP: rank 0's weights everywhere, then every step's gradient is the average over ranks.")
def test_ddp_training_matches_single_process_training(world_size: int) -> None:
    steps, rows, lr, momentum, seed = 3, 4, 0.1, 0.9, 11
    results = spawn(runs.ddp_rank, world_size,
                    args=(DDP_SIZES, steps, 1, rows, 0.0002, lr, momentum, seed), timeout=runs.JOB_TIMEOUT_S)
    expected = runs.torch_reference(results[0]["initial"], DDP_SIZES, steps, 1, rows, world_size, lr, momentum, seed)
    for rank, result in enumerate(results):
        for name, value in expected.items():
            assert_close(result["final"][name], value, inputs={"world_size": world_size, "rank": rank, "steps": steps},
                         what=f"{name} after {steps} DDP steps (torch: one process on the concatenated batches; DDP runs "
                              "your broadcast_module_state(...) and GradientBucketer(...))")


@pytest.mark.hint("GradientBucketer.no_sync: gradients accumulate locally; the backward after the block averages "
                  "the accumulated sum.")
def test_ddp_no_sync_accumulation_equals_a_larger_batch() -> None:
    world_size, steps, micro, rows, lr, momentum, seed = 2, 2, 3, 2, 0.05, 0.0, 5
    results = spawn(runs.ddp_rank, world_size,
                    args=(DDP_SIZES, steps, micro, rows, 0.0001, lr, momentum, seed), timeout=runs.JOB_TIMEOUT_S)
    expected = runs.torch_reference(results[0]["initial"], DDP_SIZES, steps, micro, rows, world_size, lr, momentum,
                                    seed)
    for rank, result in enumerate(results):
        for name, value in expected.items():
            assert_close(result["final"][name], value,
                         inputs={"world_size": world_size, "rank": rank, "micro-batches": micro},
                         what=f"{name} after {steps} steps of {micro} micro-batches ({micro - 1} under "
                              "GradientBucketer.no_sync(), torch: one process on the concatenated batches)")


# ---------------------------------------------------------------------------------------------
# Part 3: the sampler
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.hint("shard_indices: pad by repeating the order from its start (or cut with drop_last), then take "
                  "order[rank::num_replicas].")
def test_shard_indices_match_torch_distributed_sampler(drop_last: bool) -> None:
    for n in [1, 2, 5, 10, 11, 13]:
        for replicas in [1, 2, 3, 4, 6]:
            if drop_last and n < replicas:
                continue
            order = [int(i) for i in np.random.default_rng(n * 10 + replicas).permutation(n)]
            for rank in range(replicas):
                sampler = torch.utils.data.DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                                              shuffle=False, drop_last=drop_last)
                expected = [order[i] for i in sampler]
                got = ex14().shard_indices(order, replicas, rank, drop_last)
                assert list(got) == expected, (
                    f"shard_indices(order={order}, num_replicas={replicas}, rank={rank}, drop_last={drop_last}) = "
                    f"{list(got)}; torch's DistributedSampler takes {expected}"
                )


@pytest.mark.parametrize("n,replicas,drop_last", [(12, 3, False), (13, 3, False), (13, 3, True), (5, 4, False)])
def test_sampler_partitions_every_epoch(n: int, replicas: int, drop_last: bool) -> None:
    dataset = list(range(n))
    samplers = [mt.utils.data.DistributedSampler(dataset, num_replicas=replicas, rank=r, shuffle=True, seed=7,
                                                 drop_last=drop_last) for r in range(replicas)]
    orders = []
    for epoch in range(3):
        shards = []
        for sampler in samplers:
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
        every = [i for shard in shards for i in shard]
        assert len({len(s) for s in shards}) == 1, f"epoch {epoch}: the ranks got {[len(s) for s in shards]} samples from `shard_indices`"
        counts = np.bincount(every, minlength=n)
        if drop_last:
            assert len(every) == (n // replicas) * replicas and counts.max() <= 1, (
                f"epoch {epoch} (n={n}, {replicas} ranks, drop_last): `shard_indices` gave shards {shards}, which repeat a sample"
            )
        else:
            assert counts.min() >= 1 and len(every) == -(-n // replicas) * replicas, (
                f"epoch {epoch} (n={n}, {replicas} ranks): `shard_indices` gave shards {shards}, which miss samples "
                f"{np.flatnonzero(counts == 0)}"
            )
            assert counts.sum() - n == len(every) - n and (counts > 1).sum() <= len(every) - n, (
                f"epoch {epoch} (n={n}, {replicas} ranks): `shard_indices` gave shards {shards}, which repeat more "
                "samples than the padding needs"
            )
        orders.append(every)
    assert orders[0] != orders[1] or n < 3, "set_epoch must change the order of the next epoch"
