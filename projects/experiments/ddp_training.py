"""Data-parallel training of the MNIST MLP with DistributedDataParallel, launched by ``torchrun``.

Every process holds a full copy of the model and trains on its own shard of the data (a
``DistributedSampler``); after each backward pass DDP averages the gradients across processes
(an all-reduce), so every copy takes the same step and the copies stay identical. Two processes
on one CPU (the gloo backend)::

    python -m torch.distributed.run --nproc_per_node=2 --master_addr 127.0.0.1 --master_port 29500 \\
        projects/experiments/ddp_training.py --epochs 2

On a machine with GPUs, one process per GPU (NCCL is picked automatically; ``LOCAL_RANK``
selects ``cuda:<local_rank>``)::

    torchrun --nproc_per_node=<GPUs> projects/experiments/ddp_training.py --epochs 5

What changes at scale: the **effective batch** is the per-process batch times the number of
processes, so one step sees more data and there are fewer steps per epoch. The **linear
scaling rule** (Goyal et al., 2017) multiplies the learning rate by the same factor, and a
**warmup** (the rate rising linearly over the first steps) keeps the larger rate from blowing
up the first updates. Rank 0 alone logs and writes the checkpoint.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from projects.experiments.models import make_mlp
from projects.experiments.search import accuracy_on, mnist_subsets
from utils.train import save_checkpoint

_REPO_ROOT = Path(__file__).resolve().parents[2]
#: Where rank 0 writes the checkpoint and the history unless ``--checkpoint-dir`` says otherwise.
DEFAULT_CHECKPOINT_DIR = (_REPO_ROOT if (_REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()) / "artifacts" / "experiments"
BACKENDS = ("auto", "gloo", "nccl")
LAUNCH_HINT = ("launch this script with torchrun, e.g. `python -m torch.distributed.run --nproc_per_node=2 "
               "--master_addr 127.0.0.1 --master_port 29500 projects/experiments/ddp_training.py`")

log = logging.getLogger("ddp_training")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; ``--help`` lists every flag."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="passes over the training subset")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step in EACH process")
    parser.add_argument("--lr", type=float, default=0.05,
                        help="learning rate for ONE process at --batch-size; scaled by the world size unless --no-scale-lr")
    parser.add_argument("--no-scale-lr", action="store_true", help="do not apply the linear scaling rule")
    parser.add_argument("--warmup-steps", type=int, default=20, help="steps over which the rate rises linearly to its peak")
    parser.add_argument("--train-size", type=int, default=4000, help="MNIST training images (shared out among processes)")
    parser.add_argument("--val-size", type=int, default=2000, help="MNIST validation images, scored by rank 0")
    parser.add_argument("--width", type=int, default=128, help="hidden units of the MLP")
    parser.add_argument("--depth", type=int, default=1, help="hidden layers of the MLP")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data subset, the initial weights and the shuffling")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="auto: nccl when every process can have its own GPU, else gloo (CPU)")
    parser.add_argument("--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR,
                        help="where rank 0 writes ddp_mlp.pt and ddp_history.json")
    parser.add_argument("--weights-dir", type=Path, default=None,
                        help="if given, EVERY rank saves its final weights there as rank<r>.pt (to check they agree)")
    parser.add_argument("--progress", action="store_true", help="show a tqdm progress bar on rank 0")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "train_size", "val_size", "width"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.lr <= 0 or args.warmup_steps < 0 or args.depth < 0:
        parser.error("--lr must be positive, --warmup-steps and --depth at least 0")
    return args


def choose_backend(requested: str = "auto", local_world_size: int = 1) -> str:
    """``"nccl"`` when CUDA has a GPU for every local process, else ``"gloo"``; or the one requested."""
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {requested!r}")
    if requested == "auto":
        enough_gpus = torch.cuda.is_available() and torch.cuda.device_count() >= local_world_size
        return "nccl" if enough_gpus else "gloo"
    if requested == "nccl" and not torch.cuda.is_available():
        raise RuntimeError("--backend nccl needs CUDA GPUs, and none is available here; use --backend gloo")
    return requested


def scaled_learning_rate(lr: float, world_size: int, scale: bool = True) -> float:
    """The linear scaling rule: ``world_size`` times the batch, ``world_size`` times the rate."""
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}")
    return lr * world_size if scale else lr


def warmup_factor(step: int, warmup_steps: int) -> float:
    """The fraction of the peak rate at ``step`` (from 0): rising linearly to 1 over ``warmup_steps``."""
    return 1.0 if warmup_steps == 0 else min(1.0, (step + 1) / warmup_steps)


def weights_digest(model: nn.Module) -> str:
    """A sha256 of every parameter and buffer, in order: equal digests mean identical weights."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it), for ``--master_port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def torchrun_command(script_args: list[str] | tuple[str, ...] = (), nproc_per_node: int = 2,
                     port: int | None = None, host: str = "127.0.0.1") -> list[str]:
    """The command that launches this script on one machine: ``python -m torch.distributed.run ...``.

    ``sys.executable`` runs torchrun, so the processes use this environment's PyTorch.
    """
    if isinstance(nproc_per_node, bool) or not isinstance(nproc_per_node, int) or nproc_per_node < 1:
        raise ValueError(f"nproc_per_node must be a positive int, got {nproc_per_node!r}")
    port = free_port(host) if port is None else port
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", f"--nproc_per_node={nproc_per_node}",
            f"--master_addr={host}", f"--master_port={port}", str(Path(__file__).resolve()),
            *map(str, script_args)]


def main(argv: list[str] | None = None) -> dict:
    """Train with DDP in this process (one of ``WORLD_SIZE``); returns the history on every rank."""
    args = parse_args(argv)
    missing = [name for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise RuntimeError(f"the environment variables {missing} are not set: {LAUNCH_HINT}")
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    backend = choose_backend(args.backend, int(os.environ.get("LOCAL_WORLD_SIZE", world_size)))
    device = torch.device(f"cuda:{local_rank}") if backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, stream=sys.stdout,
                        format=f"[rank {rank}] %(message)s", force=True)
    # reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT from the environment torchrun set up
    dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)
    try:
        return _train(args, rank, world_size, backend, device)
    finally:
        dist.destroy_process_group()


def _train(args: argparse.Namespace, rank: int, world_size: int, backend: str, device: torch.device) -> dict:
    data = mnist_subsets(args.train_size, args.val_size, seed=args.seed)  # the same subset in every process
    dataset = TensorDataset(data.train_images, data.train_labels)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, num_workers=0)

    torch.manual_seed(args.seed)
    model = make_mlp(args.width, args.depth).to(device)
    ddp_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    lr = scaled_learning_rate(args.lr, world_size, scale=not args.no_scale_lr)
    optimizer = torch.optim.SGD(ddp_model.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_factor(step, args.warmup_steps))
    loss_fn = nn.CrossEntropyLoss()
    log.info(f"backend {backend}, {world_size} processes on {device.type}; per-process batch {args.batch_size} "
             f"x {world_size} = effective batch {args.batch_size * world_size}; {len(loader)} steps per epoch; "
             f"lr {args.lr:g} x {world_size if not args.no_scale_lr else 1} = {lr:g}, warmup {args.warmup_steps} steps")

    history = {"epoch_loss": [], "step_loss": [], "seconds": [], "world_size": world_size, "backend": backend,
               "effective_batch": args.batch_size * world_size, "lr": lr}
    start = time.perf_counter()
    for epoch in tqdm(range(1, args.epochs + 1), desc="epochs", disable=rank != 0 or not args.progress):
        sampler.set_epoch(epoch)  # a different shuffle every epoch, the same on every rank
        ddp_model.train()
        totals = torch.zeros(2, device=device)  # [sum of losses, number of images] in this process
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            loss = loss_fn(ddp_model(images), labels)
            optimizer.zero_grad()
            loss.backward()  # DDP all-reduces (averages) the gradients here
            optimizer.step()
            scheduler.step()
            history["step_loss"].append(loss.item())
            totals += torch.stack([loss.detach() * len(labels), torch.tensor(float(len(labels)), device=device)])
        dist.all_reduce(totals)  # sum over processes: the mean loss of the whole epoch
        history["epoch_loss"].append((totals[0] / totals[1]).item())
        history["seconds"].append(time.perf_counter() - start)
        log.info(f"epoch {epoch}/{args.epochs}: mean training loss {history['epoch_loss'][-1]:.4f} over "
                 f"{int(totals[1])} images, {history['seconds'][-1]:.1f} s")

    digest = weights_digest(model)
    if args.weights_dir is not None:
        args.weights_dir.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dict": model.state_dict(), "digest": digest, "history": history},
                   args.weights_dir / f"rank{rank}.pt")
    if rank == 0:  # one process writes the checkpoint and the log; the others hold the same weights
        history["val_accuracy"] = accuracy_on(model, data.val_images, data.val_labels)
        path = save_checkpoint(args.checkpoint_dir / "ddp_mlp.pt", model, optimizer, width=args.width,
                               depth=args.depth, epochs=args.epochs, val_accuracy=history["val_accuracy"])
        (args.checkpoint_dir / "ddp_history.json").write_text(json.dumps(history), encoding="utf-8")
        log.info(f"validation accuracy {history['val_accuracy']:.4f}; weights sha256 {digest[:16]}…; "
                 f"checkpoint {path}")
    dist.barrier()  # nobody leaves before rank 0 has written
    return history


if __name__ == "__main__":
    main()
