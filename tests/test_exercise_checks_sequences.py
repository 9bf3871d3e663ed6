"""The checks of the sequence-data exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

from collections import Counter

import pytest
import torch
from torch.nn.utils.rnn import pad_sequence

from utils.checks import ExerciseError
from utils.exercise_checks import sequences as checks
from utils.text import Vocab, pad_sequences, padding_mask


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def build_vocabulary(token_lists, min_freq):
    counts = Counter(token for tokens in token_lists for token in tokens)
    kept = [token for token, count in counts.most_common() if count >= min_freq]
    return ["<pad>", "<unk>", "<bos>", "<eos>"] + kept


def pad_batch(sequences, pad_value):
    lengths = torch.tensor([len(s) for s in sequences])
    padded = torch.full((len(sequences), int(lengths.max())), pad_value, dtype=torch.long)
    for i, sequence in enumerate(sequences):
        padded[i, : len(sequence)] = sequence
    mask = torch.arange(padded.shape[1]) < lengths[:, None]
    return padded, lengths, mask


def last_real_step(outputs, lengths):
    return outputs[torch.arange(len(lengths)), lengths - 1]


def masked_mean(outputs, lengths):
    mask = torch.arange(outputs.shape[1]) < lengths[:, None]
    return (outputs * mask[..., None]).sum(dim=1) / lengths[:, None]


def collate_sorted(batch):
    batch = sorted(batch, key=lambda item: len(item[0]), reverse=True)
    padded = pad_sequence([ids for ids, _ in batch], batch_first=True, padding_value=0)
    lengths = torch.tensor([len(ids) for ids, _ in batch])
    labels = torch.tensor([label for _, label in batch])
    return padded, lengths, labels


# --- exercise 1 ---------------------------------------------------------------------------------

def test_check_build_vocabulary_passes_right_answers(capsys):
    assert checks.check_build_vocabulary(build_vocabulary) is True
    assert checks.check_build_vocabulary(lambda texts, m: Vocab.build(texts, min_freq=m).itos) is True

    def ties_in_another_order(token_lists, min_freq):  # ties broken by reverse alphabet: also right
        counts = Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((t for t in counts if counts[t] >= min_freq), key=lambda t: (counts[t], t), reverse=True)
        return tuple(checks.SPECIALS + kept)

    assert checks.check_build_vocabulary(ties_in_another_order) is True
    assert "Correct" in capsys.readouterr().out


def _vocabulary_with(count_rule=None, keep=lambda n, m: n >= m, specials=checks.SPECIALS, reverse=True):
    def build(token_lists, min_freq):
        if count_rule == "per text":
            counts = Counter(t for tokens in token_lists for t in set(tokens))
        else:
            counts = Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((t for t in counts if keep(counts[t], min_freq)), key=lambda t: counts[t], reverse=reverse)
        return list(specials) + kept
    return build


@pytest.mark.parametrize(
    "wrong_build, message",
    [
        (_vocabulary_with(keep=lambda n, m: n > m), "count >= min_freq"),
        (_vocabulary_with(keep=lambda n, m: True), "should be left out"),
        (_vocabulary_with(count_rule="per text"), "every occurrence"),
        (_vocabulary_with(specials=[]), "start with the four specials"),
        (_vocabulary_with(specials=["<unk>", "<pad>", "<bos>", "<eos>"]), "start with the four specials"),
        (_vocabulary_with(reverse=False), "increasing count"),
        (lambda texts, m: checks.SPECIALS + [t for tokens in texts for t in tokens], "appear once"),
        (lambda texts, m: checks.SPECIALS + ["the", "movie"], "should (not )?be in the vocabulary"),  # hard-coded
        (lambda texts, m: Vocab.build(texts, min_freq=m), "should return a list"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_build_vocabulary_explains_wrong_answers(wrong_build, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_build_vocabulary(wrong_build)


def test_check_build_vocabulary_rejects_a_shuffled_order():
    def shuffled(token_lists, min_freq):
        itos = build_vocabulary(token_lists, min_freq)
        rest = itos[4:]
        return itos[:4] + rest[1::2] + rest[::2]

    with pytest.raises(ExerciseError, match="most to the least frequent"):
        checks.check_build_vocabulary(shuffled)


# --- exercise 2 ---------------------------------------------------------------------------------

def test_check_pad_batch_passes_right_answers():
    assert checks.check_pad_batch(pad_batch) is True

    def with_the_course_utils(sequences, pad_value):
        padded, lengths = pad_sequences(sequences, pad_value=pad_value)
        return padded, lengths, padding_mask(lengths)

    assert checks.check_pad_batch(with_the_course_utils) is True


def _pad_batch_then(change):
    def pad(sequences, pad_value):
        return change(*pad_batch(sequences, pad_value), sequences, pad_value)
    return pad


def _left_padded(padded, lengths, mask, sequences, pad_value):
    left = torch.full_like(padded, pad_value)
    for i, sequence in enumerate(sequences):
        left[i, padded.shape[1] - len(sequence):] = sequence
    return left, lengths, mask


@pytest.mark.parametrize(
    "wrong_pad, message",
    [
        (_pad_batch_then(lambda p, n, m, s, v: (p, n, ~m)), "inverted"),
        (_pad_batch_then(lambda p, n, m, s, v: (p, n, m.long())), "bool"),
        (_pad_batch_then(lambda p, n, m, s, v: (p, n.tolist(), m)), "lengths should be a tensor"),
        (_pad_batch_then(lambda p, n, m, s, v: (p.float(), n, m)), "int64"),
        (_pad_batch_then(lambda p, n, m, s, v: (p.T, n, m)), "batch first"),
        (_pad_batch_then(lambda p, n, m, s, v: (p, n - 1, m)), "number of tokens"),
        (_pad_batch_then(lambda p, n, m, s, v: (torch.where(m, p, 0), n, m)), "pad_value=99"),
        (_pad_batch_then(_left_padded), "on the right"),
        (_pad_batch_then(lambda p, n, m, s, v: (p, n)), "three things"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_pad_batch_explains_wrong_answers(wrong_pad, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_pad_batch(wrong_pad)


# --- exercise 3 ---------------------------------------------------------------------------------

def test_check_last_real_step_passes_right_answers():
    assert checks.check_last_real_step(last_real_step) is True

    def with_gather(outputs, lengths):
        index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[2])
        return outputs.gather(1, index).squeeze(1)

    def with_a_loop(outputs, lengths):
        return torch.stack([outputs[i, n - 1] for i, n in enumerate(lengths.tolist())])

    assert checks.check_last_real_step(with_gather) is True
    assert checks.check_last_real_step(with_a_loop) is True


@pytest.mark.parametrize(
    "wrong_last, message",
    [
        (lambda o, n: o[:, -1], "last column"),
        (lambda o, n: o[torch.arange(len(n)), n], "IndexError.*lengths\\[i\\] - 1"),
        (lambda o, n: o[torch.arange(len(n)), (n - 2).clamp(min=0)], "off by one"),
        (lambda o, n: o[n - 1], "one vector per sequence"),
        (lambda o, n: o[torch.arange(len(n)), n.flip(0) - 1], "outputs\\[i, lengths\\[i\\] - 1\\]"),
        (lambda o, n: o[:, -1].tolist(), "return a tensor"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_last_real_step_explains_wrong_answers(wrong_last, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_last_real_step(wrong_last)


# --- exercise 4 ---------------------------------------------------------------------------------

def test_check_masked_mean_passes_right_answers():
    assert checks.check_masked_mean(masked_mean) is True

    def with_a_loop(outputs, lengths):
        return torch.stack([outputs[i, :n].mean(dim=0) for i, n in enumerate(lengths.tolist())]).float()

    assert checks.check_masked_mean(with_a_loop) is True


def _masked_sum(outputs, lengths):
    mask = torch.arange(outputs.shape[1]) < lengths[:, None]
    return (outputs * mask[..., None]).sum(dim=1)


@pytest.mark.parametrize(
    "wrong_mean, message",
    [
        (lambda o, n: o.mean(dim=1), "plain mean"),
        (_masked_sum, "did not divide"),
        (lambda o, n: _masked_sum(o, n) / o.shape[1], "divided by T"),
        (lambda o, n: _masked_sum(o, n) / n, "raised RuntimeError.*broadcasts"),
        (lambda o, n: masked_mean(o, n).mean(dim=0), "one mean vector per sequence"),
        (lambda o, n: o[:, 0], "mean of outputs\\[i, :lengths\\[i\\]\\]"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_masked_mean_explains_wrong_answers(wrong_mean, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_masked_mean(wrong_mean)


# --- exercise 5 ---------------------------------------------------------------------------------

def test_check_collate_sorted_passes_right_answers():
    assert checks.check_collate_sorted(collate_sorted) is True

    def sort_after_padding(batch):
        padded, lengths = pad_sequences([ids for ids, _ in batch])
        labels = torch.tensor([label for _, label in batch])
        order = torch.argsort(lengths, descending=True)
        return padded[order], lengths[order], labels[order]

    assert checks.check_collate_sorted(sort_after_padding) is True


def _collate_then(change):
    def collate(batch):
        padded, lengths = pad_sequences([ids for ids, _ in batch])
        labels = torch.tensor([label for _, label in batch])
        return change(padded, lengths, labels)
    return collate


def _sorted_but_labels_left_behind(padded, lengths, labels):
    order = torch.argsort(lengths, descending=True)
    return padded[order], lengths[order], labels


def _ascending(padded, lengths, labels):
    order = torch.argsort(lengths)
    return padded[order], lengths[order], labels[order]


@pytest.mark.parametrize(
    "wrong_collate, message",
    [
        (_collate_then(lambda p, n, y: (p, n, y)), "sorted by length, longest first"),
        (_collate_then(_sorted_but_labels_left_behind), "labels did not move"),
        (_collate_then(_ascending), "shortest first"),
        (_collate_then(lambda p, n, y: (p, n, y.tolist())), "labels should be a tensor"),
        (_collate_then(lambda p, n, y: (p, n)), "three things"),
        (lambda batch: ([ids for ids, _ in batch], None, None), "padded should be a tensor"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_collate_sorted_explains_wrong_answers(wrong_collate, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_collate_sorted(wrong_collate)


def test_check_collate_sorted_wants_zero_padding():
    def pads_with_minus_one(batch):
        batch = sorted(batch, key=lambda item: len(item[0]), reverse=True)
        padded = pad_sequence([ids for ids, _ in batch], batch_first=True, padding_value=-1)
        return padded, torch.tensor([len(ids) for ids, _ in batch]), torch.tensor([y for _, y in batch])

    with pytest.raises(ExerciseError, match="pad with 0"):
        checks.check_collate_sorted(pads_with_minus_one)


@pytest.mark.parametrize("seed", range(5))
def test_checks_pass_right_answers_on_other_random_inputs(seed):
    torch.manual_seed(seed)
    assert checks.check_build_vocabulary(build_vocabulary)
    assert checks.check_pad_batch(pad_batch)
    assert checks.check_last_real_step(last_real_step)
    assert checks.check_masked_mean(masked_mean)
    assert checks.check_collate_sorted(collate_sorted)
