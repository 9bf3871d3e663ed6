"""Checks for the exercises of ``module1_foundations/solutions/02_activation_functions.ipynb``.

Every check builds fresh random inputs, computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
The checks work in float64 on the CPU, where the tolerances can be tight.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from utils.checks import call_answer, expect, fresh_generator, passed

__all__ = [
    "check_tanh",
    "check_tanh_derivative",
    "check_leaky_relu",
    "check_leaky_relu_derivative",
    "check_dead_fraction",
    "check_steepest_point",
    "check_chain_gradient",
]

#: Relative and absolute tolerance for float64 answers.
RTOL, ATOL = 1e-9, 1e-12


# --- helpers -----------------------------------------------------------------------------------

def _result(value, what: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The learner's result as a float64 CPU tensor of the given shape, or a clear explanation.

    A float32 result (e.g. from ``torch.where(z > 0, 1.0, 0.1)`` with Python numbers) is accepted;
    it is then compared with float32's tolerance (see ``_close``)."""
    expect(isinstance(value, torch.Tensor), f"{what} should return a tensor, got {type(value).__name__}.")
    expect(tuple(value.shape) == shape,
           f"{what} should keep the shape of z, {shape}, but returned shape {tuple(value.shape)}. "
           "Work element by element (no sums or means).")
    expect(value.dtype != torch.bool, f"{what} returned True/False; return numbers. Hint: `.to(z.dtype)` or `torch.where`.")
    expect(value.is_floating_point(), f"{what} should return floating-point numbers, got dtype {value.dtype}.")
    expect(value.dtype in (torch.float64, torch.float32),
           f"{what} returned {value.dtype} for a float64 input; compute in the dtype of z (float64).")
    return value.detach().cpu().to(torch.float64), value.dtype


def _close(actual: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype = torch.float64) -> bool:
    rtol, atol = (RTOL, ATOL) if dtype == torch.float64 else (1e-5, 1e-6)
    return bool(torch.allclose(actual, expected, rtol=rtol, atol=atol))


def _points(generator: torch.Generator, num: int = 300, scale: float = 3.0) -> torch.Tensor:
    """Random float64 points, with an exact 0 and some far from 0, in random order."""
    z = torch.cat([torch.randn(num, generator=generator, dtype=torch.float64) * scale,
                   torch.tensor([0.0, 6.0, -6.0, 0.5, -0.5], dtype=torch.float64)])
    return z[torch.randperm(len(z), generator=generator)]


def _autograd_derivative(function, z: torch.Tensor) -> torch.Tensor:
    z = z.detach().clone().requires_grad_(True)
    (slopes,) = torch.autograd.grad(function(z).sum(), z)
    return slopes


# --- exercise 1: tanh from its definition ------------------------------------------------------

def check_tanh(tanh) -> bool:
    """``tanh(z)`` equals torch.tanh element by element (float64, tight tolerance)."""
    z = _points(fresh_generator())
    output, dtype = _result(call_answer(tanh, z.clone(), what="tanh"), "tanh", tuple(z.shape))
    same = partial(_close, output, dtype=dtype)  # same(other): is the answer equal to other?
    expected = torch.tanh(z)
    if same(expected):
        return passed("tanh(z) = (e^z − e^−z) / (e^z + e^−z).")
    expect(not same(torch.sigmoid(z)), "that is the sigmoid, 1 / (1 + e^−z), with outputs in (0, 1); "
                                                 "tanh = (e^z − e^−z) / (e^z + e^−z) has outputs in (−1, 1).")
    expect(not same(torch.sinh(z)), "that is the numerator divided by 2 (sinh); divide e^z − e^−z by e^z + e^−z.")
    expect(not same(torch.exp(z) - torch.exp(-z)), "the denominator is missing: divide by e^z + e^−z.")
    expect(not same(-expected), "the sign is flipped: tanh(z) is positive for positive z. Numerator: e^z − e^−z.")
    error = (output - expected).abs().max().item()
    expect(False, f"tanh differs from torch.tanh by up to {error:.2e}. Hint: (e^z − e^−z) / (e^z + e^−z), with torch.exp.")
    raise AssertionError("unreachable")


def check_tanh_derivative(tanh_derivative) -> bool:
    """``tanh_derivative(z)`` equals autograd's derivative of torch.tanh at every point."""
    z = _points(fresh_generator())
    output, dtype = _result(call_answer(tanh_derivative, z.clone(), what="tanh_derivative"), "tanh_derivative", tuple(z.shape))
    same = partial(_close, output, dtype=dtype)  # same(other): is the answer equal to other?
    expected = _autograd_derivative(torch.tanh, z)
    if same(expected):
        return passed("tanh'(z) = 1 − tanh²(z), the same as autograd.")
    t = torch.tanh(z)
    wrong_answers = {
        "you returned tanh itself; the derivative is 1 − tanh²(z).": t,
        "square the tanh: the quotient rule gives (v² − u²) / v² = 1 − tanh²(z), not 1 − tanh(z).": 1 - t,
        "that is the sigmoid's pattern s(1 − s); for tanh the quotient rule gives 1 − tanh²(z).": t * (1 - t),
        "use tanh(z) in the formula, not z: tanh'(z) = 1 − tanh²(z).": 1 - z**2,
        "the sign is flipped: tanh is increasing, so its slope is positive, 1 − tanh²(z).": t**2 - 1,
        "that is the sigmoid's derivative; the question is about tanh: 1 − tanh²(z).": torch.sigmoid(z) * (1 - torch.sigmoid(z)),
    }
    for hint, wrong in wrong_answers.items():
        expect(not same(wrong), hint)
    error = (output - expected).abs().max().item()
    expect(False, f"tanh_derivative differs from autograd by up to {error:.2e}. "
                  "Hint: with u = e^z − e^−z and v = e^z + e^−z, u' = v and v' = u; use the quotient rule.")
    raise AssertionError("unreachable")


# --- exercise 2: Leaky ReLU --------------------------------------------------------------------

def _slopes(generator: torch.Generator) -> list[float]:
    return [0.01, round(0.05 + 0.4 * torch.rand((), generator=generator).item(), 4)]


def check_leaky_relu(leaky_relu) -> bool:
    """``leaky_relu(z, negative_slope)`` equals torch.nn.functional.leaky_relu for several slopes."""
    generator = fresh_generator()
    z = _points(generator)
    for slope in _slopes(generator):
        output, dtype = _result(call_answer(leaky_relu, z.clone(), slope, what="leaky_relu"), "leaky_relu", tuple(z.shape))
        same = partial(_close, output, dtype=dtype)  # same(other): is the answer equal to other?
        expected = torch.nn.functional.leaky_relu(z, negative_slope=slope)
        if same(expected):
            continue
        where = f"(negative_slope = {slope})"
        expect(not same(torch.relu(z)), f"negative inputs are set to 0 {where}: that is ReLU. "
                                                  "Multiply them by negative_slope instead.")
        expect(not same(torch.where(z > 0, slope * z, z)),
               f"the slopes are swapped {where}: positive inputs pass unchanged, negative ones are multiplied by negative_slope.")
        other = 0.01 if slope != 0.01 else 0.1
        expect(not same(torch.nn.functional.leaky_relu(z, negative_slope=other)),
               f"your function ignores the negative_slope argument {where}: use the parameter, not a fixed number.")
        error = (output - expected).abs().max().item()
        expect(False, f"leaky_relu differs from F.leaky_relu by up to {error:.2e} {where}. "
                      "Hint: z where z > 0, negative_slope · z elsewhere (`torch.where`).")
    return passed("Leaky ReLU: z for z > 0, negative_slope · z otherwise.")


def check_leaky_relu_derivative(leaky_relu_derivative) -> bool:
    """``leaky_relu_derivative(z, negative_slope)`` equals autograd's derivative of F.leaky_relu,
    including PyTorch's choice at z = 0 (the negative side's slope)."""
    generator = fresh_generator()
    z = _points(generator)
    for slope in _slopes(generator):
        result = call_answer(leaky_relu_derivative, z.clone(), slope, what="leaky_relu_derivative")
        output, dtype = _result(result, "leaky_relu_derivative", tuple(z.shape))
        same = partial(_close, output, dtype=dtype)  # same(other): is the answer equal to other?
        expected = _autograd_derivative(lambda v, s=slope: torch.nn.functional.leaky_relu(v, negative_slope=s), z)
        if same(expected):
            continue
        where = f"(negative_slope = {slope})"
        expect(not same(torch.nn.functional.leaky_relu(z, negative_slope=slope)),
               f"you returned Leaky ReLU's values, not its slope {where}: the slope is 1 or negative_slope.")
        expect(not same((z > 0).double()),
               f"the slope for negative z is 0 in your answer {where}: that is ReLU's derivative. For Leaky ReLU it is negative_slope.")
        expect(not same(torch.where(z > 0, torch.full_like(z, slope), torch.ones_like(z))),
               f"the slopes are swapped {where}: 1 for z > 0, negative_slope for z <= 0.")
        other = 0.01 if slope != 0.01 else 0.1
        expect(not same(torch.where(z > 0, torch.ones_like(z), torch.full_like(z, other))),
               f"your function ignores the negative_slope argument {where}: use the parameter, not a fixed number.")
        nonzero = z != 0
        expect(not _close(output[nonzero], expected[nonzero], dtype),
               f"right everywhere except at z = 0 exactly {where}. There the slope is not defined; PyTorch uses the "
               "left-hand slope, negative_slope. Use `z > 0` (not `z >= 0`) for the slope 1.")
        error = (output - expected).abs().max().item()
        expect(False, f"leaky_relu_derivative differs from autograd by up to {error:.2e} {where}. "
                      "Hint: `torch.where(z > 0, 1.0, negative_slope)`, as floats of the dtype of z.")
    return passed("Leaky ReLU's slope: 1 for z > 0, negative_slope otherwise (also at 0, as PyTorch does).")


# --- exercise 3: the fraction of dead units ----------------------------------------------------

def _planted_layer(generator: torch.Generator, fan_in: int = 12, examples: int = 200):
    """A float64 nn.Linear with a random mix of units, and the inputs.

    ``k`` units (random, 2 to 8) have a very negative bias (dead); the next has zero weights and
    bias (z = 0 exactly: dead too); the next fires for exactly one example; two fire for every
    example; the rest (at least 6) are ordinary. The layer has 16 to 24 units, shuffled.
    """
    units = int(torch.randint(16, 25, (), generator=generator))
    k = int(torch.randint(2, 9, (), generator=generator))
    layer = nn.Linear(fan_in, units).double()
    inputs = torch.randn(examples, fan_in, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(units, fan_in, generator=generator, dtype=torch.float64) / fan_in**0.5)
        layer.bias.copy_(torch.randn(units, generator=generator, dtype=torch.float64) * 0.5)
        layer.bias[:k] = -10.0 - torch.rand(k, generator=generator, dtype=torch.float64)
        layer.weight[k], layer.bias[k] = 0.0, 0.0
        top_two = (inputs @ layer.weight[k + 1]).topk(2).values
        layer.bias[k + 1] = -(top_two[0] + top_two[1]) / 2  # only the example with the largest score gets z > 0
        layer.weight[k + 2:k + 4] = 0.0
        layer.bias[k + 2:k + 4] = 1.0 + torch.rand(2, generator=generator, dtype=torch.float64)
        order = torch.randperm(units, generator=generator)
        layer.weight.copy_(layer.weight[order])
        layer.bias.copy_(layer.bias[order])
    return layer, inputs


def check_dead_fraction(dead_fraction) -> bool:
    """``dead_fraction(layer, inputs)`` returns the fraction of the layer's units whose
    pre-activation ``layer(inputs)`` is <= 0 for every example (a number between 0 and 1)."""
    layer, inputs = _planted_layer(fresh_generator())
    result = call_answer(dead_fraction, layer, inputs.clone(), what="dead_fraction")
    expect(isinstance(result, (int, float, torch.Tensor)) and not isinstance(result, bool),
           f"dead_fraction should return a number, got {type(result).__name__}.")
    if isinstance(result, torch.Tensor):
        expect(result.numel() == 1, f"dead_fraction should return one number for the whole layer, got shape {tuple(result.shape)}. "
                                    "Hint: first decide per unit (shape [units]), then take the mean.")
        result = result.item()
    value = float(result)
    with torch.no_grad():
        z = layer(inputs)
    units = z.shape[1]
    expected = (z <= 0).all(dim=0).double().mean().item()
    if abs(value - expected) < 1e-6:  # fractions differ by at least 1/24; float32 is fine
        return passed(f"{expected:.0%} of this layer's units are dead: z <= 0 on every example.")
    wrong_answers = {
        f"that is a count of units; return a fraction between 0 and 1 (divide by the number of units, {units}).":
            (z <= 0).all(dim=0).double().sum().item(),
        "a unit whose pre-activation is exactly 0 is dead too: ReLU outputs 0 there and its slope is 0. Use `z <= 0`.":
            (z < 0).all(dim=0).double().mean().item(),
        "a unit is dead when z <= 0 for *every* example (`.all`), not for at least one (`.any`).":
            (z <= 0).any(dim=0).double().mean().item(),
        "that is the share of (example, unit) pairs where the unit is off. A unit is dead only if it is off for every "
        "example: reduce over the examples first, `(z <= 0).all(dim=0)`, then take the mean over the units.":
            (z <= 0).double().mean().item(),
        "reduce over the examples (dim=0, the rows), not over the units (dim=1).":
            (z <= 0).all(dim=1).double().mean().item(),
        "that is the fraction of units that are alive; dead units are the others.":
            (z > 0).any(dim=0).double().mean().item(),
    }
    for hint, wrong in wrong_answers.items():
        expect(abs(value - wrong) > 1e-6, hint)
    expect(False, f"for this layer the dead fraction is {expected:.4f}, but you returned {value:.4f}. "
                  "Hint: z = layer(inputs), shape [examples, units]; `(z <= 0).all(dim=0)` marks the dead units.")
    raise AssertionError("unreachable")


# --- exercise 4: the steepest slope, and a chain of layers -------------------------------------

def check_steepest_point(steepest_point) -> bool:
    """``steepest_point(function, z)`` returns ``(z_at_max, max_slope)``: where on the 1-D grid z
    the element-wise ``function`` is steepest, and its slope there. Tested on scaled and shifted
    sigmoids and tanhs, whose answers are known: a·c/4 (sigmoid) or a·c (tanh) at z = b."""
    generator = fresh_generator()
    z = torch.linspace(-6, 6, 12001, dtype=torch.float64)  # step 0.001
    step = (z[1] - z[0]).item()
    cases = []
    for kind, top in (("sigmoid", 0.25), ("tanh", 1.0)):
        a = 0.5 + 2.5 * torch.rand((), generator=generator).item()
        b = round(-2 + 4 * torch.rand((), generator=generator).item(), 3)
        c = 0.5 + 1.5 * torch.rand((), generator=generator).item()
        base = torch.sigmoid if kind == "sigmoid" else torch.tanh
        cases.append((f"{c:.2f}·{kind}({a:.2f}·(z − {b:+.3f}))", lambda v, a=a, b=b, c=c, f=base: c * f(a * (v - b)), b, a * c * top))
    for description, function, where, slope in cases:
        result = call_answer(steepest_point, function, z.clone(), what="steepest_point")
        expect(isinstance(result, (tuple, list)) and len(result) == 2,
               "steepest_point should return two numbers: `return z_at_max, max_slope`.")
        z_at_max, max_slope = (float(v.item()) if isinstance(v, torch.Tensor) else float(v) for v in result)
        if abs(z_at_max - where) <= 2 * step and abs(max_slope - slope) <= 1e-3 * slope:
            continue
        values = function(z)
        index = int((z - where).abs().argmin())
        expect(not (abs(z_at_max - z[values.argmax()].item()) <= 2 * step and abs(max_slope - values.max().item()) < 1e-6),
               f"for {description}: you found the largest *value* of the function; the question is about its slope. "
               "Compute the derivative with autograd first.")
        expect(abs(z_at_max - index) > 3,
               f"for {description}: return the position z where the slope is largest, not its index in the grid. Hint: `z[index]`.")
        expect(abs(z_at_max - where) <= 2 * step,
               f"for {description} the slope is largest at z = {where:+.3f}, but you returned {z_at_max:+.4f}. "
               "Hint: the argmax of the slopes, then the z at that index.")
        expect(False, f"for {description} the largest slope is {slope:.5f}, but you returned {max_slope:.5f}. "
                      "Hint: `torch.autograd.grad(function(z).sum(), z)` gives the slope at every point of z.")
    return passed("you can find the steepest point of any activation with autograd.")


def _chain_gradient(activation, z: torch.Tensor, num_layers: int) -> torch.Tensor:
    """Reference: the chain rule written out, one factor f'(h_{l-1}) per layer."""
    gradient, h = torch.ones_like(z), z.detach().clone()
    for _ in range(num_layers):
        gradient = gradient * _autograd_derivative(activation, h)
        h = activation(h).detach()
    return gradient


def check_chain_gradient(chain_gradient) -> bool:
    """``chain_gradient(activation, z, num_layers)`` returns d/dz of activation applied
    ``num_layers`` times, f(f(...f(z))), at every point of z, with the shape of z."""
    generator = fresh_generator()
    z = torch.randn(50, generator=generator, dtype=torch.float64) * 2
    num_layers = int(torch.randint(3, 9, (), generator=generator))
    for name, activation in (("torch.sigmoid", torch.sigmoid), ("torch.tanh", torch.tanh),
                             ("a scaled sigmoid", lambda v: 3 * torch.sigmoid(v) - 1)):
        result = call_answer(chain_gradient, activation, z.clone(), num_layers, what="chain_gradient")
        output, dtype = _result(result, "chain_gradient", tuple(z.shape))
        same = partial(_close, output, dtype=dtype)  # same(other): is the answer equal to other?
        expected = _chain_gradient(activation, z, num_layers)
        if same(expected):
            continue
        where = f"(activation {name}, num_layers = {num_layers})"
        expect(not same(_autograd_derivative(activation, z) ** num_layers),
               f"you took f'(z) to the power num_layers {where}; but layer 2 sees f(z), not z, so its slope is f'(f(z)), "
               "and so on. Apply the activation num_layers times, then let autograd differentiate the result.")
        expect(not same(torch.full_like(z, 0.25**num_layers)),
               f"0.25^num_layers is the bound for sigmoids, not the gradient {where}: compute the real derivative with autograd.")
        for wrong_layers in (num_layers - 1, num_layers + 1):
            expect(not same(_chain_gradient(activation, z, wrong_layers)),
                   f"you applied the activation {wrong_layers} times instead of {num_layers} {where}.")
        expect(not same(_autograd_derivative(activation, _chain_output(activation, z, num_layers - 1))),
               f"that is the slope of the last layer only {where}; differentiate the whole chain with respect to z.")
        error = (output - expected).abs().max().item()
        expect(False, f"chain_gradient differs from the chain rule by up to {error:.2e} {where}. Hint: h = z (with "
                      "requires_grad), apply the activation num_layers times, then `torch.autograd.grad(h.sum(), z)`.")
    return passed(f"through {num_layers} layers the gradient is the product of every layer's slope.")


def _chain_output(activation, z: torch.Tensor, num_layers: int) -> torch.Tensor:
    h = z.detach().clone()
    for _ in range(num_layers):
        h = activation(h)
    return h
