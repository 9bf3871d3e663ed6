"""Unit tests of the exercise checks for 05_gru: right answers pass, typical wrong ones fail with a hint."""

import pytest
import torch
from torch import nn

from utils.checks import ExerciseError
from utils.exercise_checks import gru as checks

# --- right answers, written as a learner would ---------------------------------------------------

def gru_cell(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    input_r, input_z, input_n = (x_t @ weight_ih.T + bias_ih).chunk(3, dim=-1)
    hidden_r, hidden_z, hidden_n = (h_prev @ weight_hh.T + bias_hh).chunk(3, dim=-1)
    reset = torch.sigmoid(input_r + hidden_r)
    update = torch.sigmoid(input_z + hidden_z)
    candidate = torch.tanh(input_n + reset * hidden_n)
    return (1 - update) * candidate + update * h_prev


def gru_unroll(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh):
    h, states = h_0, []
    for t in range(inputs.shape[1]):
        h = gru_cell(inputs[:, t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        states.append(h)
    return torch.stack(states, dim=1)


def gru_parameter_count(input_size, hidden_size, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        total += directions * 3 * hidden_size * (layer_input + hidden_size + 2)
    return total


def rnn_from_gru(gru):
    hidden_size = gru.hidden_size
    rnn = nn.RNN(gru.input_size, hidden_size, batch_first=True)
    candidate = slice(2 * hidden_size, 3 * hidden_size)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(rnn, name).copy_(getattr(gru, name)[candidate])
    return rnn


def _unimplemented(*args, **kwargs):
    raise NotImplementedError("Your turn")


# --- exercise 1: the cell --------------------------------------------------------------------------

def test_check_gru_cell_passes_right_answers():
    assert checks.check_gru_cell(gru_cell) is True

    def with_explicit_slices(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
        hidden = h_prev.shape[1]
        r = torch.sigmoid(x_t @ weight_ih[:hidden].T + bias_ih[:hidden] + h_prev @ weight_hh[:hidden].T + bias_hh[:hidden])
        z = torch.sigmoid(x_t @ weight_ih[hidden:2 * hidden].T + bias_ih[hidden:2 * hidden]
                          + h_prev @ weight_hh[hidden:2 * hidden].T + bias_hh[hidden:2 * hidden])
        n = torch.tanh(x_t @ weight_ih[2 * hidden:].T + bias_ih[2 * hidden:]
                       + r * (h_prev @ weight_hh[2 * hidden:].T + bias_hh[2 * hidden:]))
        return n + z * (h_prev - n)  # the same, rearranged

    assert checks.check_gru_cell(with_explicit_slices) is True
    assert checks.check_gru_cell(lambda *args: gru_cell(*(a.float() for a in args))) is True  # float32 is fine


def _cell_variant(**keywords):
    return lambda *args: checks._cell(*args, **keywords)


@pytest.mark.parametrize(
    "wrong_cell, message",
    [
        (_cell_variant(convention="swapped"), "z and 1 - z are swapped"),
        (_cell_variant(interpolate=False), "you returned the candidate n"),
        (_cell_variant(order=(1, 0, 2)), "reset and update gates are swapped"),
        (_cell_variant(order=(2, 1, 0)), "gate order is wrong"),
        (_cell_variant(reset_where="before"), "Cho et al"),
        (_cell_variant(reset_where="bias outside"), "b_hn belongs inside"),
        (_cell_variant(reset_where="nowhere"), "reset gate is missing"),
        (lambda x, h, wi, wh, bi, bh: torch.tanh(x @ wi.T + bi + h @ wh.T + bh), "shape"),
        (lambda x, h, wi, wh, bi, bh: gru_cell(x, h, wi, wh, bi, bh) + 0.01, "wrong for some examples"),
        (lambda x, h, wi, wh, bi, bh: gru_cell(x, h, wi.T, wh, bi, bh), "raised"),
        (lambda x, h, wi, wh, bi, bh: gru_cell(x, h, wi, wh, bi, bh).tolist(), "should return a tensor"),
        (_unimplemented, "NotImplementedError"),
    ],
)
def test_check_gru_cell_explains_wrong_answers(wrong_cell, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_gru_cell(wrong_cell)


# --- exercise 2: the unrolled GRU ------------------------------------------------------------------

def test_check_gru_unroll_passes_a_right_answer():
    assert checks.check_gru_unroll(gru_unroll) is True


def _unroll_from_h_0(inputs, h_0, *weights):
    return torch.stack([gru_cell(inputs[:, t], h_0, *weights) for t in range(inputs.shape[1])], dim=1)


def _unroll_with_wrong_first_step(inputs, h_0, *weights):
    states = gru_unroll(inputs, h_0, *weights)
    return torch.cat([states[:, :1] + 0.1, states[:, 1:]], dim=1)


def _unroll_reading_the_wrong_input(inputs, h_0, *weights):
    h, states = h_0, []
    for _ in range(inputs.shape[1]):
        h = gru_cell(inputs[:, 0], h, *weights)  # always the first input
        states.append(h)
    return torch.stack(states, dim=1)


@pytest.mark.parametrize(
    "wrong_unroll, message",
    [
        (lambda inputs, h_0, *w: gru_unroll(inputs, h_0, *w)[:, -1], "one state per sequence"),
        (lambda inputs, h_0, *w: torch.cat([h_0.unsqueeze(1), gru_unroll(inputs, h_0, *w)], dim=1), "h_0 is the starting"),
        (lambda inputs, h_0, *w: gru_unroll(inputs, h_0, *w).transpose(0, 1), "swapped"),
        (_unroll_from_h_0, "starts again from h_0"),
        (_unroll_with_wrong_first_step, "first state h_1 is wrong"),
        (_unroll_reading_the_wrong_input, "later ones are not"),
        (lambda inputs, h_0, *w: [gru_cell(inputs[t], h_0, *w) for t in range(inputs.shape[1])], "raised"),
        (_unimplemented, "NotImplementedError"),
    ],
)
def test_check_gru_unroll_explains_wrong_answers(wrong_unroll, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_gru_unroll(wrong_unroll)


# --- exercise 3: parameter count -------------------------------------------------------------------

def test_check_gru_parameter_count_passes_right_answers():
    assert checks.check_gru_parameter_count(gru_parameter_count) is True

    def by_building_one(input_size, hidden_size, num_layers=1, bidirectional=False):
        gru = nn.GRU(input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional)
        return torch.tensor(sum(p.numel() for p in gru.parameters()))  # a one-number tensor is accepted

    assert checks.check_gru_parameter_count(by_building_one) is True


def _count(gates=3, biases=2, upper_input="directions", directions_count=True):
    def count(input_size, hidden_size, num_layers=1, bidirectional=False):
        directions = 2 if bidirectional and directions_count else 1
        total = 0
        for layer in range(num_layers):
            if layer == 0 or upper_input == "input":
                layer_input = input_size
            elif upper_input == "hidden":
                layer_input = hidden_size
            else:
                layer_input = (2 if bidirectional else 1) * hidden_size
            total += directions * gates * hidden_size * (layer_input + hidden_size + biases)
        return total
    return count


@pytest.mark.parametrize(
    "wrong_count, message",
    [
        (_count(gates=4), "an LSTM's count"),
        (_count(gates=1), "a plain RNN's count"),
        (_count(biases=1), "two bias vectors"),
        (_count(biases=0), "biases are missing"),
        (_count(upper_input="input"), "only the first layer reads the input"),
        (_count(directions_count=False), "bidirectional doubles every layer"),
        (_count(upper_input="hidden"), "both directions side by side"),
        (lambda i, h, num_layers=1, bidirectional=False: 3 * h * (i + h + 2) * num_layers, "stacked layers"),
        (lambda i, h, num_layers=1, bidirectional=False: 1.5, "whole number"),
        (lambda i, h, num_layers=1, bidirectional=False: "many", "should be a number"),
        (_unimplemented, "NotImplementedError"),
    ],
)
def test_check_gru_parameter_count_explains_wrong_answers(wrong_count, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_gru_parameter_count(wrong_count)


# --- exercise 4: the GRU with z = 0 and r = 1 ------------------------------------------------------

def test_check_rnn_from_gru_passes_a_right_answer():
    assert checks.check_rnn_from_gru(rnn_from_gru) is True

    def with_load_state_dict(gru):
        hidden = gru.hidden_size
        rnn = nn.RNN(gru.input_size, hidden, batch_first=True).double()
        rnn.load_state_dict({name: value[2 * hidden:] for name, value in gru.state_dict().items()})
        return rnn

    assert checks.check_rnn_from_gru(with_load_state_dict) is True


def _rnn_from_block(block, **rnn_options):
    def build(gru):
        hidden = gru.hidden_size
        options = {"batch_first": True, **rnn_options}
        rnn = nn.RNN(gru.input_size, hidden, **options)
        rows = slice(block * hidden, (block + 1) * hidden)
        with torch.no_grad():
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                getattr(rnn, name).copy_(getattr(gru, name)[rows])
        return rnn
    return build


def _rnn_with_wrong_bias(gru):
    rnn = rnn_from_gru(gru)
    with torch.no_grad():
        rnn.bias_hh_l0.zero_()
    return rnn


def _rnn_that_changes_the_gru(gru):
    rnn = rnn_from_gru(gru)
    with torch.no_grad():
        gru.bias_hh_l0.zero_()
    return rnn


@pytest.mark.parametrize(
    "wrong_answer, message",
    [
        (_rnn_from_block(0), "reset gate"),
        (_rnn_from_block(1), "update gate"),
        (_rnn_from_block(2, nonlinearity="relu"), "tanh"),
        (_rnn_from_block(2, batch_first=False), "batch_first"),
        (_rnn_with_wrong_bias, "bias_hh_l0 of your RNN"),
        (_rnn_that_changes_the_gru, "changed the GRU"),
        (lambda gru: nn.RNN(gru.input_size, 2 * gru.hidden_size, batch_first=True), "hidden_size="),
        (lambda gru: nn.GRU(gru.input_size, gru.hidden_size, batch_first=True), "should return an nn.RNN"),
        (lambda gru: nn.RNN(gru.input_size, gru.hidden_size, batch_first=True), "not the GRU's W_hn"),
        (_unimplemented, "NotImplementedError"),
    ],
)
def test_check_rnn_from_gru_explains_wrong_answers(wrong_answer, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_rnn_from_gru(wrong_answer)
