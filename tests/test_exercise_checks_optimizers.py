"""The checks of the gradient-descent exercises pass right answers (including alternative right
answers) and reject typical wrong ones with a message that says what is wrong."""

import pytest
import torch

from utils.checks import ExerciseError
from utils.exercise_checks import optimizers as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def sgd_step(theta, batch_inputs, batch_targets, learning_rate):
    residuals = batch_inputs @ theta - batch_targets
    gradient = batch_inputs.T @ residuals / len(batch_targets)
    return theta - learning_rate * gradient


def sgd_step_with_autograd(theta, batch_inputs, batch_targets, learning_rate):
    theta = theta.clone().requires_grad_()
    loss = 0.5 * ((batch_inputs @ theta - batch_targets) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        return theta - learning_rate * theta.grad


def momentum_update(param, grad, velocity, lr, momentum):
    new_velocity = momentum * velocity + grad
    return param - lr * new_velocity, new_velocity


def momentum_update_in_place(param, grad, velocity, lr, momentum):
    velocity.mul_(momentum).add_(grad)
    param.sub_(lr * velocity)
    return param, velocity


def bias_correction(running_mean, beta, step):
    return running_mean / (1 - beta ** step)


def adam_update(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = bias_correction(m, beta1, step)
    v_hat = bias_correction(v, beta2, step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), m, v


def adam_update_pytorch_order(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    # the same update, in the order torch.optim.Adam computes it, with in-place state
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denominator = v.sqrt() / (1 - beta2 ** step) ** 0.5 + eps
    return param - lr / (1 - beta1 ** step) * m / denominator, m, v


def largest_stable_learning_rate(hessian):
    return 2 / torch.linalg.eigvalsh(hessian).max()


def largest_stable_learning_rate_by_power_iteration(hessian):
    vector = torch.ones(len(hessian), dtype=hessian.dtype)
    for _ in range(2000):
        vector = hessian @ vector
        vector = vector / vector.norm()
    return 2 / float(vector @ hessian @ vector)


# --- exercise 1 ---------------------------------------------------------------------------------

def test_check_sgd_step_passes_right_answers(capsys):
    assert checks.check_sgd_step(sgd_step) is True
    assert checks.check_sgd_step(sgd_step_with_autograd) is True
    assert "Correct" in capsys.readouterr().out


def _gradient(theta, x, y):
    return x.T @ (x @ theta - y) / len(y)


@pytest.mark.parametrize(
    "wrong_step, message",
    [
        (lambda t, x, y, lr: _gradient(t, x, y), "returned the gradient"),
        (lambda t, x, y, lr: t + lr * _gradient(t, x, y), "uphill"),
        (lambda t, x, y, lr: t - _gradient(t, x, y), "learning rate is missing"),
        (lambda t, x, y, lr: t - lr * x.T @ (x @ t - y), "summed over the batch"),
        (lambda t, x, y, lr: t - 2 * lr * _gradient(t, x, y), "twice too large"),
        (lambda t, x, y, lr: t - lr * x.T @ (x @ t - y) / x.shape[1], "not the number of parameters"),
        (lambda t, x, y, lr: t - lr * x.T @ (x @ t) / len(y), "new θ is wrong"),
        (lambda t, x, y, lr: torch.zeros(5), "new θ is wrong"),  # a hard-coded answer
        (lambda t, x, y, lr: (t - lr * _gradient(t, x, y)).tolist(), "should be a tensor"),
        (lambda t, x, y, lr: (t - lr * _gradient(t, x, y)).unsqueeze(0), r"shape \(5,\)"),
        (not_implemented, "NotImplementedError"),
        ("sgd_step", "pass the function itself"),
    ],
)
def test_check_sgd_step_explains_wrong_answers(wrong_step, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_sgd_step(wrong_step)


# --- exercise 2 ---------------------------------------------------------------------------------

def test_check_momentum_update_passes_right_answers():
    assert checks.check_momentum_update(momentum_update) is True
    assert checks.check_momentum_update(momentum_update_in_place) is True


@pytest.mark.parametrize(
    "wrong_update, message",
    [
        (lambda p, g, v, lr, mu: (p + (mu * v - lr * g), mu * v - lr * g), "textbook convention"),
        (lambda p, g, v, lr, mu: (p - lr * (mu * v + (1 - mu) * g), mu * v + (1 - mu) * g), "averaging form"),
        (lambda p, g, v, lr, mu: (p - lr * (lr * v + g), lr * v + g), "instead of the momentum"),
        (lambda p, g, v, lr, mu: (p - lr * v, mu * v + g), "old velocity"),
        (lambda p, g, v, lr, mu: (p - (mu * v + g), mu * v + g), "learning rate is missing"),
        (lambda p, g, v, lr, mu: (p + lr * (mu * v + g), mu * v + g), "wrong way"),
        (lambda p, g, v, lr, mu: (mu * v + g, p - lr * (mu * v + g)), "swapped"),
        (lambda p, g, v, lr, mu: (p - lr * g, g), "new_velocity is wrong"),
        (lambda p, g, v, lr, mu: p - lr * (mu * v + g), "return 2 things"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_momentum_update_explains_wrong_answers(wrong_update, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_momentum_update(wrong_update)


def test_check_momentum_update_rejects_an_update_that_forgets_its_velocity():
    # right on one step from the velocity it is given, but it restarts from zero when chained:
    # it ignores the velocity argument once the step count is past one (a stand-in for global state bugs)
    calls = {"count": 0}

    def forgets(param, grad, velocity, lr, momentum):
        calls["count"] += 1
        if calls["count"] > 2:
            velocity = torch.zeros_like(velocity)
        return momentum_update(param, grad, velocity, lr, momentum)

    with pytest.raises(ExerciseError, match="torch.optim.SGD"):
        checks.check_momentum_update(forgets)


# --- exercise 3 ---------------------------------------------------------------------------------

def test_check_bias_correction_passes_right_answers():
    assert checks.check_bias_correction(bias_correction) is True
    assert checks.check_bias_correction(lambda m, beta, t: m * (1 / (1 - beta ** t))) is True


@pytest.mark.parametrize(
    "wrong_correction, message",
    [
        (lambda m, beta, t: m * (1 - beta ** t), "multiplied"),
        (lambda m, beta, t: m / (1 - beta), "step 1 only"),
        (lambda m, beta, t: m / (1 - beta * t), "power"),
        (lambda m, beta, t: m / (1 - beta ** (t + 1)), "off by one"),
        (lambda m, beta, t: m, "should be that constant"),
        (lambda m, beta, t: (m / (1 - beta ** t)).sum(), r"shape of running_mean"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_bias_correction_explains_wrong_answers(wrong_correction, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_bias_correction(wrong_correction)


# --- exercise 4 ---------------------------------------------------------------------------------

def test_check_adam_update_passes_right_answers():
    assert checks.check_adam_update(adam_update) is True
    assert checks.check_adam_update(adam_update_pytorch_order) is True


def _adam(correct_m=True, correct_v=True, eps_inside=False, sign=-1, store_corrected=False, step_offset=0,
          square=True, swap_weights=False):
    def update(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        step = step + step_offset
        m = (1 - beta1) * m + beta1 * grad if swap_weights else beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * (grad ** 2 if square else grad)
        m_hat = m / (1 - beta1 ** step) if correct_m else m
        v_hat = v / (1 - beta2 ** step) if correct_v else v
        denominator = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
        new_param = param + sign * lr * m_hat / denominator
        return (new_param, m_hat, v_hat) if store_corrected else (new_param, m, v)
    return update


@pytest.mark.parametrize(
    "wrong_update, message",
    [
        (_adam(correct_m=False, correct_v=False), "bias correction is missing"),
        (_adam(correct_m=False), "m is not bias-corrected"),
        (_adam(correct_v=False), "v is not bias-corrected"),
        (_adam(eps_inside=True), "outside the square root"),
        (_adam(sign=+1), "wrong way"),
        (_adam(store_corrected=True), "Keep the plain running means"),
        (_adam(step_offset=-1), "inf or nan"),  # counts steps from 0: 1 − β⁰ = 0
        (_adam(step_offset=1), "off by one"),
        (_adam(square=False), r"\*squared\* gradient"),
        (_adam(swap_weights=True), "weights of the running mean are swapped"),
        (lambda p, g, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8: adam_update(p, g, m, v, t, lr)[0], "return 3 things"),
        (lambda p, g, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8: adam_update(p, g, m, v, t, lr), "new_m is wrong"),  # ignores the betas it is given
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_adam_update_explains_wrong_answers(wrong_update, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_adam_update(wrong_update)


# --- exercise 5 ---------------------------------------------------------------------------------

def test_check_largest_stable_learning_rate_passes_right_answers():
    assert checks.check_largest_stable_learning_rate(largest_stable_learning_rate) is True
    assert checks.check_largest_stable_learning_rate(largest_stable_learning_rate_by_power_iteration) is True
    assert checks.check_largest_stable_learning_rate(lambda h: 2 / torch.linalg.eigvals(h).real.max()) is True
    assert checks.check_largest_stable_learning_rate(lambda h: 2 / torch.linalg.eigvals(h).abs().max()) is True
    assert checks.check_largest_stable_learning_rate(lambda h: 2 / torch.linalg.matrix_norm(h, ord=2)) is True


@pytest.mark.parametrize(
    "wrong_rate, message",
    [
        (lambda h: 1 / torch.linalg.eigvalsh(h).max(), "twice that"),
        (lambda h: 2 / torch.linalg.eigvalsh(h).min(), "smallest eigenvalue sets the"),
        (lambda h: 1 / torch.linalg.eigvalsh(h).min(), "use the largest eigenvalue"),
        (lambda h: torch.linalg.eigvalsh(h).max(), "returned λ_max itself"),
        (lambda h: 2 * torch.linalg.eigvalsh(h).max(), "not 2 times"),
        (lambda h: 2 / torch.diagonal(h).max(), "diagonal entries are not the eigenvalues"),
        (lambda h: 2 / torch.trace(h), "sum of all the eigenvalues"),
        (lambda h: 2 / torch.linalg.eigvalsh(h), "one number"),
        (lambda h: 0.4, "should be"),  # a hard-coded answer
        (lambda h: "0.4", "should be a tensor"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_largest_stable_learning_rate_explains_wrong_answers(wrong_rate, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_largest_stable_learning_rate(wrong_rate)
