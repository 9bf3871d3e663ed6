"""The checks of the text-generation exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import math

import pytest
import torch
import torch.nn.functional as F

from utils.checks import ExerciseError
from utils.exercise_checks import text_generation as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Your turn: replace this line with your code, then run the check below.")


# --- exercise 1: make_streams ---------------------------------------------------------------------

def make_streams(ids, num_streams):
    length = len(ids) // num_streams
    return ids[: num_streams * length].view(num_streams, length)


def make_streams_with_reshape(ids, num_streams):  # another right answer
    length = len(ids) // num_streams
    return torch.stack([ids[i * length:(i + 1) * length] for i in range(num_streams)])


def test_check_make_streams_passes_right_answers(capsys):
    assert checks.check_make_streams(make_streams) is True
    assert checks.check_make_streams(make_streams_with_reshape) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda ids, n: ids[: n * (len(ids) // n)].view(-1, n).T, "contiguous"),
        (lambda ids, n: ids[: n * (len(ids) // n)].view(-1, n), "transposed"),
        (lambda ids, n: ids[len(ids) % n:].view(n, -1), "should start at id"),
        (lambda ids, n: ids, "2-D tensor"),
        (lambda ids, n: ids[: n * (len(ids) // n)].view(n, -1).tolist(), "should be a tensor"),
        (lambda ids, n: torch.arange(28).view(4, 7), "should start at id|differ"),  # a hard-coded answer
        (lambda ids: ids, "raised TypeError"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_make_streams_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_make_streams(wrong)


# --- exercise 2: get_chunk ------------------------------------------------------------------------

def get_chunk(streams, start, length):
    inputs = streams[:, start:start + length]
    targets = streams[:, start + 1:start + length + 1]
    return inputs[:, :targets.shape[1]], targets


def get_chunk_with_min(streams, start, length):  # another right answer
    length = min(length, streams.shape[1] - 1 - start)
    return streams[:, start:start + length], streams[:, start + 1:start + 1 + length]


def test_check_get_chunk_passes_right_answers():
    assert checks.check_get_chunk(get_chunk) is True
    assert checks.check_get_chunk(get_chunk_with_min) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda s, start, n: get_chunk(s, start, n)[::-1], "swapped"),
        (lambda s, start, n: (s[:, start:start + n], s[:, start:start + n]), "targets are the inputs themselves"),
        (lambda s, start, n: (s[:, start:start + n], s[:, start + 1:start + n + 1]), "Cut the inputs"),
        (lambda s, start, n: get_chunk(s, start + 1, n), "should start at column"),
        (lambda s, start, n: get_chunk(s, start, n)[0], "two tensors"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_get_chunk_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_get_chunk(wrong)


# --- exercise 3: bigram_nats_per_char ---------------------------------------------------------------

def bigram_nats_per_char(train_ids, eval_ids, vocab_size, alpha=1.0):
    counts = torch.bincount(train_ids[:-1] * vocab_size + train_ids[1:], minlength=vocab_size ** 2)
    counts = counts.view(vocab_size, vocab_size).double()
    probs = (counts + alpha) / (counts.sum(dim=1, keepdim=True) + alpha * vocab_size)
    return -probs[eval_ids[:-1], eval_ids[1:]].log().mean().item()


def bigram_with_loops(train_ids, eval_ids, vocab_size, alpha=1.0):  # another right answer, a plain Python count
    counts = [[0] * vocab_size for _ in range(vocab_size)]
    for a, b in zip(train_ids.tolist(), train_ids[1:].tolist()):
        counts[a][b] += 1
    total = 0.0
    pairs = list(zip(eval_ids.tolist(), eval_ids[1:].tolist()))
    for a, b in pairs:
        total -= math.log((counts[a][b] + alpha) / (sum(counts[a]) + alpha * vocab_size))
    return total / len(pairs)


def test_check_bigram_passes_right_answers(capsys):
    assert checks.check_bigram_nats_per_char(bigram_nats_per_char) is True
    assert checks.check_bigram_nats_per_char(bigram_with_loops) is True
    assert "Correct" in capsys.readouterr().out


def bigram_variant(kind):
    def bigram(train_ids, eval_ids, vocab_size, alpha=1.0):
        counts = torch.bincount(train_ids[:-1] * vocab_size + train_ids[1:], minlength=vocab_size ** 2)
        counts = counts.view(vocab_size, vocab_size).double()
        if kind == "no smoothing":
            probs = counts / counts.sum(dim=1, keepdim=True)
        elif kind == "joint":
            probs = (counts + alpha) / (counts.sum() + alpha * vocab_size ** 2)
        elif kind == "no alpha V":
            probs = (counts + alpha) / (counts.sum(dim=1, keepdim=True) + alpha)
        else:
            probs = (counts + alpha) / (counts.sum(dim=1, keepdim=True) + alpha * vocab_size)
        if kind == "swapped pairs":
            return -probs[eval_ids[1:], eval_ids[:-1]].log().mean().item()
        nats = -probs[eval_ids[:-1], eval_ids[1:]].log().mean()
        if kind == "bits":
            return nats / math.log(2)
        if kind == "sign":
            return -nats
        if kind == "tensor of losses":
            return -probs[eval_ids[:-1], eval_ids[1:]].log()
        if kind == "alpha ignored":
            return bigram_nats_per_char(train_ids, eval_ids, vocab_size, 1.0)
        return nats
    return bigram


@pytest.mark.parametrize(
    "kind, message",
    [
        ("no smoothing", "probability 0"),
        ("joint", "total number of pairs"),
        ("no alpha V", r"adds alpha \* V"),
        ("bits", "in bits"),
        ("sign", "sign is flipped"),
        ("swapped pairs", "wrong way round"),
        ("tensor of losses", "one number"),
        ("alpha ignored", "alpha = 0.1"),
    ],
)
def test_check_bigram_explains_wrong_answers(kind, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_bigram_nats_per_char(bigram_variant(kind))


def test_check_bigram_rejects_a_hard_coded_answer_and_the_placeholder():
    with pytest.raises(ExerciseError, match="scores"):
        checks.check_bigram_nats_per_char(lambda *args: 1.5)
    with pytest.raises(ExerciseError, match="NotImplementedError"):
        checks.check_bigram_nats_per_char(not_implemented)


# --- exercise 4: temperature_probabilities --------------------------------------------------------

def test_check_temperature_passes_right_answers():
    assert checks.check_temperature_probabilities(lambda z, t: F.softmax(z / t, dim=-1)) is True

    def via_powers(logits, temperature):  # p ** (1 / t), renormalised: the same distribution
        p = torch.softmax(logits, dim=-1) ** (1 / temperature)
        return p / p.sum(dim=-1, keepdim=True)

    assert checks.check_temperature_probabilities(via_powers) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z, t: F.softmax(z * t, dim=-1), "multiplied"),
        (lambda z, t: F.softmax(z / t, dim=0), "sums to 1|sum to"),
        (lambda z, t: z / t, "sum to"),
        (lambda z, t: torch.softmax(z, dim=-1) ** (1 / t), "sum to"),
        (lambda z, t: F.softmax(z / t, dim=-1)[0], "shape of the logits"),
        (lambda z, t: F.softmax(z, dim=-1), "for temperature 0.5"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_temperature_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_temperature_probabilities(wrong)


# --- exercise 5: held_out_nats_per_char -----------------------------------------------------------

def held_out_nats_per_char(model, streams, chunk_length):
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for start in range(0, streams.shape[1] - 1, chunk_length):
            inputs, targets = get_chunk(streams, start, chunk_length)
            logits, state = model(inputs, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum").item()
            count += targets.numel()
    return total / count


def held_out_one_pass(model, streams, chunk_length):  # another right answer: the whole streams in one call
    with torch.no_grad():
        logits, _ = model(streams[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), streams[:, 1:].reshape(-1))


def test_check_held_out_passes_right_answers(capsys):
    assert checks.check_held_out_nats_per_char(held_out_nats_per_char) is True
    assert checks.check_held_out_nats_per_char(held_out_one_pass) is True  # a 0-d tensor is accepted
    assert "Correct" in capsys.readouterr().out


def held_out_variant(kind):
    def held_out(model, streams, chunk_length):
        total, count, means, state = 0.0, 0, [], None
        with torch.no_grad():
            for start in range(0, streams.shape[1] - 1, chunk_length):
                inputs, targets = get_chunk(streams, start, chunk_length)
                logits, state = model(inputs, None if kind == "reset" else state)
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
                total += loss.item()
                count += targets.numel()
                means.append(loss.item() / targets.numel())
        if kind == "mean of means":
            return sum(means) / len(means)
        if kind == "bits":
            return total / count / math.log(2)
        if kind == "sum":
            return total
        return total / count
    return held_out


@pytest.mark.parametrize(
    "kind, message",
    [
        ("reset", "zero state"),
        ("mean of means", "last chunk is shorter"),
        ("bits", "in bits"),
        ("sum", "the model scores"),
    ],
)
def test_check_held_out_explains_wrong_answers(kind, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_held_out_nats_per_char(held_out_variant(kind))


def test_check_held_out_rejects_crashes_and_non_numbers():
    with pytest.raises(ExerciseError, match="raised"):
        checks.check_held_out_nats_per_char(lambda model, streams, n: model(streams.float()))
    with pytest.raises(ExerciseError, match="should be a number"):
        checks.check_held_out_nats_per_char(lambda model, streams, n: "1.5")
    with pytest.raises(ExerciseError, match="NotImplementedError"):
        checks.check_held_out_nats_per_char(not_implemented)
