r"""The captioner of Show, Attend and Tell (Xu et al., 2015), small: a CNN encoder, soft attention,
and an LSTM decoder.

- :class:`Encoder` turns an image into a grid of **annotation vectors** $a_1 .. a_L$ (one per cell
  of the CNN's last feature map, $L = 8 \times 8$ for 32-pixel images), each $D$ numbers.
- :class:`SoftAttention` scores every cell against the decoder's state and returns the weights
  $\alpha_{t,i}$ (a softmax over the $L$ cells) and the context $\hat z_t = \sum_i \alpha_{t,i} a_i$.
- :class:`AttentionDecoder` runs an ``nn.LSTMCell`` over the caption: at step $t$ it reads the
  previous word and the context, and predicts the next word.
- :class:`Captioner` puts them together. ``forward(images, inputs)`` is **teacher forcing**: the
  decoder reads the true previous words; :mod:`projects.image_captioning.decode` generates
  without them (greedy and beam search).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _check_images(images) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a float tensor [B, 3, H, W] (RGB, values in [0, 1]), got {shape}")
    if not images.is_floating_point():
        raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}: divide uint8 images by 255")


class Encoder(nn.Module):
    """Three 3x3 convolutions and two 2x2 max-pools: [B, 3, H, W] -> annotations [B, L, D], L = (H/4)(W/4).

    Convolutions are translation-equivariant: a red circle gives the same features wherever it is.
    The caption needs *where* ("left of", "above"), so two **coordinate channels** (x and y, from
    -1 to 1) are appended to the image (CoordConv, Liu et al., 2018) and every annotation knows its place.
    """

    def __init__(self, channels: int = 64):
        super().__init__()
        self.channels = channels
        self.net = nn.Sequential(
            nn.Conv2d(5, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, channels, 3, padding=1), nn.ReLU(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        _check_images(images)
        batch, _, height, width = images.shape
        ys = torch.linspace(-1, 1, height, device=images.device, dtype=images.dtype)
        xs = torch.linspace(-1, 1, width, device=images.device, dtype=images.dtype)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        coords = torch.stack([grid_x, grid_y]).expand(batch, 2, height, width)
        features = self.net(torch.cat([images, coords], dim=1))      # [B, C, H/4, W/4]
        # each annotation also carries its cell's (x, y): a context then says where the model looked
        cells = F.interpolate(coords, size=features.shape[2:], mode="area")
        return torch.cat([features, cells], dim=1).flatten(2).transpose(1, 2)   # [B, L, D = C + 2]


class SoftAttention(nn.Module):
    r"""Additive ("Bahdanau") soft attention over the L annotation vectors.

    $e_{t,i} = w^\top \tanh(W_a a_i + W_h h_{t-1} + b)$, $\alpha_{t,i} = \mathrm{softmax}_i(e_{t,i})$,
    context $\hat z_t = \sum_i \alpha_{t,i}\, a_i$. Everything is differentiable, so the weights are
    learned by ordinary backprop from the caption loss alone: no one tells the model where to look.
    """

    def __init__(self, feature_dim: int, hidden_dim: int, attention_dim: int):
        super().__init__()
        self.from_features = nn.Linear(feature_dim, attention_dim)
        self.from_hidden = nn.Linear(hidden_dim, attention_dim, bias=False)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, annotations: torch.Tensor, hidden: torch.Tensor,
                projected: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``annotations`` [B, L, D], ``hidden`` [B, H] -> (context [B, D], weights [B, L]).
        ``projected`` = ``self.from_features(annotations)``, if already computed (it is the same at every step)."""
        if projected is None:
            projected = self.from_features(annotations)
        scores = self.score(torch.tanh(projected + self.from_hidden(hidden)[:, None])).squeeze(-1)  # [B, L]
        weights = scores.softmax(dim=-1)
        context = (weights[:, :, None] * annotations).sum(dim=1)
        return context, weights


class AttentionDecoder(nn.Module):
    """An LSTM that writes a caption one word at a time, looking at the image through attention.

    Step t: attend with the previous hidden state, gate the context ($\\beta_t$ in the paper), feed
    [embedding of the previous word; gated context] to an LSTM cell, and predict the next word from
    the new hidden state, the context and the previous word (the paper's "deep output").
    """

    def __init__(self, vocab_size: int, feature_dim: int = 66, embed_dim: int = 32,
                 hidden_dim: int = 128, attention_dim: int = 64, num_cells: int = 64):
        super().__init__()
        self.vocab_size, self.hidden_dim = vocab_size, hidden_dim
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.attention = SoftAttention(feature_dim, hidden_dim, attention_dim)
        self.init_h = nn.Linear(num_cells * feature_dim, hidden_dim)
        self.init_c = nn.Linear(num_cells * feature_dim, hidden_dim)
        self.gate = nn.Linear(hidden_dim, feature_dim)
        self.cell = nn.LSTMCell(embed_dim + feature_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim + feature_dim + embed_dim, vocab_size)

    def init_state(self, annotations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The LSTM's first (h, c), from the whole grid of annotations, flattened.

        The paper uses the mean annotation; a mean forgets where things are, and the caption's
        first words already depend on it (the left or upper object comes first)."""
        whole = annotations.flatten(1)
        return torch.tanh(self.init_h(whole)), torch.tanh(self.init_c(whole))

    def step(self, annotations: torch.Tensor, projected: torch.Tensor, words: torch.Tensor,
             state: tuple[torch.Tensor, torch.Tensor]):
        """One step: previous words [B] and state -> (logits [B, V], weights [B, L], new state)."""
        h, c = state
        context, weights = self.attention(annotations, h, projected)
        context = torch.sigmoid(self.gate(h)) * context
        embedded = self.embed(words)
        h, c = self.cell(torch.cat([embedded, context], dim=-1), (h, c))
        logits = self.out(torch.cat([h, context, embedded], dim=-1))
        return logits, weights, (h, c)

    def forward(self, annotations: torch.Tensor, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: ``inputs`` [B, T] are the true words (``<bos>`` first) ->
        (logits [B, T, V] for the next words, attention weights [B, T, L])."""
        state = self.init_state(annotations)
        projected = self.attention.from_features(annotations)
        all_logits, all_weights = [], []
        for t in range(inputs.shape[1]):
            logits, weights, state = self.step(annotations, projected, inputs[:, t], state)
            all_logits.append(logits)
            all_weights.append(weights)
        return torch.stack(all_logits, dim=1), torch.stack(all_weights, dim=1)


class Captioner(nn.Module):
    """Encoder + attention decoder. ``forward(images [B, 3, H, W], inputs [B, T])`` ->
    (logits [B, T, V], attention [B, T, L]), with teacher forcing."""

    def __init__(self, vocab_size: int, channels: int = 64, embed_dim: int = 32,
                 hidden_dim: int = 128, attention_dim: int = 64):
        super().__init__()
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 5:
            raise ValueError(f"vocab_size must be an int >= 5 (4 specials and a word), got {vocab_size!r}: "
                             "pass len(vocab)")
        self.encoder = Encoder(channels)
        self.decoder = AttentionDecoder(vocab_size, channels + 2, embed_dim, hidden_dim, attention_dim)

    def forward(self, images: torch.Tensor, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2 or inputs.is_floating_point():
            raise ValueError("inputs must be token ids, a LongTensor [B, T] starting with <bos>, got "
                             f"{tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__}")
        if len(inputs) != len(images):
            raise ValueError(f"got {len(images)} images but {len(inputs)} captions")
        return self.decoder(self.encoder(images), inputs)


def caption_loss(logits: torch.Tensor, targets: torch.Tensor, attention: torch.Tensor, pad_index: int,
                 attention_penalty: float = 0.0) -> torch.Tensor:
    r"""Cross-entropy of the next words (padding ignored), plus the paper's "doubly stochastic"
    penalty $\lambda \sum_i (1 - \sum_t \alpha_{t,i})^2$ (mean over the batch), which asks every
    image cell to be looked at about once over the whole caption; ``attention_penalty`` is $\lambda$."""
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_index)
    if attention_penalty:
        real = (targets != pad_index).float()[:, :, None]                 # [B, T, 1]
        coverage = (attention * real).sum(dim=1)                          # [B, L]
        loss = loss + attention_penalty * ((1 - coverage) ** 2).sum(dim=1).mean()
    return loss
