"""Captions as token ids: a vocabulary from the training captions, and padded id tensors.

The scenes come from :func:`utils.synthetic.make_shape_scenes`; their captions are plain strings
such as ``"a small red circle left of a large blue square"``. The decoder needs them as ids::

    vocab = build_vocab(train_captions)
    ids = encode_captions(train_captions, vocab)    # LongTensor [N, T]: <bos> w1 .. wn <eos> <pad> ..
    inputs, targets = ids[:, :-1], ids[:, 1:]      # teacher forcing: read word t, predict word t + 1
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from utils.text import Vocab, pad_sequences, word_tokenize


def _check_captions(captions) -> list[str]:
    if isinstance(captions, str) or not isinstance(captions, Sequence):
        raise TypeError(f"captions must be a list of strings, got {type(captions).__name__}")
    if len(captions) == 0:
        raise ValueError("captions is empty: give at least one caption")
    for i, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise TypeError(f"caption {i} is a {type(caption).__name__}, not a str: {caption!r:.60}")
        if not caption.strip():
            raise ValueError(f"caption {i} is empty: every caption needs at least one word")
    return list(captions)


def build_vocab(captions: Sequence[str]) -> Vocab:
    """A :class:`utils.text.Vocab` of every word in ``captions`` (specials <pad>, <unk>, <bos>, <eos> first)."""
    return Vocab.build([word_tokenize(caption) for caption in _check_captions(captions)])


def encode_captions(captions: Sequence[str], vocab: Vocab) -> torch.Tensor:
    """Captions as a LongTensor [N, T_max + 2]: ``<bos>``, the word ids, ``<eos>``, then ``<pad>`` to the longest."""
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a utils.text.Vocab (from build_vocab), got {type(vocab).__name__}")
    ids = [vocab.encode(word_tokenize(caption), add_bos=True, add_eos=True) for caption in _check_captions(captions)]
    padded, _ = pad_sequences(ids, pad_value=vocab.pad_index)
    return padded


def decode_ids(ids, vocab: Vocab) -> list[str]:
    """Token ids [N, T] (or a list of id lists) back to caption strings, cut at the first ``<eos>``."""
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a utils.text.Vocab (from build_vocab), got {type(vocab).__name__}")
    rows = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
    captions = []
    for row in rows:
        if vocab.eos_index in row:
            row = row[: row.index(vocab.eos_index)]
        captions.append(" ".join(vocab.decode(row)))
    return captions
