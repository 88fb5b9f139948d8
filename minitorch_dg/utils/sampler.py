"""`DistributedSampler`: each rank's share of a dataset, a new shuffle every epoch, the same on every rank.

    sampler = DistributedSampler(train, shuffle=True, seed=0)      # rank and world size from mt.distributed
    loader = DataLoader(train, batch_size=32, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                                   # else every epoch repeats one order
        for xb, yb in loader: ...

Every rank draws the same permutation (numpy's generator seeded with seed + epoch), then takes its
shard of it (ex14's shard_indices): together the ranks see every sample once per epoch, padded by
repetition so that all ranks have the same number of samples (or cut, with drop_last=True).
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import numpy as np

from .. import course, distributed

_ex14 = course.ExerciseProxy("ex14")


class DistributedSampler:
    """Indices of one rank's shard of `dataset`, torch.utils.data.DistributedSampler's meaning."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            if not distributed.is_initialized():
                raise RuntimeError(
                    "DistributedSampler needs num_replicas and rank, or an initialized process group to take them "
                    "from (mt.distributed.init_process_group())"
                )
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas must be a positive int, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        self.num_samples = n // num_replicas if drop_last else -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch: with shuffle=True each epoch has its own order, the same on every rank."""
        self.epoch = int(epoch)

    def order(self) -> list[int]:
        """This epoch's order of the whole dataset, before sharding."""
        n = len(self.dataset)
        if self.shuffle:
            return [int(i) for i in np.random.default_rng(self.seed + self.epoch).permutation(n)]
        return list(range(n))

    def __iter__(self) -> Iterator[int]:
        indices = _ex14.shard_indices(self.order(), self.num_replicas, self.rank, self.drop_last)
        if len(indices) != self.num_samples:
            raise RuntimeError(
                f"ex14 shard_indices gave rank {self.rank} {len(indices)} indices; every rank must get "
                f"{self.num_samples} (of {len(self.dataset)} samples over {self.num_replicas} ranks, "
                f"drop_last={self.drop_last})"
            )
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples
