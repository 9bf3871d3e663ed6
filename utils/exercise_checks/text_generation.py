"""Checks for the exercises of ``module3_rnns/solutions/06_text_generation.ipynb``.

Every check builds fresh random inputs, computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from utils.checks import answer_as_number, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_make_streams",
    "check_get_chunk",
    "check_bigram_nats_per_char",
    "check_temperature_probabilities",
    "check_held_out_nats_per_char",
]


# --- reference answers ------------------------------------------------------------------------

def _make_streams(ids: torch.Tensor, num_streams: int) -> torch.Tensor:
    length = len(ids) // num_streams
    return ids[: num_streams * length].view(num_streams, length)


def _get_chunk(streams: torch.Tensor, start: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    targets = streams[:, start + 1:start + length + 1]
    return streams[:, start:start + targets.shape[1]], targets


def _bigram_nats(train_ids, eval_ids, vocab_size, alpha, *, conditional=True):
    counts = torch.bincount(train_ids[:-1] * vocab_size + train_ids[1:],
                            minlength=vocab_size ** 2).double().view(vocab_size, vocab_size)
    if conditional:
        probs = (counts + alpha) / (counts.sum(dim=1, keepdim=True) + alpha * vocab_size)
    else:  # the joint distribution of pairs, a typical mistake
        probs = (counts + alpha) / (counts.sum() + alpha * vocab_size ** 2)
    return -probs[eval_ids[:-1], eval_ids[1:]].log().mean().item()


def _markov_ids(generator, length, vocab_size):
    """ids from a random Markov chain with some strongly preferred successors, so a bigram model helps;
    the pair (0, 1) never occurs."""
    logits = torch.randn(vocab_size, vocab_size, generator=generator, dtype=torch.float64) * 2.5
    logits[0, 1] = -math.inf  # the pair (0, 1) never occurs
    transition = torch.softmax(logits, dim=1)
    ids = torch.empty(length, dtype=torch.long)
    ids[0] = torch.randint(vocab_size, (), generator=generator)
    draws = torch.rand(length, generator=generator, dtype=torch.float64)
    cumulative = transition.cumsum(dim=1)
    for t in range(1, length):
        ids[t] = min(int(torch.searchsorted(cumulative[ids[t - 1]], draws[t])), vocab_size - 1)
    return ids


class _TinyCharModel(nn.Module):
    """The lesson's CharLSTM, small: tokens [B, T] (and a state) -> logits [B, T, V] and the new state."""

    def __init__(self, vocab_size, embedding_dim=6, hidden_size=10):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens, state=None):
        outputs, state = self.lstm(self.embedding(tokens), state)
        return self.readout(outputs), state


def _held_out_nats(model, streams, chunk_length, *, carry=True, mean_of_means=False, log=math.log):
    total, count, means, state = 0.0, 0, [], None
    with torch.no_grad():
        for start in range(0, streams.shape[1] - 1, chunk_length):
            inputs, targets = _get_chunk(streams, start, chunk_length)
            logits, state = model(inputs, state if carry else None)
            losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
            total += losses.sum().item()
            count += targets.numel()
            means.append(losses.mean().item())
    value = sum(means) / len(means) if mean_of_means else total / count
    return value / log(math.e)


def _tensor(value, what: str, hint: str = "") -> torch.Tensor:
    expect(isinstance(value, torch.Tensor), f"{what} should be a tensor, got {type(value).__name__}." +
           (f" {hint}" if hint else ""))
    return value.detach().cpu()


# --- exercise 1: parallel streams -------------------------------------------------------------

def check_make_streams(make_streams) -> bool:
    """``make_streams(ids [N], num_streams)`` returns ``[num_streams, N // num_streams]``: row i is the
    i-th contiguous piece of the text; the last ``N % num_streams`` ids are dropped."""
    generator = fresh_generator()
    for num_streams, length, extra in ((4, 7, 3), (3, 5, 0), (1, 9, 0)):
        n = num_streams * length + extra
        ids = torch.randperm(n, generator=generator)  # all different, so every misplaced id shows
        where = f"for {n} ids and num_streams = {num_streams}"
        result = call_answer(make_streams, ids.clone(), num_streams, what="make_streams", explain_crashes=True,
                             hint="len(ids) // num_streams ids per stream; cut ids to num_streams * that, then .view.")
        result = _tensor(result, "make_streams's result")
        expected = _make_streams(ids, num_streams)
        if torch.equal(result, expected):
            continue
        expect(result.dim() == 2, f"{where} the streams should be a 2-D tensor [num_streams, L], got shape "
                                  f"{tuple(result.shape)}.")
        expect(tuple(result.shape) != (length, num_streams),
               f"{where} the shape should be ({num_streams}, {length}): one row per stream; you have it transposed.")
        expect(tuple(result.shape) == tuple(expected.shape),
               f"{where} the streams should have shape {tuple(expected.shape)}: {n} // {num_streams} = {length} ids "
               f"per stream, and the last {extra} ids dropped; got {tuple(result.shape)}.")
        interleaved = ids[: num_streams * length].view(length, num_streams).T
        expect(not torch.equal(result, interleaved),
               f"{where} your rows take every {num_streams}-th id (ids.view(-1, num_streams).T): each row must be a "
               "*contiguous* piece of the text, so that a row reads like the text itself. Use .view(num_streams, -1).")
        expect(torch.equal(result[:, 0], expected[:, 0]),
               f"{where} row i should start at id i * {length}, where the i-th piece of the text starts (the ids at "
               f"the end are the ones to drop). Your first column is {result[:, 0].tolist()}, expected "
               f"{expected[:, 0].tolist()}.")
        expect(False, f"{where} the streams differ from ids[:num_streams * L].view(num_streams, L) with L = {length}.")
    return passed("each row is a contiguous piece of the text; row i of chunk k + 1 continues row i of chunk k.")


# --- exercise 2: (input, target) chunks -------------------------------------------------------

def check_get_chunk(get_chunk) -> bool:
    """``get_chunk(streams [S, L], start, length)`` returns ``(inputs, targets)``, columns ``start`` to
    ``start + length - 1`` and the same shifted by one, both cut short at the end of the streams."""
    generator = fresh_generator()
    num_streams, stream_length, length = 3, 23, 5
    streams = torch.randperm(num_streams * stream_length, generator=generator).view(num_streams, stream_length)
    starts = [0, int(torch.randint(1, 15, (), generator=generator)), 20]  # the last one is cut short
    for start in starts:
        result = call_answer(get_chunk, streams.clone(), start, length, what="get_chunk", explain_crashes=True,
                             hint="slice columns: streams[:, start:start + length], and one further on for the targets.")
        expect(isinstance(result, (tuple, list)) and len(result) == 2,
               "get_chunk should return two tensors, `return inputs, targets`.")
        inputs, targets = (_tensor(value, name) for value, name in zip(result, ("inputs", "targets")))
        expected_inputs, expected_targets = _get_chunk(streams, start, length)
        where = f"for start = {start}, length = {length} and streams of length {stream_length}"
        if torch.equal(inputs, expected_inputs) and torch.equal(targets, expected_targets):
            continue
        expect(not (torch.equal(inputs, expected_targets) and torch.equal(targets, expected_inputs)),
               f"{where} inputs and targets are swapped: the model reads column t and predicts column t + 1.")
        expect(not torch.equal(targets, streams[:, start:start + length]),
               f"{where} your targets are the inputs themselves: the target at step t is the *next* character, "
               "so the targets are the inputs shifted by one column: streams[:, start + 1:start + length + 1].")
        expect(not (inputs.shape == targets.shape and inputs.shape[1] > 1 and torch.equal(inputs[:, 1:], targets[:, :-1])
                    and not torch.equal(inputs, expected_inputs)),
               f"{where} targets are the inputs shifted by one, good, but the chunk should start at column {start}.")
        if start + length + 1 > stream_length:
            expect(inputs.shape == targets.shape,
                   f"{where} the streams end before the last target: inputs has {inputs.shape[1]} columns and targets "
                   f"{targets.shape[1]}. Cut the inputs to as many columns as there are targets (every input needs its "
                   "target).")
        expect(torch.equal(inputs, expected_inputs),
               f"{where} the inputs should be columns {start} to {start + length - 1}; got shape {tuple(inputs.shape)}.")
        expect(False, f"{where} the targets should be columns {start + 1} to {start + length}; got shape "
                      f"{tuple(targets.shape)}.")
    return passed("the targets are the inputs shifted by one: one chunk gives length predictions per stream.")


# --- exercise 3: the bigram baseline ----------------------------------------------------------

def check_bigram_nats_per_char(bigram_nats_per_char) -> bool:
    """``bigram_nats_per_char(train_ids, eval_ids, vocab_size, alpha)``: the add-alpha bigram model counted on
    ``train_ids``, scored on the pairs of consecutive ids of ``eval_ids``, in nats per predicted id."""
    generator = fresh_generator()
    vocab_size = int(torch.randint(6, 10, (), generator=generator))
    ids = _markov_ids(generator, 3000, vocab_size)
    train_ids, eval_ids = ids[:2400], ids[2400:]
    where_unseen = int(torch.randint(1, len(eval_ids), (), generator=generator))
    unseen_pair = torch.tensor([0, 1])  # a pair the training ids never show: only smoothing keeps its probability > 0
    eval_ids = torch.cat([eval_ids[:where_unseen], unseen_pair, eval_ids[where_unseen:]])
    for alpha in (1.0, 0.1):
        where = f"(alpha = {alpha})"
        value = call_answer(bigram_nats_per_char, train_ids.clone(), eval_ids.clone(), vocab_size, alpha,
                            what="bigram_nats_per_char", explain_crashes=True,
                            hint="count the pairs with torch.bincount(train_ids[:-1] * V + train_ids[1:], "
                                 "minlength=V * V).view(V, V).")
        value = answer_as_number(value, "bigram_nats_per_char's result", "Return the mean, e.g. with .item().")
        expected = _bigram_nats(train_ids, eval_ids, vocab_size, alpha)
        if math.isclose(value, expected, rel_tol=1e-4):
            continue
        expect(math.isfinite(value),
               f"{where} you got {value}: some pair of the evaluation ids has probability 0. Add alpha to every count "
               "(and alpha * V to every row's total) so that no probability is 0.")
        expect(not math.isclose(value, expected / math.log(2), rel_tol=1e-4),
               f"{where} you got {value:.4f}, which is the answer in bits: use the natural logarithm (torch.log), "
               "for nats.")
        expect(not math.isclose(value, _bigram_nats(train_ids, eval_ids, vocab_size, alpha, conditional=False),
                                rel_tol=1e-4),
               f"{where} you divided each count by the total number of pairs: that is p(a, b), the probability of "
               "the pair. The model needs p(b | a) = (n(a, b) + alpha) / (n(a) + alpha * V): divide by the row's total.")
        expect(not math.isclose(value, -expected, rel_tol=1e-4),
               f"{where} the sign is flipped: the loss is the mean of -log p.")
        no_v = torch.bincount(train_ids[:-1] * vocab_size + train_ids[1:], minlength=vocab_size ** 2).double()
        no_v = no_v.view(vocab_size, vocab_size)
        no_v = (no_v + alpha) / (no_v.sum(dim=1, keepdim=True) + alpha)
        expect(not math.isclose(value, -no_v[eval_ids[:-1], eval_ids[1:]].log().mean().item(), rel_tol=1e-4),
               f"{where} each row must still sum to 1: adding alpha to each of the V counts of a row adds alpha * V to "
               "its total.")
        counts = torch.bincount(train_ids[:-1] * vocab_size + train_ids[1:], minlength=vocab_size ** 2).double()
        counts = counts.view(vocab_size, vocab_size)
        smoothed = (counts + alpha) / (counts.sum(dim=1, keepdim=True) + alpha * vocab_size)
        transposed = -smoothed[eval_ids[1:], eval_ids[:-1]].log().mean().item()
        expect(not math.isclose(value, transposed, rel_tol=1e-4),
               f"{where} you looked the pairs up the wrong way round: row a of the table is the previous id and "
               "column b the next, so p(b | a) is probs[previous, next] = probs[eval_ids[:-1], eval_ids[1:]].")
        expect(False, f"{where} the add-alpha bigram model scores {expected:.4f} nats per character on the evaluation "
                      f"ids, you got {value:.4f}. Count the pairs (train_ids[:-1], train_ids[1:]), smooth, divide by the "
                      "row's total, then average -log p over the pairs (eval_ids[:-1], eval_ids[1:]).")
    return passed("add-alpha smoothing keeps every probability positive, and each row still sums to 1.")


# --- exercise 4: temperature ------------------------------------------------------------------

def check_temperature_probabilities(temperature_probabilities) -> bool:
    """``temperature_probabilities(logits [..., V], temperature)`` returns ``softmax(logits / temperature)``
    over the last dimension."""
    generator = fresh_generator()
    logits = torch.randn(4, 7, generator=generator) * 2
    for temperature in (1.0, 0.5, 2.0):
        where = f"for temperature {temperature}"
        result = call_answer(temperature_probabilities, logits.clone(), temperature,
                             what="temperature_probabilities", explain_crashes=True,
                             hint="F.softmax(logits / temperature, dim=-1).")
        result = _tensor(result, "temperature_probabilities's result").double()
        expected = torch.softmax(logits.double() / temperature, dim=-1)
        expect(result.shape == expected.shape,
               f"{where} the result should have the shape of the logits, {tuple(logits.shape)}; got {tuple(result.shape)}.")
        if torch.allclose(result, expected, rtol=1e-4, atol=1e-6):
            continue
        expect(not torch.allclose(result, torch.softmax(logits.double() * temperature, dim=-1), atol=1e-6),
               f"{where} you multiplied the logits by the temperature: divide them. A temperature below 1 should "
               "make the distribution sharper.")
        expect(torch.allclose(result.sum(dim=-1), torch.ones(len(logits), dtype=torch.float64), atol=1e-4),
               f"{where} each row should be a probability distribution that sums to 1 over the last dimension; your "
               f"rows sum to {[round(v, 3) for v in result.sum(dim=-1).tolist()]}. Apply a softmax over dim=-1.")
        expect(False, f"{where} the result should be softmax(logits / temperature) over the last dimension.")
    sharp, flat = (temperature_probabilities(logits.clone(), t).detach().cpu().double() for t in (0.25, 4.0))
    expect(bool((sharp.max(dim=-1).values > flat.max(dim=-1).values).all()),
           "a lower temperature should make every distribution sharper (a larger top probability).")
    return passed("a lower temperature sharpens the distribution, a higher one flattens it; the order never changes.")


# --- exercise 5: the held-out loss with a carried state ---------------------------------------

def check_held_out_nats_per_char(held_out_nats_per_char) -> bool:
    """``held_out_nats_per_char(model, streams [S, L], chunk_length)``: the mean cross-entropy in nats over every
    prediction, reading the streams chunk by chunk and carrying the state from chunk to chunk."""
    generator = fresh_generator()
    vocab_size = 7
    model = _TinyCharModel(vocab_size)
    with torch.no_grad():
        for parameter in model.parameters():  # fresh weights from the check's generator, large enough that the state matters
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    streams = torch.randint(vocab_size, (3, 50), generator=generator)  # 49 predictions per stream
    chunk_length = 16  # chunks of 16, 16, 16 and 1 predictions
    value = call_answer(held_out_nats_per_char, model, streams.clone(), chunk_length,
                        what="held_out_nats_per_char", explain_crashes=True,
                        hint="loop over start = 0, chunk_length, ...; get_chunk gives (inputs, targets); "
                             "model(inputs, state) returns (logits, state).")
    value = answer_as_number(value, "held_out_nats_per_char's result", "Return the mean, e.g. with .item().")
    expected = _held_out_nats(model, streams, chunk_length)
    if math.isclose(value, expected, rel_tol=1e-4):
        return passed(f"{expected:.4f} nats per character, every one of the {streams.numel() - len(streams)} "
                      "predictions counted once, the state carried across chunks.")
    expect(not math.isclose(value, _held_out_nats(model, streams, chunk_length, carry=False), rel_tol=1e-4),
           "you started every chunk from a zero state: pass the state that the previous chunk returned, "
           "model(inputs, state), so the model remembers the text before the chunk.")
    expect(not math.isclose(value, _held_out_nats(model, streams, chunk_length, mean_of_means=True), rel_tol=1e-4),
           "you averaged the chunks' mean losses, but the last chunk is shorter (1 prediction per stream, not 16), "
           "so it counts too much. Sum the losses (reduction='sum') and divide by the number of predictions.")
    expect(not math.isclose(value, expected / math.log(2), rel_tol=1e-4),
           "that is the answer in bits: F.cross_entropy uses the natural logarithm, so it is already in nats; "
           "do not divide by log 2.")
    expect(False, f"the model scores {expected:.4f} nats per character on these streams; you got {value:.4f}. Read "
                  "the streams chunk by chunk with get_chunk, carry the state, and average the cross-entropy over "
                  "every prediction.")
