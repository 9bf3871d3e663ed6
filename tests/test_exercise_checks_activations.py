"""The checks of the activation-function exercises pass right answers (including alternative right
answers) and reject typical wrong ones with a message that says what is wrong."""

import pytest
import torch
import torch.nn.functional as F

from utils.checks import ExerciseError, fresh_generator
from utils.exercise_checks import activations as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


# --- right answers, written the way a learner would ----------------------------------------------

def tanh(z):
    return (torch.exp(z) - torch.exp(-z)) / (torch.exp(z) + torch.exp(-z))


def tanh_derivative(z):
    return 1 - tanh(z) ** 2


def leaky_relu(z, negative_slope):
    return torch.where(z > 0, z, negative_slope * z)


def leaky_relu_derivative(z, negative_slope):
    return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, negative_slope))


def dead_fraction(layer, inputs):
    with torch.no_grad():
        pre_activations = layer(inputs)
    return (pre_activations <= 0).all(dim=0).float().mean().item()


def steepest_point(function, z):
    z = z.detach().clone().requires_grad_(True)
    (slopes,) = torch.autograd.grad(function(z).sum(), z)
    best = slopes.argmax()
    return z[best].item(), slopes[best].item()


def chain_gradient(activation, z, num_layers):
    z = z.detach().clone().requires_grad_(True)
    h = z
    for _ in range(num_layers):
        h = activation(h)
    (gradient,) = torch.autograd.grad(h.sum(), z)
    return gradient


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- exercise 1: tanh ---------------------------------------------------------------------------

def test_check_tanh_passes_right_answers(capsys):
    assert checks.check_tanh(tanh) is True
    assert checks.check_tanh(lambda z: 2 * torch.sigmoid(2 * z) - 1) is True  # the identity tanh = 2σ(2z) − 1
    assert checks.check_tanh(lambda z: (1 - torch.exp(-2 * z)) / (1 + torch.exp(-2 * z))) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong_tanh, message",
    [
        (torch.sigmoid, "that is the sigmoid"),
        (lambda z: (torch.exp(z) - torch.exp(-z)) / 2, "sinh"),
        (lambda z: torch.exp(z) - torch.exp(-z), "denominator is missing"),
        (lambda z: (torch.exp(-z) - torch.exp(z)) / (torch.exp(z) + torch.exp(-z)), "sign is flipped"),
        (lambda z: torch.tanh(z).sum(), "keep the shape"),
        (lambda z: torch.tanh(z).tolist(), "return a tensor"),
        (lambda z: torch.tanh(z) > 0, "True/False"),
        (lambda z: torch.tanh(z).half(), "dtype of z"),
        (lambda z: torch.tanh(z) + 1e-3, "differs from torch.tanh"),
        (not_implemented, "NotImplementedError"),
        ("tanh", "pass the function itself"),
    ],
)
def test_check_tanh_explains_wrong_answers(wrong_tanh, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_tanh(wrong_tanh)


def test_check_tanh_derivative_passes_right_answers():
    assert checks.check_tanh_derivative(tanh_derivative) is True
    assert checks.check_tanh_derivative(lambda z: 1 / torch.cosh(z) ** 2) is True  # sech², the same function
    assert checks.check_tanh_derivative(lambda z: 4 * torch.exp(2 * z) / (torch.exp(2 * z) + 1) ** 2) is True
    assert checks.check_tanh_derivative(lambda z: tanh_derivative(z).float()) is True  # float32 is accepted


@pytest.mark.parametrize(
    "wrong_derivative, message",
    [
        (lambda z: 1 - torch.tanh(z), "square the tanh"),
        (lambda z: torch.tanh(z) * (1 - torch.tanh(z)), "sigmoid's pattern"),
        (lambda z: 1 - z**2, "use tanh"),
        (lambda z: torch.tanh(z) ** 2 - 1, "sign is flipped"),
        (torch.tanh, "returned tanh itself"),
        (lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z)), "sigmoid's derivative"),
        (lambda z: 1 - torch.tanh(z) ** 3, "differs from autograd"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_tanh_derivative_explains_wrong_answers(wrong_derivative, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_tanh_derivative(wrong_derivative)


# --- exercise 2: Leaky ReLU ---------------------------------------------------------------------

def test_check_leaky_relu_passes_right_answers():
    assert checks.check_leaky_relu(leaky_relu) is True
    assert checks.check_leaky_relu(lambda z, a: torch.maximum(z, a * z)) is True  # right for 0 < a < 1
    assert checks.check_leaky_relu(lambda z, a: F.relu(z) - a * F.relu(-z)) is True


@pytest.mark.parametrize(
    "wrong_leaky_relu, message",
    [
        (lambda z, a: F.relu(z), "that is ReLU"),
        (lambda z, a: torch.where(z > 0, a * z, z), "slopes are swapped"),
        (lambda z, a: torch.where(z > 0, z, 0.01 * z), "ignores the negative_slope"),
        (lambda z, a: torch.where(z > 0, z, -a * z), "differs from F.leaky_relu"),
        (lambda z, a: leaky_relu(z, a)[:10], "keep the shape"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_leaky_relu_explains_wrong_answers(wrong_leaky_relu, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_leaky_relu(wrong_leaky_relu)


def test_check_leaky_relu_derivative_passes_right_answers():
    assert checks.check_leaky_relu_derivative(leaky_relu_derivative) is True
    assert checks.check_leaky_relu_derivative(lambda z, a: torch.where(z > 0, 1.0, a)) is True  # float32: accepted
    assert checks.check_leaky_relu_derivative(lambda z, a: (z > 0).double() * (1 - a) + a) is True


@pytest.mark.parametrize(
    "wrong_derivative, message",
    [
        (lambda z, a: (z > 0).double(), "ReLU's derivative"),
        (lambda z, a: torch.where(z > 0, torch.full_like(z, a), torch.ones_like(z)), "slopes are swapped"),
        (lambda z, a: torch.where(z >= 0, torch.ones_like(z), torch.full_like(z, a)), "z = 0 exactly"),
        (lambda z, a: torch.where(z > 0, torch.ones_like(z), torch.full_like(z, 0.01)), "ignores the negative_slope"),
        (leaky_relu, "values, not its slope"),
        (lambda z, a: z > 0, "True/False"),
        (lambda z, a: (z > 0).long(), "floating-point"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_leaky_relu_derivative_explains_wrong_answers(wrong_derivative, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_leaky_relu_derivative(wrong_derivative)


# --- exercise 3: dead units ---------------------------------------------------------------------

def test_check_dead_fraction_passes_right_answers(capsys):
    assert checks.check_dead_fraction(dead_fraction) is True
    assert checks.check_dead_fraction(lambda layer, x: (F.relu(layer(x)) == 0).all(dim=0).double().mean()) is True
    assert checks.check_dead_fraction(lambda layer, x: float((layer(x).max(dim=0).values <= 0).sum()) / layer.out_features) is True
    assert "dead" in capsys.readouterr().out


def test_check_dead_fraction_rejects_a_hard_coded_answer():
    torch.manual_seed(1)
    right = checks.check_dead_fraction(dead_fraction)
    assert right is True
    fractions = set()
    for seed in range(8):
        torch.manual_seed(seed)
        generator = fresh_generator()
        layer, inputs = checks._planted_layer(generator)
        fractions.add(round(dead_fraction(layer, inputs), 6))
    assert len(fractions) > 1, "the planted layers should not all have the same dead fraction"
    torch.manual_seed(0)
    with pytest.raises(ExerciseError, match="dead fraction is"):
        checks.check_dead_fraction(lambda layer, x: 0.3)


@pytest.mark.parametrize(
    "wrong_dead_fraction, message",
    [
        (lambda layer, x: (layer(x) < 0).all(dim=0).float().mean(), "exactly 0 is dead too"),
        (lambda layer, x: (layer(x) <= 0).any(dim=0).float().mean(), r"not for at least one \(`.any`\)"),
        (lambda layer, x: (layer(x) <= 0).float().mean(), r"\(example, unit\) pairs"),
        (lambda layer, x: (layer(x) <= 0).all(dim=1).float().mean(), "not over the units"),
        (lambda layer, x: (layer(x) <= 0).all(dim=0).sum(), "count of units"),
        (lambda layer, x: (layer(x) > 0).any(dim=0).float().mean(), "alive"),
        (lambda layer, x: (layer(x) <= 0).all(dim=0).float(), "one number for the whole layer"),
        (lambda layer, x: "30%", "should return a number"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_dead_fraction_explains_wrong_answers(wrong_dead_fraction, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_dead_fraction(wrong_dead_fraction)


# --- exercise 4: the steepest slope and a chain of layers ----------------------------------------

def test_check_steepest_point_passes_right_answers():
    assert checks.check_steepest_point(steepest_point) is True

    def by_finite_differences(function, z):  # no autograd: also right, to within the grid
        values = function(z)
        slopes = (values[2:] - values[:-2]) / (z[2:] - z[:-2])
        best = int(slopes.argmax())
        return float(z[best + 1]), float(slopes[best])

    assert checks.check_steepest_point(by_finite_differences) is True


@pytest.mark.parametrize(
    "wrong_steepest_point, message",
    [
        (lambda f, z: (z[f(z).argmax()].item(), f(z).max().item()), "largest \\*value\\*"),
        (lambda f, z: (int(steepest_point_index(f, z)), steepest_point(f, z)[1]), "not its index"),
        (lambda f, z: (0.0, steepest_point(f, z)[1]), "largest at z ="),
        (lambda f, z: (steepest_point(f, z)[0], 0.25), "largest slope is"),
        (lambda f, z: steepest_point(f, z)[1], "two numbers"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_steepest_point_explains_wrong_answers(wrong_steepest_point, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_steepest_point(wrong_steepest_point)


def steepest_point_index(function, z):
    z = z.detach().clone().requires_grad_(True)
    (slopes,) = torch.autograd.grad(function(z).sum(), z)
    return slopes.argmax()


def test_check_chain_gradient_passes_right_answers():
    assert checks.check_chain_gradient(chain_gradient) is True

    def by_the_chain_rule(activation, z, num_layers):  # one slope per layer, multiplied
        gradient, h = torch.ones_like(z), z
        for _ in range(num_layers):
            x = h.detach().requires_grad_(True)
            out = activation(x)
            (slope,) = torch.autograd.grad(out.sum(), x)
            gradient, h = gradient * slope, out.detach()
        return gradient

    assert checks.check_chain_gradient(by_the_chain_rule) is True


def power_of_first_slope(activation, z, num_layers):
    return chain_gradient(activation, z, 1) ** num_layers


def last_layer_only(activation, z, num_layers):
    h = z
    for _ in range(num_layers - 1):
        h = activation(h)
    return chain_gradient(activation, h, 1)


@pytest.mark.parametrize(
    "wrong_chain_gradient, message",
    [
        (power_of_first_slope, "to the power num_layers"),
        (lambda f, z, n: torch.full_like(z, 0.25**n), "the bound for sigmoids"),
        (lambda f, z, n: chain_gradient(f, z, n - 1), "applied the activation"),
        (lambda f, z, n: chain_gradient(f, z, n + 1), "applied the activation"),
        (last_layer_only, "last layer only"),
        (lambda f, z, n: chain_gradient(f, z, n).sum(), "keep the shape"),
        (lambda f, z, n: 2 * chain_gradient(f, z, n), "differs from the chain rule"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_chain_gradient_explains_wrong_answers(wrong_chain_gradient, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_chain_gradient(wrong_chain_gradient)
