"""A sequence-to-sequence GRU with Luong ("general") attention.

Shapes (B batch, S message length, T reply length, E embedding, H hidden, V vocabulary)::

    encoder:   message [B, S] -> embedding [B, S, E] -> bidirectional GRU -> memory [B, S, 2H]
               last forward and backward states -> tanh(Linear) -> decoder's first state [1, B, H]
    decoder:   reply so far [B, T] -> embedding -> GRU -> h_t [B, T, H]
    attention: score(h_t, m_s) = h_t . (W_a m_s)            scores [B, T, S], <pad> steps -> -inf
               a_t = softmax_s(score)                        weights [B, T, S], each row sums to 1
               c_t = sum_s a_ts m_s                          context [B, T, 2H]
    output:    h~_t = tanh(W_c [c_t; h_t]);  logits = W_o h~_t     [B, T, V]

Training runs the decoder over the whole reply at once (teacher forcing: the GRU reads the true
previous words), which is why Luong's attention, computed *after* the GRU step, suits a CPU: one
GRU call and one batched matrix product per batch, no Python loop over time. Decoding a reply
calls :meth:`Seq2Seq.decode_step` one token at a time with the same weights.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Memory(NamedTuple):
    """What the encoder hands the decoder: ``outputs [B, S, 2H]``, their projections
    ``keys = W_a outputs [B, S, H]`` (computed once per message), and ``mask [B, S]``
    (True at real tokens, False at padding)."""

    outputs: torch.Tensor
    keys: torch.Tensor
    mask: torch.Tensor

    def select(self, index: torch.Tensor) -> Memory:
        """The rows ``index`` of every field (beam search repeats one message per hypothesis)."""
        return Memory(self.outputs[index], self.keys[index], self.mask[index])


class LuongAttention(nn.Module):
    """Luong et al.'s (2015) "general" score ``h_t^T W_a m_s``, softmax over the message's real steps."""

    def __init__(self, hidden_size: int, memory_size: int):
        super().__init__()
        self.key = nn.Linear(memory_size, hidden_size, bias=False)   # W_a

    def forward(self, queries: torch.Tensor, memory: Memory) -> tuple[torch.Tensor, torch.Tensor]:
        """``queries [B, T, H]`` -> ``(context [B, T, 2H], weights [B, T, S])``."""
        scores = queries @ memory.keys.transpose(1, 2)                     # [B, T, S]
        scores = scores.masked_fill(~memory.mask.unsqueeze(1), float("-inf"))
        weights = scores.softmax(dim=-1)
        return weights @ memory.outputs, weights


class Seq2Seq(nn.Module):
    """GRU encoder-decoder with attention over one shared vocabulary of ``vocab_size`` tokens.

    ``forward(src, src_lengths, tgt_in)`` returns logits ``[B, T, V]`` (teacher forcing);
    ``encode`` and ``decode_step`` are the two halves that decoding uses.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 128,
                 dropout: float = 0.1, pad_index: int = 0):
        super().__init__()
        for value, name in ((vocab_size, "vocab_size"), (embedding_dim, "embedding_dim"),
                            (hidden_size, "hidden_size")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if not 0 <= pad_index < vocab_size:
            raise ValueError(f"pad_index must be a token index in [0, {vocab_size}), got {pad_index!r}")
        self.vocab_size, self.pad_index = vocab_size, pad_index
        self.config = {"vocab_size": vocab_size, "embedding_dim": embedding_dim, "hidden_size": hidden_size,
                       "dropout": dropout, "pad_index": pad_index}       # enough to rebuild it
        self.src_embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.encoder = nn.GRU(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden_size, hidden_size)
        self.tgt_embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.decoder = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.attention = LuongAttention(hidden_size, 2 * hidden_size)
        self.combine = nn.Linear(3 * hidden_size, hidden_size)               # W_c
        self.out = nn.Linear(hidden_size, vocab_size)                        # W_o
        self.dropout = nn.Dropout(dropout)

    # --- checks -------------------------------------------------------------------------------

    def _check_tokens(self, tokens: torch.Tensor, name: str) -> None:
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2 or tokens.dtype != torch.long:
            got = (f"shape {tuple(tokens.shape)}, dtype {tokens.dtype}" if isinstance(tokens, torch.Tensor)
                   else type(tokens).__name__)
            raise ValueError(f"{name} must be a LongTensor [batch, steps] of token ids, got {got}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise ValueError(f"{name} holds ids outside [0, {self.vocab_size}): "
                             f"min {int(tokens.min())}, max {int(tokens.max())}; was it encoded with this vocab?")

    # --- the two halves -----------------------------------------------------------------------

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[Memory, torch.Tensor]:
        """``src [B, S]`` and ``src_lengths [B]`` -> ``(memory, first decoder state [1, B, H])``.

        The GRU reads packed sequences, so padding never enters a state; the mask hides the
        padded steps from the attention."""
        self._check_tokens(src, "src")
        src_lengths = torch.as_tensor(src_lengths).cpu()
        if src_lengths.shape != (src.shape[0],):
            raise ValueError(f"src_lengths must have shape [{src.shape[0]}] (one length per message), "
                             f"got {tuple(src_lengths.shape)}")
        if int(src_lengths.min()) < 1 or int(src_lengths.max()) > src.shape[1]:
            raise ValueError(f"src_lengths must be in [1, {src.shape[1]}], got {src_lengths.tolist()}")
        embedded = self.dropout(self.src_embedding(src))
        packed = pack_padded_sequence(embedded, src_lengths, batch_first=True, enforce_sorted=False)
        packed_outputs, h_n = self.encoder(packed)                           # h_n [2, B, H]
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=src.shape[1])
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < src_lengths.to(src.device).unsqueeze(1)
        hidden = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], dim=-1))).unsqueeze(0)
        return Memory(outputs, self.attention.key(outputs), mask), hidden

    def decode(self, tgt_in: torch.Tensor, hidden: torch.Tensor, memory: Memory):
        """``tgt_in [B, T]`` (starting with ``<bos>``) -> ``(logits [B, T, V], last state, weights [B, T, S])``."""
        self._check_tokens(tgt_in, "tgt_in")
        states, hidden = self.decoder(self.dropout(self.tgt_embedding(tgt_in)), hidden)   # [B, T, H]
        context, weights = self.attention(states, memory)
        attentional = torch.tanh(self.combine(torch.cat([context, states], dim=-1)))
        return self.out(self.dropout(attentional)), hidden, weights

    def decode_step(self, tokens: torch.Tensor, hidden: torch.Tensor, memory: Memory):
        """One step: previous tokens ``[B]`` -> ``(log-probabilities [B, V], new state, weights [B, S])``."""
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 1:
            raise ValueError(f"tokens must be a 1-D LongTensor [batch], got "
                             f"{tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__}")
        logits, hidden, weights = self.decode(tokens.unsqueeze(1), hidden, memory)
        return F.log_softmax(logits[:, 0], dim=-1), hidden, weights[:, 0]

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits ``[B, T, V]`` for the next token at every step of ``tgt_in``."""
        memory, hidden = self.encode(src, src_lengths)
        if isinstance(tgt_in, torch.Tensor) and tgt_in.shape[0] != src.shape[0]:
            raise ValueError(f"src has {src.shape[0]} messages but tgt_in has {tgt_in.shape[0]} replies")
        logits, _, _ = self.decode(tgt_in, hidden, memory)
        return logits


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor, pad_index: int = 0) -> torch.Tensor:
    """Mean cross-entropy per real target token: ``logits [B, T, V]``, ``targets [B, T]``;
    ``<pad>`` targets are ignored."""
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(f"expected logits [B, T, V] and targets [B, T], got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    return F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=pad_index)
