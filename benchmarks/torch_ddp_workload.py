"""torch's own DistributedDataParallel on the digits CNN, the yardstick for ex14's; run by benchmarks/test_bench_ddp.py.

    torchrun --standalone --nproc-per-node 2 benchmarks/torch_ddp_workload.py --json out.json

The network, the data and the step are examples/ddp_digits.py's with --model cnn, written in torch: the
training part of minitorch_dg.datasets.digits (the same split, as numpy arrays), two conv-relu-pool
stages (32 and 64 channels) and a linear layer, Adam, --batch-size samples per process, one thread per
process. Each epoch visits the training set once, every process taking its share of every global batch;
rank 0 writes the samples per second of every epoch (all processes together) to --json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from minitorch_dg.datasets import digits_arrays


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The digits CNN's training set: images (N, 1, 8, 8) in [0, 1] and labels (N,)."""
    images, labels = digits_arrays(train=True, flatten=False)
    return torch.from_numpy(images), torch.from_numpy(labels)


def cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * 2 * 2, 10))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32, help="samples per process and step")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    images, labels = digits()
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(cnn())
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    per_step = args.batch_size * world
    steps = len(images) // per_step
    rates = []
    for epoch in range(args.epochs):
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(epoch))
        dist.barrier()
        start = time.perf_counter()
        for step in range(steps):
            mine = order[step * per_step + rank * args.batch_size:step * per_step + (rank + 1) * args.batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images[mine]), labels[mine])
            loss.backward()
            optimizer.step()
            loss.item()
        dist.barrier()
        rates.append(steps * per_step / (time.perf_counter() - start))
    if rank == 0:
        args.json.write_text(json.dumps({"samples_per_second": rates, "world_size": world}, indent=2) + "\n")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
