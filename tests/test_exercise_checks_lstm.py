"""The checks of the LSTM exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import math

import pytest
import torch
from torch import nn

from utils.checks import ExerciseError
from utils.exercise_checks import lstm as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


# --- right answers, written the way a learner would ----------------------------------------------

def lstm_cell_step(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    i, f, g, o = (x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh).chunk(4, dim=-1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


def lstm_unroll(inputs, h_0, c_0, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c, outputs = h_0, c_0, []
    for t in range(inputs.shape[1]):
        h, c = lstm_cell_step(inputs[:, t], h, c, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    return torch.stack(outputs, dim=1), (h, c)


def lstm_parameter_count(input_size, hidden_size, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    first = 4 * hidden_size * (input_size + hidden_size + 2)
    later = 4 * hidden_size * (directions * hidden_size + hidden_size + 2)
    return directions * (first + (num_layers - 1) * later)


def forget_bias_for_memory(tau):
    return math.log(tau - 1)


def set_forget_bias_(lstm, value):
    hidden = lstm.hidden_size
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            getattr(lstm, f"bias_ih_l{layer}")[hidden:2 * hidden] = value
            getattr(lstm, f"bias_hh_l{layer}")[hidden:2 * hidden] = 0.0


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Your turn")


# --- typical wrong answers ------------------------------------------------------------------------

def cell_with(order="ifgo", candidate=torch.tanh, squash=True, bias_hh_used=True, swap_outputs=False):
    def cell(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
        pre = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + (bias_hh if bias_hh_used else 0)
        blocks = dict(zip(order, pre.chunk(4, dim=-1)))
        i, f, o = (torch.sigmoid(blocks[name]) for name in "ifo")
        g = candidate(blocks["g"])
        c_t = f * c_prev + i * g
        h_t = o * (torch.tanh(c_t) if squash else c_t)
        return (c_t, h_t) if swap_outputs else (h_t, c_t)
    return cell


# --- exercise 1 ---------------------------------------------------------------------------------

def test_check_lstm_cell_step_passes_right_answers(capsys):
    assert checks.check_lstm_cell_step(lstm_cell_step) is True

    def with_lstm_cell(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):  # PyTorch's own module: also right
        cell = nn.LSTMCell(x_t.shape[1], h_prev.shape[1]).to(x_t.dtype)
        with torch.no_grad():
            for parameter, value in zip(cell.parameters(), (weight_ih, weight_hh, bias_ih, bias_hh)):
                parameter.copy_(value)
            return cell(x_t, (h_prev, c_prev))

    assert checks.check_lstm_cell_step(with_lstm_cell) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong_cell, message",
    [
        (cell_with(order="ifog"), "i, f, g, o"),
        (cell_with(order="figo"), "i, f, g, o"),
        (cell_with(squash=False), r"o \* tanh\(c_t\)"),
        (cell_with(candidate=torch.sigmoid), "candidate g uses tanh"),
        (cell_with(bias_hh_used=False), "bias_hh is missing"),
        (cell_with(swap_outputs=True), "swapped"),
        (lambda *args: lstm_cell_step(*args)[0], "two things"),
        (lambda x, h, c, wi, wh, bi, bh: lstm_cell_step(x, h, c, wi.T, wh, bi, bh), "raised"),
        (lambda *args: (torch.zeros(5, 4), torch.zeros(5, 4)), "c_t is wrong"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
        ("lstm_cell_step", "pass the function itself"),
    ],
)
def test_check_lstm_cell_step_explains_wrong_answers(wrong_cell, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_lstm_cell_step(wrong_cell)


# --- exercise 2 ---------------------------------------------------------------------------------

def test_check_lstm_unroll_passes_right_answers():
    assert checks.check_lstm_unroll(lstm_unroll) is True

    def with_nn_lstm(inputs, h_0, c_0, weight_ih, weight_hh, bias_ih, bias_hh):
        lstm = nn.LSTM(inputs.shape[2], h_0.shape[1], batch_first=True).to(inputs.dtype)
        with torch.no_grad():
            for parameter, value in zip(lstm.parameters(), (weight_ih, weight_hh, bias_ih, bias_hh)):
                parameter.copy_(value)
            outputs, (h_n, c_n) = lstm(inputs, (h_0.unsqueeze(0), c_0.unsqueeze(0)))
        return outputs, [h_n[0], c_n[0]]  # a list is fine too

    assert checks.check_lstm_unroll(with_nn_lstm) is True


def unroll_keeping(kind):
    def unroll(inputs, h_0, c_0, *weights):
        h, c, hs, cs = h_0, c_0, [], []
        for t in range(inputs.shape[1]):
            if kind == "no carry":
                h, c = lstm_cell_step(inputs[:, t], h_0, c_0, *weights)
            elif kind == "zeros":
                h, c = lstm_cell_step(inputs[:, t], h if t else torch.zeros_like(h_0), c if t else torch.zeros_like(c_0),
                                      *weights)
            else:
                h, c = lstm_cell_step(inputs[:, t], h, c, *weights)
            hs.append(h)
            cs.append(c)
        if kind == "time first":
            return torch.stack(hs), (h, c)
        if kind == "cell states":
            return torch.stack(cs, dim=1), (h, c)
        if kind == "swapped state":
            return torch.stack(hs, dim=1), (c, h)
        if kind == "with h_0":
            return torch.stack([h_0] + hs, dim=1), (h, c)
        if kind == "layer dimension":
            return torch.stack(hs, dim=1), (h.unsqueeze(0), c.unsqueeze(0))
        return torch.stack(hs, dim=1), (h, c)
    return unroll


@pytest.mark.parametrize(
    "wrong_unroll, message",
    [
        (unroll_keeping("no carry"), "starts again from h_0"),
        (unroll_keeping("zeros"), "started from zeros"),
        (unroll_keeping("time first"), "swapped"),
        (unroll_keeping("cell states"), "cell states c_t"),
        (unroll_keeping("swapped state"), "h_T and c_T are swapped"),
        (unroll_keeping("with h_0"), "h_0 is the starting point"),
        (unroll_keeping("layer dimension"), r"h_T should have shape \(3, 5\)"),
        (lambda inputs, h_0, c_0, *w: lstm_unroll(inputs, h_0, c_0, *w)[0], "two things"),
        (lambda inputs, *rest: lstm_unroll(inputs.transpose(0, 1), *rest), "raised"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_lstm_unroll_explains_wrong_answers(wrong_unroll, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_lstm_unroll(wrong_unroll)


# --- exercise 3 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_reference_count_is_nn_lstms(num_layers, bidirectional):
    lstm = nn.LSTM(7, 11, num_layers=num_layers, bidirectional=bidirectional)
    assert checks._parameter_count(7, 11, num_layers, bidirectional) == sum(p.numel() for p in lstm.parameters())
    assert lstm_parameter_count(7, 11, num_layers, bidirectional) == sum(p.numel() for p in lstm.parameters())


def test_check_lstm_parameter_count_passes_right_answers():
    assert checks.check_lstm_parameter_count(lstm_parameter_count) is True

    def by_building_it(input_size, hidden_size, num_layers=1, bidirectional=False):  # also right
        lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional)
        return torch.tensor(sum(p.numel() for p in lstm.parameters()))

    assert checks.check_lstm_parameter_count(by_building_it) is True


@pytest.mark.parametrize(
    "wrong_count, message",
    [
        (lambda i, h, num_layers=1, bidirectional=False: lstm_parameter_count(i, h, num_layers, bidirectional) // 4,
         "plain RNN"),
        (lambda i, h, num_layers=1, bidirectional=False: checks._parameter_count(i, h, num_layers, bidirectional,
                                                                                 biases=1), "two bias vectors"),
        (lambda i, h, num_layers=1, bidirectional=False: (2 if bidirectional else 1) * num_layers * 4 * h * (i + h + 2),
         "only the first layer reads the input"),
        (lambda i, h, num_layers=1, bidirectional=False: lstm_parameter_count(i, h, num_layers, False),
         "bidirectional doubles"),
        (lambda i, h, num_layers=1, bidirectional=False: (2 if bidirectional else 1) * sum(
            4 * h * ((i if layer == 0 else h) + h + 2) for layer in range(num_layers)), "both directions side by side"),
        (lambda i, h, num_layers=1, bidirectional=False: 4 * h * (i + h + 2) + 0.5, "whole number"),
        (lambda i, h, num_layers=1, bidirectional=False: 12345, "nn.LSTM has"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_lstm_parameter_count_explains_wrong_answers(wrong_count, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_lstm_parameter_count(wrong_count)


# --- exercise 4 ---------------------------------------------------------------------------------

def test_check_forget_bias_for_memory_passes_right_answers():
    assert checks.check_forget_bias_for_memory(forget_bias_for_memory) is True
    assert checks.check_forget_bias_for_memory(lambda tau: torch.logit(torch.tensor(1 - 1 / tau, dtype=torch.float64))) is True


@pytest.mark.parametrize(
    "wrong_bias, message",
    [
        (lambda tau: 1 - 1 / tau, "forget gate's value"),
        (lambda tau: math.log(tau), "one too many"),
        (lambda tau: -math.log(tau - 1), "sign is flipped"),
        (lambda tau: 1.0, "a memory of"),  # the usual default, hard-coded
        (lambda tau: "log(tau - 1)", "should return a number"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_forget_bias_for_memory_explains_wrong_answers(wrong_bias, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_forget_bias_for_memory(wrong_bias)


# --- exercise 5 ---------------------------------------------------------------------------------

def test_check_set_forget_bias_passes_right_answers():
    assert checks.check_set_forget_bias(set_forget_bias_) is True

    def split_between_both(lstm, value):  # half in each bias, by parameter name: also right
        with torch.no_grad():
            for name, parameter in lstm.named_parameters():
                if name.startswith("bias"):
                    parameter[lstm.hidden_size:2 * lstm.hidden_size] = value / 2
        return lstm

    assert checks.check_set_forget_bias(split_between_both) is True


def setter(rows="forget", both=False, layers=None, no_grad=True, replace=False):
    def set_bias(lstm, value):
        hidden = lstm.hidden_size
        where = {"forget": slice(hidden, 2 * hidden), "input": slice(0, hidden)}[rows]
        for layer in range(lstm.num_layers if layers is None else layers):
            bias_ih, bias_hh = getattr(lstm, f"bias_ih_l{layer}"), getattr(lstm, f"bias_hh_l{layer}")
            if replace:
                new = bias_hh.detach().clone()
                new[where] = value - bias_ih.detach()[where]
                setattr(lstm, f"bias_hh_l{layer}", nn.Parameter(new))
                continue
            if no_grad:
                with torch.no_grad():
                    bias_ih[where] = value
                    bias_hh[where] = value if both else 0.0
            else:
                bias_ih[where] = value
    return set_bias


@pytest.mark.parametrize(
    "wrong_setter, message",
    [
        (setter(rows="input"), "rows H to 2H - 1"),
        (setter(both=True), "2 x value"),
        (setter(layers=1), "layer 1 is unchanged"),
        (setter(no_grad=False), "torch.no_grad"),
        (setter(replace=True), "do not replace the parameters"),
        (lambda lstm, value: None, "nothing changed"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_set_forget_bias_explains_wrong_answers(wrong_setter, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_set_forget_bias(wrong_setter)


def test_check_set_forget_bias_flags_a_change_to_the_weights():
    def also_touches_weights(lstm, value):
        set_forget_bias_(lstm, value)
        with torch.no_grad():
            lstm.weight_hh_l0.zero_()

    with pytest.raises(ExerciseError, match="weight_hh_l0 changed"):
        checks.check_set_forget_bias(also_touches_weights)


def test_check_set_forget_bias_flags_only_one_bias_set():
    def only_bias_ih(lstm, value):
        with torch.no_grad():
            for layer in range(lstm.num_layers):
                getattr(lstm, f"bias_ih_l{layer}")[lstm.hidden_size:2 * lstm.hidden_size] = value

    with pytest.raises(ExerciseError, match="adds the two biases"):
        checks.check_set_forget_bias(only_bias_ih)
