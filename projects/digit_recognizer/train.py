"""Training the digit CNN: batched random affine augmentation, a one-cycle learning-rate
schedule stepped every batch, and plain accuracy/logit helpers.

The notebook explains each piece; this module keeps the loop in one place so that the notebook,
its iteration step and the app's tests train the model the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm


def random_affine(images: torch.Tensor, *, degrees: float = 6.0, scale: float = 0.06,
                  translate: float = 0.06, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate, scale and shift every image of a batch ``[B, 1, H, W]`` by its own random amount.

    Angle uniform in ±``degrees``, scale factor in 1 ± ``scale``, shift in ±``translate`` of the
    image size along each axis; bilinear interpolation, black outside. One ``affine_grid`` and one
    ``grid_sample`` call for the whole batch, so it costs little next to the model.
    """
    if images.dim() != 4:
        raise ValueError(f"random_affine needs a batch [B, C, H, W], got shape {tuple(images.shape)}")
    count = images.shape[0]
    draws = torch.rand(4, count, generator=generator).to(images.device) * 2 - 1  # uniform in [-1, 1)
    angle = draws[0] * math.radians(degrees)
    zoom = 1 + draws[1] * scale
    shift_x, shift_y = draws[2] * 2 * translate, draws[3] * 2 * translate  # grid coordinates span 2
    # affine_grid maps output positions to input positions, so it takes the inverse transform
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift_x], dim=1),
                         torch.stack([sin, cos, shift_y], dim=1)], dim=1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@dataclass
class TrainingLog:
    """What :func:`train` saw: loss and learning rate per batch, validation accuracy per epoch."""

    batch_loss: list[float] = field(default_factory=list)
    batch_lr: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    batches_per_epoch: int = 0


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The model's logits for ``images [N, 1, 28, 28]``, in eval mode, on the CPU."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        logits = [model(images[start:start + batch_size].to(device)).cpu()
                  for start in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(logits)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` the model labels correctly."""
    return (predict_logits(model, images).argmax(dim=1) == labels.cpu()).float().mean().item()


def train(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int,
          batch_size: int = 128, peak_lr: float = 0.1, weight_decay: float = 5e-4,
          label_smoothing: float = 0.1, augment: bool = True, seed: int = 0,
          val_images: torch.Tensor | None = None, val_labels: torch.Tensor | None = None,
          device: torch.device | str = "cpu", progress: bool = True) -> TrainingLog:
    """Train ``model`` in place with SGD (Nesterov momentum 0.9) and ``OneCycleLR``.

    The schedule warms the learning rate up to ``peak_lr`` over the first 20% of the batches, then
    anneals it (cosine) to almost zero, stepping after every batch. With ``augment`` each batch
    goes through :func:`random_affine`. ``seed`` fixes the batch order and the augmentations.
    The model is kept in the channels-last memory format while training: on a CPU, PyTorch's
    oneDNN convolutions run about twice as fast in it (same numbers, different layout).
    """
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    model.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=0.9, nesterov=True,
                                weight_decay=weight_decay)
    batches_per_epoch = math.ceil(len(images) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak_lr, pct_start=0.2,
                                                   total_steps=epochs * batches_per_epoch)
    log = TrainingLog(batches_per_epoch=batches_per_epoch)
    for epoch in tqdm(range(epochs), desc="train", unit="epoch", disable=not progress):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        batches = tqdm(range(batches_per_epoch), desc=f"epoch {epoch + 1}", leave=False,
                       disable=not progress)
        for batch in batches:
            index = order[batch * batch_size:(batch + 1) * batch_size]
            x, y = images[index].to(device), labels[index].to(device)
            if augment:
                x = random_affine(x, generator=generator)
            loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            log.batch_lr.append(schedule.get_last_lr()[0])
            schedule.step()
            log.batch_loss.append(loss.item())
        if val_images is not None:
            log.val_accuracy.append(accuracy(model, val_images, val_labels))
    model.eval()
    return log
