"""The checks of the vanishing/exploding-gradient exercises pass right answers (including alternative
right answers) and reject typical wrong ones with a message that says what is wrong."""

import math

import pytest
import torch

from utils.checks import ExerciseError
from utils.exercise_checks import rnn_gradients as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def make_memory_task(num_sequences, length, vocab_size, generator):
    num_keys = vocab_size // 2
    tokens = torch.randint(num_keys, vocab_size, (num_sequences, length), generator=generator)
    tokens[:, 0] = torch.randint(0, num_keys, (num_sequences,), generator=generator)
    return tokens, tokens[:, 0].clone()


def make_memory_task_other_order(num_sequences, length, vocab_size, generator):
    # keys drawn first, then distractors: a different random stream, equally right
    num_keys = vocab_size // 2
    keys = torch.randint(0, num_keys, (num_sequences, 1), generator=generator)
    distractors = num_keys + torch.randint(0, vocab_size - num_keys, (num_sequences, length - 1), generator=generator)
    return torch.cat([keys, distractors], dim=1), keys[:, 0]


def hidden_gradient_norms(rnn, inputs, loss_fn):
    hidden = torch.zeros(1, inputs.shape[0], rnn.hidden_size)
    states = []
    for t in range(inputs.shape[1]):
        _, hidden = rnn(inputs[:, t:t + 1], hidden)
        hidden.retain_grad()
        states.append(hidden)
    loss_fn(hidden[0]).backward()
    return torch.stack([state.grad.norm() for state in states])


def hidden_gradient_norms_with_cell(rnn, inputs, loss_fn):
    # the same recurrence written out with the RNN's weights, returning a list of floats
    w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    bias = rnn.bias_ih_l0 + rnn.bias_hh_l0
    hidden = torch.zeros(inputs.shape[0], rnn.hidden_size)
    states = []
    for t in range(inputs.shape[1]):
        hidden = torch.tanh(inputs[:, t] @ w_ih.T + hidden @ w_hh.T + bias)
        hidden.retain_grad()
        states.append(hidden)
    loss_fn(hidden).backward()
    return [state.grad.norm().item() for state in states]


def spectral_radius(matrix):
    return torch.linalg.eigvals(matrix).abs().max()


def largest_singular_value(matrix):
    return torch.linalg.svdvals(matrix)[0]


def clip_grad_norm_by_hand(parameters, max_norm):
    parameters = [p for p in parameters if p.grad is not None]
    total_norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters))
    scale = min(1.0, max_norm / (float(total_norm) + 1e-6))
    for p in parameters:
        p.grad.mul_(scale)
    return total_norm


# --- exercise 1 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [make_memory_task, make_memory_task_other_order])
def test_check_memory_task_passes_right_answers(answer):
    assert checks.check_memory_task(answer) is True


def _with_global_rng(n, length, vocab, generator):
    k = vocab // 2
    tokens = torch.randint(k, vocab, (n, length))
    tokens[:, 0] = torch.randint(0, k, (n,))
    return tokens, tokens[:, 0].clone()


def _same_vocabulary(n, length, vocab, generator):
    tokens = torch.randint(0, vocab, (n, length), generator=generator)
    tokens[:, 0] = torch.randint(0, vocab // 2, (n,), generator=generator)
    return tokens, tokens[:, 0].clone()


def _last_token_target(n, length, vocab, generator):
    tokens, _ = make_memory_task(n, length, vocab, generator)
    return tokens, tokens[:, -1].clone()


def _keys_off_by_one(n, length, vocab, generator):
    tokens, _ = make_memory_task(n, length, vocab, generator)
    tokens[:, 0] = torch.randint(0, vocab // 2 - 1, (n,), generator=generator)
    return tokens, tokens[:, 0].clone()


def _one_distractor_repeated(n, length, vocab, generator):
    tokens, targets = make_memory_task(n, length, vocab, generator)
    tokens[:, 1:] = tokens[:, 1:2]
    return tokens, targets


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_last_token_target, r"\*last\* tokens"),
        (_with_global_rng, "global generator"),
        (_same_vocabulary, "second half"),
        (_keys_off_by_one, "never appears"),
        (_one_distractor_repeated, "drawn on its own"),
        (lambda n, length, vocab, g: make_memory_task(n, length, vocab, g)[0].float(), "two things"),
        (lambda n, length, vocab, g: tuple(x.float() for x in make_memory_task(n, length, vocab, g)), "int64"),
        (lambda n, length, vocab, g: (make_memory_task(n, length, vocab, g)[0].T, None), "should be a tensor"),
        (lambda n, length, vocab, g: (make_memory_task(n, length, vocab, g)[0].T,
                                      make_memory_task(n, length, vocab, g)[1]), "one sequence per row"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_memory_task_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_memory_task(wrong)


# --- exercise 2 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [hidden_gradient_norms, hidden_gradient_norms_with_cell])
def test_check_hidden_gradient_norms_passes_right_answers(answer):
    assert checks.check_hidden_gradient_norms(answer) is True


def _output_gradients_only(rnn, inputs, loss_fn):
    output, _ = rnn(inputs)
    output.retain_grad()
    loss_fn(output[:, -1]).backward()
    return output.grad.norm(dim=(0, 2))


def _reversed(rnn, inputs, loss_fn):
    return hidden_gradient_norms(rnn, inputs, loss_fn).flip(0)


def _squared(rnn, inputs, loss_fn):
    return hidden_gradient_norms(rnn, inputs, loss_fn) ** 2


def _input_gradients(rnn, inputs, loss_fn):
    inputs = inputs.clone().requires_grad_(True)
    _, last = rnn(inputs)
    loss_fn(last[0]).backward()
    return inputs.grad.norm(dim=(0, 2))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_output_gradients_only, "only the last hidden state"),
        (_reversed, "reverse order"),
        (_squared, "squared norms"),
        (_input_gradients, "differ from"),
        (lambda rnn, inputs, loss_fn: hidden_gradient_norms(rnn, inputs, loss_fn)[1:], "one per hidden state"),
        (lambda rnn, inputs, loss_fn: undefined_name, "NameError"),  # noqa: F821
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_hidden_gradient_norms_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_hidden_gradient_norms(wrong)


# --- exercise 3 ---------------------------------------------------------------------------------

def test_check_spectrum_passes_right_answers():
    assert checks.check_spectrum(spectral_radius, largest_singular_value) is True
    assert checks.check_spectrum(
        lambda m: max(abs(complex(z)) for z in torch.linalg.eigvals(m).tolist()),
        lambda m: torch.linalg.matrix_norm(m, ord=2).item(),
    ) is True
    assert checks.check_spectrum(  # sqrt of the largest eigenvalue of W^T W is the largest singular value
        spectral_radius, lambda m: math.sqrt(torch.linalg.eigvalsh(m.T @ m).max().item())) is True


@pytest.mark.parametrize(
    "radius, sigma, message",
    [
        (lambda m: torch.linalg.eigvals(m).real.abs().max(), largest_singular_value, "largest |real part|"),
        (largest_singular_value, largest_singular_value, "you returned the largest singular value"),
        (lambda m: m.abs().max(), largest_singular_value, "largest |entry|"),
        (spectral_radius, lambda m: torch.linalg.matrix_norm(m), "Frobenius"),
        (spectral_radius, spectral_radius, "you returned the spectral radius"),
        (spectral_radius, lambda m: torch.linalg.svdvals(m).min(), r"\*smallest\*"),
        (lambda m: torch.linalg.eigvals(m)[0], largest_singular_value, "real number"),
        (lambda m: torch.linalg.eigvals(m).max(), largest_singular_value, "complex numbers"),
        (lambda m: torch.linalg.eigvals(m).abs(), largest_singular_value, "one number"),
        (spectral_radius, lambda m: "big", "should be a number"),
        (not_implemented, largest_singular_value, "NotImplementedError"),
    ],
)
def test_check_spectrum_explains_wrong_answers(radius, sigma, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_spectrum(radius, sigma)


# --- exercise 4 ---------------------------------------------------------------------------------

def test_check_clip_grad_norm_passes_right_answers():
    assert checks.check_clip_grad_norm(clip_grad_norm_by_hand) is True

    def with_torch_ops(parameters, max_norm):
        grads = [p.grad for p in parameters if p.grad is not None]
        total_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        coefficient = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coefficient)
        return total_norm.item()

    assert checks.check_clip_grad_norm(with_torch_ops) is True


def _per_tensor(parameters, max_norm):
    parameters = [p for p in parameters if p.grad is not None]
    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters))
    for p in parameters:
        p.grad.mul_(min(1.0, max_norm / float(p.grad.norm())))
    return total


def _by_value(parameters, max_norm):
    parameters = [p for p in parameters if p.grad is not None]
    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters))
    for p in parameters:
        p.grad.clamp_(-max_norm, max_norm)
    return total


def _always_rescale(parameters, max_norm):
    parameters = [p for p in parameters if p.grad is not None]
    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters))
    for p in parameters:
        p.grad.mul_(max_norm / total)
    return total


def _norm_after(parameters, max_norm):
    parameters = list(parameters)
    clip_grad_norm_by_hand(parameters, max_norm)
    return torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters if p.grad is not None))


def _sum_of_norms(parameters, max_norm):
    parameters = [p for p in parameters if p.grad is not None]
    total = sum(p.grad.norm() for p in parameters)
    for p in parameters:
        p.grad.mul_(min(1.0, max_norm / float(total)))
    return total


def _iterates_twice(parameters, max_norm):
    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters if p.grad is not None))
    for p in parameters:  # a generator is already used up here
        if p.grad is not None:
            p.grad.mul_(min(1.0, max_norm / float(total)))
    return total


def _not_in_place(parameters, max_norm):
    parameters = [p for p in parameters if p.grad is not None]
    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters))
    return total, [p.grad * min(1.0, max_norm / float(total)) for p in parameters]


def _crashes_on_none(parameters, max_norm):
    parameters = list(parameters)
    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters))
    return total


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_per_tensor, "on its own"),
        (_by_value, "clip_grad_value_"),
        (_always_rescale, "already below max_norm"),
        (_norm_after, r"\*after\* clipping"),
        (_sum_of_norms, "added up the norms"),
        (_iterates_twice, "generator"),
        (_not_in_place, "should be a number"),
        (lambda parameters, max_norm: None, "return the total norm"),
        (_crashes_on_none, "no gradient"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_clip_grad_norm_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_clip_grad_norm(wrong)


def test_checks_leave_no_gradient_state_behind():
    # a check must not change torch's global settings
    assert torch.is_grad_enabled()
    checks.check_hidden_gradient_norms(hidden_gradient_norms)
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("seed", range(10))
def test_right_answers_pass_on_many_fresh_inputs(seed):
    # the checks draw new inputs every time: a right answer must never be failed by unlucky inputs
    torch.manual_seed(seed)
    assert checks.check_memory_task(make_memory_task_other_order) is True
    assert checks.check_hidden_gradient_norms(hidden_gradient_norms) is True
    assert checks.check_spectrum(spectral_radius, largest_singular_value) is True
    assert checks.check_clip_grad_norm(clip_grad_norm_by_hand) is True
