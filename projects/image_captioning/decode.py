"""Writing captions without the true words: greedy decoding and beam search, with attention maps.

At test time there is no caption to read, so the decoder feeds back its own previous word.

- :func:`greedy_decode` takes the most likely word at each step. Fast, but one early mistake
  cannot be undone.
- :func:`beam_search` keeps the ``beam_size`` most likely partial captions (by the sum of their
  words' log-probabilities) at every step, and returns the best finished one.

Both work on a batch of images at once and return, for every generated word, the attention
weights over the image's grid, so you can see where the model looked as it wrote each word.
"""

from __future__ import annotations

import torch

from .model import Captioner, _check_images


def _check_args(model, images, bos_index, eos_index, max_len) -> None:
    if not isinstance(model, Captioner):
        raise TypeError(f"model must be a Captioner, got {type(model).__name__}")
    _check_images(images)
    vocab_size = model.decoder.vocab_size
    for name, index in (("bos_index", bos_index), ("eos_index", eos_index)):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < vocab_size:
            raise ValueError(f"{name} must be a token id in [0, {vocab_size}), got {index!r}: "
                             f"pass vocab.{name}")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be an int >= 1 (the most words to generate), got {max_len!r}")


@torch.no_grad()
def greedy_decode(model: Captioner, images: torch.Tensor, bos_index: int, eos_index: int,
                  max_len: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """The most likely word at each step, for a batch of images.

    Returns ``(tokens, attention)``: ``tokens`` LongTensor [B, T] (the generated words, ``<eos>``
    included where one was made, then ``<eos>`` repeated; T <= ``max_len``) and ``attention``
    [B, T, L], the weights with which each word was written. Runs on the model's device, in eval mode.
    """
    _check_args(model, images, bos_index, eos_index, max_len)
    model.eval()
    annotations = model.encoder(images)
    decoder = model.decoder
    projected = decoder.attention.from_features(annotations)
    state = decoder.init_state(annotations)
    words = torch.full((len(images),), bos_index, dtype=torch.long, device=images.device)
    done = torch.zeros(len(images), dtype=torch.bool, device=images.device)
    tokens, weights = [], []
    for _ in range(max_len):
        logits, alpha, state = decoder.step(annotations, projected, words, state)
        words = torch.where(done, eos_index, logits.argmax(dim=-1))
        tokens.append(words)
        weights.append(alpha)
        done |= words == eos_index
        if bool(done.all()):
            break
    return torch.stack(tokens, dim=1), torch.stack(weights, dim=1)


@torch.no_grad()
def beam_search(model: Captioner, images: torch.Tensor, bos_index: int, eos_index: int,
                beam_size: int = 3, max_len: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Beam search for a batch of images: the caption with the highest total log-probability
    among the ``beam_size`` kept at each step.

    A beam that has written ``<eos>`` is finished: from then on it can only "write" ``<eos>`` at no
    cost, so its score stays fixed while it competes with the unfinished ones. Returns
    ``(tokens [B, T], attention [B, T, L])`` like :func:`greedy_decode`. ``beam_size=1`` is greedy.
    """
    _check_args(model, images, bos_index, eos_index, max_len)
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an int >= 1, got {beam_size!r}")
    model.eval()
    decoder = model.decoder
    batch, k, vocab_size = len(images), beam_size, decoder.vocab_size
    device = images.device
    annotations = model.encoder(images).repeat_interleave(k, dim=0)          # [B*k, L, D]
    projected = decoder.attention.from_features(annotations)
    state = decoder.init_state(annotations)
    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0                                                       # one live beam to start
    words = torch.full((batch * k,), bos_index, dtype=torch.long, device=device)
    done = torch.zeros(batch, k, dtype=torch.bool, device=device)
    tokens = torch.zeros(batch, k, 0, dtype=torch.long, device=device)
    weights = torch.zeros(batch, k, 0, annotations.shape[1], device=device)
    finished_row = torch.full((vocab_size,), float("-inf"), device=device)
    finished_row[eos_index] = 0.0
    for _ in range(max_len):
        logits, alpha, (h, c) = decoder.step(annotations, projected, words, state)
        log_probs = logits.log_softmax(dim=-1).view(batch, k, vocab_size)
        log_probs = torch.where(done[:, :, None], finished_row, log_probs)
        candidates = (scores[:, :, None] + log_probs).view(batch, k * vocab_size)
        scores, best = candidates.topk(k, dim=-1)                            # [B, k]
        beam, word = best // vocab_size, best % vocab_size
        rows = (beam + torch.arange(batch, device=device)[:, None] * k).flatten()
        state = (h[rows], c[rows])
        tokens = torch.cat([tokens.gather(1, beam[:, :, None].expand_as(tokens)), word[:, :, None]], dim=2)
        alpha = alpha.view(batch, k, -1).gather(1, beam[:, :, None].expand(batch, k, alpha.shape[-1]))
        weights = torch.cat([weights.gather(1, beam[:, :, None, None].expand_as(weights)), alpha[:, :, None]], dim=2)
        done = done.gather(1, beam) | (word == eos_index)
        words = word.flatten()
        if bool(done.all()):
            break
    best = scores.argmax(dim=-1)                                             # topk sorts, so this is 0
    index = torch.arange(batch, device=device)
    return tokens[index, best], weights[index, best]
