"""Checks for the exercises of ``module3_rnns/solutions/07_sentiment_analysis.ipynb``.

Every check builds fresh random inputs, computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from utils.checks import answer_as_number, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_final_states",
    "check_sentiment_classifier",
    "check_paired_standard_error",
    "check_most_confident_errors",
]


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=atol)


def _as_float64(value, what: str) -> torch.Tensor:
    expect(isinstance(value, torch.Tensor), f"{what} should return a tensor, got {type(value).__name__}.")
    return value.detach().to("cpu", torch.float64)


def _random_lengths(generator: torch.Generator, batch: int, longest: int) -> torch.Tensor:
    """Lengths in 1..longest, unsorted, with exactly one sequence of the longest length."""
    lengths = torch.randint(1, longest, (batch,), generator=generator)
    lengths[int(torch.randint(0, batch, (), generator=generator))] = longest
    return lengths


# --- exercise 1: the summary of a bidirectional GRU -------------------------------------------

def check_final_states(final_states) -> bool:
    """``final_states(h_n)`` takes the ``h_n`` of a (possibly multi-layer) bidirectional ``nn.GRU``,
    shape ``[num_layers * 2, B, H]``, and returns ``[B, 2H]``: the top layer's forward final state,
    then its backward final state, side by side."""
    generator = fresh_generator()
    batch, input_size, hidden_size, num_layers, longest = 5, 3, 4, 2, 7
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=generator)))
    gru = nn.GRU(input_size, hidden_size, num_layers=num_layers, bidirectional=True, batch_first=True).double()
    lengths = _random_lengths(generator, batch, longest)
    inputs = torch.randn(batch, longest, input_size, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        packed_outputs, h_n = gru(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_outputs, batch_first=True)
    rows = torch.arange(batch)
    forward_last = outputs[rows, lengths - 1, :hidden_size]  # the forward direction ends at the last real token
    backward_last = outputs[:, 0, hidden_size:]  # the backward direction ends at the first token
    expected = torch.cat([forward_last, backward_last], dim=1)

    result = call_answer(final_states, h_n.clone(), what="final_states", explain_crashes=True,
                         hint="h_n has shape [num_layers * 2, B, H]; h_n[-2] and h_n[-1] are the top layer's "
                              "forward and backward states, each [B, H].")
    result = _as_float64(result, "final_states")
    expect(tuple(result.shape) != (batch, hidden_size),
           f"you returned one direction only, shape ({batch}, {hidden_size}). A bidirectional layer has two final "
           f"states per review; put both side by side: torch.cat([..., ...], dim=1) gives ({batch}, {2 * hidden_size}).")
    expect(tuple(result.shape) != (2, batch, hidden_size),
           "you stacked the two directions as a new first dimension; the classifier wants them side by side, "
           f"[B, 2H] = ({batch}, {2 * hidden_size}): torch.cat along dim=1.")
    expect(tuple(result.shape) == (batch, 2 * hidden_size),
           f"for {batch} reviews and hidden size {hidden_size} the result should have shape "
           f"({batch}, {2 * hidden_size}), got {tuple(result.shape)}.")
    if _close(result, expected):
        return passed("h_n[-2] is the top layer's forward state after the last real token, h_n[-1] its backward "
                      "state after reading back to the first token.")
    wrong_answers = {
        "those are the BOTTOM layer's states (h_n[0] and h_n[1]). h_n stacks layer by layer, so the top layer's "
        "two directions are the last two entries, h_n[-2] and h_n[-1].": torch.cat([h_n[0], h_n[1]], dim=1),
        "the two directions are in the wrong order: forward first (h_n[-2]), then backward (h_n[-1]), the order "
        "in which nn.GRU lays out its outputs.": torch.cat([h_n[-1], h_n[-2]], dim=1),
        "you took the outputs at the last padded position; for the shorter reviews that is padding. The final "
        "states are in h_n, which packing made the last REAL step.": outputs[:, -1],
    }
    for hint, wrong in wrong_answers.items():
        expect(not _close(result, wrong), hint)
    expect(False, "the result is not the top layer's [forward, backward] final states. h_n is "
                  "[num_layers * 2, B, H], ordered layer 0 forward, layer 0 backward, layer 1 forward, ...; "
                  "return torch.cat([h_n[-2], h_n[-1]], dim=1).")
    raise AssertionError("unreachable")


# --- exercise 2: a classifier that ignores padding -------------------------------------------

def check_sentiment_classifier(classifier_class) -> bool:
    """``classifier_class(vocab_size, embedding_dim, hidden_size, num_classes)`` builds a module whose
    ``forward(ids [B, T], lengths [B])`` returns logits ``[B, num_classes]``, reads the reviews with a
    recurrent layer and gives every review the same logits whether it is alone or padded in a batch."""
    generator = fresh_generator()
    vocab_size, embedding_dim, hidden_size, num_classes, batch, longest = 30, 6, 5, 3, 6, 9
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=generator)))
    model = call_answer(classifier_class, vocab_size, embedding_dim, hidden_size, num_classes,
                        what="SentimentClassifier(vocab_size, embedding_dim, hidden_size, num_classes)",
                        explain_crashes=True,
                        hint="the constructor takes (vocab_size, embedding_dim, hidden_size, num_classes) and "
                             "should call super().__init__() first.")
    expect(isinstance(model, nn.Module), f"the class should build an nn.Module, got {type(model).__name__}.")
    expect(any(isinstance(m, (nn.RNN, nn.GRU, nn.LSTM)) for m in model.modules()),
           "the model has no recurrent layer: use nn.GRU (or nn.LSTM) with bidirectional=True and batch_first=True.")
    expect(any(isinstance(m, nn.Embedding) for m in model.modules()),
           "the model has no nn.Embedding: token ids must become vectors before the GRU can read them.")
    model = model.double().eval()  # eval: no dropout, so the outputs are deterministic

    lengths = _random_lengths(generator, batch, longest)
    ids = torch.randint(1, vocab_size, (batch, longest), generator=generator)
    ids[torch.arange(longest).unsqueeze(0) >= lengths.unsqueeze(1)] = 0  # <pad> = 0 after each review
    hint = ("forward(ids, lengths): embed the ids, pack them with pack_padded_sequence(embedded, lengths.cpu(), "
            "batch_first=True, enforce_sorted=False), run the GRU, and classify from h_n.")
    with torch.no_grad():
        logits = call_answer(model, ids.clone(), lengths.clone(), what="model(ids, lengths)",
                             explain_crashes=True, hint=hint)
        logits = _as_float64(logits, "model(ids, lengths)")
        expect(tuple(logits.shape) == (batch, num_classes),
               f"for {batch} reviews and {num_classes} classes the logits should have shape ({batch}, {num_classes}), "
               f"got {tuple(logits.shape)}. Use the final states, one vector per review, then a linear layer.")
        alone = torch.cat([_as_float64(model(ids[i:i + 1, :length].clone(), lengths[i:i + 1].clone()), "model")
                           for i, length in enumerate(lengths.tolist())])
        extra_padding = torch.cat([ids, torch.zeros(batch, 5, dtype=ids.dtype)], dim=1)
        more_padded = _as_float64(model(extra_padding, lengths.clone()), "model(ids, lengths)")
    shorter = lengths < longest
    expect(_close(more_padded, logits, atol=1e-8),
           "the logits change when the batch gets five more columns of padding, so the model reads the <pad> "
           "tokens. Pack the embedded batch with pack_padded_sequence(..., lengths.cpu(), batch_first=True, "
           "enforce_sorted=False) so that the GRU stops every review at its own length, and classify from h_n "
           "(not from the output at the last padded position).")
    bad = [int(i) for i in torch.nonzero(~torch.isclose(logits, alone, rtol=1e-6, atol=1e-8).all(dim=1))]
    expect(not bad, f"reviews {bad} get different logits alone than in the padded batch"
                    + (" (they are shorter than the longest)" if all(shorter[i] for i in bad) else "")
                    + ". " + hint)
    return passed("packed, every review is read to its own length: padding changes nothing.")


# --- exercise 3: the standard error of a paired difference ------------------------------------

def _paired_predictions(generator: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Correctness of two classifiers on the same n examples, strongly correlated (they agree on most)."""
    difficulty = torch.rand(n, generator=generator)
    correct_a = torch.rand(n, generator=generator) * 0.4 + 0.6 * difficulty < 0.62
    flip = torch.rand(n, generator=generator) < 0.12  # b disagrees with a on about 12% of the examples
    correct_b = correct_a ^ flip
    return correct_a, correct_b


def check_paired_standard_error(paired_standard_error) -> bool:
    """``paired_standard_error(correct_a, correct_b)`` takes two bool tensors ``[n]`` (was classifier a, b right
    on example i?) and returns the standard error of ``accuracy_a - accuracy_b`` from the per-example
    differences ``d_i = a_i - b_i``: ``std(d) / sqrt(n)`` (either n or n - 1 in the std is accepted)."""
    generator = fresh_generator()
    n = int(torch.randint(1500, 2500, (), generator=generator))
    correct_a, correct_b = _paired_predictions(generator, n)
    result = call_answer(paired_standard_error, correct_a.clone(), correct_b.clone(), what="paired_standard_error",
                         explain_crashes=True,
                         hint="bool tensors need .float() (or .double()) before arithmetic: "
                              "d = correct_a.float() - correct_b.float().")
    value = answer_as_number(result, "paired_standard_error(...)")
    d = correct_a.double() - correct_b.double()
    right = [d.std(correction=c).item() / math.sqrt(n) for c in (0, 1)]
    if any(abs(value - r) <= 1e-4 * r for r in right):
        unpaired = _unpaired(correct_a, correct_b)
        return passed(f"paired SE {value:.4f}; the unpaired formula would say {unpaired:.4f}, "
                      "because it ignores that the two classifiers are right and wrong on mostly the same examples.")
    pa, pb = correct_a.double().mean().item(), correct_b.double().mean().item()
    wrong_answers = {
        "that is the UNPAIRED standard error, sqrt(pa(1-pa)/n + pb(1-pb)/n), which treats the two accuracies as "
        "if they came from different test sets. Both classifiers saw the same examples: work with the "
        "per-example differences d_i = a_i - b_i, and return std(d) / sqrt(n).": _unpaired(correct_a, correct_b),
        "that is the standard deviation of the differences, not the standard error of their mean: divide by "
        "sqrt(n).": d.std().item(),
        "that is a variance (the square of a standard error): take the square root.": d.var().item() / n,
        "that is the standard error of ONE classifier's accuracy, sqrt(p(1-p)/n). The question is about the "
        "difference of the two: std(a_i - b_i) / sqrt(n).": math.sqrt(pa * (1 - pa) / n),
        "that is the difference of the accuracies itself, not its standard error.": pa - pb,
    }
    for hint, wrong in wrong_answers.items():
        expect(abs(value - wrong) > 1e-4 * max(abs(wrong), 1e-12), hint)
    expect(False, f"got {value:.6f}, expected {right[1]:.6f}. Compute d = correct_a.float() - correct_b.float() "
                  "(each d_i is -1, 0 or +1) and return d.std() / sqrt(n).")
    raise AssertionError("unreachable")


def _unpaired(correct_a: torch.Tensor, correct_b: torch.Tensor) -> float:
    n = len(correct_a)
    pa, pb = correct_a.double().mean().item(), correct_b.double().mean().item()
    return math.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)


# --- exercise 4: the most confident errors ----------------------------------------------------

def _as_index_list(value, what: str) -> list[int]:
    if isinstance(value, torch.Tensor):
        expect(value.dim() == 1 and not value.is_floating_point(),
               f"{what} should be a 1-D tensor (or list) of integer indices, got a tensor of shape "
               f"{tuple(value.shape)} and dtype {value.dtype}.")
        return [int(i) for i in value.tolist()]
    expect(isinstance(value, (list, tuple)), f"{what} should be a list or 1-D tensor of indices, "
                                             f"got {type(value).__name__}.")
    expect(all(isinstance(i, int) or (hasattr(i, "__index__") and not isinstance(i, bool)) for i in value),
           f"{what} should hold integer indices, got {value!r:.120}.")
    return [int(i) for i in value]


def check_most_confident_errors(most_confident_errors) -> bool:
    """``most_confident_errors(probabilities [N, C], labels [N], k)`` returns the indices of the ``k``
    misclassified examples whose predicted class had the highest probability, most confident first."""
    generator = fresh_generator()
    n, classes, k = 200, 2, 7
    probabilities = torch.softmax(2.5 * torch.randn(n, classes, generator=generator, dtype=torch.float64), dim=1)
    labels = torch.randint(0, classes, (n,), generator=generator)
    result = call_answer(most_confident_errors, probabilities.clone(), labels.clone(), k,
                         what="most_confident_errors", explain_crashes=True,
                         hint="probabilities.max(dim=1) gives (confidence, predicted class) for every example.")
    indices = _as_index_list(result, "most_confident_errors(...)")
    confidence, predicted = probabilities.max(dim=1)
    wrong = torch.nonzero(predicted != labels).squeeze(1)
    expected = wrong[torch.argsort(confidence[wrong], descending=True)][:k].tolist()
    expect(len(indices) == k, f"asked for k = {k} indices, got {len(indices)}.")
    expect(all(0 <= i < n for i in indices), f"indices must lie in 0..{n - 1}, got {indices}.")
    if indices == expected:
        return passed("the errors the model was surest of, most confident first.")
    right_ones = [i for i in indices if predicted[i] == labels[i]]
    expect(not right_ones, f"examples {right_ones} are classified correctly (predicted class == label); keep "
                           "only the errors, predicted != labels, before ranking.")
    expect(sorted(indices) != sorted(expected),
           "the right examples, in the wrong order: most confident first (descending=True).")
    least = wrong[torch.argsort(confidence[wrong])][:k].tolist()
    expect(indices != least, "those are the LEAST confident errors (close calls); sort by confidence in "
                             "descending order.")
    by_class_one = wrong[torch.argsort(probabilities[wrong, 1], descending=True)][:k].tolist()
    expect(indices != by_class_one,
           "you ranked by the probability of class 1, which finds only one kind of error (confident 1s that "
           "were 0s). Rank by the probability of the PREDICTED class, probabilities.max(dim=1).values.")
    expect(False, f"expected the errors {expected} (most confident first), got {indices}. Errors are examples "
                  "with argmax != label; their confidence is the probability of the predicted class.")
    raise AssertionError("unreachable")
