"""The digit recognizer's CNN, and exporting it for the app (a state dict and a torch.export file).

TorchScript (``torch.jit.script`` / ``torch.jit.trace``) is deprecated in current PyTorch; its
successor is ``torch.export``: it traces the model into a graph of ATen operations with the
weights inside, saved as one ``.pt2`` file that ``torch.export.load`` runs without the Python class.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
from torch import nn

#: File names inside the export folder.
STATE_DICT_NAME = "digit_cnn_state_dict.pt"
EXPORTED_NAME = "digit_cnn.pt2"
#: Where the notebook exports the model, relative to the repository root (git-ignored).
DEFAULT_EXPORT_DIR = Path("artifacts") / "digit_recognizer"
#: The largest batch the exported program accepts.
MAX_BATCH = 4096


def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3) -> list[nn.Module]:
    """Convolution (same size, no bias: batch norm has one), batch norm, ReLU, 2×2 max-pooling."""
    return [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(), nn.MaxPool2d(2)]


class DigitCNN(nn.Module):
    """Three conv blocks (28 → 14 → 7 → 3 pixels), then a small fully connected head.

    Input: images ``[B, 1, 28, 28]`` with values in [0, 1] (MNIST's scale, 0 = background).
    Output: logits ``[B, 10]``.
    """

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64), hidden: int = 128,
                 dropout: float = 0.3, num_classes: int = 10):
        super().__init__()
        first, second, third = channels
        self.features = nn.Sequential(
            *conv_block(1, first, kernel_size=5),  # -> [B, 16, 14, 14]
            *conv_block(first, second),            # -> [B, 32, 7, 7]
            *conv_block(second, third),            # -> [B, 64, 3, 3]
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(third * 3 * 3, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))


def export_model(model: nn.Module, folder: str | os.PathLike) -> dict[str, Path]:
    """Save ``model`` into ``folder`` twice: its state dict, and a ``torch.export`` program.

    The state dict (``digit_cnn_state_dict.pt``) needs the :class:`DigitCNN` code to load; it is
    what you keep to train further. The exported program (``digit_cnn.pt2``) carries graph and
    weights and runs without it, for any batch size up to :data:`MAX_BATCH`; the app loads that.
    A copy of the model is exported, in eval mode and on the CPU (``model`` itself is left as it
    was). Returns ``{"state_dict": path, "exported": path}``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cpu_model = copy.deepcopy(model).to("cpu", memory_format=torch.contiguous_format).eval()
    paths = {"state_dict": folder / STATE_DICT_NAME, "exported": folder / EXPORTED_NAME}
    torch.save(cpu_model.state_dict(), paths["state_dict"])
    example = torch.zeros(2, 1, 28, 28)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    program = torch.export.export(cpu_model, (example,), dynamic_shapes=({0: batch},))
    torch.export.save(program, paths["exported"])
    return paths


def load_state_dict_model(path: str | os.PathLike, **kwargs) -> DigitCNN:
    """A :class:`DigitCNN` (built with ``kwargs``) with the weights saved at ``path``, in eval mode."""
    model = DigitCNN(**kwargs)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
