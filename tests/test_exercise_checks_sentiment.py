"""Unit tests of the exercise checks for 07_sentiment_analysis: right answers pass, typical wrong ones fail
with a hint."""

import math

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from utils.checks import ExerciseError
from utils.exercise_checks import sentiment as checks

# --- right answers, written as a learner would ---------------------------------------------------


def final_states(h_n):
    return torch.cat([h_n[-2], h_n[-1]], dim=1)


class SentimentClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.gru = nn.GRU(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(0.5)
        self.head = nn.Linear(2 * hidden_size, num_classes)

    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embedding(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h_n = self.gru(packed)
        return self.head(self.dropout(final_states(h_n)))


def paired_standard_error(correct_a, correct_b):
    d = correct_a.float() - correct_b.float()
    return d.std() / math.sqrt(len(d))


def most_confident_errors(probabilities, labels, k):
    confidence, predicted = probabilities.max(dim=1)
    wrong = torch.nonzero(predicted != labels).squeeze(1)
    return wrong[torch.argsort(confidence[wrong], descending=True)][:k]


def _unimplemented(*args, **kwargs):
    raise NotImplementedError("Your turn: replace this line with your code, then run the check below.")


# --- exercise 1: final states ------------------------------------------------------------------


def test_check_final_states_passes_right_answers():
    assert checks.check_final_states(final_states) is True
    assert checks.check_final_states(lambda h: h.view(-1, 2, *h.shape[1:])[-1].permute(1, 0, 2).flatten(1)) is True
    assert checks.check_final_states(lambda h: torch.cat([h[-2], h[-1]], dim=-1).float()) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda h: h[-1], "one direction only"),
        (lambda h: torch.stack([h[-2], h[-1]]), "stacked the two directions"),
        (lambda h: torch.cat([h[0], h[1]], dim=1), "BOTTOM layer"),
        (lambda h: torch.cat([h[-1], h[-2]], dim=1), "wrong order"),
        (lambda h: torch.cat([h[-3], h[-1]], dim=1), "not the top layer"),
        (lambda h: h[-1, :, :1], "should have shape"),
        (_unimplemented, "still raises NotImplementedError"),
    ],
)
def test_check_final_states_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_final_states(wrong)


# --- exercise 2: the classifier ----------------------------------------------------------------


def test_check_sentiment_classifier_passes_right_answers():
    assert checks.check_sentiment_classifier(SentimentClassifier) is True

    class LSTMClassifier(SentimentClassifier):
        def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes):
            super().__init__(vocab_size, embedding_dim, hidden_size, num_classes)
            self.gru = nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=True)

        def forward(self, ids, lengths):
            packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
            _, (h_n, _) = self.gru(packed)
            return self.head(final_states(h_n))

    assert checks.check_sentiment_classifier(LSTMClassifier) is True


class _Unpacked(SentimentClassifier):
    def forward(self, ids, lengths):
        _, h_n = self.gru(self.embedding(ids))  # reads the padding
        return self.head(final_states(h_n))


class _LastPaddedOutput(SentimentClassifier):
    def forward(self, ids, lengths):
        outputs, _ = self.gru(self.embedding(ids))
        return self.head(outputs[:, -1])


class _NoRecurrence(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.head = nn.Linear(embedding_dim, num_classes)

    def forward(self, ids, lengths):
        return self.head(self.embedding(ids).sum(1))


class _WrongShape(SentimentClassifier):
    def forward(self, ids, lengths):
        return super().forward(ids, lengths)[:, :1]


class _BadConstructor(nn.Module):
    def __init__(self, vocab_size, embedding_dim):
        super().__init__()


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_Unpacked, "reads the <pad>"),
        (_LastPaddedOutput, "reads the <pad>"),
        (_NoRecurrence, "no recurrent layer"),
        (_WrongShape, "should have shape"),
        (_BadConstructor, "raised TypeError"),
        (_unimplemented, "still raises NotImplementedError"),
        (nn.GRU(3, 4), "should build an nn.Module|raised"),
    ],
)
def test_check_sentiment_classifier_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_sentiment_classifier(wrong)


# --- exercise 3: paired standard error ----------------------------------------------------------


def test_check_paired_standard_error_passes_right_answers():
    assert checks.check_paired_standard_error(paired_standard_error) is True
    population = lambda a, b: float((a.double() - b.double()).std(correction=0) / math.sqrt(len(a)))  # noqa: E731
    assert checks.check_paired_standard_error(population) is True

    def from_disagreements(a, b):  # the same, from the counts of the two kinds of disagreement
        n = len(a)
        only_a, only_b = (a & ~b).sum().item() / n, (~a & b).sum().item() / n
        return math.sqrt((only_a + only_b - (only_a - only_b) ** 2) / n)

    assert checks.check_paired_standard_error(from_disagreements) is True


def _unpaired(a, b):
    n, pa, pb = len(a), a.double().mean().item(), b.double().mean().item()
    return math.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_unpaired, "UNPAIRED"),
        (lambda a, b: (a.double() - b.double()).std(), "divide by"),
        (lambda a, b: (a.double() - b.double()).var() / len(a), "variance"),
        (lambda a, b: math.sqrt(a.double().mean() * (1 - a.double().mean()) / len(a)), "ONE classifier"),
        (lambda a, b: a.double().mean() - b.double().mean(), "difference of the accuracies"),
        (lambda a, b: 0.01, "expected"),
        (lambda a, b: "0.01", "should be a number"),
        (lambda a, b: a - b, "raised|should be one number"),
        (_unimplemented, "still raises NotImplementedError"),
    ],
)
def test_check_paired_standard_error_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_paired_standard_error(wrong)


# --- exercise 4: most confident errors ----------------------------------------------------------


def test_check_most_confident_errors_passes_right_answers():
    assert checks.check_most_confident_errors(most_confident_errors) is True

    def by_true_class(probabilities, labels, k):  # lowest probability on the true class: the same ranking
        p_true = probabilities[torch.arange(len(labels)), labels]
        return torch.argsort(p_true)[:k].tolist()

    assert checks.check_most_confident_errors(by_true_class) is True


def _including_right(probabilities, labels, k):
    return torch.argsort(probabilities.max(dim=1).values, descending=True)[:k]


def _ascending(probabilities, labels, k):
    return most_confident_errors(probabilities, labels, k).flip(0)


def _least(probabilities, labels, k):
    confidence, predicted = probabilities.max(dim=1)
    wrong = torch.nonzero(predicted != labels).squeeze(1)
    return wrong[torch.argsort(confidence[wrong])][:k]


def _class_one(probabilities, labels, k):
    wrong = torch.nonzero(probabilities.argmax(1) != labels).squeeze(1)
    return wrong[torch.argsort(probabilities[wrong, 1], descending=True)][:k]


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_including_right, "classified correctly"),
        (_ascending, "wrong order"),
        (_least, "LEAST confident"),
        (_class_one, "probability of class 1"),
        (lambda p, y, k: most_confident_errors(p, y, k)[:-1], "asked for k"),
        (lambda p, y, k: most_confident_errors(p, y, k).float(), "integer indices"),
        (lambda p, y, k: list(range(k)), "classified correctly|expected the errors"),
        (_unimplemented, "still raises NotImplementedError"),
    ],
)
def test_check_most_confident_errors_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_most_confident_errors(wrong)


def test_checks_use_fresh_inputs():
    # a hard-coded answer cannot pass: two calls see different data
    seen = []

    def spy(probabilities, labels, k):
        seen.append(probabilities.clone())
        return most_confident_errors(probabilities, labels, k)

    checks.check_most_confident_errors(spy)
    checks.check_most_confident_errors(spy)
    assert not torch.equal(seen[0], seen[1])
