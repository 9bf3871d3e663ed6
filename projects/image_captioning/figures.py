"""The attention figure: the image once per generated word, with where the model looked overlaid."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure


def plot_attention(image: torch.Tensor, words: list[str], attention: torch.Tensor, *,
                   columns: int = 6, title: str | None = None) -> Figure:
    """One panel per word: ``image`` [3, H, W] with that word's attention [L] (L = h * w cells, a
    square grid) upsampled bilinearly to H x W and drawn over it (brighter = more weight).

    ``attention`` is [T, L] with T >= len(words) (the rows of the words in order).
    """
    if not isinstance(image, torch.Tensor) or image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image must be one RGB image [3, H, W], got "
                         f"{tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__}")
    if not isinstance(attention, torch.Tensor) or attention.dim() != 2 or attention.shape[0] < len(words):
        raise ValueError(f"attention must be [T, L] with a row per word ({len(words)} words), got "
                         f"{tuple(attention.shape) if isinstance(attention, torch.Tensor) else type(attention).__name__}")
    side = math.isqrt(attention.shape[1])
    if side * side != attention.shape[1]:
        raise ValueError(f"attention has {attention.shape[1]} cells per word, not a square grid")
    image, attention = image.detach().cpu(), attention.detach().cpu()[: len(words)]
    height, width = image.shape[1:]
    maps = F.interpolate(attention.view(-1, 1, side, side), size=(height, width), mode="bilinear",
                         align_corners=False)[:, 0]
    rows = math.ceil(len(words) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, word, weights, cells in zip(axes.flat, words, maps, attention):
        ax.imshow(image.permute(1, 2, 0).numpy(), extent=(0, width, height, 0))
        ax.imshow(weights.numpy(), cmap="gray", alpha=0.6, extent=(0, width, height, 0),
                  vmin=0, vmax=float(weights.max()))
        ax.set_title(f"{word!r}  (max α {float(cells.max()):.2f})", fontsize=8)
    fig.suptitle(title or "Where the model looked for each word (attention upsampled, white = high weight)")
    fig.tight_layout()
    return fig
