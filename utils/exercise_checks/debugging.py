"""Checks for the exercises of ``module1_foundations/solutions/06_debugging_neural_networks.ipynb``.

Every check builds fresh random inputs (small random models and batches, random curves),
computes the right answer itself and compares, so a hard-coded answer does not pass; a wrong
answer gets an explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from utils.checks import call_answer, expect, fresh_generator, passed

__all__ = [
    "check_expected_initial_loss",
    "check_can_overfit",
    "check_gradient_norms",
    "check_train_step",
    "check_suggest_lr",
]


# --- helpers -----------------------------------------------------------------------------------

def _as_float(value, what: str) -> float:
    if isinstance(value, torch.Tensor):
        expect(value.numel() == 1, f"{what} should be one number, got a tensor of shape {tuple(value.shape)}.")
        return float(value.item())
    expect(isinstance(value, (int, float)) and not isinstance(value, bool),
           f"{what} should be a number, got {type(value).__name__}: {value!r}")
    return float(value)


class _Detach(nn.Module):
    """A layer that passes its input on but cuts the graph: no gradient reaches the layers before it."""

    def forward(self, x):
        return x.detach()


def _random_mlp(generator: torch.Generator, sizes: list[int], *, softmax: bool = False,
                detach_after: int | None = None) -> nn.Sequential:
    """An MLP with the given layer sizes, tanh between layers, weights drawn from ``generator``.

    ``softmax`` appends a softmax (the classic bug); ``detach_after=k`` cuts the gradient after
    the k-th linear layer (1-based).
    """
    layers: list[nn.Module] = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        linear = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(fan_out, fan_in, generator=generator) / math.sqrt(fan_in))
            linear.bias.copy_(0.1 * torch.randn(fan_out, generator=generator))
        layers.append(linear)
        if k < len(sizes) - 1:
            layers.append(nn.Tanh())
        if detach_after == k:
            layers.append(_Detach())
    if softmax:
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


def _random_batch(generator: torch.Generator, num_examples: int, num_features: int, num_classes: int):
    inputs = torch.randn(num_examples, num_features, generator=generator)
    labels = torch.randint(num_classes, (num_examples,), generator=generator)
    return inputs, labels


# --- exercise 1: the loss at initialisation ----------------------------------------------------

def check_expected_initial_loss(expected_initial_loss) -> bool:
    """``expected_initial_loss(num_classes)`` returns ln C, the cross-entropy of a uniform guess."""
    generator = fresh_generator()
    class_counts = [2, 10, 3, 100] + torch.randint(4, 2000, (3,), generator=generator).tolist()
    for num_classes in class_counts:
        value = _as_float(call_answer(expected_initial_loss, num_classes, what="expected_initial_loss"),
                          "expected_initial_loss(num_classes)")
        expected = math.log(num_classes)
        if math.isclose(value, expected, rel_tol=1e-5):
            continue
        where = f"for {num_classes} classes you returned {value:.4f}, expected {expected:.4f}"
        expect(not math.isclose(value, math.log10(num_classes), rel_tol=1e-5),
               f"{where}. You used log base 10; cross-entropy uses the natural log: math.log(C).")
        expect(not math.isclose(value, math.log2(num_classes), rel_tol=1e-5),
               f"{where}. You used log base 2; cross-entropy uses the natural log: math.log(C).")
        expect(not math.isclose(value, -expected, rel_tol=1e-5),
               f"{where}. The sign is flipped: the loss is −ln(1/C) = +ln C, a positive number.")
        expect(not math.isclose(value, 1 / num_classes, rel_tol=1e-5),
               f"{where}. 1/C is the probability of each class; the loss is minus its log.")
        expect(False, f"{where}. Hint: every class gets probability 1/C, and the loss is −ln of the "
                      "probability of the right class.")
    # The formula agrees with PyTorch: a model that outputs equal logits has exactly this loss.
    logits, labels = torch.zeros(8, 10), torch.randint(10, (8,), generator=generator)
    assert math.isclose(F.cross_entropy(logits, labels).item(), math.log(10), rel_tol=1e-5)
    return passed("an untrained classifier should start at ln C: 0.693 for 2 classes, 2.303 for 10, 4.605 for 100.")


# --- exercise 2: the overfit-one-batch check ---------------------------------------------------

def check_can_overfit(can_overfit) -> bool:
    """``can_overfit(model, images, labels, steps=200, lr=1e-2, threshold=0.05)`` trains ``model``
    with Adam on that one batch and returns True (a Python bool) when the last loss is below
    ``threshold``. A healthy model passes; a model with a softmax before the loss does not."""
    generator = fresh_generator()
    num_classes, num_features = 5, 12
    inputs, labels = _random_batch(generator, 16, num_features, num_classes)
    cases = [
        ("a healthy MLP", _random_mlp(generator, [num_features, 32, num_classes]), True),
        ("an MLP with a softmax before the loss", _random_mlp(generator, [num_features, 32, num_classes], softmax=True), False),
    ]
    for name, model, should_pass in cases:
        before = [p.detach().clone() for p in model.parameters()]
        result = call_answer(can_overfit, model, inputs.clone(), labels.clone(), steps=200, lr=1e-2, threshold=0.05,
                       what="can_overfit")
        if isinstance(result, torch.Tensor) and result.numel() == 1 and result.dtype == torch.bool:
            expect(False, "can_overfit returned a tensor; return a Python bool: `return loss.item() < threshold` "
                          "(or `bool(...)`).")
        expect(isinstance(result, bool), f"can_overfit should return True or False, got {type(result).__name__}: {result!r}")
        trained = any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))
        expect(trained, f"the parameters of {name} did not change: train the model you were given (make an "
                        "Adam optimizer over model.parameters(), then zero_grad → forward → loss → backward → "
                        "step, `steps` times).")
        if should_pass:
            expect(result, f"{name} memorises 16 examples in 200 Adam steps (lr 0.01; its loss ends near 0.001), "
                           "but can_overfit returned False. Compare the loss after the *last* step with the threshold "
                           "(loss < threshold means it passed), and check the order zero_grad → forward → backward → step.")
        else:
            expect(not result, f"{name} cannot get its loss below ln(1 + 4/e) ≈ 0.90, yet can_overfit returned True. "
                               "Return True only when the last loss is below the threshold.")
    return passed("your check passes a healthy model and catches the softmax bug on a fresh random batch.")


# --- exercise 3: per-layer gradient norms ------------------------------------------------------

def _reference_gradient_norms(model: nn.Module) -> dict[str, float]:
    return {name: (p.grad.norm().item() if p.grad is not None else 0.0) for name, p in model.named_parameters()}


def check_gradient_norms(gradient_norms) -> bool:
    """``gradient_norms(model)`` returns ``{parameter name: L2 norm of its .grad}`` as Python floats,
    for every parameter of ``model.named_parameters()``; 0.0 where ``.grad`` is None."""
    generator = fresh_generator()
    num_classes, num_features = 4, 10
    inputs, labels = _random_batch(generator, 32, num_features, num_classes)
    sizes = [num_features, 24, 16, num_classes]
    cases = [("a 3-layer MLP", _random_mlp(generator, sizes)),
             ("an MLP with a .detach() after its first layer", _random_mlp(generator, sizes, detach_after=1))]
    for name, model in cases:
        F.cross_entropy(model(inputs), labels).backward()
        expected = _reference_gradient_norms(model)
        grads_before = {n: (None if p.grad is None else p.grad.clone()) for n, p in model.named_parameters()}
        try:
            result = call_answer(gradient_norms, model, what="gradient_norms")
        except (AttributeError, TypeError) as error:
            if any(p.grad is None for p in model.parameters()):
                expect(False, f"gradient_norms failed on {name} ({type(error).__name__}: {error}). Some parameters "
                              "have no gradient at all (`p.grad is None`): give them 0.0 instead of calling .norm().")
            raise
        expect(isinstance(result, dict), f"gradient_norms should return a dict {{name: norm}}, got {type(result).__name__}.")
        for n, p in model.named_parameters():
            same = (p.grad is None) if grads_before[n] is None else (p.grad is not None and torch.equal(p.grad, grads_before[n]))
            expect(same, "gradient_norms changed the gradients: only read them (no backward(), no zero_grad()).")
        missing = [n for n in expected if n not in result]
        extra = [n for n in result if n not in expected]
        if missing and all(n.endswith("bias") for n in missing):
            expect(False, f"the biases are missing ({missing}): include every parameter of model.named_parameters().")
        expect(not missing, f"for {name} these parameters are missing: {missing}. Use the names from "
                            "model.named_parameters(), e.g. '0.weight'.")
        expect(not extra, f"for {name} these keys are not parameter names: {extra}.")
        for n, value in result.items():
            expect(not isinstance(value, torch.Tensor),
                   f"the value for {n!r} is a tensor; return Python floats (`.item()`), so they print and plot simply.")
            expect(isinstance(value, (int, float)) and not isinstance(value, bool),
                   f"the value for {n!r} should be a float, got {type(value).__name__}.")
        params = dict(model.named_parameters())
        for n, want in expected.items():
            got = float(result[n])
            if math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-9):
                continue
            grad = params[n].grad
            where = f"for {n!r} of {name}: got {got:.4g}, expected {want:.4g}"
            if grad is None:
                expect(False, f"{where}. This parameter has no gradient (`.grad is None`: it is before the .detach()), "
                              "so its norm is 0.0.")
            expect(not math.isclose(got, grad.abs().mean().item(), rel_tol=1e-4),
                   f"{where}. That is the mean |grad|; the L2 norm is sqrt(sum of squares): `p.grad.norm()`.")
            expect(not math.isclose(got, (grad**2).sum().item(), rel_tol=1e-4),
                   f"{where}. That is the squared norm; take the square root: `p.grad.norm()`.")
            expect(not math.isclose(got, params[n].detach().norm().item(), rel_tol=1e-4),
                   f"{where}. That is the norm of the parameter itself; take the norm of its gradient, `p.grad`.")
            expect(False, f"{where}. Hint: `p.grad.norm().item()` for each `name, p in model.named_parameters()`.")
    return passed("the L2 norm of every parameter's gradient, and 0.0 where no gradient arrives.")


# --- exercise 4: spot the bugs in a training step ----------------------------------------------

def _reference_step(model, optimizer, images, labels):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_without_zero_grad(model, optimizer, images, labels):
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_with_softmax(model, optimizer, images, labels):
    optimizer.zero_grad()
    loss = F.cross_entropy(torch.softmax(model(images), dim=1), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _run_steps(step_fn, model, batches, lr, *, what=None):
    """Run ``step_fn`` once per batch with SGD; return (returned values, flat parameters after each step)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    returned, snapshots = [], []
    for images, labels in batches:
        if what is None:
            returned.append(step_fn(model, optimizer, images.clone(), labels.clone()))
        else:
            returned.append(call_answer(step_fn, model, optimizer, images.clone(), labels.clone(), what=what))
        snapshots.append(torch.cat([p.detach().reshape(-1).clone() for p in model.parameters()]))
    return returned, snapshots


def check_train_step(train_step) -> bool:
    """``train_step(model, optimizer, images, labels)`` does one correct step of training with
    cross-entropy on logits (zero the gradients, forward, loss, backward, step) and returns the loss
    as a Python float. Checked over three steps against a reference, on a fresh random model."""
    generator = fresh_generator()
    num_classes, num_features = 5, 12
    model = _random_mlp(generator, [num_features, 20, num_classes])
    batches = [_random_batch(generator, 16, num_features, num_classes) for _ in range(3)]
    lr = 0.5
    start = torch.cat([p.detach().reshape(-1).clone() for p in model.parameters()])
    variants = {name: _run_steps(fn, copy.deepcopy(model), batches, lr)
                for name, fn in [("reference", _reference_step), ("no zero_grad", _step_without_zero_grad),
                                 ("softmax", _step_with_softmax)]}
    returned, snapshots = _run_steps(train_step, model, batches, lr, what="train_step")
    ref_returned, ref_snapshots = variants["reference"]

    def matches(name, upto=3):
        return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(snapshots[:upto], variants[name][1][:upto]))

    if not matches("reference"):
        expect(not torch.allclose(snapshots[0], start), "the parameters did not change: call optimizer.step() after "
               "loss.backward(), and zero the gradients *before* backward(), not between backward() and step().")
        expect(not matches("softmax", 1), "the loss was computed on softmax probabilities: F.cross_entropy (and "
               "nn.CrossEntropyLoss) expect raw logits and apply log-softmax themselves. Remove the softmax.")
        expect(not (matches("no zero_grad") or (matches("reference", 1) and not matches("reference", 2))),
               "the first step is right but later ones are not: the gradients pile up from step to step. Call "
               "optimizer.zero_grad() at the start of every step.")
        expect(False, "after a step your parameters differ from one plain SGD step on the cross-entropy of the "
                      "logits. Hint: zero_grad → loss = F.cross_entropy(model(images), labels) → backward → step.")
    for value, want in zip(returned, ref_returned):
        expect(not isinstance(value, torch.Tensor), "return the loss as a Python number, `loss.item()`: a tensor keeps "
               "its whole computation graph alive, and a list of them fills the memory during training.")
        got = _as_float(value, "the value train_step returns")
        expect(math.isclose(got, want, rel_tol=1e-5),
               f"the parameters are right, but you returned {got:.4f} instead of the loss {want:.4f}. "
               "Return the loss computed in this step, before optimizer.step().")
    return passed("zero_grad → forward → loss on logits → backward → step, and the loss back as a float.")


# --- exercise 5: a learning rate from a range test ---------------------------------------------

def _reference_suggest_lr(learning_rates, losses) -> float:
    finite = [(loss, lr) for lr, loss in zip(learning_rates, losses) if math.isfinite(loss)]
    return min(finite)[1] / 10


def _range_test_curve(generator: torch.Generator, *, blow_up: str) -> tuple[list[float], list[float]]:
    """A made-up range-test curve: flat, falling, then blowing up (ending in inf or nan if asked)."""
    steps = int(torch.randint(80, 160, (), generator=generator))
    log_min = -6 + torch.rand((), generator=generator).item()
    log_best = -2 + 1.5 * torch.rand((), generator=generator).item()
    log_lrs = torch.linspace(log_min, log_best + 1.2, steps)
    start = 2.0 + torch.rand((), generator=generator).item()
    fall = start - 0.5 * (1 + torch.tanh(2.0 * (log_lrs - (log_best - 0.8))))
    rise = torch.exp(4.0 * (log_lrs - log_best).clamp_min(0)) - 1
    losses = fall + rise + 0.02 * torch.randn(steps, generator=generator)
    lrs, losses = (10**log_lrs).tolist(), losses.tolist()
    if blow_up == "inf":
        lrs.append(lrs[-1] * 1.1)
        losses.append(math.inf)
    elif blow_up == "nan":
        lrs.append(lrs[-1] * 1.1)
        losses.append(math.nan)
    return lrs, losses


def check_suggest_lr(suggest_lr) -> bool:
    """``suggest_lr(learning_rates, losses)`` returns the learning rate at the lowest finite loss,
    divided by 10. Checked on random range-test curves, some ending in inf or nan."""
    generator = fresh_generator()
    for blow_up in ("none", "nan", "inf"):
        lrs, losses = _range_test_curve(generator, blow_up=blow_up)
        value = _as_float(call_answer(suggest_lr, list(lrs), list(losses), what="suggest_lr"), "suggest_lr(...)")
        want = _reference_suggest_lr(lrs, losses)
        if math.isclose(value, want, rel_tol=1e-6):
            continue
        at_min = want * 10
        where = f"on a curve of {len(lrs)} steps (the lowest loss is at lr {at_min:.3g}) you returned {value:.3g}, expected {want:.3g}"
        expect(not math.isclose(value, at_min, rel_tol=1e-6),
               f"{where}. That is the rate at the minimum itself; go one order of magnitude lower: divide by 10.")
        picked_last = math.isclose(value, lrs[-1] / 10, rel_tol=1e-6) or math.isclose(value, lrs[-1], rel_tol=1e-6)
        expect(not (picked_last and blow_up != "none"),
               f"{where}. The curve ends in {blow_up}, and you picked that last step: skip losses that are not finite "
               "(math.isfinite) before looking for the minimum (torch.argmin and numpy.argmin pick a nan).")
        expect(not picked_last,
               f"{where}. You used the last learning rate, where the loss blew up; use the one where the loss is lowest.")
        expect(not math.isclose(value, min(lrs) / 10, rel_tol=1e-6),
               f"{where}. That is the smallest learning rate; find the step with the smallest *loss*, and take its rate.")
        expect(False, f"{where}. Hint: find the index of the smallest finite loss, take learning_rates at that index, "
                      "divide by 10.")
    return passed("one order of magnitude below the rate at the lowest loss, ignoring a nan or inf at the end.")
