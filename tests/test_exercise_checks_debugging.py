"""The checks of the debugging exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from utils.checks import ExerciseError
from utils.exercise_checks import debugging as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Your turn")


# --- exercise 1: the loss at initialisation -----------------------------------------------------

def test_check_expected_initial_loss_passes_right_answers(capsys):
    assert checks.check_expected_initial_loss(lambda c: math.log(c)) is True
    assert checks.check_expected_initial_loss(lambda c: -math.log(1 / c)) is True
    assert checks.check_expected_initial_loss(lambda c: torch.log(torch.tensor(float(c)))) is True
    assert checks.check_expected_initial_loss(lambda c: F.cross_entropy(torch.zeros(1, c), torch.zeros(1, dtype=torch.long)).item()) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda c: math.log10(c), "base 10"),
        (lambda c: math.log2(c), "base 2"),
        (lambda c: -math.log(c), "sign is flipped"),
        (lambda c: 1 / c, "probability of each class"),
        (lambda c: 2.303, "for 2 classes"),  # a hard-coded answer
        (lambda c: math.log(c - 1), "Hint"),
        (lambda c: "2.3", "should be a number"),
        (not_implemented, "NotImplementedError"),
        ("math.log", "pass the function itself"),
    ],
)
def test_check_expected_initial_loss_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_expected_initial_loss(wrong)


# --- exercise 2: the overfit-one-batch check ---------------------------------------------------

def can_overfit(model, images, labels, steps=200, lr=1e-2, threshold=0.05):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
    return loss.item() < threshold


def can_overfit_best_loss(model, images, labels, steps=200, lr=1e-2, threshold=0.05):
    # also right: track every loss, with nn.CrossEntropyLoss, and ask whether the best one got there
    loss_fn, optimizer, losses = nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=lr), []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return bool(min(losses) < threshold)


def test_check_can_overfit_passes_right_answers():
    assert checks.check_can_overfit(can_overfit) is True
    assert checks.check_can_overfit(can_overfit_best_loss) is True


def returns_tensor(model, images, labels, steps=200, lr=1e-2, threshold=0.05):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
    return loss.detach() < threshold


def first_loss_only(model, images, labels, steps=200, lr=1e-2, threshold=0.05):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses[0] < threshold


def fresh_model_instead(model, images, labels, steps=200, lr=1e-2, threshold=0.05):
    other = nn.Sequential(nn.Linear(images.shape[1], 32), nn.ReLU(), nn.Linear(32, 5))
    return can_overfit(other, images, labels, steps, lr, threshold)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda model, images, labels, steps, lr, threshold: True, "did not change"),
        (lambda model, images, labels, steps, lr, threshold: not can_overfit(model, images, labels, steps, lr, threshold), "returned False"),
        (first_loss_only, "returned False"),
        (returns_tensor, "Python bool"),
        (fresh_model_instead, "did not change"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_can_overfit_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_can_overfit(wrong)


def test_check_can_overfit_rejects_a_check_that_always_passes():
    def always_true_after_training(model, images, labels, steps=200, lr=1e-2, threshold=0.05):
        can_overfit(model, images, labels, steps, lr, threshold)
        return True

    with pytest.raises(ExerciseError, match="softmax"):
        checks.check_can_overfit(always_true_after_training)


# --- exercise 3: per-layer gradient norms ------------------------------------------------------

def gradient_norms(model):
    return {name: (p.grad.norm().item() if p.grad is not None else 0.0) for name, p in model.named_parameters()}


def gradient_norms_by_hand(model):
    norms = {}
    for name, parameter in model.named_parameters():
        grad = parameter.grad if parameter.grad is not None else torch.zeros_like(parameter)
        norms[name] = float(torch.sqrt((grad**2).sum()))
    return norms


def test_check_gradient_norms_passes_right_answers():
    assert checks.check_gradient_norms(gradient_norms) is True
    assert checks.check_gradient_norms(gradient_norms_by_hand) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda m: {n: p.grad.abs().mean().item() for n, p in m.named_parameters()}, "mean"),
        (lambda m: {n: (p.grad**2).sum().item() for n, p in m.named_parameters()}, "squared norm"),
        (lambda m: {n: p.detach().norm().item() for n, p in m.named_parameters()}, "norm of the parameter itself"),
        (lambda m: {n: p.grad.norm() for n, p in m.named_parameters()}, "tensor"),
        (lambda m: {n: p.grad.norm().item() for n, p in m.named_parameters() if n.endswith("weight")}, "biases are missing"),
        (lambda m: [p.grad.norm().item() for p in m.parameters()], "dict"),
        (lambda m: {n: p.grad.norm().item() for n, p in m.named_parameters() if p.grad is not None}, "missing"),
        (lambda m: {n: (p.grad.norm().item() if p.grad is not None else math.nan) for n, p in m.named_parameters()}, "0.0"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_gradient_norms_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_gradient_norms(wrong)


def test_check_gradient_norms_explains_a_crash_on_a_missing_gradient():
    def crashes_on_none(model):
        return {n: p.grad.norm().item() for n, p in model.named_parameters()}

    with pytest.raises(ExerciseError, match="no gradient at all"):
        checks.check_gradient_norms(crashes_on_none)


def test_check_gradient_norms_rejects_a_function_that_changes_the_gradients():
    def zeroes_them(model):
        norms = gradient_norms(model)
        model.zero_grad()
        return norms

    with pytest.raises(ExerciseError, match="changed the gradients"):
        checks.check_gradient_norms(zeroes_them)


# --- exercise 4: spot the bugs in a training step ----------------------------------------------

def train_step(model, optimizer, images, labels):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_zero_grad_last(model, optimizer, images, labels):
    # also right: clear the gradients after the step, ready for the next one
    loss = nn.CrossEntropyLoss()(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return float(loss.detach())


def test_check_train_step_passes_right_answers():
    assert checks.check_train_step(train_step) is True
    assert checks.check_train_step(train_step_zero_grad_last) is True


def buggy_train_step(model, optimizer, images, labels):  # the step the exercise shows
    logits = torch.softmax(model(images), dim=1)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    optimizer.step()
    return loss


def no_zero_grad(model, optimizer, images, labels):
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def zero_grad_too_late(model, optimizer, images, labels):
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def returns_tensor_step(model, optimizer, images, labels):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss


def returns_loss_after_step(model, optimizer, images, labels):
    train_step(model, optimizer, images, labels)
    return F.cross_entropy(model(images), labels).item()


def mse_on_one_hot(model, optimizer, images, labels):
    optimizer.zero_grad()
    loss = F.mse_loss(model(images), F.one_hot(labels, 5).float())
    loss.backward()
    optimizer.step()
    return loss.item()


@pytest.mark.parametrize(
    "wrong, message",
    [
        (buggy_train_step, "softmax"),
        (no_zero_grad, "pile up"),
        (zero_grad_too_late, "did not change"),
        (lambda model, optimizer, images, labels: 0.0, "did not change"),
        (returns_tensor_step, r"loss\.item\(\)"),
        (returns_loss_after_step, "before optimizer.step"),
        (mse_on_one_hot, "Hint"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_train_step_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_train_step(wrong)


# --- exercise 5: a learning rate from a range test ---------------------------------------------

def suggest_lr(learning_rates, losses):
    finite = [i for i, loss in enumerate(losses) if math.isfinite(loss)]
    best = min(finite, key=lambda i: losses[i])
    return learning_rates[best] / 10


def suggest_lr_numpy(learning_rates, losses):
    losses = np.array(losses)
    return float(np.array(learning_rates)[np.nanargmin(np.where(np.isfinite(losses), losses, np.nan))] / 10)


def test_check_suggest_lr_passes_right_answers():
    assert checks.check_suggest_lr(suggest_lr) is True
    assert checks.check_suggest_lr(suggest_lr_numpy) is True
    assert checks.check_suggest_lr(lambda lrs, losses: torch.tensor(suggest_lr(lrs, losses), dtype=torch.float64)) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda lrs, losses: suggest_lr(lrs, losses) * 10, "rate at the minimum itself"),
        (lambda lrs, losses: lrs[-1] / 10, "last learning rate"),
        (lambda lrs, losses: lrs[int(torch.argmin(torch.tensor(losses)))] / 10, "not finite"),
        (lambda lrs, losses: min(lrs) / 10, "smallest learning rate"),
        (lambda lrs, losses: suggest_lr(lrs, losses) / 10, "Hint"),
        (lambda lrs, losses: 0.01, "you returned 0.01"),  # a hard-coded answer
        (lambda lrs, losses: None, "should be a number"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_suggest_lr_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_suggest_lr(wrong)
