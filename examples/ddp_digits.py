"""Train the digits MLP (or CNN) data-parallel on several processes (or machines) with minitorch-dg's DDP.

One machine, two processes:

    torchrun --nproc-per-node 2 examples/ddp_digits.py
    torchrun --nproc-per-node 2 examples/ddp_digits.py --epochs 3 --threads 1
    torchrun --nproc-per-node 2 examples/ddp_digits.py --model cnn    # examples/digits_cnn.py's network

Several machines (run the same command on each, with its own --node-rank; MASTER is the address of the
machine with node rank 0, reachable from the others, and the port is free there):

    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 4 --master-addr MASTER --master-port 29500 examples/ddp_digits.py
    torchrun --nnodes 2 --node-rank 1 --nproc-per-node 4 --master-addr MASTER --master-port 29500 examples/ddp_digits.py

(or with elastic rendezvous: `--rdzv-backend c10d --rdzv-endpoint MASTER:29500 --rdzv-id digits` instead of
the --master-* and --node-rank options). Every process holds the whole model
(examples/digits_mlp.py's Linear(64, 128) - ReLU - Dropout - Linear(128, 10), or with --model cnn
examples/digits_cnn.py's two conv-relu-pool stages and a linear layer); a DistributedSampler gives it
its share of every epoch, and DistributedDataParallel (ex14's core) starts every process from rank 0's
weights and averages the gradients after each backward. The global batch is --batch-size, split evenly
over the processes, so one step is the same step whatever the number of processes. Rank 0 prints the
loss, the test accuracy and the training throughput (samples per second, all processes together), and at
the end checks that every replica holds the same weights.

If a process fails, torchrun stops the others and names the failed rank; a process left waiting for a
peer that died gives up after --timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import minitorch_dg as mt
import minitorch_dg.distributed as dist
import minitorch_dg.nn.functional as F
from minitorch_dg.nn.parallel import DistributedDataParallel
from minitorch_dg.utils.data import DataLoader, DistributedSampler

sys.path.insert(0, str(Path(__file__).resolve().parent))
import digits_cnn  # noqa: E402
from digits_mlp import Config, build_model, evaluate, load_data, source_in_force  # noqa: E402

if "MTDG_SOURCE" not in os.environ and mt.course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"  # the instructors' copy runs the reference; a release runs yours


def set_threads(threads: int) -> None:
    """Use `threads` cores in this process, for torch (communication) and Numba (the fast backend)."""
    import torch

    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass


def replicas_agree(model: mt.nn.Module) -> bool:
    """True when every rank's parameters equal rank 0's (the max difference, all-reduced, is 0)."""
    worst = 0.0
    for p in model.parameters():
        reference = p.detach().clone()
        dist.broadcast(reference, 0)
        worst = max(worst, float((p.detach() - reference).abs().max().item()))
    flag = mt.tensor([worst], dtype=mt.float64)
    dist.all_reduce(flag, op="max")
    return flag.item() == 0.0


def model_and_data(config: Config, kind: str) -> tuple[mt.nn.Module, Any, Any]:
    """The network and the (train, test) datasets of examples/digits_mlp.py ('mlp') or digits_cnn.py ('cnn')."""
    if kind == "mlp":
        train_set, test_set = load_data(config)
        return build_model(config), train_set, test_set
    cnn = digits_cnn.Config(seed=config.seed, subset=config.subset)
    train_set, test_set = digits_cnn.load_data(cnn)
    return digits_cnn.build_model(cnn, digits_cnn.image_size(train_set)), train_set, test_set


def train(config: Config, threads: int, kind: str = "mlp") -> dict[str, Any]:
    rank, world = dist.get_rank(), dist.get_world_size()
    if config.batch_size % world:
        raise ValueError(f"--batch-size {config.batch_size} must be a multiple of the number of processes ({world})")
    set_threads(threads)
    mt.manual_seed(config.seed)
    network, train_set, test_set = model_and_data(config, kind)
    sampler = DistributedSampler(train_set, shuffle=True, seed=config.seed, drop_last=True)
    loader = DataLoader(train_set, batch_size=config.batch_size // world, sampler=sampler, drop_last=True)
    model = DistributedDataParallel(network)
    mt.manual_seed(config.seed + rank)  # each rank its own dropout masks
    optimizer = mt.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history: dict[str, Any] = {"train_loss": [], "test_accuracy": [], "samples_per_second": [],
                               "source": source_in_force()}  # which code served the exercises
    if rank == 0:
        print(f"DDP digits {kind.upper()}: {world} processes x {threads} thread(s), global batch {config.batch_size}, "
              f"{len(loader)} steps per epoch, backend '{mt.backends.cpu_backend_name()}', {mt.course.describe()}",
              flush=True)
    for epoch in range(config.epochs):
        sampler.set_epoch(epoch)
        model.train()
        dist.barrier()
        start = time.perf_counter()
        running = mt.zeros(1, dtype=mt.float64)
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            running += loss.item()
        dist.barrier()
        seconds = time.perf_counter() - start
        dist.all_reduce(running)
        train_loss = running.item() / (world * len(loader))
        _, test_accuracy = evaluate(model.module, DataLoader(test_set, batch_size=256))
        throughput = len(loader) * config.batch_size / seconds
        for key, value in (("train_loss", train_loss), ("test_accuracy", test_accuracy),
                           ("samples_per_second", throughput)):
            history[key].append(value)
        if rank == 0:
            print(f"epoch {epoch + 1:>2}/{config.epochs}: train loss {train_loss:.4f} | test acc {test_accuracy:6.2%} | "
                  f"{seconds:.2f} s, {throughput:.0f} samples/s", flush=True)
    agree = replicas_agree(model.module)
    if rank == 0:
        print(f"replicas identical after training: {'yes' if agree else 'NO'}", flush=True)
    if not agree:
        raise RuntimeError("the replicas drifted apart: the gradients were not averaged identically on every rank")
    return history


def main(argv: list[str] | None = None) -> int:
    from torch.distributed.elastic.multiprocessing.errors import record

    return record(_main)(argv)  # a failing rank's error reaches torchrun's summary, which names the rank


def _main(argv: list[str] | None = None) -> int:
    defaults = Config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="the network (default mlp)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="global batch (all processes)")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--subset", type=int, default=None, help="use only the first N training and N test samples")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per process (default 1)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a process waits for its peers")
    parser.add_argument("--json", type=Path, default=None, help="rank 0 writes the per-epoch numbers (and the MTDG_SOURCE in force) here")
    args = parser.parse_args(argv)
    if "RANK" not in os.environ:
        parser.error("start it with torchrun, e.g. `torchrun --nproc-per-node 2 examples/ddp_digits.py`")
    config = Config(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, subset=args.subset)
    dist.init_process_group("gloo", timeout=args.timeout)
    try:
        history = train(config, args.threads, args.model)
        if args.json is not None and dist.get_rank() == 0:
            args.json.write_text(json.dumps(history, indent=2) + "\n")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
