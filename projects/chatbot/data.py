"""Message/reply pairs for the chatbot: tokenise, filter, split, build the vocabulary, batch.

The recipe (each step is a function below, so the notebook can show its numbers)::

    pairs = load_chitchat_pairs()                          # 131 569 (message, reply) strings
    short = tokenize_pairs(pairs, max_tokens=10)           # lower-cased word tokens, both sides <= 10
    train, held_out = split_pairs(short, held_out=0.1)     # the last 10 % in file order is held out
    vocab = build_vocab(train, max_size=2000)              # top words of the training side, + specials
    train = drop_unknown_heavy(train, vocab)               # at most 1 <unk> per message, none per reply
    loader = make_loader(encode_pairs(train, vocab), batch_size=64, shuffle=True)

Each batch is ``((src [B, S], src_lengths [B], tgt_in [B, T]), tgt_out [B, T])``:
``tgt_in`` is the reply after ``<bos>`` and ``tgt_out`` the same reply followed by ``<eos>``
(teacher forcing), padded with ``<pad>``; ``utils.train.fit`` passes the first three to the
model and the last to the loss.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader

from utils.text import UNK, Vocab, pad_sequences, word_tokenize

TokenPair = tuple[list[str], list[str]]


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


def tokenize_pairs(pairs: Sequence[tuple[str, str]], max_tokens: int = 10) -> list[TokenPair]:
    """Lower-case and word-tokenise (``utils.text.word_tokenize``) every pair, keeping the pairs
    whose message and reply both have 1 to ``max_tokens`` tokens. Order is kept.

    A text has at least as many tokens as whitespace-separated words, so texts with more words
    than ``max_tokens`` are skipped before tokenising (the result is the same, only faster).
    """
    _check_positive_int(max_tokens, "max_tokens")
    if isinstance(pairs, str) or not isinstance(pairs, Sequence):
        raise TypeError(f"pairs must be a list of (message, reply) strings, got {type(pairs).__name__}")
    kept = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(isinstance(t, str) for t in pair):
            raise TypeError(f"pair {i} must be a (message, reply) tuple of two str, got {pair!r:.80}")
        message, reply = pair
        if len(message.split()) > max_tokens or len(reply.split()) > max_tokens:
            continue
        message_tokens, reply_tokens = word_tokenize(message), word_tokenize(reply)
        if 1 <= len(message_tokens) <= max_tokens and 1 <= len(reply_tokens) <= max_tokens:
            kept.append((message_tokens, reply_tokens))
    return kept


def split_pairs(pairs: Sequence, held_out: float = 0.1) -> tuple[list, list]:
    """``(train, held_out)``: the last ``held_out`` fraction of the pairs, in file order, is held out.

    The pairs of one conversation are consecutive, and a turn is the reply of one pair and the
    message of the next; a contiguous split keeps whole conversations (all but the one at the
    cut) on one side, so no held-out turn was seen in training.
    """
    if not 0 < held_out < 1:
        raise ValueError(f"held_out must be a fraction between 0 and 1, got {held_out!r}")
    n_held_out = round(len(pairs) * held_out)
    if n_held_out == 0 or n_held_out == len(pairs):
        raise ValueError(f"{len(pairs)} pairs cannot be split with held_out={held_out}: "
                         f"one side would be empty; pass more pairs")
    cut = len(pairs) - n_held_out
    return list(pairs[:cut]), list(pairs[cut:])


def build_vocab(pairs: Sequence[TokenPair], max_size: int = 2000) -> Vocab:
    """One vocabulary for messages and replies: the specials (``<pad>``, ``<unk>``, ``<bos>``,
    ``<eos>``) and the most frequent tokens of ``pairs`` (build it from the training pairs only),
    ``max_size`` in all."""
    _check_positive_int(max_size, "max_size")
    if not pairs:
        raise ValueError("pairs is empty: build the vocabulary from the training pairs")
    return Vocab.build((tokens for pair in pairs for tokens in pair), max_size=max_size)


def count_unknowns(tokens: Sequence[str], vocab: Vocab) -> int:
    """How many of ``tokens`` are not in ``vocab`` (they would become ``<unk>``)."""
    return sum(token not in vocab or token == UNK for token in tokens)


def drop_unknown_heavy(
    pairs: Sequence[TokenPair], vocab: Vocab, max_unk_message: int = 1, max_unk_reply: int = 0
) -> list[TokenPair]:
    """Keep the pairs with at most ``max_unk_message`` unknown tokens in the message and
    ``max_unk_reply`` in the reply. With no unknowns allowed in replies, the bot never learns
    to say ``<unk>``; a message may keep a rare word (a name, a typo) as ``<unk>``."""
    for value, name in ((max_unk_message, "max_unk_message"), (max_unk_reply, "max_unk_reply")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return [(m, r) for m, r in pairs
            if count_unknowns(m, vocab) <= max_unk_message and count_unknowns(r, vocab) <= max_unk_reply]


def encode_pairs(pairs: Sequence[TokenPair], vocab: Vocab) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Token pairs -> ``(message ids [S], reply ids [T + 2])``: the reply is framed by ``<bos>`` and
    ``<eos>``; the message is not (the encoder reads it as it is)."""
    encoded = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"pair {i} must be (message tokens, reply tokens), got {pair!r:.80}")
        message, reply = pair
        if isinstance(message, str) or isinstance(reply, str):
            raise TypeError(f"pair {i} holds a str; tokenise the pairs first (tokenize_pairs)")
        if len(message) == 0 or len(reply) == 0:
            raise ValueError(f"pair {i} has an empty message or reply; every side needs a token")
        encoded.append((torch.tensor(vocab.encode(message), dtype=torch.long),
                        torch.tensor(vocab.encode(reply, add_bos=True, add_eos=True), dtype=torch.long)))
    return encoded


def collate_pairs(batch: Sequence[tuple[torch.Tensor, torch.Tensor]], pad_index: int = 0):
    """``collate_fn`` for encoded pairs: ``((src, src_lengths, tgt_in), tgt_out)``.

    ``src`` is ``[B, S_max]``, ``src_lengths`` a CPU LongTensor ``[B]``, ``tgt_in`` the replies
    without their last token (``<bos> w1 ... wn``) and ``tgt_out`` without their first
    (``w1 ... wn <eos>``), both ``[B, T_max]``, all padded with ``pad_index``.
    """
    if len(batch) == 0:
        raise ValueError("batch is empty")
    messages, replies = zip(*batch)
    src, src_lengths = pad_sequences(list(messages), pad_value=pad_index)
    tgt_in, _ = pad_sequences([r[:-1] for r in replies], pad_value=pad_index)
    tgt_out, _ = pad_sequences([r[1:] for r in replies], pad_value=pad_index)
    return (src, src_lengths, tgt_in), tgt_out


def make_loader(encoded: Sequence, batch_size: int = 64, shuffle: bool = False, pad_index: int = 0,
                seed: int = 0) -> DataLoader:
    """A DataLoader over :func:`encode_pairs`' output, batched by :func:`collate_pairs`;
    shuffled with its own seeded generator (``num_workers=0``)."""
    _check_positive_int(batch_size, "batch_size")
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(list(encoded), batch_size=batch_size, shuffle=shuffle, generator=generator,
                      collate_fn=functools.partial(collate_pairs, pad_index=pad_index), num_workers=0)
