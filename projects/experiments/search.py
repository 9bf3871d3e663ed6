"""One search trial: train a model from a configuration on a fixed budget, score it on validation.

A *configuration* is a plain dict of settings::

    {"lr": 3e-3, "batch_size": 32, "width": 128, "depth": 1, "optimizer": "adam", "dropout": 0.0}

optionally with ``"architecture"`` (``"mlp"``, ``"cnn"``, ``"resnet"``; default ``"mlp"``) and
``"channels"`` (for the CNNs). :func:`train_trial` trains it for ``epochs`` epochs on the
training tensors and returns the validation accuracy after every epoch. The same seed gives the
same initial weights, batches and dropout masks, so two configurations compared with one seed
differ only in their settings. The search strategies themselves (grid, random, Optuna) are in
the notebook: they only decide which configurations to try.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from projects.experiments.models import ARCHITECTURES, build_model
from utils.data import load_mnist

OPTIMIZERS = ("sgd", "adam")
REQUIRED_KEYS = ("lr", "batch_size", "optimizer")
KNOWN_KEYS = set(REQUIRED_KEYS) | {"width", "depth", "dropout", "architecture", "channels"}


@dataclass
class Splits:
    """Training and validation tensors: images ``[N, 1, 28, 28]`` float, labels ``[N]`` int64."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor

    def to(self, device: torch.device | str) -> Splits:
        """The same tensors on ``device`` (so a GPU does not wait for a copy every batch)."""
        return Splits(*(getattr(self, name).to(device) for name in
                        ("train_images", "train_labels", "val_images", "val_labels")))


def mnist_subsets(train_size: int = 2000, val_size: int = 2000, seed: int = 0) -> Splits:
    """A random ``train_size`` images of MNIST's training split and ``val_size`` of its validation split.

    The subsets are drawn with a generator seeded by ``seed``, so every trial sees the same data.
    """
    for name, size, limit in [("train_size", train_size, 50_000), ("val_size", val_size, 10_000)]:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= limit:
            raise ValueError(f"{name} must be an int from 1 to {limit:,} (the split's size), got {size!r}")
    generator = torch.Generator().manual_seed(seed)
    train_images, train_labels = load_mnist("train")
    val_images, val_labels = load_mnist("val")
    train_index = torch.randperm(len(train_labels), generator=generator)[:train_size]
    val_index = torch.randperm(len(val_labels), generator=generator)[:val_size]
    return Splits(train_images[train_index], train_labels[train_index], val_images[val_index], val_labels[val_index])


def check_config(config: dict) -> dict:
    """Return ``config`` with defaults filled in, or raise ``ValueError`` saying which setting is wrong."""
    if not isinstance(config, dict):
        raise TypeError(f"a configuration is a dict of settings, got {type(config).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in config]
    if missing:
        raise ValueError(f"the configuration lacks {missing}; it needs {list(REQUIRED_KEYS)}, got {config}")
    unknown = set(config) - KNOWN_KEYS
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known settings are {sorted(KNOWN_KEYS)}")
    full = {"width": 128, "depth": 1, "dropout": 0.0, "architecture": "mlp", "channels": 16, **config}
    if not (isinstance(full["lr"], (int, float)) and math.isfinite(full["lr"]) and full["lr"] > 0):
        raise ValueError(f"lr must be a positive number, got {full['lr']!r}")
    if isinstance(full["batch_size"], bool) or not isinstance(full["batch_size"], int) or full["batch_size"] < 1:
        raise ValueError(f"batch_size must be a positive int, got {full['batch_size']!r}")
    if full["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {full['optimizer']!r}")
    if full["architecture"] not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {full['architecture']!r}")
    return full


def make_optimizer(name: str, parameters, lr: float) -> torch.optim.Optimizer:
    """``"sgd"``: SGD with momentum 0.9 (Nesterov); ``"adam"``: Adam with PyTorch's defaults."""
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9, nesterov=True)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


@torch.no_grad()
def accuracy_on(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """The fraction of ``images`` the model classifies right (evaluation mode, in batches)."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for image_batch, label_batch in zip(images.split(batch_size), labels.split(batch_size)):
        predictions = model(image_batch.to(device)).argmax(dim=1)
        correct += int((predictions == label_batch.to(device)).sum())
    return correct / len(labels)


@dataclass
class TrialResult:
    """What one trial produced: the validation accuracy after each epoch, the training loss, the model."""

    config: dict
    val_curve: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    model: nn.Module | None = field(default=None, repr=False)

    @property
    def val_accuracy(self) -> float:
        """The validation accuracy after the last epoch that ran (the trial's score)."""
        return self.val_curve[-1]


def train_trial(config: dict, data: Splits, *, epochs: int = 2, seed: int = 0,
                on_epoch_end: Callable[[int, float], None] | None = None,
                device: torch.device | str = "cpu") -> TrialResult:
    """Train ``config`` for ``epochs`` epochs on ``data``; score it on validation after every epoch.

    ``on_epoch_end(epoch, val_accuracy)`` (epochs counted from 1) is called after each epoch; an
    exception it raises (such as ``optuna.TrialPruned``) stops the trial and propagates. A
    diverged run (non-finite loss) stops early and keeps the accuracy it has.
    """
    config = check_config(config)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not isinstance(data, Splits):
        raise TypeError(f"data must be a Splits (from mnist_subsets), got {type(data).__name__}")
    start = time.perf_counter()
    torch.manual_seed(seed)  # initial weights and dropout masks
    batch_order = torch.Generator().manual_seed(seed)  # the order of the batches
    model = build_model(config["architecture"], width=config["width"], depth=config["depth"],
                        dropout=config["dropout"], channels=config["channels"]).to(device)
    optimizer = make_optimizer(config["optimizer"], model.parameters(), config["lr"])
    loss_fn = nn.CrossEntropyLoss()
    result = TrialResult(config=config, model=model)
    for epoch in range(1, epochs + 1):
        model.train()
        total_loss, seen = 0.0, 0
        order = torch.randperm(len(data.train_labels), generator=batch_order).to(data.train_labels.device)
        for index in order.split(config["batch_size"]):
            images, labels = data.train_images[index].to(device), data.train_labels[index].to(device)
            loss = loss_fn(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(index)
            seen += len(index)
        result.train_loss.append(total_loss / seen)
        result.val_curve.append(accuracy_on(model, data.val_images, data.val_labels))
        result.seconds = time.perf_counter() - start
        if on_epoch_end is not None:
            on_epoch_end(epoch, result.val_curve[-1])
        if not math.isfinite(result.train_loss[-1]):
            break  # diverged: more epochs cannot help
    return result
