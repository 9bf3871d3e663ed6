"""The checks of the backpropagation exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import pytest
import torch
import torch.nn.functional as F

from utils.checks import ExerciseError
from utils.exercise_checks import backprop as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def count_parameters(layer_sizes):
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]))


def linear_forward(X, W, b):
    return X @ W + b


def softmax_cross_entropy_grad(logits, labels):
    probabilities = torch.softmax(logits, dim=1)
    one_hot = F.one_hot(labels, logits.shape[1]).to(logits.dtype)
    return (probabilities - one_hot) / logits.shape[0]


def linear_backward(grad_Z, X, W):
    return grad_Z @ W.T, X.T @ grad_Z, grad_Z.sum(dim=0)


def one_hidden_layer_gradients(X, labels, W1, b1, W2, b2):
    A1 = torch.tanh(linear_forward(X, W1, b1))
    delta2 = softmax_cross_entropy_grad(linear_forward(A1, W2, b2), labels)
    grad_A1, grad_W2, grad_b2 = linear_backward(delta2, A1, W2)
    delta1 = grad_A1 * (1 - A1 ** 2)
    _, grad_W1, grad_b1 = linear_backward(delta1, X, W1)
    return grad_W1, grad_b1, grad_W2, grad_b2


def central_difference(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        original = flat_x[i].item()
        flat_x[i] = original + eps
        f_plus = f(x)
        flat_x[i] = original - eps
        f_minus = f(x)
        flat_x[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


# --- exercise 1: counting parameters ------------------------------------------------------------

def test_check_count_parameters_passes_right_answers(capsys):
    assert checks.check_count_parameters(count_parameters) is True
    assert "Correct" in capsys.readouterr().out

    def with_a_loop(layer_sizes):  # another right way to write it
        total = 0
        for i in range(len(layer_sizes) - 1):
            total += layer_sizes[i] * layer_sizes[i + 1] + layer_sizes[i + 1]
        return torch.tensor(total)

    assert checks.check_count_parameters(with_a_loop) is True


@pytest.mark.parametrize(
    "wrong_count, message",
    [
        (lambda sizes: sum(i * o for i, o in zip(sizes[:-1], sizes[1:])), "biases are missing"),
        (lambda sizes: sum(i * (o + 1) for i, o in zip(sizes[:-1], sizes[1:])), "one bias per output unit"),
        (lambda sizes: sum(sizes), "units"),
        (lambda sizes: 354, "the network has"),  # a hard-coded answer (right only for [2, 16, 16, 2])
        (lambda sizes: str(count_parameters(sizes)), "whole number"),
        (not_implemented, "NotImplementedError"),
        ("count_parameters", "pass the function itself"),
    ],
)
def test_check_count_parameters_explains_wrong_answers(wrong_count, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_count_parameters(wrong_count)


# --- exercise 2: one layer, forward -------------------------------------------------------------

def test_check_linear_forward_passes_right_answers():
    assert checks.check_linear_forward(linear_forward) is True
    assert checks.check_linear_forward(lambda X, W, b: torch.addmm(b, X, W)) is True
    assert checks.check_linear_forward(lambda X, W, b: torch.einsum("ni,io->no", X, W) + b) is True


@pytest.mark.parametrize(
    "wrong_forward, message",
    [
        (lambda X, W, b: X @ W, "bias is missing"),
        (lambda X, W, b: X @ W - b, "added, not subtracted"),
        (lambda X, W, b: torch.tanh(X @ W + b), "activation"),
        (lambda X, W, b: X @ W.T + b, r"raised RuntimeError.*X @ W"),
        (lambda X, W, b: W.T @ X.T + b[:, None], "should have shape"),
        (lambda X, W, b: torch.zeros(7, 5), "wrong numbers"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_linear_forward_explains_wrong_answers(wrong_forward, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_linear_forward(wrong_forward)


# --- exercise 3: softmax + cross-entropy ---------------------------------------------------------

def test_check_softmax_cross_entropy_grad_passes_right_answers():
    assert checks.check_softmax_cross_entropy_grad(softmax_cross_entropy_grad) is True

    def by_hand(logits, labels):  # the softmax written out, and Y built with indexing
        exps = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
        grad = exps / exps.sum(dim=1, keepdim=True)
        grad[torch.arange(len(labels)), labels] -= 1
        return grad / len(labels)

    assert checks.check_softmax_cross_entropy_grad(by_hand) is True


def one_hot(logits, labels):
    return F.one_hot(labels, logits.shape[1]).to(logits.dtype)


@pytest.mark.parametrize(
    "wrong_grad, message",
    [
        (lambda z, y: torch.softmax(z, 1) - one_hot(z, y), "divide .* by N"),
        (lambda z, y: (one_hot(z, y) - torch.softmax(z, 1)) / len(y), "sign is flipped"),
        (lambda z, y: (z - one_hot(z, y)) / len(y), "apply the softmax first"),
        (lambda z, y: torch.softmax(z, 1) / len(y), "subtract the one-hot labels"),
        (lambda z, y: (torch.softmax(z, 1) - one_hot(z, y)) / z.shape[1], "not the number of classes"),
        (lambda z, y: (torch.softmax(z, 0) - one_hot(z, y)) / len(y), "dim=1"),
        (lambda z, y: (torch.softmax(z, 1) - one_hot(z, y)).sum(1), "shape"),
        (lambda z, y: torch.softmax(z, 1) - y, r"raised RuntimeError.*one_hot"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_softmax_cross_entropy_grad_explains_wrong_answers(wrong_grad, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_softmax_cross_entropy_grad(wrong_grad)


# --- exercise 4: one layer, backward -------------------------------------------------------------

def test_check_linear_backward_passes_right_answers():
    assert checks.check_linear_backward(linear_backward) is True
    assert checks.check_linear_backward(
        lambda g, X, W: (torch.einsum("no,io->ni", g, W), torch.einsum("ni,no->io", X, g), g.sum(0))) is True


@pytest.mark.parametrize(
    "wrong_backward, message",
    [
        (lambda g, X, W: (g @ W.T, X.T @ g, g.mean(0)), "SUM of grad_Z"),
        (lambda g, X, W: (g @ W.T, X.T @ g / len(X), g.sum(0)), "without dividing by N"),
        (lambda g, X, W: (X.T @ g, g @ W.T, g.sum(0)), "wrong order"),
        (lambda g, X, W: (g @ W.T, X.T @ g), "three things"),
        (lambda g, X, W: (g @ W.T, X.T @ g, g.sum(1)), "grad_b"),
        (lambda g, X, W: (g @ W.T, g.T @ X, g.sum(0)), r"grad_W.*shape"),
        (lambda g, X, W: (g @ W, X.T @ g, g.sum(0)), r"raised RuntimeError.*transpose"),
        (lambda g, X, W: (-g @ W.T, X.T @ g, g.sum(0)), "grad_X is wrong"),
        (lambda g, X, W: (g @ W.T, -X.T @ g, g.sum(0)), "grad_W is wrong"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_linear_backward_explains_wrong_answers(wrong_backward, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_linear_backward(wrong_backward)


# --- exercise 5: a network with one hidden layer -------------------------------------------------

def test_check_one_hidden_layer_gradients_passes_a_right_answer():
    assert checks.check_one_hidden_layer_gradients(one_hidden_layer_gradients) is True


def test_check_one_hidden_layer_gradients_passes_autograd():
    def with_autograd(X, labels, W1, b1, W2, b2):  # not the point of the exercise, but right
        params = [p.clone().requires_grad_(True) for p in (W1, b1, W2, b2)]
        F.cross_entropy(torch.tanh(X @ params[0] + params[1]) @ params[2] + params[3], labels).backward()
        return tuple(p.grad for p in params)

    assert checks.check_one_hidden_layer_gradients(with_autograd) is True


def forgets_tanh_derivative(X, labels, W1, b1, W2, b2):
    A1 = torch.tanh(X @ W1 + b1)
    delta2 = softmax_cross_entropy_grad(A1 @ W2 + b2, labels)
    grad_A1, grad_W2, grad_b2 = linear_backward(delta2, A1, W2)
    _, grad_W1, grad_b1 = linear_backward(grad_A1, X, W1)
    return grad_W1, grad_b1, grad_W2, grad_b2


def derivative_of_z(X, labels, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = torch.tanh(Z1)
    delta2 = softmax_cross_entropy_grad(A1 @ W2 + b2, labels)
    grad_A1, grad_W2, grad_b2 = linear_backward(delta2, A1, W2)
    _, grad_W1, grad_b1 = linear_backward(grad_A1 * (1 - Z1 ** 2), X, W1)
    return grad_W1, grad_b1, grad_W2, grad_b2


def uses_pre_activation_in_output_layer(X, labels, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = torch.tanh(Z1)
    delta2 = softmax_cross_entropy_grad(A1 @ W2 + b2, labels)
    grad_A1, grad_W2, grad_b2 = linear_backward(delta2, Z1, W2)  # Z1 instead of A1
    _, grad_W1, grad_b1 = linear_backward(grad_A1 * (1 - A1 ** 2), X, W1)
    return grad_W1, grad_b1, grad_W2, grad_b2


def sum_instead_of_mean(X, labels, W1, b1, W2, b2):
    return tuple(len(X) * g for g in one_hidden_layer_gradients(X, labels, W1, b1, W2, b2))


@pytest.mark.parametrize(
    "wrong_gradients, message",
    [
        (forgets_tanh_derivative, "forget the tanh"),
        (derivative_of_z, "not 1 − Z²"),
        (uses_pre_activation_in_output_layer, r"grad_W2 is off.*A1 = tanh"),
        (sum_instead_of_mean, "N times too large"),
        (lambda *args: one_hidden_layer_gradients(*args)[:3], "four gradients"),
        (lambda *args: tuple(g.mT if g.dim() == 2 else g for g in one_hidden_layer_gradients(*args)), "grad_W1 should have shape"),
        (lambda X, labels, *params: tuple(torch.zeros_like(p) for p in params), "off against autograd"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_one_hidden_layer_gradients_explains_wrong_answers(wrong_gradients, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_one_hidden_layer_gradients(wrong_gradients)


# --- exercise 6: a numerical gradient ------------------------------------------------------------

def test_check_central_difference_passes_right_answers():
    assert checks.check_central_difference(central_difference) is True

    def with_copies(f, x, eps=1e-6):  # nudged copies instead of nudging x in place
        grad = torch.zeros(x.numel(), dtype=x.dtype)
        for i in range(x.numel()):
            step = torch.zeros(x.numel(), dtype=x.dtype)
            step[i] = eps
            step = step.reshape(x.shape)
            grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
        return grad.reshape(x.shape)

    assert checks.check_central_difference(with_copies) is True


def forward_difference(f, x, eps=1e-6):
    grad, f_x = torch.zeros_like(x), f(x)
    for i in range(x.numel()):
        nudged = x.clone()
        nudged.view(-1)[i] += eps
        grad.view(-1)[i] = (f(nudged) - f_x) / eps
    return grad


def never_restores(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        x.view(-1)[i] += eps
        f_plus = f(x)
        x.view(-1)[i] -= 2 * eps
        grad.view(-1)[i] = (f_plus - f(x)) / (2 * eps)
    return grad


@pytest.mark.parametrize(
    "wrong_difference, message",
    [
        (forward_difference, "one-sided"),
        (lambda f, x, eps: 2 * central_difference(f, x.clone(), eps), "divide by 2·eps"),
        (lambda f, x, eps: central_difference(f, x.clone(), 1e-7), "use the step `eps`"),
        (never_restores, "changed x"),
        (lambda f, x, eps: central_difference(f, x.clone(), eps).reshape(-1), "shape"),
        (lambda f, x, eps: central_difference(f, x.clone(), eps) + 0.01, "some partial derivatives are off"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_central_difference_explains_wrong_answers(wrong_difference, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_central_difference(wrong_difference)


# --- exercise 7: a gradient check of your own function -------------------------------------------

@pytest.mark.parametrize(
    "function, gradient",
    [
        (lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2),
        (lambda x: torch.sin(x).prod(), lambda x: torch.cos(x) * torch.sin(x).prod() / torch.sin(x)),
        (lambda x: torch.log(1 + x ** 2).sum() + x[0] * x[1], lambda x: 2 * x / (1 + x ** 2) + torch.cat(
            [x[1:2], x[0:1], torch.zeros(len(x) - 2, dtype=x.dtype)])),
    ],
)
def test_check_your_gradient_passes_right_answers(function, gradient):
    assert checks.check_your_gradient(function, gradient) is True


@pytest.mark.parametrize(
    "function, gradient, message",
    [
        (lambda x: torch.sin(3 * x).sum(), lambda x: torch.cos(3 * x), "chain-rule factor"),
        (lambda x: torch.cos(x).sum(), lambda x: torch.sin(x), "differs from the numerical one"),
        (lambda x: (2 * x).sum(), lambda x: 2 * torch.ones_like(x), "linear"),
        (lambda x: torch.log(x).sum(), lambda x: 1 / x, "defined for every real x"),
        (lambda x: x ** 2, lambda x: 2 * x, "scalar"),
        (lambda x: (x ** 2).sum(), lambda x: (2 * x).sum(), "shape"),
        (lambda x: (x ** 2).sum(), not_implemented, "my_gradient still raises NotImplementedError"),
    ],
)
def test_check_your_gradient_explains_wrong_answers(function, gradient, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_your_gradient(function, gradient)
