"""The checks of the RNN-from-scratch exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import pytest
import torch
from torch import nn

from utils.checks import ExerciseError
from utils.exercise_checks import rnn as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return torch.tanh(x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh)


def rnn_unroll(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh):
    h, states = h_0, []
    for t in range(inputs.shape[1]):
        h = rnn_cell_step(inputs[:, t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        states.append(h)
    return torch.stack(states, dim=1)


def grad_weight_hh(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, grad_states):
    states = rnn_unroll(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh)
    previous = torch.cat([h_0.unsqueeze(1), states[:, :-1]], dim=1)
    grad = torch.zeros_like(weight_hh)
    grad_a_next = torch.zeros_like(h_0)
    for t in reversed(range(inputs.shape[1])):
        grad_h = grad_states[:, t] + grad_a_next @ weight_hh
        grad_a = grad_h * (1 - states[:, t] ** 2)
        grad += grad_a.T @ previous[:, t]
        grad_a_next = grad_a
    return grad


def rnn_parameter_count(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    directions = 2 if bidirectional else 1
    per_bias = 2 * hidden_size if bias else 0
    first = directions * (hidden_size * input_size + hidden_size * hidden_size + per_bias)
    upper = directions * (hidden_size * directions * hidden_size + hidden_size * hidden_size + per_bias)
    return first + (num_layers - 1) * upper


# --- exercise 1 ---------------------------------------------------------------------------------

def test_check_rnn_cell_step_passes_right_answers(capsys):
    assert checks.check_rnn_cell_step(rnn_cell_step) is True
    # nn.functional.linear computes x W^T + b: also right
    assert checks.check_rnn_cell_step(
        lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.tanh(nn.functional.linear(x, w_ih, b_ih) + nn.functional.linear(h, w_hh, b_hh))
    ) is True
    # in float32, as a learner might convert
    assert checks.check_rnn_cell_step(lambda *args: rnn_cell_step(*(a.float() for a in args))) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong_cell, message",
    [
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, "torch.tanh"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.sigmoid(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh), "sigmoid"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.relu(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh), "ReLU"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.tanh(x @ w_ih.T + b_ih + h @ w_hh + b_hh), "transpose"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.tanh(x @ w_ih.T + b_ih + b_hh), "previous state is missing"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T), "bias_hh is missing"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.tanh(x @ w_ih.T + h @ w_hh.T + b_hh), "bias_ih is missing"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.tanh(x @ w_ih + b_ih + h @ w_hh.T + b_hh), "weight_ih.T"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)[0], r"shape \(5, 4\)"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).tolist(), "a tensor"),
        (lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.zeros(5, 4), "wrong for some examples"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
        ("rnn_cell_step", "pass the function itself"),
    ],
)
def test_check_rnn_cell_step_explains_wrong_answers(wrong_cell, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_rnn_cell_step(wrong_cell)


# --- exercise 2 ---------------------------------------------------------------------------------

def test_check_rnn_unroll_passes_right_answers():
    assert checks.check_rnn_unroll(rnn_unroll) is True

    def unroll_with_a_preallocated_tensor(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh):
        states = inputs.new_zeros(inputs.shape[0], inputs.shape[1], h_0.shape[1])
        h = h_0
        for t, x_t in enumerate(inputs.unbind(dim=1)):
            h = rnn_cell_step(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
            states[:, t] = h
        return states

    assert checks.check_rnn_unroll(unroll_with_a_preallocated_tensor) is True
    assert checks.check_rnn_unroll(lambda *args: rnn_unroll(*(a.float() for a in args))) is True  # float32


def _unroll_no_carry(inputs, h_0, *weights):
    return torch.stack([rnn_cell_step(inputs[:, t], h_0, *weights) for t in range(inputs.shape[1])], dim=1)


def _unroll_time_first(inputs, h_0, *weights):
    return rnn_unroll(inputs, h_0, *weights).transpose(0, 1)


def _unroll_with_h_0(inputs, h_0, *weights):
    return torch.cat([h_0.unsqueeze(1), rnn_unroll(inputs, h_0, *weights)], dim=1)


def _unroll_indexing_the_batch(inputs, h_0, *weights):
    h, states = h_0, []
    for t in range(inputs.shape[1]):
        h = rnn_cell_step(inputs[t], h, *weights)
        states.append(h)
    return torch.stack(states, dim=1)


def _unroll_from_zero(inputs, h_0, *weights):
    return rnn_unroll(inputs, torch.zeros_like(h_0), *weights)


def _unroll_reversed(inputs, h_0, *weights):
    return rnn_unroll(inputs.flip(1), h_0, *weights).flip(1)


@pytest.mark.parametrize(
    "wrong_unroll, message",
    [
        (lambda inputs, h_0, *w: rnn_unroll(inputs, h_0, *w)[:, -1], "one state per sequence"),
        (_unroll_with_h_0, "h_0 is the starting point"),
        (_unroll_time_first, "swapped"),
        (_unroll_no_carry, "carry the state along"),
        (_unroll_indexing_the_batch, r"inputs\[:, t\]"),
        (_unroll_from_zero, "already the first state"),
        (_unroll_reversed, "already the first state"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_rnn_unroll_explains_wrong_answers(wrong_unroll, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_rnn_unroll(wrong_unroll)


def test_check_rnn_unroll_explains_a_later_step_going_wrong():
    def skips_a_step(inputs, h_0, *weights):
        states = rnn_unroll(inputs, h_0, *weights)
        states[:, 2] = states[:, 1]
        return states

    with pytest.raises(ExerciseError, match="first state is right but later ones are not"):
        checks.check_rnn_unroll(skips_a_step)


# --- exercise 3 ---------------------------------------------------------------------------------

def test_check_grad_weight_hh_passes_right_answers():
    assert checks.check_grad_weight_hh(grad_weight_hh) is True

    def with_einsum(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, grad_states):
        # all the dL/da_t first, then one einsum over batch and time
        states = rnn_unroll(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh)
        previous = torch.cat([h_0.unsqueeze(1), states[:, :-1]], dim=1)
        grad_a = torch.zeros_like(states)
        for t in reversed(range(inputs.shape[1])):
            from_future = grad_a[:, t + 1] @ weight_hh if t + 1 < inputs.shape[1] else 0
            grad_a[:, t] = (grad_states[:, t] + from_future) * (1 - states[:, t] ** 2)
        return torch.einsum("bti,btj->ij", grad_a, previous)

    assert checks.check_grad_weight_hh(with_einsum) is True
    assert checks.check_grad_weight_hh(lambda *args: grad_weight_hh(*(a.float() for a in args))) is True  # float32


def _grad_variant(**mistakes):
    def wrong(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, grad_states):
        return checks._grad_weight_hh(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, grad_states, **mistakes)
    return wrong


def _grad_last_step_only(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, grad_states):
    states = rnn_unroll(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a = grad_states[:, -1] * (1 - states[:, -1] ** 2)
    return grad_a.T @ states[:, -2]


@pytest.mark.parametrize(
    "wrong_grad, message",
    [
        (lambda *args: grad_weight_hh(*args).T, "transposed"),
        (lambda *args: -grad_weight_hh(*args), "sign"),
        (_grad_variant(carry=False), "flow back through time"),
        (_grad_variant(tanh_derivative=False), "tanh derivative"),
        (_grad_variant(state="current"), "previous state"),
        (_grad_last_step_only, "only the last step"),
        (lambda *args: grad_weight_hh(*args)[None].expand(4, -1, -1), "shape of W_hh"),
        (lambda *args: torch.zeros(6, 6), "wrong"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_grad_weight_hh_explains_wrong_answers(wrong_grad, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_grad_weight_hh(wrong_grad)


# --- exercise 4 ---------------------------------------------------------------------------------

def test_check_rnn_parameter_count_passes_right_answers():
    assert checks.check_rnn_parameter_count(rnn_parameter_count) is True

    def by_building_it(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
        rnn = nn.RNN(input_size, hidden_size, num_layers=num_layers, bias=bias, bidirectional=bidirectional)
        return sum(p.numel() for p in rnn.parameters())

    assert checks.check_rnn_parameter_count(by_building_it) is True
    assert checks.check_rnn_parameter_count(lambda *a, **k: torch.tensor(rnn_parameter_count(*a, **k))) is True


def _count_one_bias(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    return rnn_parameter_count(input_size, hidden_size, num_layers, bias, bidirectional) - \
        (num_layers * (2 if bidirectional else 1) * hidden_size if bias else 0)


def _count_every_layer_from_input(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    return num_layers * rnn_parameter_count(input_size, hidden_size, 1, bias, bidirectional)


def _count_ignoring_bias_flag(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    return rnn_parameter_count(input_size, hidden_size, num_layers, True, bidirectional)


def _count_ignoring_bidirectional(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    return rnn_parameter_count(input_size, hidden_size, num_layers, bias, False)


def _count_doubling_only(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    # bidirectional: doubles, but the upper layers still read H numbers instead of 2H
    per_bias = 2 * hidden_size if bias else 0
    directions = 2 if bidirectional else 1
    first = hidden_size * input_size + hidden_size * hidden_size + per_bias
    upper = hidden_size * hidden_size + hidden_size * hidden_size + per_bias
    return directions * (first + (num_layers - 1) * upper)


@pytest.mark.parametrize(
    "wrong_count, message",
    [
        (_count_one_bias, "two bias vectors"),
        (_count_every_layer_from_input, "only the first layer reads the input"),
        (_count_ignoring_bias_flag, "no bias vectors at all"),
        (_count_ignoring_bidirectional, "doubles every layer"),
        (_count_doubling_only, r"\[H, 2H\]"),
        (lambda *a, **k: rnn_parameter_count(*a, **k) + 1, "you counted"),
        (lambda *a, **k: 1234, "you counted"),  # a hard-coded answer
        (lambda *a, **k: rnn_parameter_count(*a, **k) + 0.5, "whole number"),
        (lambda *a, **k: str(rnn_parameter_count(*a, **k)), "should be a number"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_rnn_parameter_count_explains_wrong_answers(wrong_count, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_rnn_parameter_count(wrong_count)
