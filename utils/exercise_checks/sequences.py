"""Checks for the exercises of ``module3_rnns/solutions/01_sequence_data.ipynb``.

Every check builds fresh random inputs, computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

from collections import Counter

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from utils.checks import call_answer, expect, fresh_generator, passed

__all__ = [
    "SPECIALS",
    "check_build_vocabulary",
    "check_pad_batch",
    "check_last_real_step",
    "check_masked_mean",
    "check_collate_sorted",
]

#: The special tokens, in the order the exercise (and ``utils.text.Vocab``) puts them first.
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


# --- random inputs -----------------------------------------------------------------------------

def _random_words(generator: torch.Generator, count: int) -> list[str]:
    """``count`` distinct made-up words of 3 to 6 letters."""
    words: list[str] = []
    while len(words) < count:
        size = int(torch.randint(3, 7, (), generator=generator))
        word = "".join(_LETTERS[int(i)] for i in torch.randint(0, 26, (size,), generator=generator))
        if word not in words:
            words.append(word)
    return words


def _random_texts(generator: torch.Generator, num_texts: int = 40, num_words: int = 60) -> list[list[str]]:
    """Token lists whose words follow a Zipf-like law: a few frequent words, many rare ones."""
    words = _random_words(generator, num_words)
    weights = 1.0 / torch.arange(1, num_words + 1, dtype=torch.float64)
    texts = []
    for _ in range(num_texts):
        length = int(torch.randint(1, 16, (), generator=generator))
        picks = torch.multinomial(weights, length, replacement=True, generator=generator)
        texts.append([words[int(i)] for i in picks])
    return texts


def _random_sequences(generator: torch.Generator, batch_size: int, max_id: int = 50,
                      min_length: int = 1, max_length: int = 12) -> list[torch.Tensor]:
    """Token-id sequences (LongTensor [L_i], ids in 1..max_id-1) of random lengths, the longest unique."""
    lengths = torch.randint(min_length, max_length, (batch_size,), generator=generator)
    lengths[int(torch.randint(0, batch_size, (), generator=generator))] = max_length  # one longest
    return [torch.randint(1, max_id, (int(n),), generator=generator) for n in lengths]


def _reference_pad(sequences: list[torch.Tensor], pad_value: int) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(s) for s in sequences])
    padded = torch.full((len(sequences), int(lengths.max())), pad_value, dtype=torch.long)
    for i, sequence in enumerate(sequences):
        padded[i, : len(sequence)] = sequence
    return padded, lengths


def _mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    return torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)


# --- exercise 1: a vocabulary with a minimum frequency --------------------------------------------

def _kept(counts: Counter, min_freq: int) -> set[str]:
    return {token for token, n in counts.items() if n >= min_freq}


def check_build_vocabulary(build_vocabulary) -> bool:
    """``build_vocabulary(token_lists, min_freq)`` returns the list of tokens (index -> token): the four
    specials first, then every token seen at least ``min_freq`` times, most frequent first."""
    generator = fresh_generator()
    for min_freq in (int(torch.randint(2, 4, (), generator=generator)), 1):
        texts = _random_texts(generator)
        itos = call_answer(build_vocabulary, [list(t) for t in texts], min_freq, what="build_vocabulary")
        expect(isinstance(itos, (list, tuple)), f"build_vocabulary should return a list of tokens (index -> token), "
                                                f"got {type(itos).__name__}.")
        itos = list(itos)
        expect(all(isinstance(t, str) for t in itos), "every entry of the list should be a token (a str).")
        expect(itos[:4] == SPECIALS, f"the list should start with the four specials {SPECIALS}, in that order, "
                                     f"so that <pad> is index 0; it starts with {itos[:4]}.")
        rest = itos[4:]
        duplicates = sorted(t for t, n in Counter(itos).items() if n > 1)
        expect(not duplicates, f"each token should appear once, but {duplicates[:3]} appear more than once. "
                               "Hint: count with a Counter, then list its keys.")
        counts = Counter(token for tokens in texts for token in tokens)
        text_counts = Counter(token for tokens in texts for token in set(tokens))  # a typical mistake
        expected = _kept(counts, min_freq)
        if set(rest) != expected:
            expect(set(rest) != _kept(text_counts, min_freq),
                   "you counted in how many texts each token occurs; count every occurrence instead "
                   "(a word used twice in one text counts twice).")
            expect(set(rest) != {t for t, n in counts.items() if n > min_freq},
                   f"tokens seen exactly min_freq={min_freq} times are missing: keep tokens with count >= min_freq.")
            expect(set(rest) != set(counts),
                   f"with min_freq={min_freq} the tokens seen fewer than {min_freq} times should be left out.")
            missing = sorted(expected - set(rest), key=lambda t: -counts[t])
            extra = sorted(set(rest) - expected, key=lambda t: -counts[t])
            expect(not missing, f"with min_freq={min_freq}, {missing[0]!r} (seen {counts[missing[0]]} times) "
                                "should be in the vocabulary but is not.")
            expect(not extra, f"with min_freq={min_freq}, {extra[0]!r} (seen {counts[extra[0]]} times) should "
                              "not be in the vocabulary.")
        rest_counts = [counts[t] for t in rest]
        rest_text_counts = [text_counts[t] for t in rest]
        expect(rest_counts == sorted(rest_counts, reverse=True) or rest_text_counts != sorted(rest_text_counts, reverse=True),
               "the tokens are sorted by the number of texts they occur in; sort by how often they occur "
               "(count every occurrence: a word used twice in one text counts twice).")
        expect(rest_counts != sorted(rest_counts) or rest_counts == sorted(rest_counts, reverse=True),
               "the tokens are in order of increasing count; put the most frequent first "
               "(Counter.most_common, or sorted(..., reverse=True)).")
        expect(rest_counts == sorted(rest_counts, reverse=True),
               "after the specials, the tokens should be sorted from the most to the least frequent. "
               "Hint: Counter.most_common() gives them in that order.")
    return passed("specials first, then the frequent tokens, most frequent first.")


# --- exercise 2: pad a batch and make its mask ---------------------------------------------------

def check_pad_batch(pad_batch) -> bool:
    """``pad_batch(sequences, pad_value)`` returns ``(padded [B, T_max] int64, lengths [B] int64,
    mask [B, T_max] bool)``, padded on the right, mask True at real tokens."""
    generator = fresh_generator()
    for pad_value in (0, 99):
        sequences = _random_sequences(generator, batch_size=6)
        result = call_answer(pad_batch, [s.clone() for s in sequences], pad_value, what="pad_batch")
        expect(isinstance(result, (tuple, list)) and len(result) == 3,
               "pad_batch should return three things: `return padded, lengths, mask`.")
        padded, lengths, mask = result
        expected_padded, expected_lengths = _reference_pad(sequences, pad_value)
        expected_mask = _mask(expected_lengths, expected_padded.shape[1])
        batch, longest = expected_padded.shape
        for name, value in (("padded", padded), ("lengths", lengths), ("mask", mask)):
            expect(isinstance(value, torch.Tensor), f"{name} should be a tensor, got {type(value).__name__}.")
        padded, lengths, mask = padded.detach().cpu(), lengths.detach().cpu(), mask.detach().cpu()
        expect(tuple(padded.shape) == (batch, longest),
               f"for {batch} sequences, the longest of {longest} tokens, padded should have shape ({batch}, {longest}), "
               f"got {tuple(padded.shape)}. Pad to the longest sequence in the batch, batch first.")
        expect(padded.dtype == torch.int64, f"padded holds token ids: keep it int64 (torch.long), got {padded.dtype}.")
        expect(tuple(lengths.shape) == (batch,) and lengths.dtype == torch.int64,
               f"lengths should be an int64 tensor of shape ({batch},), got {tuple(lengths.shape)} {lengths.dtype}.")
        expect(torch.equal(lengths, expected_lengths), f"lengths should be the number of tokens of each sequence, "
                                                       f"{expected_lengths.tolist()}; got {lengths.tolist()}.")
        if not torch.equal(padded, expected_padded):
            left_padded = torch.full_like(expected_padded, pad_value)
            for i, sequence in enumerate(sequences):
                left_padded[i, longest - len(sequence):] = sequence
            expect(not torch.equal(padded, left_padded), "the padding goes after the tokens (on the right), "
                                                         "so every sequence starts at time step 0.")
            real = expected_mask
            expect(torch.equal(padded[real], expected_padded[real]), "the real tokens should be copied unchanged "
                                                                     "to the start of each row.")
            expect(False, f"the padded places should hold pad_value={pad_value}, got values like "
                          f"{padded[~real].unique()[:3].tolist()}. Use the pad_value argument, not a fixed 0.")
        expect(mask.dtype == torch.bool, f"the mask should be a bool tensor (True = real token), got {mask.dtype}. "
                                         "Hint: a comparison such as `<` gives bools.")
        expect(tuple(mask.shape) == (batch, longest), f"the mask should have the shape of padded, ({batch}, {longest}); "
                                                      f"got {tuple(mask.shape)}.")
        expect(not torch.equal(mask, ~expected_mask), "the mask is inverted: it should be True at real tokens and "
                                                      "False at padding.")
        expect(torch.equal(mask, expected_mask), "the mask should be True exactly at the first lengths[i] places of "
                                                 "row i. Hint: torch.arange(T_max) < lengths[:, None].")
    return passed("padded on the right with pad_value, the lengths, and a bool mask of the real tokens.")


# --- exercise 3: the last real time step ------------------------------------------------------

def check_last_real_step(last_real_step) -> bool:
    """``last_real_step(outputs [B, T, H], lengths [B])`` returns ``[B, H]``: row i at time lengths[i] - 1."""
    generator = fresh_generator()
    batch, steps, hidden = 12, 8, 5
    lengths = torch.randint(1, steps, (batch,), generator=generator)
    lengths[int(torch.randint(0, batch, (), generator=generator))] = steps
    outputs = torch.randn(batch, steps, hidden, generator=generator)
    result = call_answer(last_real_step, outputs.clone(), lengths.clone(), what="last_real_step",
                         explain_crashes=True,
                         hint="lengths count the steps, so the last real index of row i is lengths[i] - 1.")
    expect(isinstance(result, torch.Tensor), f"last_real_step should return a tensor, got {type(result).__name__}.")
    result = result.detach().cpu()
    expect(tuple(result.shape) == (batch, hidden),
           f"for outputs of shape ({batch}, {steps}, {hidden}) the result should be ({batch}, {hidden}): one vector per "
           f"sequence; got {tuple(result.shape)}. Hint: index two dimensions at once, outputs[rows, times].")
    expected = outputs[torch.arange(batch), lengths - 1]
    expect(not torch.equal(result, outputs[:, -1]),
           "that is the last column, time T - 1: for every sequence shorter than the longest it is padding. "
           "Take time lengths[i] - 1 for row i.")
    shifted = outputs[torch.arange(batch), (lengths - 2).clamp(min=0)]
    expect(not torch.equal(result, shifted), "off by one: you took time lengths[i] - 2; the last real step is lengths[i] - 1.")
    expect(torch.equal(result, expected), "row i of the result should be outputs[i, lengths[i] - 1]. "
                                          "Hint: outputs[torch.arange(B), lengths - 1].")
    return passed("outputs[i, lengths[i] - 1] for every row i.")


# --- exercise 4: the masked mean --------------------------------------------------------------

def check_masked_mean(masked_mean) -> bool:
    """``masked_mean(outputs [B, T, H], lengths [B])`` returns ``[B, H]``: the mean over each row's real steps."""
    generator = fresh_generator()
    batch, steps, hidden = 6, 9, 4
    lengths = torch.randint(1, steps, (batch,), generator=generator)
    lengths[int(torch.randint(0, batch, (), generator=generator))] = steps
    outputs = torch.randn(batch, steps, hidden, generator=generator, dtype=torch.float64)
    outputs[~_mask(lengths, steps)] += 5.0  # padding that does not average out by luck
    result = call_answer(masked_mean, outputs.clone(), lengths.clone(), what="masked_mean", explain_crashes=True,
                         hint="make the mask [B, T], add a last dimension (mask[..., None]) so it broadcasts over H.")
    expect(isinstance(result, torch.Tensor), f"masked_mean should return a tensor, got {type(result).__name__}.")
    result = result.detach().cpu().to(torch.float64)
    expect(tuple(result.shape) == (batch, hidden), f"the result should have shape ({batch}, {hidden}), one mean vector "
                                                   f"per sequence; got {tuple(result.shape)}.")
    mask = _mask(lengths, steps).unsqueeze(-1).double()
    masked_sum = (outputs * mask).sum(dim=1)
    expected = masked_sum / lengths.unsqueeze(-1)

    def close(a, b):
        return torch.allclose(a, b, rtol=1e-4, atol=1e-5)

    expect(not close(result, outputs.mean(dim=1)), "that is the plain mean over all T steps: the padding is averaged in. "
                                                   "Multiply by the mask before summing.")
    expect(not close(result, masked_sum), "you summed the real steps but did not divide: divide row i by lengths[i].")
    expect(not close(result, masked_sum / steps), "you divided by T, the padded length; divide row i by its own "
                                                  "length, lengths[i].")
    expect(close(result, expected), "row i should be the mean of outputs[i, :lengths[i]]. "
                                    "Hint: (outputs * mask[..., None]).sum(1) / lengths[:, None].")
    return passed("the mean over the real steps only.")


# --- exercise 5: a collate function that sorts by length -----------------------------------------

def check_collate_sorted(collate_sorted) -> bool:
    """``collate_sorted(batch)`` turns a list of ``(ids [L_i], label)`` into ``(padded [B, T_max] int64,
    lengths [B] int64, labels [B] int64)``, longest first, padded with 0, ready for
    ``pack_padded_sequence(..., enforce_sorted=True)``."""
    generator = fresh_generator()
    sequences = _random_sequences(generator, batch_size=8, min_length=2)
    labels = torch.randperm(8, generator=generator)  # class ids, all different: a label left behind shows
    order = torch.sort(torch.tensor([len(s) for s in sequences]), descending=True, stable=True).indices
    if torch.equal(order, torch.arange(8)):  # already sorted by chance: shuffle so that sorting matters
        sequences = sequences[::-1]
    batch = [(s.clone(), int(y)) for s, y in zip(sequences, labels)]
    result = call_answer(collate_sorted, batch, what="collate_sorted")
    expect(isinstance(result, (tuple, list)) and len(result) == 3,
           "collate_sorted should return three things: `return padded, lengths, labels`.")
    padded, lengths, out_labels = result
    for name, value in (("padded", padded), ("lengths", lengths), ("labels", out_labels)):
        expect(isinstance(value, torch.Tensor), f"{name} should be a tensor, got {type(value).__name__}.")
    padded, lengths, out_labels = padded.detach().cpu(), lengths.detach().cpu(), out_labels.detach().cpu()
    longest = max(len(s) for s in sequences)
    expect(tuple(padded.shape) == (8, longest), f"padded should have shape (8, {longest}) for 8 sequences, the longest "
                                                f"of {longest} tokens; got {tuple(padded.shape)}.")
    expect(padded.dtype == torch.int64 and lengths.dtype == torch.int64 and out_labels.dtype == torch.int64,
           f"all three should be int64 tensors, got {padded.dtype}, {lengths.dtype} and {out_labels.dtype}.")
    expect(tuple(lengths.shape) == (8,) and tuple(out_labels.shape) == (8,),
           f"lengths and labels should have shape (8,), got {tuple(lengths.shape)} and {tuple(out_labels.shape)}.")
    expect(sorted(lengths.tolist()) == sorted(len(s) for s in sequences),
           "lengths should hold the number of tokens of each sequence.")
    expect(lengths.tolist() != sorted(lengths.tolist()) or lengths.min() == lengths.max(),
           "the batch is sorted shortest first; pack_padded_sequence wants the longest first (descending=True).")
    expect(lengths.tolist() == sorted(lengths.tolist(), reverse=True),
           f"the batch should be sorted by length, longest first; the lengths come out as {lengths.tolist()}.")
    rows = [(tuple(padded[i, : int(lengths[i])].tolist()), int(out_labels[i])) for i in range(8)]
    items = [(tuple(s.tolist()), int(y)) for s, y in zip(sequences, labels)]
    if sorted(rows) != sorted(items):
        row_sequences = sorted(r[0] for r in rows)
        expect(row_sequences == sorted(i[0] for i in items),
               "the rows of padded should be the batch's sequences (each followed by padding), reordered by length.")
        expect(False, "the labels did not move with their sequences: reorder the labels with the same order "
                      "as the sequences.")
    expect(bool((padded[~_mask(lengths, longest)] == 0).all()), "pad with 0 (the <pad> index) after each sequence.")
    try:
        pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=True)
    except Exception as error:  # pragma: no cover - the checks above catch what packing would
        expect(False, f"pack_padded_sequence(..., enforce_sorted=True) refused the batch: {error}")
    return passed("longest first, labels moved with their sequences; pack_padded_sequence takes it as it is.")
