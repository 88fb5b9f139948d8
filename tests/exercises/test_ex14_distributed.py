"""ex14 public tests: the ring all-reduce against the sum of the ranks' buffers, DDP training against
single-process torch training, the bucketing order, no_sync, and the sampler against torch's
DistributedSampler.

ex14 runs in a worker process (grader/judge.py) that may import torch.distributed, its engine, and fork its
ranks. Tests with several ranks send a job there (tests/support/distributed_runs.py): forks of the worker,
one gloo process group on 127.0.0.1 (`mt.distributed.spawn`), each job stopped after JOB_TIMEOUT_S seconds,
so a ring that waits for a message nobody sends fails the test instead of hanging it. The inputs are drawn
here and every expected value is computed here; what comes back is data. Exercise code is reached directly
(chunk_bounds, shard_indices) and through the framework (mt.nn.parallel.DistributedDataParallel,
mt.utils.data.DistributedSampler) in programs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.utils.data

from grader import judge
from tests.support import distributed_runs as runs
from tests.support import nn_programs
from tests.support.compare import assert_close

ag = judge.exercise("ex14")  # ex14 runs in a worker process (grader/judge.py)
mt: Any  # a program's global: the framework as the worker serves it (never bound here)


# ---------------------------------------------------------------------------------------------
# Part 1: chunks and the ring
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 7])
@pytest.mark.hint("chunk_bounds: the first numel % world_size chunks get one extra element, like torch.tensor_split.")
def test_chunk_bounds_match_torch_tensor_split(world_size: int) -> None:
    for numel in [0, 1, 2, 3, 5, 7, 10, 16, 23]:
        expected = [(int(c[0]), int(c[-1]) + 1) if len(c) else None
                    for c in torch.tensor_split(torch.arange(numel), world_size)]
        got = ag.chunk_bounds(numel, world_size)
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
    runs.check_ring(ag, world_size, cases)


@pytest.mark.parametrize("world_size", [3])
@pytest.mark.hint("ring_all_reduce: send only to (rank + 1) % world_size, one chunk at a time, with dist.isend or "
                  "dist.send; each rank sends about 2 (p - 1) / p of the buffer in all.")
def test_ring_all_reduce_sends_chunks_to_the_next_rank_only(world_size: int) -> None:
    cases: list[runs.Case] = [((30,), "float64"), ((7,), "float64")]
    results = runs.check_ring(ag, world_size, cases, seed=1)
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
            assert 2 * (n - largest) <= sent <= 2 * (n - n // world_size), (
                f"rank {rank} sent {sent} elements through dist.send/dist.isend for a buffer of {n} on {world_size} "
                f"ranks; a ring sends 2 (p - 1) chunks, about {2 * (world_size - 1) * n // world_size} (send with "
                "dist.isend or dist.send of minitorch_dg.distributed, as the module imports it)"
            )


# ---------------------------------------------------------------------------------------------
# Part 2: broadcast, buckets, DDP
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("broadcast_module_state: broadcast every parameter AND every buffer (module.buffers()) from src.")
def test_broadcast_module_state_copies_parameters_and_buffers() -> None:
    states = runs.broadcast_states((3, 4, 2), 2, seed=3)
    results = runs.run_job(ag, runs.broadcast_rank, 2, nn_programs.build, runs.mlp_layers((3, 4, 2)), states)
    source = states[0]
    for rank, after in enumerate(results):
        assert set(after) == set(source), f"rank {rank}'s state has {sorted(after)}; expected {sorted(source)}"
        for name, value in source.items():
            assert np.array_equal(after[name], value), (
                f"after broadcast_module_state, rank {rank}'s {name!r} is {np.ravel(after[name])[:4]}..., "
                f"rank 0's is {value.ravel()[:4]}... (every parameter and buffer must come from rank 0)"
            )


@pytest.mark.hint("GradientBucketer: append each parameter as it becomes ready; reduce the bucket the moment it holds "
                  "bucket_cap_bytes, not at the end of backward.")
def test_bucketer_reduces_full_buckets_as_gradients_become_ready() -> None:
    shapes = [(4, 3), (4,), (2, 4), (2,), (5, 2), (5,)]
    runs.run_bucketer(ag, shapes, order=[5, 4, 3, 2, 1, 0], cap_bytes=100, world_size=2)
    runs.run_bucketer(ag, shapes, order=[4, 5, 2, 0, 3, 1], cap_bytes=64, world_size=3)


@pytest.mark.hint("GradientBucketer: after all_reduce (a sum over ranks) divide by world_size: DDP averages.")
def test_bucketer_one_bucket_for_everything_averages() -> None:
    runs.run_bucketer(ag, [(3,), (2, 2), (1,)], order=[1, 2, 0], cap_bytes=10**9, world_size=4, rounds=3)


@pytest.mark.hint("GradientBucketer.no_sync: inside the block grad_ready must not communicate.")
def test_bucketer_no_sync_skips_communication() -> None:
    ones = [np.ones(3), np.ones(3)]
    quiet, after = ag.run_program(runs.bucketer_rounds, ones, [ones, ones], [1, 0], 8, 2, True)
    assert quiet["calls"] == [], f"grad_ready inside no_sync() called all_reduce {len(quiet['calls'])} time(s)"
    for g in quiet["grads"]:
        assert_close(g, np.ones(3), what="a gradient inside no_sync() (left as it is)")
    assert len(after["calls"]) == 2, (
        f"after no_sync() the next backward must reduce again (one bucket per parameter here); all_reduce was "
        f"called {len(after['calls'])} time(s)"
    )


DDP_SIZES = (4, 6, 5, 3)


@pytest.mark.parametrize("world_size", [2, 3])
@pytest.mark.hint("DDP: rank 0's weights everywhere, then every step's gradient is the average over ranks.")
def test_ddp_training_matches_single_process_training(world_size: int) -> None:
    runs.check_ddp(ag, DDP_SIZES, world_size, steps=3, micro=1, rows=4, bucket_cap_mb=0.0002, lr=0.1, momentum=0.9,
                   seed=11, what="(torch: one process on the concatenated batches; DDP runs your "
                                 "broadcast_module_state(...) and GradientBucketer(...))")


@pytest.mark.hint("GradientBucketer.no_sync: gradients accumulate locally; the backward after the block averages "
                  "the accumulated sum.")
def test_ddp_no_sync_accumulation_equals_a_larger_batch() -> None:
    runs.check_ddp(ag, DDP_SIZES, 2, steps=2, micro=3, rows=2, bucket_cap_mb=0.0001, lr=0.05, momentum=0.0, seed=5,
                   what="of 3 micro-batches (2 under GradientBucketer.no_sync(); torch: one process on the "
                        "concatenated batches)")


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
                got = ag.shard_indices(order, replicas, rank, drop_last)
                assert list(got) == expected, (
                    f"shard_indices(order={order}, num_replicas={replicas}, rank={rank}, drop_last={drop_last}) = "
                    f"{list(got)}; torch's DistributedSampler takes {expected}"
                )


def sampler_epochs(n: int, replicas: int, drop_last: bool, epochs: int) -> list[list[list[int]]]:
    """Program: shards[epoch][rank] of `replicas` mt.utils.data.DistributedSampler (shuffle, seed 7) over
    range(n), with set_epoch before each epoch."""
    samplers = [mt.utils.data.DistributedSampler(list(range(n)), num_replicas=replicas, rank=r, shuffle=True, seed=7,
                                                 drop_last=drop_last) for r in range(replicas)]
    out = []
    for epoch in range(epochs):
        for sampler in samplers:
            sampler.set_epoch(epoch)
        out.append([[int(i) for i in sampler] for sampler in samplers])
    return out


@pytest.mark.parametrize("n,replicas,drop_last", [(12, 3, False), (13, 3, False), (13, 3, True), (5, 4, False)])
def test_sampler_partitions_every_epoch(n: int, replicas: int, drop_last: bool) -> None:
    orders = []
    for epoch, shards in enumerate(ag.run_program(sampler_epochs, n, replicas, drop_last, 3)):
        every = [i for shard in shards for i in shard]
        assert len({len(s) for s in shards}) == 1, f"epoch {epoch}: the ranks got {[len(s) for s in shards]} samples from `shard_indices`"
        assert all(0 <= i < n for i in every), f"epoch {epoch}: `shard_indices` gave shards {shards}, outside range({n})"
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
