"""The three model families the experiments compare: an MLP, a small CNN and a residual CNN.

Every model takes MNIST-shaped images ``[B, 1, 28, 28]`` and returns logits ``[B, 10]``.
``build_model(name, **settings)`` makes one by name, so a search can treat the
architecture as one more setting.
"""

from __future__ import annotations

from torch import nn

NUM_CLASSES = 10
IMAGE_PIXELS = 28 * 28


def make_mlp(width: int = 128, depth: int = 1, dropout: float = 0.0) -> nn.Sequential:
    """An MLP: flatten, then ``depth`` hidden layers of ``width`` units (ReLU, dropout), then 10 logits."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int (units per hidden layer), got {width!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be an int >= 0 (the number of hidden layers), got {depth!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
    layers: list[nn.Module] = [nn.Flatten()]
    features = IMAGE_PIXELS
    for _ in range(depth):
        layers += [nn.Linear(features, width), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        features = width
    layers.append(nn.Linear(features, NUM_CLASSES))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Two blocks of 3x3 convolution, ReLU and 2x2 max-pooling (28 -> 14 -> 7), then a linear layer."""

    def __init__(self, channels: int = 16, dropout: float = 0.0):
        super().__init__()
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.features = nn.Sequential(
            nn.Conv2d(1, channels // 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # [B, c/2, 14, 14]
            nn.Conv2d(channels // 2, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # [B, c, 7, 7]
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * 49, NUM_CLASSES))

    def forward(self, images):
        return self.classifier(self.features(images))


class ResidualBlock(nn.Module):
    """``relu(x + conv(relu(bn(conv(x)))))`` at constant channels and size (He et al., 2016)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
        )
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.body(x))  # the skip connection: the block learns a correction to x


class ResidualCNN(nn.Module):
    """A stem convolution, one residual block at 14x14, pooling to 7x7, then a linear layer."""

    def __init__(self, channels: int = 16, dropout: float = 0.0):
        super().__init__()
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.stem = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                                  nn.ReLU(), nn.MaxPool2d(2))  # [B, c, 14, 14]
        self.block = ResidualBlock(channels)
        self.head = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(channels * 49, NUM_CLASSES))

    def forward(self, images):
        return self.head(self.block(self.stem(images)))


ARCHITECTURES = ("mlp", "cnn", "resnet")


def build_model(architecture: str = "mlp", *, width: int = 128, depth: int = 1, dropout: float = 0.0,
                channels: int = 16) -> nn.Module:
    """A model by name: ``"mlp"`` (uses width, depth, dropout), ``"cnn"`` or ``"resnet"`` (channels, dropout)."""
    if architecture == "mlp":
        return make_mlp(width, depth, dropout)
    if architecture == "cnn":
        return SmallCNN(channels, dropout)
    if architecture == "resnet":
        return ResidualCNN(channels, dropout)
    raise ValueError(f"unknown architecture {architecture!r}: choose one of {', '.join(ARCHITECTURES)}")


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
