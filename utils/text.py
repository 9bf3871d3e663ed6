"""Text plumbing: tokenizers, a vocabulary, and padding batches of sequences.

This replaces the parts of torchtext the course used (torchtext stopped development
in 2024 and does not install beside current PyTorch). A typical pipeline::

    tokens = [word_tokenize(review) for review in reviews]
    vocab = Vocab.build(tokens, min_freq=2)
    ids = [torch.tensor(vocab.encode(t)) for t in tokens]          # list of LongTensor [T_i]
    loader = DataLoader(list(zip(ids, labels)), batch_size=32, shuffle=True,
                        collate_fn=collate_padded)                  # pads with 0 = vocab.pad_index

Each batch is ``(padded [B, T_max], lengths [B], labels [B])``. Feed it to an RNN
with packing, so the padding is never read::

    from torch.nn.utils.rnn import pack_padded_sequence
    embedded = embedding(padded)                                    # [B, T_max, E]
    packed = pack_padded_sequence(embedded, lengths, batch_first=True,
                                  enforce_sorted=False)             # lengths stay on the CPU
    _, h_n = gru(packed)                                            # h_n[-1]: last *real* step

``enforce_sorted=False`` lets the batch come in any order (PyTorch sorts and
unsorts it for you). Without packing, use ``padding_mask(lengths)`` to ignore the pads.
"""

from __future__ import annotations

import numbers
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
DEFAULT_SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS)

# One token is, in this order of preference:
#   a number with a decimal point or separators ("3.14", "1,000", "1.2.3"),
#   a word of letters/digits, with internal apostrophes kept ("don't", "rock'n'roll", "2nd"),
#   any other single non-space character (punctuation: "!", ",", "(", "_", "-").
_WORD_RE = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['’][^\W_]+)*|[^\w\s]|_")


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return text


def char_tokenize(text: str) -> list[str]:
    """Split text into characters, spaces and newlines included: ``"hi!" -> ["h", "i", "!"]``."""
    return list(_check_text(text))


def word_tokenize(text: str, lower: bool = True) -> list[str]:
    """Split text into words, numbers and punctuation with a simple regular expression.

    - words keep internal apostrophes: ``"Don't"`` -> ``"don't"`` (lower-cased by default);
    - numbers keep their decimal point or separators: ``"3.14"``, ``"1,000"``;
    - every other non-space character is a token of its own: ``"Wow!!"`` -> ``["wow", "!", "!"]``;
    - whitespace only separates tokens and is dropped.

    Good enough for the course's corpora; it is not a linguist's tokenizer
    (``"U.S."`` becomes ``["u", ".", "s", "."]``).
    """
    text = _check_text(text)
    return _WORD_RE.findall(text.lower() if lower else text)


class Vocab:
    """A mapping between tokens (str) and indices (int), specials first.

    Build one from data with :meth:`Vocab.build`. ``vocab["cat"]`` gives an index
    (an unknown token gives the ``<unk>`` index), ``vocab.itos[i]`` the token.
    ``encode`` / ``decode`` work on whole sequences.
    """

    def __init__(self, itos: Sequence[str], specials: Sequence[str] = DEFAULT_SPECIALS):
        itos, specials = list(itos), tuple(specials)
        for token in itos:
            if not isinstance(token, str):
                raise TypeError(f"tokens must be str, got {type(token).__name__} ({token!r})")
        if len(set(itos)) != len(itos):
            duplicates = sorted(t for t, n in Counter(itos).items() if n > 1)
            raise ValueError(f"itos has duplicate tokens: {duplicates[:5]}")
        if tuple(itos[: len(specials)]) != specials:
            raise ValueError(f"itos must start with the specials {specials}, got {itos[: len(specials)]}")
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {token: i for i, token in enumerate(itos)}
        self.specials: tuple[str, ...] = specials

    @classmethod
    def build(
        cls,
        tokens: Iterable[str] | Iterable[Iterable[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = DEFAULT_SPECIALS,
    ) -> Vocab:
        """Count tokens and keep the frequent ones.

        ``tokens`` is a flat list of tokens or a list of token lists (one per text).
        The order is: ``specials`` first, then tokens by descending count, ties
        broken alphabetically, so the same data always gives the same indices.
        Tokens seen fewer than ``min_freq`` times are left out; ``max_size``
        caps the total size, specials included. Specials found in the data are
        not counted again.
        """
        if isinstance(tokens, str):
            raise TypeError("tokens must be a list of tokens, got a str; tokenize it first, "
                            "e.g. Vocab.build(char_tokenize(text))")
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an int >= 1, got {min_freq!r}")
        if isinstance(specials, str):
            raise TypeError(f"specials must be a sequence of str, got the str {specials!r}")
        specials = tuple(specials)
        if not all(isinstance(s, str) for s in specials):
            raise TypeError(f"specials must all be str, got {specials!r}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"specials must be unique, got {specials}")
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < len(specials)
        ):
            raise ValueError(
                f"max_size must be an int >= the number of specials ({len(specials)}), got {max_size!r}"
            )

        counts: Counter[str] = Counter()
        for item in tokens:
            if isinstance(item, str):
                counts[item] += 1
                continue
            if not isinstance(item, Iterable):
                raise TypeError(f"expected tokens (str) or lists of tokens, got {type(item).__name__}")
            for token in item:
                if not isinstance(token, str):
                    raise TypeError(f"tokens must be str, got {type(token).__name__} ({token!r})")
                counts[token] += 1
        for special in specials:
            counts.pop(special, None)

        kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        return cls(list(specials) + kept, specials)

    # --- looking things up ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The index of ``token``; an unknown token gives the ``<unk>`` index."""
        if not isinstance(token, str):
            raise TypeError(f"look up tokens (str), got {type(token).__name__}; "
                            f"for index -> token use vocab.itos[i] or lookup_tokens")
        index = self.stoi.get(token)
        if index is not None:
            return index
        if UNK in self.stoi:
            return self.stoi[UNK]
        raise KeyError(f"token {token!r} is not in the vocabulary, "
                       f"and it has no {UNK!r} special to map it to")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self.itos == other.itos and self.specials == other.specials

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, compared by content

    def __repr__(self) -> str:
        preview = ", ".join(repr(t) for t in self.itos[len(self.specials): len(self.specials) + 5])
        return f"Vocab(size={len(self)}, specials={self.specials}, first tokens: {preview}, ...)"

    def _special_index(self, token: str) -> int:
        if token not in self.stoi:
            raise KeyError(f"this Vocab has no {token!r} special; its specials are {self.specials}")
        return self.stoi[token]

    @property
    def pad_index(self) -> int:
        """Index of ``<pad>`` (KeyError if the vocab was built without it)."""
        return self._special_index(PAD)

    @property
    def unk_index(self) -> int:
        """Index of ``<unk>`` (KeyError if the vocab was built without it)."""
        return self._special_index(UNK)

    @property
    def bos_index(self) -> int:
        """Index of ``<bos>`` (beginning of sequence; KeyError if absent)."""
        return self._special_index(BOS)

    @property
    def eos_index(self) -> int:
        """Index of ``<eos>`` (end of sequence; KeyError if absent)."""
        return self._special_index(EOS)

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        """``[vocab[t] for t in tokens]``."""
        if isinstance(tokens, str):
            raise TypeError("expected a list of tokens, got a str; tokenize it first "
                            "(char_tokenize or word_tokenize)")
        return [self[token] for token in tokens]

    def lookup_tokens(self, indices: Iterable[int] | torch.Tensor) -> list[str]:
        """The tokens at ``indices`` (a list of ints or a 1-D integer tensor)."""
        result = []
        for index in _as_index_list(indices):
            if not 0 <= index < len(self.itos):
                raise IndexError(f"index {index} is out of range for a vocabulary of {len(self)} tokens")
            result.append(self.itos[index])
        return result

    def encode(self, tokens: Iterable[str], add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Tokens -> indices, optionally framed by ``<bos>`` ... ``<eos>``."""
        ids = self.lookup_indices(tokens)
        if add_bos:
            ids.insert(0, self.bos_index)
        if add_eos:
            ids.append(self.eos_index)
        return ids

    def decode(self, indices: Iterable[int] | torch.Tensor, skip_specials: bool = True) -> list[str]:
        """Indices -> tokens. Join them yourself: ``"".join`` for characters, ``" ".join`` for words.

        With ``skip_specials`` the specials (``<pad>``, ``<bos>``, ``<eos>``, ...) are
        dropped, except ``<unk>``: it stands for a real token, so it is kept.
        """
        tokens = self.lookup_tokens(indices)
        if skip_specials:
            dropped = set(self.specials) - {UNK}
            tokens = [t for t in tokens if t not in dropped]
        return tokens

    # --- saving ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, list[str]]:
        """A plain, JSON-able dict; save it beside the model (``json.dump`` or in a checkpoint)."""
        return {"itos": list(self.itos), "specials": list(self.specials)}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Vocab:
        """Rebuild a Vocab from :meth:`state_dict`'s output."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from Vocab.state_dict(), got {type(state).__name__}")
        missing = {"itos", "specials"} - set(state)
        if missing:
            raise KeyError(f"state is missing {sorted(missing)}; expected the output of Vocab.state_dict()")
        return cls(state["itos"], state["specials"])


def _as_index_list(indices: Iterable[int] | torch.Tensor) -> list[int]:
    if isinstance(indices, torch.Tensor):
        if indices.dim() != 1 or indices.is_floating_point() or indices.is_complex():
            raise ValueError(f"expected a 1-D integer tensor of indices, got shape "
                             f"{tuple(indices.shape)} and dtype {indices.dtype}")
        return indices.tolist()
    result = []
    for index in indices:
        if isinstance(index, torch.Tensor) and index.dim() == 0 and not index.is_floating_point():
            index = int(index)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"indices must be ints, got {type(index).__name__} ({index!r})")
        result.append(int(index))
    return result


# --- padding batches ------------------------------------------------------------------------

def pad_sequences(
    sequences: Sequence[torch.Tensor | Sequence[int]],
    pad_value: int | float = 0,
    batch_first: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad sequences of different lengths to the longest one.

    Each sequence is a list of ints or a tensor ``[T_i]`` (token ids, kept as
    LongTensor) or ``[T_i, *]`` (e.g. features per time step; dtype kept).
    Returns ``(padded, lengths)``: ``padded`` is ``[B, T_max, *]`` (``[T_max, B, *]``
    if not ``batch_first``) and ``lengths`` a CPU LongTensor ``[B]``, as
    ``pack_padded_sequence`` wants. Empty sequences are an error: packing cannot
    take a length of 0.
    """
    if isinstance(sequences, (torch.Tensor, str)) or not isinstance(sequences, Sequence):
        raise TypeError("sequences must be a list of tensors or lists of ints, "
                        f"got {type(sequences).__name__}")
    if len(sequences) == 0:
        raise ValueError("sequences is empty: nothing to pad")
    tensors = []
    for i, seq in enumerate(sequences):
        if not isinstance(seq, torch.Tensor):
            if isinstance(seq, str):
                raise TypeError(f"sequence {i} is a str; encode it to indices first (vocab.encode)")
            seq = torch.as_tensor(seq, dtype=torch.long)
        if seq.dim() == 0:
            raise ValueError(f"sequence {i} is a scalar; each sequence needs shape [T] or [T, *]")
        if seq.shape[0] == 0:
            raise ValueError(f"sequence {i} is empty; every sequence needs at least one step "
                             f"(pack_padded_sequence cannot take length 0)")
        tensors.append(seq)
    first = tensors[0]
    for i, seq in enumerate(tensors):
        if seq.shape[1:] != first.shape[1:] or seq.dtype != first.dtype:
            raise ValueError(f"sequence {i} has step shape {tuple(seq.shape[1:])} and dtype {seq.dtype}, "
                             f"sequence 0 has {tuple(first.shape[1:])} and {first.dtype}")
    lengths = torch.tensor([len(seq) for seq in tensors], dtype=torch.long)
    padded = pad_sequence(tensors, batch_first=batch_first, padding_value=pad_value)
    return padded, lengths


def collate_padded(
    batch: Sequence[tuple[torch.Tensor | Sequence[int], Any]], pad_value: int | float = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``collate_fn`` for a DataLoader whose items are ``(sequence, label)``.

    Returns ``(padded [B, T_max], lengths [B], labels [B])``. Labels may be ints
    (-> int64), floats (-> float32) or same-shape tensors (stacked). Use
    ``functools.partial(collate_padded, pad_value=vocab.pad_index)`` if ``<pad>``
    is not index 0. For a mask of real tokens, call ``padding_mask(lengths)``.
    """
    if len(batch) == 0:
        raise ValueError("batch is empty")
    sequences, labels = [], []
    for i, item in enumerate(batch):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"item {i} of the batch should be a (sequence, label) pair, got {item!r:.80}")
        sequences.append(item[0])
        labels.append(item[1])
    padded, lengths = pad_sequences(sequences, pad_value=pad_value, batch_first=True)
    if all(isinstance(label, torch.Tensor) for label in labels):
        label_tensor = torch.stack(labels)
    else:
        label_tensor = torch.tensor(labels)
    return padded, lengths, label_tensor


def padding_mask(lengths: torch.Tensor | Sequence[int], max_len: int | None = None) -> torch.Tensor:
    """A BoolTensor ``[B, max_len]`` that is True at real tokens and False at padding.

    ``max_len`` defaults to ``max(lengths)``. Typical use, a mean over real steps::

        mask = padding_mask(lengths).unsqueeze(-1)            # [B, T, 1]
        mean = (outputs * mask).sum(1) / lengths.unsqueeze(-1)
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be a 1-D integer tensor, got shape {tuple(lengths.shape)} "
                         f"and dtype {lengths.dtype}")
    if len(lengths) and int(lengths.min()) < 0:
        raise ValueError(f"lengths must be >= 0, got {lengths.tolist()}")
    longest = int(lengths.max()) if len(lengths) else 0
    if max_len is None:
        max_len = longest
    elif max_len < longest:
        raise ValueError(f"max_len={max_len} is shorter than the longest sequence ({longest})")
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)
