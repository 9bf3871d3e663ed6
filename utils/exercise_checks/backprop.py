"""Checks for the exercises of ``module1_foundations/solutions/03_mlp_forward_backprop.ipynb``.

Every check builds fresh random inputs, computes the right answer itself (with PyTorch's autograd
where a gradient is asked for) and compares, so a hard-coded answer does not pass; a wrong answer
gets an explanation of what went wrong and a hint (``utils.checks.ExerciseError``). The inputs are
float64 on the CPU, so that a right answer matches to many digits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from utils.checks import (
    answer_as_float64,
    call_answer,
    expect,
    fresh_generator,
    gradient_check,
    passed,
    relative_error,
)

__all__ = [
    "check_count_parameters",
    "check_linear_forward",
    "check_softmax_cross_entropy_grad",
    "check_linear_backward",
    "check_one_hidden_layer_gradients",
    "check_central_difference",
    "check_your_gradient",
]

#: How close a gradient must be to autograd's (relative error, float64).
GRADIENT_TOLERANCE = 1e-6


# --- helpers -----------------------------------------------------------------------------------

def _call_explained(function, *args, what: str, hint: str = ""):
    """Like call_answer, and a crash (say, a shape mismatch) is explained instead of a long traceback."""
    return call_answer(function, *args, what=what, hint=hint, explain_crashes=True)


def _randn(*shape, generator) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def _expect_shape(value: torch.Tensor, shape: tuple, what: str, hint: str = "") -> None:
    expect(tuple(value.shape) == tuple(shape),
           f"{what} should have shape {tuple(shape)}, got {tuple(value.shape)}." + (f" Hint: {hint}" if hint else ""))


def _close(value: torch.Tensor, reference: torch.Tensor, tolerance: float = GRADIENT_TOLERANCE) -> bool:
    return tuple(value.shape) == tuple(reference.shape) and relative_error(value, reference) <= tolerance


def _labels(num_examples: int, num_classes: int, generator) -> torch.Tensor:
    """Random class labels that use every class at least once (so no class's gradient is trivially zero)."""
    labels = torch.randint(0, num_classes, (num_examples,), generator=generator)
    labels[:num_classes] = torch.arange(num_classes)
    return labels[torch.randperm(num_examples, generator=generator)]


def _autograd(loss_of, *tensors):
    """The gradients of ``loss_of(*tensors)`` with respect to every tensor, by autograd."""
    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    loss_of(*leaves).backward()
    return [leaf.grad for leaf in leaves]


# --- exercise 1: counting parameters -----------------------------------------------------------

def _count_parameters(layer_sizes) -> int:
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]))


def check_count_parameters(count_parameters) -> bool:
    """``count_parameters(layer_sizes)`` is the number of weights and biases of a fully connected
    MLP with these layer widths (input first, output last), as PyTorch's ``nn.Linear`` layers count them."""
    generator = fresh_generator()
    cases = [[2, 16, 16, 2], [784, 128, 10]]
    for _ in range(4):
        depth = int(torch.randint(2, 6, (), generator=generator))
        cases.append(torch.randint(1, 60, (depth,), generator=generator).tolist())
    for layer_sizes in cases:
        answer = _call_explained(count_parameters, list(layer_sizes), what="count_parameters")
        expect(isinstance(answer, int) or (isinstance(answer, torch.Tensor) and answer.numel() == 1),
               f"count_parameters should return a whole number (an int), got {type(answer).__name__}: {answer!r}")
        answer = int(answer)
        layers = [nn.Linear(fan_in, fan_out) for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:])]
        expected = sum(p.numel() for layer in layers for p in layer.parameters())
        if answer == expected:
            continue
        pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
        where = f"for layer_sizes = {layer_sizes} the network has {expected:,} parameters, you said {answer:,}"
        expect(answer != sum(i * o for i, o in pairs),
               f"{where}: the biases are missing. Each layer has a weight matrix [fan_in, fan_out] AND a bias "
               "vector [fan_out].")
        expect(answer != sum(i * (o + 1) for i, o in pairs),
               f"{where}: a layer has one bias per output unit (fan_out of them), not one per input.")
        expect(answer != sum(i * o + i + o for i, o in pairs),
               f"{where}: count each layer's bias once, for its outputs only: (fan_in + 1) × fan_out.")
        expect(answer != sum(layer_sizes), f"{where}: you counted units (neurons), not the weights that connect them.")
        expect(answer != sum(i * o for i, o in pairs[:-1]) + sum(o for _, o in pairs[:-1]),
               f"{where}: did you leave out the output layer? It has weights and biases too.")
        expect(False, f"{where}. Hint: a layer from fan_in to fan_out units has fan_in × fan_out weights plus "
                      "fan_out biases; add that up over consecutive pairs of layer_sizes.")
    return passed("a layer from fan_in to fan_out units has (fan_in + 1) × fan_out parameters.")


# --- exercise 2: one layer, forward ------------------------------------------------------------

def check_linear_forward(linear_forward) -> bool:
    """``linear_forward(X [N, fan_in], W [fan_in, fan_out], b [fan_out])`` returns ``X @ W + b``, [N, fan_out]."""
    generator = fresh_generator()
    num_examples, fan_in, fan_out = 7, 3, 5  # all different, so that a transposed matrix cannot go unnoticed
    X, W, b = _randn(num_examples, fan_in, generator=generator), _randn(fan_in, fan_out, generator=generator), \
        _randn(fan_out, generator=generator)
    output = _call_explained(linear_forward, X.clone(), W.clone(), b.clone(), what="linear_forward",
                   hint=f"X is [N, fan_in] = {tuple(X.shape)} and W is [fan_in, fan_out] = {tuple(W.shape)}, "
                        "so `X @ W` is [N, fan_out]: one row per example, one column per unit.")
    output = answer_as_float64(output, "the output of linear_forward")
    _expect_shape(output, (num_examples, fan_out), f"for X of shape {tuple(X.shape)} and W of shape {tuple(W.shape)}, "
                  "the output", "`X @ W + b`: one row per example, one column per output unit.")
    expected = X @ W + b
    if _close(output, expected):
        return passed(f"X {tuple(X.shape)} @ W {tuple(W.shape)} + b {tuple(b.shape)} → Z {tuple(expected.shape)}: "
                      "one matrix product does the whole batch.")
    expect(not torch.allclose(output, X @ W), "the bias is missing: `X @ W + b` (b is added to every row by broadcasting).")
    expect(not torch.allclose(output, X @ W - b), "the bias should be added, not subtracted.")
    expect(not torch.allclose(output, torch.tanh(expected)),
           "linear_forward is the affine part only; the activation (tanh) is applied afterwards, as a separate step.")
    expect(False, "linear_forward gives the right shape but wrong numbers. It should be `X @ W + b`.")
    raise AssertionError("unreachable")


# --- exercise 3: the gradient of softmax + cross-entropy ---------------------------------------

def check_softmax_cross_entropy_grad(softmax_cross_entropy_grad) -> bool:
    """``softmax_cross_entropy_grad(logits [N, C], labels [N])`` is the gradient of the MEAN
    cross-entropy ``F.cross_entropy(logits, labels)`` with respect to the logits: (P − Y) / N."""
    generator = fresh_generator()
    num_examples, num_classes = 8, 3
    logits = 2 * _randn(num_examples, num_classes, generator=generator)
    labels = _labels(num_examples, num_classes, generator)
    output = _call_explained(softmax_cross_entropy_grad, logits.clone(), labels.clone(), what="softmax_cross_entropy_grad",
                   hint="labels are class numbers; `F.one_hot(labels, num_classes)` turns them into the one-hot matrix Y.")
    output = answer_as_float64(output, "the gradient")
    _expect_shape(output, tuple(logits.shape), "the gradient of the loss with respect to the logits",
                  "a gradient always has the shape of the thing it is the gradient of: here [N, C].")
    (expected,) = _autograd(lambda z: F.cross_entropy(z, labels), logits)
    if _close(output, expected):
        return passed("∂L/∂Z = (P − Y) / N: the predicted probabilities minus the one-hot labels, averaged.")
    probabilities, one_hot = torch.softmax(logits, dim=1), F.one_hot(labels, num_classes).double()
    wrong_answers = {
        "the loss is the MEAN over the N examples, so its gradient has a factor 1/N: divide (P − Y) by N.":
            probabilities - one_hot,
        "the sign is flipped: the gradient is P − Y (probabilities minus targets), not Y − P.":
            (one_hot - probabilities) / num_examples,
        "apply the softmax first: the gradient is softmax(Z) − Y, not Z − Y.": (logits - one_hot) / num_examples,
        "subtract the one-hot labels Y: the gradient is (P − Y) / N, not P / N.": probabilities / num_examples,
        "divide by the number of examples N (the rows), not the number of classes C.":
            (probabilities - one_hot) / num_classes,
        "the softmax is taken over the classes of each example (dim=1, along a row), not over the examples.":
            (torch.softmax(logits, dim=0) - one_hot) / num_examples,
    }
    for hint, wrong in wrong_answers.items():
        expect(not torch.allclose(output, wrong), hint)
    expect(False, f"the gradient is off (relative error {relative_error(output, expected):.2e} against autograd). "
                  "Hint: P = softmax(logits) row by row, Y = one-hot labels, gradient = (P − Y) / N.")
    raise AssertionError("unreachable")


# --- exercise 4: one layer, backward -----------------------------------------------------------

def check_linear_backward(linear_backward) -> bool:
    """``linear_backward(grad_Z [N, fan_out], X [N, fan_in], W [fan_in, fan_out])`` returns
    ``(grad_X, grad_W, grad_b)`` for Z = X @ W + b: (grad_Z @ W.T, X.T @ grad_Z, grad_Z summed over rows)."""
    generator = fresh_generator()
    num_examples, fan_in, fan_out = 6, 4, 3
    X, W, b = _randn(num_examples, fan_in, generator=generator), _randn(fan_in, fan_out, generator=generator), \
        _randn(fan_out, generator=generator)
    grad_Z = _randn(num_examples, fan_out, generator=generator)
    result = _call_explained(linear_backward, grad_Z.clone(), X.clone(), W.clone(), what="linear_backward",
                   hint=f"match the shapes: grad_Z is [N, fan_out] = {tuple(grad_Z.shape)}, X is [N, fan_in] = "
                        f"{tuple(X.shape)}, W is [fan_in, fan_out] = {tuple(W.shape)}; transpose one of them so "
                        "the inner sizes agree.")
    expect(isinstance(result, (tuple, list)) and len(result) == 3,
           "linear_backward should return three things, in this order: `return grad_X, grad_W, grad_b`.")
    grad_X, grad_W, grad_b = (answer_as_float64(value, name) for value, name in zip(result, ("grad_X", "grad_W", "grad_b")))
    shapes = {"grad_X": tuple(X.shape), "grad_W": tuple(W.shape), "grad_b": tuple(b.shape)}
    got_shapes = [tuple(grad_X.shape), tuple(grad_W.shape), tuple(grad_b.shape)]
    expect(sorted(got_shapes) != sorted(shapes.values()) or got_shapes == list(shapes.values()),
           f"the three gradients come back in the wrong order (shapes {got_shapes}): return grad_X, grad_W, grad_b.")
    _expect_shape(grad_X, shapes["grad_X"], "grad_X (the gradient for the layer's input)", "grad_X = grad_Z @ W.T.")
    _expect_shape(grad_W, shapes["grad_W"], "grad_W (the gradient for the weights)", "grad_W = X.T @ grad_Z.")
    _expect_shape(grad_b, shapes["grad_b"], "grad_b (the gradient for the bias)",
                  "grad_b has one number per output unit: sum grad_Z over the examples, `grad_Z.sum(dim=0)`.")
    want_X, want_W, want_b = _autograd(lambda x, w, bias: (grad_Z * (x @ w + bias)).sum(), X, W, b)
    if _close(grad_W, want_W) and _close(grad_b, want_b) and _close(grad_X, want_X):
        return passed("grad_X = grad_Z Wᵀ, grad_W = Xᵀ grad_Z, grad_b = the column sums of grad_Z.")
    expect(not torch.allclose(grad_b, grad_Z.mean(dim=0)),
           "grad_b should be the SUM of grad_Z over the examples, not the mean: the bias is added to every row, so "
           "every row's gradient flows into it. (Any 1/N is already inside grad_Z.)")
    expect(not torch.allclose(grad_W, X.T @ grad_Z / num_examples),
           "grad_W should be X.T @ grad_Z, without dividing by N: any 1/N is already inside grad_Z.")
    expect(_close(grad_W, want_W), "grad_W is wrong. Hint: ∂L/∂W[i, j] = Σ_n X[n, i] · grad_Z[n, j], that is X.T @ grad_Z.")
    expect(_close(grad_b, want_b), "grad_b is wrong. Hint: ∂L/∂b[j] = Σ_n grad_Z[n, j], that is grad_Z.sum(dim=0).")
    expect(False, "grad_X is wrong. Hint: ∂L/∂X[n, i] = Σ_j grad_Z[n, j] · W[i, j], that is grad_Z @ W.T.")
    raise AssertionError("unreachable")


# --- exercise 5: backprop through a network with one hidden layer ------------------------------

def check_one_hidden_layer_gradients(one_hidden_layer_gradients) -> bool:
    """``one_hidden_layer_gradients(X, labels, W1, b1, W2, b2)`` returns ``(grad_W1, grad_b1, grad_W2, grad_b2)``,
    the gradients of ``F.cross_entropy(tanh(X @ W1 + b1) @ W2 + b2, labels)``."""
    generator = fresh_generator()
    num_examples, num_inputs, num_hidden, num_classes = 10, 3, 5, 4
    X = _randn(num_examples, num_inputs, generator=generator)
    labels = _labels(num_examples, num_classes, generator)
    W1, b1 = _randn(num_inputs, num_hidden, generator=generator), 0.5 * _randn(num_hidden, generator=generator)
    W2, b2 = _randn(num_hidden, num_classes, generator=generator), 0.5 * _randn(num_classes, generator=generator)
    parameters = (W1, b1, W2, b2)
    names = ("grad_W1", "grad_b1", "grad_W2", "grad_b2")
    result = _call_explained(one_hidden_layer_gradients, X.clone(), labels.clone(), *(p.clone() for p in parameters),
                   what="one_hidden_layer_gradients",
                   hint="print the shape of every tensor as you go: each gradient has the shape of its variable.")
    expect(isinstance(result, (tuple, list)) and len(result) == 4,
           "one_hidden_layer_gradients should return four gradients, in this order: "
           "`return grad_W1, grad_b1, grad_W2, grad_b2`.")
    grads = [answer_as_float64(value, name) for value, name in zip(result, names)]
    for grad, parameter, name in zip(grads, parameters, names):
        _expect_shape(grad, tuple(parameter.shape), name, f"{name} has the shape of {name[5:]}.")

    def loss_of(w1, c1, w2, c2):
        return F.cross_entropy(torch.tanh(X @ w1 + c1) @ w2 + c2, labels)

    expected = _autograd(loss_of, *parameters)
    wrong = [name for grad, want, name in zip(grads, expected, names) if not _close(grad, want)]
    if not wrong:
        return passed("your hand-written backward pass matches autograd on every weight and bias.")
    # diagnose the usual slips by building the gradients they would produce
    hidden = torch.tanh(X @ W1 + b1)
    delta_out = (torch.softmax(hidden @ W2 + b2, dim=1) - F.one_hot(labels, num_classes).double()) / num_examples
    grad_hidden = delta_out @ W2.T
    no_tanh_derivative = (X.T @ grad_hidden, grad_hidden.sum(0))
    derivative_of_z = (X.T @ (grad_hidden * (1 - (X @ W1 + b1) ** 2)), (grad_hidden * (1 - (X @ W1 + b1) ** 2)).sum(0))
    expect(not all(torch.allclose(grad, num_examples * want) for grad, want in zip(grads, expected)),
           "every gradient is N times too large: the loss is the mean over the examples, so δ = (P − Y) / N.")
    if set(wrong) <= {"grad_W1", "grad_b1"}:
        expect(not torch.allclose(grads[0], no_tanh_derivative[0]),
               "grad_W1 and grad_b1 forget the tanh: going back through A = tanh(Z) multiplies by tanh'(Z) = 1 − A², "
               "element by element: grad_Z1 = grad_A1 * (1 - A1**2).")
        expect(not torch.allclose(grads[0], derivative_of_z[0]),
               "tanh'(Z) is 1 − tanh(Z)² = 1 − A², computed from the layer's OUTPUT A, not 1 − Z².")
        expect(False, f"the output layer's gradients are right, but {' and '.join(wrong)} are not "
                      f"(relative error {max(relative_error(g, w) for g, w in zip(grads[:2], expected[:2])):.2e}). "
                      "Hint: grad_A1 = δ2 @ W2.T, δ1 = grad_A1 * (1 − A1²), then linear_backward(δ1, X, W1).")
    expect(False, f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} off against autograd. Start at the "
                  "output: δ2 = (P − Y) / N; then grad_W2 = A1.T @ δ2 and grad_b2 = δ2.sum(0), with A1 = "
                  "tanh(X @ W1 + b1) from the forward pass.")
    raise AssertionError("unreachable")


# --- exercise 6: a numerical gradient ----------------------------------------------------------

def _central_difference(f, x: torch.Tensor, eps: float) -> torch.Tensor:
    x = x.detach().clone()
    grad = torch.zeros_like(x)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        original = flat_x[i].item()
        flat_x[i] = original + eps
        f_plus = float(f(x))
        flat_x[i] = original - eps
        f_minus = float(f(x))
        flat_x[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def _forward_difference(f, x: torch.Tensor, eps: float) -> torch.Tensor:
    x = x.detach().clone()
    grad, f_x = torch.zeros_like(x), float(f(x))
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        original = flat_x[i].item()
        flat_x[i] = original + eps
        flat_grad[i] = (float(f(x)) - f_x) / eps
        flat_x[i] = original
    return grad


def check_central_difference(central_difference) -> bool:
    """``central_difference(f, x, eps)`` returns, for every element x_i of ``x`` (any shape),
    (f(x + eps·e_i) − f(x − eps·e_i)) / (2·eps), as a tensor shaped like ``x``; ``x`` is left as it was."""
    generator = fresh_generator()
    frequency, weight = 0.5 + torch.rand(3, 4, generator=generator, dtype=torch.float64), _randn(3, 4, generator=generator)

    def f(x):  # a smooth function whose curvature is different in every coordinate
        return (weight * torch.sin(frequency * x)).sum() + (x ** 3).sum() / 6

    x = _randn(3, 4, generator=generator)
    x_before = x.clone()
    eps = 1e-2  # a large step, so that the central and the one-sided formulas differ clearly
    output = _call_explained(central_difference, f, x, eps, what="central_difference",
                   hint="x may have any shape: loop over `x.view(-1)` (or `x.flatten()` indices) to visit every element.")
    expect(torch.equal(x, x_before),
           "central_difference changed x: after nudging an element by ±eps, put its original value back "
           "(or work on a copy, `x = x.clone()`).")
    output = answer_as_float64(output, "the numerical gradient")
    _expect_shape(output, tuple(x.shape), f"for x of shape {tuple(x.shape)} the numerical gradient",
                  "one partial derivative per element of x: `grad = torch.zeros_like(x)`.")
    expected = _central_difference(f, x, eps)
    if _close(output, expected, 1e-9):
        return passed("the central difference (f(x + ε) − f(x − ε)) / 2ε, one coordinate at a time.")
    expect(not torch.allclose(output, _forward_difference(f, x, eps), rtol=1e-9, atol=1e-12),
           "that is the one-sided (forward) difference (f(x + ε) − f(x)) / ε. The central difference "
           "(f(x + ε) − f(x − ε)) / 2ε is far more accurate: its error shrinks like ε², not like ε.")
    expect(not torch.allclose(output, 2 * expected), "divide by 2·eps, the distance between x − eps and x + eps, not by eps.")
    expect(not torch.allclose(output, expected / eps), "divide by 2·eps once, not twice; did you divide by eps and then by 2·eps?")
    exact = _autograd(f, x)[0]
    expect(not torch.allclose(output, exact, rtol=1e-6),
           "use the step `eps` that was passed in: this answer matches a much smaller step, not the one asked for.")
    expect(False, f"some partial derivatives are off (relative error {relative_error(output, expected):.2e}). Hint: for "
                  "each element i, set x_i = original + eps, evaluate f, set x_i = original − eps, evaluate f, put the "
                  "original back, and store (f_plus − f_minus) / (2·eps).")
    raise AssertionError("unreachable")


# --- exercise 7: a gradient check of your own function ------------------------------------------

def check_your_gradient(my_function, my_gradient) -> bool:
    """``my_function(x)`` is a scalar function of a float64 vector ``x`` (defined for every real x, and not
    linear); ``my_gradient(x)`` is its hand-derived gradient. Checked against central differences at random points."""
    generator = fresh_generator()
    points = [_randn(6, generator=generator) for _ in range(3)]
    gradients = []
    for x in points:
        value = _call_explained(my_function, x.clone(), what="my_function")
        expect(isinstance(value, torch.Tensor) and value.numel() == 1,
               f"my_function should return a scalar tensor (one number), got "
               f"{tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__}. "
               "Hint: end with `.sum()` or another reduction.")
        expect(bool(torch.isfinite(value).all()),
               f"my_function returned {value.item()} at x = {[round(v, 3) for v in x.tolist()]}. Choose a function "
               "defined for every real x (e.g. avoid log(x) and sqrt(x) of negative numbers; log(1 + x**2) is fine).")
        grad = _call_explained(my_gradient, x.clone(), what="my_gradient")
        grad = answer_as_float64(grad, "my_gradient(x)")
        _expect_shape(grad, tuple(x.shape), f"for x of shape {tuple(x.shape)}, my_gradient(x)",
                      "one partial derivative per element of x.")
        gradients.append(grad)
    expect(not all(torch.allclose(g, gradients[0]) for g in gradients[1:]),
           "your gradient is the same at every x, so your function is linear (or constant), and a gradient check "
           "of it proves little. Pick one with curvature, e.g. `(x ** 3).sum()` or `torch.sin(x).prod()`.")
    for x, grad in zip(points, gradients):
        try:
            (error,) = gradient_check(lambda t: my_function(t), [x], [grad], eps=1e-6, tolerance=GRADIENT_TOLERANCE)
        except AssertionError:
            numeric = _central_difference(my_function, x, 1e-6)
            expect(False, f"at x = {[round(v, 3) for v in x.tolist()]} your gradient {[round(v, 4) for v in grad.tolist()]} "
                          f"differs from the numerical one {[round(v, 4) for v in numeric.tolist()]} (relative error "
                          f"{relative_error(grad, numeric):.2e}). Re-derive it: the usual slips are a missing "
                          "chain-rule factor (d/dx sin(ax) = a·cos(ax)) and a sign (d/dx cos x = −sin x).")
    return passed(f"your gradient matches central differences (relative error {error:.1e}) at 3 random points.")
