"""Checks for the exercises of ``module1_foundations/solutions/04_gradient_descent.ipynb``.

Every check builds fresh random inputs, computes the right answer itself (for the momentum and
Adam updates: by running ``torch.optim`` on the same gradients) and compares, so a hard-coded
answer does not pass; a wrong answer gets an explanation of what went wrong and a hint
(``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math

import torch

from utils.checks import answer_as_float64, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_sgd_step",
    "check_momentum_update",
    "check_bias_correction",
    "check_adam_update",
    "check_largest_stable_learning_rate",
]


# --- reference answers ------------------------------------------------------------------------

def _sgd_step(theta, inputs, targets, learning_rate):
    return theta - learning_rate * inputs.T @ (inputs @ theta - targets) / len(targets)


def _momentum_update(param, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return param - lr * velocity, velocity


def _bias_correction(running_mean, beta, step):
    return running_mean / (1 - beta ** step)


def _adam_update(param, grad, m, v, step, lr, beta1, beta2, eps, *, correct_m=True, correct_v=True,
                 eps_inside=False):
    """Adam's update; the keyword switches build the typical wrong answers for the hints."""
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** step) if correct_m else m
    v_hat = v / (1 - beta2 ** step) if correct_v else v
    denominator = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
    return param - lr * m_hat / denominator, m, v


# --- helpers -----------------------------------------------------------------------------------

def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def _to_tensor(value, what: str) -> torch.Tensor:
    """Like ``answer_as_float64``, and a complex result with a zero imaginary part is accepted."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_complex():
            expect(bool((value.imag.abs() <= 1e-9 * value.real.abs().clamp_min(1.0)).all()),
                   f"{what} is a complex number with a non-zero imaginary part: {value}.")
            value = value.real
    return answer_as_float64(value, what)


def _close(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    actual, expected = actual.to(torch.float64), expected.to(torch.float64)
    return actual.shape == expected.shape and bool(torch.isfinite(actual).all()) and torch.allclose(
        actual, expected, rtol=rtol, atol=atol)


def _tensor_result(result, shape: tuple, what: str) -> torch.Tensor:
    expect(isinstance(result, torch.Tensor), f"{what} should be a tensor, got {type(result).__name__}.")
    expect(tuple(result.shape) == shape, f"{what} should have shape {shape} (the shape of the parameters), "
                                         f"got {tuple(result.shape)}.")
    return result.detach().cpu().to(torch.float64)


def _pair_or_triple(result, size: int, names: str) -> tuple:
    expect(isinstance(result, (tuple, list)) and len(result) == size,
           f"return {size} things, `return {names}`; got {type(result).__name__}"
           + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "") + ".")
    return tuple(result)


# --- exercise 1: one SGD step ------------------------------------------------------------------

def check_sgd_step(sgd_step) -> bool:
    """``sgd_step(theta [d], batch_inputs [B, d], batch_targets [B], learning_rate)`` returns the
    new θ after one gradient step on the loss ½·mean((X θ − y)²) over the batch."""
    generator = fresh_generator()
    num_parameters = 5
    for batch_size in (1, 7, 32):
        theta = torch.randn(num_parameters, generator=generator)
        inputs = torch.randn(batch_size, num_parameters, generator=generator)
        targets = torch.randn(batch_size, generator=generator)
        learning_rate = _uniform(generator, 0.05, 0.5)
        result = call_answer(sgd_step, theta.clone(), inputs.clone(), targets.clone(), learning_rate, what="sgd_step")
        new_theta = _tensor_result(result, (num_parameters,), "sgd_step's result (the new θ)")
        t, x, y = theta.double(), inputs.double(), targets.double()
        expected = _sgd_step(t, x, y, learning_rate)
        if _close(new_theta, expected):
            continue
        gradient = x.T @ (x @ t - y) / batch_size
        where = f"(batch of {batch_size}, learning rate {learning_rate:.3f})"
        expect(not _close(new_theta, gradient), f"you returned the gradient {where}; return the new parameters θ − η·gradient.")
        expect(not _close(new_theta, t + learning_rate * gradient),
               f"the step went uphill {where}: subtract the gradient, θ − η·∇L (the residual is prediction minus target).")
        expect(not _close(new_theta, t - gradient),
               f"the learning rate is missing {where}: multiply the gradient by learning_rate before subtracting it.")
        expect(not _close(new_theta, t - learning_rate * batch_size * gradient),
               f"the gradient is {batch_size} times too large {where}: you summed over the batch. Average instead: "
               "divide by the number of examples, len(batch_targets).")
        expect(not _close(new_theta, t - 2 * learning_rate * gradient),
               f"the step is twice too large {where}: the loss has a ½ in front, which cancels the 2 from "
               "differentiating the square. The gradient is Xᵀ(Xθ − y) / B.")
        expect(not _close(new_theta, t - learning_rate * x.T @ (x @ t - y) / num_parameters),
               f"divide by the number of examples (rows of batch_inputs), not the number of parameters {where}.")
        expect(False, f"the new θ is wrong {where}: expected {[round(v, 4) for v in expected.tolist()]}, got "
                      f"{[round(v, 4) for v in new_theta.tolist()]}. Hint: gradient = batch_inputs.T @ "
                      "(batch_inputs @ theta − batch_targets) / len(batch_targets), then θ − η·gradient.")
    return passed("one mini-batch gradient step: average the per-example gradients, step against them.")


# --- exercise 2: the momentum update -----------------------------------------------------------

def check_momentum_update(momentum_update) -> bool:
    """``momentum_update(param, grad, velocity, lr, momentum)`` returns ``(new_param, new_velocity)``
    in PyTorch's convention: v ← μ v + g, then θ ← θ − η v."""
    generator = fresh_generator()
    lr, momentum = _uniform(generator, 0.01, 0.2), _uniform(generator, 0.5, 0.95)
    shape = (4,)
    param, grad, velocity = (torch.randn(shape, generator=generator) for _ in range(3))
    result = call_answer(momentum_update, param.clone(), grad.clone(), velocity.clone(), lr, momentum, what="momentum_update")
    new_param, new_velocity = _pair_or_triple(result, 2, "new_param, new_velocity")
    new_param = _tensor_result(new_param, shape, "new_param")
    new_velocity = _tensor_result(new_velocity, shape, "new_velocity")
    p, g, v = param.double(), grad.double(), velocity.double()
    want_param, want_velocity = _momentum_update(p, g, v, lr, momentum)
    where = f"(one step from a non-zero velocity, lr = {lr:.3f}, momentum = {momentum:.3f})"
    if not (_close(new_param, want_param) and _close(new_velocity, want_velocity)):
        expect(not (_close(new_param, want_velocity) and _close(new_velocity, want_param)),
               "the two results are swapped: return `new_param, new_velocity`, in that order.")
        expect(not _close(new_velocity, momentum * v - lr * g),
               f"that is the textbook convention, v ← μv − ηg and θ ← θ + v {where}. PyTorch keeps the learning rate "
               "out of the velocity: v ← μv + g, then θ ← θ − ηv.")
        expect(not _close(new_velocity, momentum * v + (1 - momentum) * g),
               f"that is the averaging form v ← μv + (1 − μ)g {where}. PyTorch's velocity is a plain decaying sum: "
               "v ← μv + g.")
        expect(not _close(new_velocity, lr * v + g),
               f"the velocity was scaled by the learning rate instead of the momentum {where}: v ← μv + g.")
        expect(_close(new_velocity, want_velocity),
               f"new_velocity is wrong {where}: it should be momentum * velocity + grad.")
        expect(not _close(new_param, p - lr * v),
               f"the parameters moved with the old velocity {where}: update the velocity first, then step with the new one.")
        expect(not _close(new_param, p - want_velocity),
               f"the learning rate is missing from the parameter step {where}: θ ← θ − η·v.")
        expect(not _close(new_param, p + lr * want_velocity), f"the parameters moved the wrong way {where}: θ ← θ − η·v.")
        expect(False, f"new_param is wrong {where}: it should be param − lr * new_velocity.")

    # Many steps from a zero velocity, against torch.optim.SGD on the same gradients.
    param = torch.randn(3, 2, generator=generator)
    reference = param.clone().requires_grad_()
    torch_optimizer = torch.optim.SGD([reference], lr=lr, momentum=momentum)
    velocity = torch.zeros_like(param)
    for step in range(1, 26):
        grad = torch.randn(3, 2, generator=generator)
        result = call_answer(momentum_update, param, grad.clone(), velocity, lr, momentum, what="momentum_update")
        param, velocity = _pair_or_triple(result, 2, "new_param, new_velocity")
        reference.grad = grad
        torch_optimizer.step()
        mine = _tensor_result(param, (3, 2), "new_param")
        expect(_close(mine, reference.detach().double()),
               f"after {step} steps your parameters differ from torch.optim.SGD(momentum={momentum:.3f}) by up to "
               f"{(mine - reference.detach().double()).abs().max().item():.2e}. Does your function use the velocity "
               "it is given (and return the new one), so that it carries from step to step?")
    return passed("v ← μv + g, θ ← θ − ηv: the same parameters as torch.optim.SGD(momentum=…) at every step.")


# --- exercise 3: bias correction ---------------------------------------------------------------

def check_bias_correction(bias_correction) -> bool:
    """``bias_correction(running_mean, beta, step)`` returns running_mean / (1 − beta**step)
    (step counts from 1): the running mean of a constant series comes back as that constant."""
    generator = fresh_generator()
    for beta in (0.9, 0.999, _uniform(generator, 0.5, 0.99)):
        constant = torch.randn(3, generator=generator)
        running_mean = torch.zeros(3)
        for step in range(1, 41):
            running_mean = beta * running_mean + (1 - beta) * constant
            if step not in (1, 2, 5, 40):
                continue
            result = call_answer(bias_correction, running_mean.clone(), beta, step, what="bias_correction")
            corrected = _to_tensor(result, "bias_correction's result")
            expect(tuple(corrected.shape) == (3,), "bias_correction should return a tensor with the shape of "
                                                   f"running_mean, (3,), got {tuple(corrected.shape)}.")
            m = running_mean.double()
            if _close(corrected, _bias_correction(m, beta, step)):
                continue
            where = f"(beta = {beta:.3f}, step {step})"
            expect(not _close(corrected, m * (1 - beta ** step)),
                   f"you multiplied by 1 − β^t {where}; divide by it: the running mean is too small and must grow.")
            expect(not _close(corrected, m / (1 - beta)),
                   f"1 − β is the correction for step 1 only {where}; use 1 − beta ** step.")
            expect(not _close(corrected, m / (1 - beta * step)),
                   f"β is raised to the power t, not multiplied by it {where}: 1 − beta ** step.")
            expect(not (_close(corrected, _bias_correction(m, beta, step + 1))
                        or (step > 1 and _close(corrected, _bias_correction(m, beta, step - 1)))),
                   f"off by one step {where}: use the step number as given (it counts from 1, the first update).")
            expect(False, f"for a running mean of a constant {[round(c, 3) for c in constant.tolist()]} the "
                          f"corrected value should be that constant {where}, got "
                          f"{[round(c, 3) for c in corrected.reshape(-1).tolist()]}. Hint: running_mean / (1 − beta ** step).")
    return passed("dividing by 1 − β^t turns the running mean of a constant back into the constant, from the first step on.")


# --- exercise 4: Adam --------------------------------------------------------------------------

def check_adam_update(adam_update) -> bool:
    """``adam_update(param, grad, m, v, step, lr, beta1, beta2, eps)`` returns ``(new_param, new_m, new_v)``:
    one step of Adam with bias correction; ``step`` counts from 1."""
    generator = fresh_generator()
    lr = _uniform(generator, 0.01, 0.1)
    beta1, beta2, eps = _uniform(generator, 0.8, 0.95), _uniform(generator, 0.99, 0.9995), 1e-8
    cases = {
        # the first step from zero state; the tiny gradient makes the place of ε matter
        "the first step": (torch.tensor([1e-9, -1e-3, 0.5, -3.0, 1e3]), torch.zeros(5), torch.zeros(5), 1),
        "step 7 from a non-zero state": (torch.randn(5, generator=generator), 0.1 * torch.randn(5, generator=generator),
                                         0.05 * torch.rand(5, generator=generator), 7),
    }
    for case, (grad, m, v, step) in cases.items():
        param = torch.randn(5, generator=generator)
        result = call_answer(adam_update, param.clone(), grad.clone(), m.clone(), v.clone(), step, lr, beta1, beta2, eps,
                       what="adam_update")
        new_param, new_m, new_v = _pair_or_triple(result, 3, "new_param, new_m, new_v")
        new_param = _tensor_result(new_param, (5,), "new_param")
        new_m, new_v = _tensor_result(new_m, (5,), "new_m"), _tensor_result(new_v, (5,), "new_v")
        args = (param.double(), grad.double(), m.double(), v.double(), step, lr, beta1, beta2, eps)
        want_param, want_m, want_v = _adam_update(*args)
        where = f"({case}, lr = {lr:.3f}, beta1 = {beta1:.3f}, beta2 = {beta2:.4f})"
        if _close(new_param, want_param) and _close(new_m, want_m) and _close(new_v, want_v):
            continue
        p, g, m0, v0 = args[:4]
        expect(not _close(new_m, (1 - beta1) * m0 + beta1 * g),
               f"the weights of the running mean are swapped {where}: m ← β₁m + (1 − β₁)g (mostly the old m).")
        expect(not _close(new_v, beta2 * v0 + (1 - beta2) * g),
               f"the second moment averages the *squared* gradient {where}: v ← β₂v + (1 − β₂)g².")
        expect(not _close(new_m, want_m / (1 - beta1 ** step)),
               f"new_m holds the bias-corrected value {where}. Keep the plain running means m and v as the state, "
               "and use the corrected m̂ and v̂ only for the step.")
        expect(_close(new_m, want_m), f"new_m is wrong {where}: m ← beta1 * m + (1 − beta1) * grad.")
        expect(_close(new_v, want_v), f"new_v is wrong {where}: v ← beta2 * v + (1 − beta2) * grad².")
        expect(torch.isfinite(new_param).all().item(),
               f"new_param has inf or nan {where}. Is 1 − β^t zero (the step counts from 1), or is v negative?")
        hints = [
            ({"correct_m": False, "correct_v": False}, "the bias correction is missing: divide m by 1 − β₁^t and v by "
                                                       "1 − β₂^t before the step."),
            ({"correct_m": False}, "m is not bias-corrected: m̂ = m / (1 − β₁^t)."),
            ({"correct_v": False}, "v is not bias-corrected: v̂ = v / (1 − β₂^t)."),
            ({"eps_inside": True}, "ε goes outside the square root: m̂ / (√v̂ + ε), not m̂ / √(v̂ + ε)."),
        ]
        for switches, hint in hints:
            wrong_param = _adam_update(*args, **switches)[0]
            expect(not _close(new_param, wrong_param), f"{hint} {where}")
        expect(not _close(new_param, 2 * p - want_param), f"the parameters moved the wrong way {where}: θ ← θ − η m̂ / (√v̂ + ε).")
        for other_step in (step - 1, step + 1):
            if other_step >= 1:
                expect(not _close(new_param, _adam_update(p, g, m0, v0, other_step, lr, beta1, beta2, eps)[0]),
                       f"the bias correction is off by one step {where}: use the step number as given.")
        expect(False, f"new_param is wrong {where}: expected {[round(x, 5) for x in want_param.tolist()]}, got "
                      f"{[round(x, 5) for x in new_param.tolist()]}. Hint: θ − lr · m̂ / (√v̂ + eps).")

    # Many steps from zero state, against torch.optim.Adam on the same gradients.
    param = torch.randn(3, 2, generator=generator)
    reference = param.clone().requires_grad_()
    torch_optimizer = torch.optim.Adam([reference], lr=lr, betas=(beta1, beta2), eps=eps)
    m, v = torch.zeros_like(param), torch.zeros_like(param)
    for step in range(1, 31):
        grad = torch.randn(3, 2, generator=generator)
        result = call_answer(adam_update, param, grad.clone(), m, v, step, lr, beta1, beta2, eps, what="adam_update")
        param, m, v = _pair_or_triple(result, 3, "new_param, new_m, new_v")
        reference.grad = grad
        torch_optimizer.step()
        mine = _tensor_result(param, (3, 2), "new_param")
        expect(_close(mine, reference.detach().double()),
               f"after {step} steps your parameters differ from torch.optim.Adam by up to "
               f"{(mine - reference.detach().double()).abs().max().item():.2e}. Does your function use the m, v and "
               "step it is given, and return the new m and v?")
    return passed("m, v, their bias corrections and the step: the same parameters as torch.optim.Adam at every step.")


# --- exercise 5: the largest stable learning rate ----------------------------------------------

def _random_hessian(generator: torch.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random symmetric positive-definite matrix, not diagonal, with eigenvalues spread over 10⁻² … 10."""
    rotation, _ = torch.linalg.qr(torch.randn(size, size, generator=generator, dtype=torch.float64))
    eigenvalues = 10 ** (torch.rand(size, generator=generator, dtype=torch.float64) * 3 - 2)
    eigenvalues[0], eigenvalues[-1] = 0.01 + 0.01 * eigenvalues[0], 5 + eigenvalues[-1]  # a clear spread
    hessian = rotation @ torch.diag(eigenvalues) @ rotation.T
    return (hessian + hessian.T) / 2, eigenvalues


def check_largest_stable_learning_rate(largest_stable_learning_rate) -> bool:
    """``largest_stable_learning_rate(hessian)`` returns 2 / λ_max, the learning rate above which
    gradient descent on the quadratic ½ θᵀHθ diverges (H symmetric positive definite)."""
    generator = fresh_generator()
    for size in (2, 5, 8):
        hessian, eigenvalues = _random_hessian(generator, size)
        result = call_answer(largest_stable_learning_rate, hessian.clone().float(), what="largest_stable_learning_rate")
        value = _to_tensor(result, "the learning rate")
        expect(value.numel() == 1, f"return one number (a learning rate), got shape {tuple(value.shape)}.")
        value = value.item()
        lambda_max, lambda_min = eigenvalues.max().item(), eigenvalues.min().item()
        expected = 2 / lambda_max
        if math.isclose(value, expected, rel_tol=1e-3):
            continue
        where = f"(for a {size}×{size} Hessian with λ_max = {lambda_max:.3f}, λ_min = {lambda_min:.4f})"
        wrong_answers = {
            1 / lambda_max: "1/λ_max lands exactly on the minimum along the steepest direction, but gradient descent "
                            "still converges up to twice that: the limit is 2/λ_max.",
            2 / lambda_min: "the smallest eigenvalue sets the *speed*; the *limit* comes from the largest: 2/λ_max.",
            1 / lambda_min: "use the largest eigenvalue, and 2 rather than 1: 2/λ_max.",
            lambda_max: "you returned λ_max itself; the learning rate limit is 2/λ_max.",
            2 * lambda_max: "it is 2 divided by λ_max, not 2 times it.",
            2 / torch.diagonal(hessian).max().item(): "the diagonal entries are not the eigenvalues (unless H is "
                                                      "diagonal): use torch.linalg.eigvalsh(hessian).",
            2 / torch.trace(hessian).item(): "the trace is the sum of all the eigenvalues; you need the largest one alone.",
        }
        for wrong, hint in wrong_answers.items():
            expect(not math.isclose(value, wrong, rel_tol=1e-3), f"{hint} {where}")
        expect(False, f"the largest stable learning rate should be {expected:.4f}, got {value:.4f} {where}. "
                      "Hint: 2 / torch.linalg.eigvalsh(hessian).max().")
    return passed("η < 2/λ_max: the steepest direction sets the limit.")
