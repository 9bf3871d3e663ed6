"""Held-out perplexity of the chatbot and of a unigram baseline, on the same reply tokens.

Perplexity is ``exp`` of the mean negative log-likelihood per target token::

    PPL = exp( -(1/N) * sum_n log p(w_n | context_n) )

over every real target token of the held-out replies, ``<eos>`` included (ending the reply on
time is part of the job), ``<pad>`` excluded. The unigram baseline ignores the context:
``p(w) = (count(w) + alpha) / (N_train + alpha * |V'|)``, counted on the training replies,
with add-``alpha`` (Laplace) smoothing over the ``|V'|`` tokens a reply can contain (the whole
vocabulary except ``<pad>`` and ``<bos>``), so no held-out token has probability 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from utils.text import BOS, PAD, Vocab


def _targets(vocab: Vocab) -> torch.Tensor:
    """Boolean mask [V] of the tokens a reply can contain."""
    allowed = torch.ones(len(vocab), dtype=torch.bool)
    for special in (PAD, BOS):
        if special in vocab.stoi:
            allowed[vocab.stoi[special]] = False
    return allowed


def unigram_log_probs(encoded_pairs: Iterable, vocab: Vocab, alpha: float = 1.0) -> torch.Tensor:
    """Log-probabilities ``[V]`` of each token as a reply token (``-inf`` for ``<pad>``, ``<bos>``),
    counted on the replies of ``encode_pairs`` output (``<bos>`` dropped, ``<eos>`` counted)."""
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0 (add-alpha smoothing), got {alpha!r}")
    counts = torch.zeros(len(vocab), dtype=torch.float64)
    for _, reply in encoded_pairs:
        counts += torch.bincount(reply[1:], minlength=len(vocab)).double()
    allowed = _targets(vocab)
    counts = torch.where(allowed, counts + alpha, torch.zeros_like(counts))
    return torch.log(counts / counts.sum()).where(allowed, torch.tensor(-math.inf, dtype=torch.float64))


def unigram_perplexity(log_probs: torch.Tensor, loader: Iterable, pad_index: int = 0) -> float:
    """Perplexity of the unigram model ``log_probs [V]`` on the ``tgt_out`` tokens of ``loader``."""
    total, count = 0.0, 0
    for _, tgt_out in loader:
        real = tgt_out != pad_index
        total -= float(log_probs[tgt_out[real]].sum())
        count += int(real.sum())
    if count == 0:
        raise ValueError("the loader holds no target tokens")
    return math.exp(total / count)


@torch.no_grad()
def model_perplexity(model: nn.Module, loader: Iterable, device: torch.device | str = "cpu",
                     pad_index: int = 0) -> float:
    """Perplexity of a :class:`~projects.chatbot.model.Seq2Seq` (teacher forcing, eval mode) on
    the ``tgt_out`` tokens of ``loader``: the same tokens :func:`unigram_perplexity` scores."""
    model.eval()
    total, count = 0.0, 0
    for (src, src_lengths, tgt_in), tgt_out in loader:
        logits = model(src.to(device), src_lengths, tgt_in.to(device))
        tgt_out = tgt_out.to(device)
        total += float(F.cross_entropy(logits.transpose(1, 2), tgt_out, ignore_index=pad_index,
                                       reduction="sum"))
        count += int((tgt_out != pad_index).sum())
    if count == 0:
        raise ValueError("the loader holds no target tokens")
    return math.exp(total / count)
